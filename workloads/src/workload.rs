//! What a workload is, to the harness: a name, the protocols it has clients for, its own
//! scenario fields, the checkers its histories go to, and a way to run its clients against a
//! cluster. The harness loop knows workloads only through [`Workload`] and the registry
//! ([`crate::registry`]).
//!
//! A workload is written as a [`TypedWorkload`] — its settings as a typed struct — and the
//! blanket implementation turns it into the object-safe [`Workload`] the registry lists.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::time::Duration;

use checkers::compose::Checker;
use targets::descriptor::Protocol;
use tokio::time::Instant;

use crate::settings::{self, Settings};
use crate::worker::Context;

/// A node a client can talk to: its name and the address it reaches it at (its link).
#[derive(Clone, Debug)]
pub struct Node {
    pub name: String,
    pub addr: SocketAddr,
    /// The local address to connect from, when the client's traffic must be told apart from
    /// other clients' by its source (runs on hosts, where a host's firewall cuts a client
    /// off by its address); the system's choice otherwise.
    pub from: Option<IpAddr>,
}

/// How a workload's clients reach the nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Links {
    /// All through one shared link per node (partitions cut clients off as one).
    Shared,
    /// Each client through links of its own, so a partition can put clients on different
    /// sides (Kleppmann's Redlock split).
    PerClient,
}

/// Everything a workload's run is given.
pub struct Run {
    pub protocol: Protocol,
    /// The target's options the scenario switched on: some are about how clients use it
    /// (ZooKeeper's `follower-reads`: reads without a `sync`).
    pub options: Vec<String>,
    pub concurrency: usize,
    /// Operations per second, all clients together.
    pub rate: f64,
    pub seed: u64,
    /// How long a client waits for one operation.
    pub op_timeout: Duration,
    /// For each client, the nodes at the addresses that client reaches them.
    pub nodes: Vec<Vec<Node>>,
    pub ctx: Context,
    /// When the workload stops issuing new operations.
    pub until: Instant,
}

impl Run {
    /// The mean pause between one client's operations.
    pub fn pace(&self) -> Duration {
        Duration::from_secs_f64(self.concurrency as f64 / self.rate)
    }

    /// Client 0's view of the nodes (the shared links, when clients share them).
    pub fn shared_nodes(&self) -> Vec<Node> {
        self.nodes.first().cloned().unwrap_or_default()
    }
}

/// What a workload still does after the faults are healed (the register's final reads).
pub type Finish = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A running workload: resolves when its clients are done, to what is left for after healing.
pub type Running = Pin<Box<dyn Future<Output = Option<Finish>> + Send>>;

/// A workload as its author writes it.
pub trait TypedWorkload: Sync + 'static {
    /// Its own scenario fields.
    type Settings: Settings;
    const NAME: &'static str;
    const SUMMARY: &'static str;
    /// The protocols it has a client for.
    const PROTOCOLS: &'static [Protocol];
    const LINKS: Links;
    /// The checkers its histories go to (`checkers::compose`): the history's verdict is
    /// their merge.
    const CHECKERS: &'static [Checker];
    /// The errors of a `fail` that is the operation's own answer — a compare-and-set that
    /// compared false, a lock held by another — so that the system counts as available
    /// (`checkers::stats`). Any other `fail` is a refusal, and counts against it.
    const ANSWERS: &'static [&'static str];
    /// Its fields that `faultline run` has a flag for (`--lock-algorithm`, …), so that the
    /// command repeating a run can say them.
    const FLAGS: &'static [&'static str] = &[];

    /// Arguments its settings add to every node of the target (the bank's accounts and
    /// total, which the target's nodes must agree on with the clients). None by default.
    fn node_args(&self, _settings: &Self::Settings) -> Vec<String> {
        Vec::new()
    }

    /// Starts its clients (`run.protocol` is one of [`Self::PROTOCOLS`]).
    fn run(&self, settings: Self::Settings, run: Run) -> Running;
}

/// A workload, as the harness sees it.
pub trait Workload: Sync {
    fn name(&self) -> &'static str;
    fn summary(&self) -> &'static str;
    fn protocols(&self) -> &'static [Protocol];
    fn links(&self) -> Links;
    fn checkers(&self) -> &'static [Checker];
    /// The errors that are an operation's own answer ([`TypedWorkload::ANSWERS`]).
    fn answers(&self) -> &'static [&'static str];
    /// Its scenario fields, as a scenario file spells them.
    fn fields(&self) -> &'static [&'static str];
    fn flags(&self) -> &'static [&'static str];
    /// Its settings' defaults.
    fn defaults(&self) -> toml::Table;
    /// Checks its settings: known fields, right types, sensible values.
    fn check(&self, settings: &toml::Table, protocol: Protocol) -> Result<(), String>;
    /// Checks the types of its fields in a scenario file's text, naming line and column.
    fn check_text(&self, file: &str, text: &str) -> Result<(), String>;
    /// What its settings add to the target's nodes' command lines.
    fn node_args(&self, settings: &toml::Table, protocol: Protocol) -> Result<Vec<String>, String>;
    /// Starts its clients; refused if the settings are bad or it has no client for the
    /// protocol.
    fn start(&self, settings: &toml::Table, run: Run) -> Result<Running, String>;
}

impl<W: TypedWorkload> Workload for W {
    fn name(&self) -> &'static str {
        W::NAME
    }

    fn summary(&self) -> &'static str {
        W::SUMMARY
    }

    fn protocols(&self) -> &'static [Protocol] {
        W::PROTOCOLS
    }

    fn links(&self) -> Links {
        W::LINKS
    }

    fn checkers(&self) -> &'static [Checker] {
        W::CHECKERS
    }

    fn answers(&self) -> &'static [&'static str] {
        W::ANSWERS
    }

    fn fields(&self) -> &'static [&'static str] {
        settings::field_names::<W::Settings>()
    }

    fn flags(&self) -> &'static [&'static str] {
        W::FLAGS
    }

    fn defaults(&self) -> toml::Table {
        settings::defaults::<W::Settings>()
    }

    fn check(&self, settings: &toml::Table, protocol: Protocol) -> Result<(), String> {
        settings::read::<W::Settings>(W::NAME, settings, protocol).map(drop)
    }

    fn check_text(&self, file: &str, text: &str) -> Result<(), String> {
        settings::check_text::<W::Settings>(file, text)
    }

    fn node_args(&self, settings: &toml::Table, protocol: Protocol) -> Result<Vec<String>, String> {
        let settings = settings::read::<W::Settings>(W::NAME, settings, protocol)?;
        Ok(TypedWorkload::node_args(self, &settings))
    }

    fn start(&self, settings: &toml::Table, run: Run) -> Result<Running, String> {
        if !W::PROTOCOLS.contains(&run.protocol) {
            return Err(format!(
                "workload {} has no client for protocol {}",
                W::NAME,
                run.protocol.name()
            ));
        }
        let settings = settings::read::<W::Settings>(W::NAME, settings, run.protocol)?;
        Ok(self.run(settings, run))
    }
}
