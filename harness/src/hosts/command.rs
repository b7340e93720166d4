//! `faultline hosts up N` and `faultline hosts down`: the local test bed ([`super::bed`]) from
//! the command line, in the current directory.

use std::path::Path;

use clap::{Args, Subcommand};

use super::bed;
use crate::exit::Exit;

#[derive(Args, Debug)]
pub struct HostsArgs {
    #[command(subcommand)]
    pub action: HostsAction,
}

#[derive(Subcommand, Debug)]
pub enum HostsAction {
    /// Build a local test bed of N hosts (network namespaces running sshd) and write hosts.toml.
    Up {
        /// How many hosts (1 to 99).
        n: usize,
    },
    /// Remove the bed built in this directory: namespaces, bridge, veths, sshd, hosts.toml.
    Down,
}

/// Runs the command in the current directory.
pub fn run(args: &HostsArgs) -> Exit {
    let here = Path::new(".");
    match &args.action {
        HostsAction::Up { n } => match bed::up(here, *n) {
            Ok(inventory) => {
                let subnet = bed::state(here)
                    .ok()
                    .flatten()
                    .map(|s| s.subnet)
                    .unwrap_or_default();
                println!("bed up: {n} hosts on {subnet}, written to hosts.toml");
                for h in &inventory.hosts {
                    println!("  {:<4} {}", h.name, h.address);
                }
                if let Some(h1) = inventory.hosts.first() {
                    println!(
                        "ssh -i {} -o UserKnownHostsFile={} root@{}",
                        h1.key.as_deref().unwrap_or(Path::new("")).display(),
                        h1.known_hosts.as_deref().unwrap_or(Path::new("")).display(),
                        h1.address
                    );
                }
                println!("`faultline hosts down` here removes it");
                Exit::Valid
            }
            Err(e) => {
                eprintln!("faultline: error: {e}");
                Exit::Error
            }
        },
        HostsAction::Down => match bed::down(here) {
            Ok(t) if !t.found => {
                println!("no bed here: nothing to take down");
                Exit::Valid
            }
            Ok(t) => {
                let gone = if t.already_gone.is_empty() {
                    String::new()
                } else {
                    format!(" ({} already gone)", t.already_gone.join(", "))
                };
                println!("bed down: removed {} pieces{gone}", t.removed.len());
                Exit::Valid
            }
            Err(e) => {
                eprintln!("faultline: error: {e}");
                Exit::Error
            }
        },
    }
}
