//! The command line: parses arguments and dispatches to one command per module.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::agent::{self, AgentArgs};
use crate::check::{self, CheckArgs};
use crate::exit::Exit;
use crate::hosts::command::{self as hosts, HostsArgs};
use crate::report::{self, ReportArgs};
use crate::run::command::{self as run, RunArgs};
use crate::serve::{self, ServeArgs};
use crate::suite::{self, SuiteArgs};
use crate::supervisor;
use crate::sweep::{self, SweepArgs};

/// A Jepsen-style fault-injection test harness.
#[derive(Parser, Debug)]
#[command(name = "faultline", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a test: start a cluster, drive clients, inject faults, check the history.
    Run(RunArgs),
    /// Check stored histories for linearizability or unique IDs.
    Check(CheckArgs),
    /// Run the regression catalogue: every scenario, each verdict against its `expect`.
    Suite(SuiteArgs),
    /// Run a scenario over a grid of parameter values: anomaly rates, availability, latency.
    Sweep(SweepArgs),
    /// Rebuild a run's report.html from its stored history and results.
    Report(ReportArgs),
    /// Browse the results folder over HTTP on 127.0.0.1: runs, reports, logs.
    Serve(ServeArgs),
    /// A local test bed: `hosts up N` builds N hosts (namespaces running sshd), `hosts down`.
    Hosts(HostsArgs),
    /// List the targets, workloads and nemeses.
    List,
    /// Run one node of a bundled system (the runner starts nodes this way).
    Node {
        /// The system (`faultline list` shows the bundled targets).
        system: String,
        /// The node's own arguments (see `faultline node raft-kv -- --help`, `… redis-lock -- --help`).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Supervise a host's nodes for a run (the harness starts it over SSH).
    #[command(hide = true)]
    Agent(AgentArgs),
}

/// Parses the arguments and runs the command. Usage errors exit 3, as bad input does.
pub fn main() -> ExitCode {
    // Whatever happens, no node outlives a panicking harness.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        supervisor::kill_all();
        default_hook(info);
    }));
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
        Command::Run(args) => run::run(args).into(),
        Command::Check(args) => check::run(args).into(),
        Command::Suite(args) => suite::run(args).into(),
        Command::Sweep(args) => sweep::run(args).into(),
        Command::Report(args) => report::run(args).into(),
        Command::Serve(args) => serve::run(args).into(),
        Command::Hosts(args) => hosts::run(args).into(),
        Command::Agent(args) => agent::run(args).into(),
        Command::List => {
            print!("{}", crate::list::render());
            Exit::Valid.into()
        }
        Command::Node { system, args } => match targets::descriptor::bundled(system) {
            Some(main) => main(args.clone()),
            None => {
                eprintln!(
                    "faultline: error: no bundled system called `{system}` (known: {})",
                    targets::descriptor::bundled_names().join(", ")
                );
                Exit::Error.into()
            }
        },
    }
}
