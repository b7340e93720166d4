//! The command line: parses arguments and dispatches to one command per file.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::check::{self, CheckArgs};
use crate::exit::Exit;

/// A Jepsen-style fault-injection test harness.
#[derive(Parser, Debug)]
#[command(name = "faultline", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check stored histories for linearizability or unique IDs.
    Check(CheckArgs),
}

/// Parses the arguments and runs the command. Usage errors exit 3, as bad input does.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let usage_error = e.use_stderr();
            // Prints help and version to stdout, errors to stderr.
            let _ = e.print();
            return if usage_error {
                Exit::Error
            } else {
                Exit::Valid
            }
            .into();
        }
    };
    match &cli.command {
        Command::Check(args) => check::run(args).into(),
    }
}
