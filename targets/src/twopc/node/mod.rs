//! `faultline node 2pc`: one node of the bundled two-phase-commit bank, as a real process —
//! the coordinator (`n1`) or a participant (`n2`, `n3`, …), by its name.
//!
//! This is the tokio shell around the sans-I/O [`core`](crate::twopc::core), following its
//! shell contract to the letter: one task owns the state machine; every batch of inputs is
//! drained into one `Ready`, whose log records are appended with one write and one fdatasync
//! (group commit: concurrent transactions share the fsync) before its messages go out and its
//! outcomes are answered.
//!
//! ```text
//!  clients ─HTTP─▶ api ─Request─▶ ┌── coordinator::run (Coordinator) ──┐ ─▶ 2pc.log (fsync)
//!                                 │   tick · votes (held --vote-delay) │ ─▶ peers ─▶ participants
//!                  api ◀─Answer── └────────────────────────────────────┘
//!
//!    peers ─mpsc─▶ ┌── participant::run (Participant + journal) ──┐ ─▶ 2pc.log (fsync)
//!    timer ─tick─▶ │                                               │ ─▶ peers ─▶ coordinator
//!  GET /decisions ▶└───────────────────────────────────────────────┘ ─▶ Decisions (with ages)
//! ```
//!
//! * `coordinator`, `participant`: the two event loops.
//! * `http`: the client protocol ([`api`](crate::twopc::api)) in axum.
//! * [`LogFile`](crate::record_log::LogFile): the log, its torn tail cut off at start (and
//!   said, in one line of the node's log).
//! * [`peers`](crate::peers): the one-way peer links, shared with `raft-kv` and `zab`.
//!
//! # Command line
//!
//! ```text
//! 2pc --id n1 --port P --peer-port Q --peers n2=127.0.0.1:A,n3=127.0.0.1:B --data-dir DIR \
//!     [--accounts 8] [--total 100] [--allow-negative] [--tick-ms 10] [--vote-delay-ms 0] \
//!     [--bug heuristic-abort]
//! ```
//!
//! `n1` coordinates; every other node named in `--peers` (and this one, if not `n1`) is a
//! participant. Accounts `0..accounts` are dealt to the participants in turn (account `a` to
//! the `a mod P`-th participant by number) and open with `total / accounts` each, the rest on
//! account 0 — every node works this out alike from the same flags. Bad flags, an unusable
//! data directory or a disk that fails later: one line on stderr and exit code 3.
//!
//! Timing, in ticks of `--tick-ms`: a vote missing for 100 ticks aborts its transaction; an
//! unacknowledged commit is resent every 10; an in-doubt participant asks every 20; with
//! `--bug heuristic-abort` it gives up and aborts after 100. `--vote-delay-ms` holds every
//! vote that long at the coordinator before counting it — a slow decision, which widens the
//! window in which participants sit prepared and in doubt, so that a fault lands in it.

mod coordinator;
mod http;
mod participant;

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::core::{self, Account, CoordinatorConfig, ParticipantConfig};
use crate::peers::{self, NodeId, Peers};
use crate::record_log::LogFile;
use crate::shell::{self, HttpServer, Listeners, Logger};
pub use crate::shell::{ArgsError, Error};

/// The coordinator's number: `n1`.
pub const COORDINATOR: NodeId = 1;
/// Messages from peers waiting for the event loop.
const INBOX: usize = 4096;
/// Client requests waiting for the event loop; beyond this, requests are refused.
const REQUESTS: usize = 4096;
/// The log's first bytes: this format, version 1.
const MAGIC: &[u8; 8] = b"FL2PC001";
const LOG: &str = "2pc.log";

/// Timeouts, in ticks (see the module documentation).
const VOTE_TIMEOUT_TICKS: u32 = 100;
const RETRY_TICKS: u32 = 10;
const INQUIRE_TICKS: u32 = 20;
const HEURISTIC_TICKS: u32 = 100;

/// The core's bug switches, as `--bug` names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Bug {
    /// A participant in doubt too long aborts on its own.
    HeuristicAbort,
}

/// Everything a node is started with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// `n<id>`.
    pub name: String,
    pub id: NodeId,
    /// Where clients connect (127.0.0.1).
    pub client: SocketAddr,
    /// Where peers' connections arrive (127.0.0.1).
    pub peer: SocketAddr,
    /// Each other node, and the address to send to it at.
    pub peers: Vec<(NodeId, SocketAddr)>,
    pub data_dir: PathBuf,
    pub accounts: u32,
    pub total: i64,
    pub tick: Duration,
    pub vote_delay: Duration,
    pub allow_negative: bool,
    pub bug: Option<Bug>,
}

#[derive(Debug, Parser)]
#[command(
    name = "2pc",
    about = "One node of faultline's two-phase-commit bank: n1 coordinates, the others own accounts"
)]
struct Cli {
    /// This node's name, `n<number>` (1 to 255); n1 is the coordinator.
    #[arg(long)]
    id: String,
    /// The port (on 127.0.0.1) to serve the client protocol on.
    #[arg(long)]
    port: u16,
    /// The port (on 127.0.0.1) to accept peers' connections on.
    #[arg(long)]
    peer_port: u16,
    /// The other nodes, as `n1=HOST:PORT,n2=HOST:PORT`: where to send to each.
    #[arg(long, default_value = "")]
    peers: String,
    /// Where the log is kept (created if missing).
    #[arg(long)]
    data_dir: PathBuf,
    /// How many accounts the bank has.
    #[arg(long, default_value_t = 8)]
    accounts: u32,
    /// The money in the bank, spread over the accounts at the start.
    #[arg(long, default_value_t = 100)]
    total: i64,
    /// Milliseconds per tick.
    #[arg(long, default_value_t = 10)]
    tick_ms: u64,
    /// The coordinator holds each vote this long before counting it.
    #[arg(long, default_value_t = 0)]
    vote_delay_ms: u64,
    /// Transfers may overdraw an account (otherwise they abort).
    #[arg(long)]
    allow_negative: bool,
    /// Switch on a known bug.
    #[arg(long, value_enum)]
    bug: Option<Bug>,
}

impl Config {
    /// Parses the arguments after `2pc`.
    pub fn from_args(args: Vec<String>) -> Result<Config, ArgsError> {
        let cli: Cli = shell::parse_args("2pc", args)?;
        let invalid = ArgsError::Invalid;
        let id = peers::parse_name(&cli.id).map_err(invalid)?;
        let peers = peers::parse_peers(&cli.peers, id).map_err(invalid)?;
        if cli.tick_ms == 0 {
            return Err(invalid("--tick-ms must be above 0".into()));
        }
        if cli.accounts == 0 || cli.total < 0 {
            return Err(invalid(
                "--accounts must be above 0 and --total at least 0".into(),
            ));
        }
        let local = |port| SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let config = Config {
            name: format!("n{id}"),
            id,
            client: local(cli.port),
            peer: local(cli.peer_port),
            peers,
            data_dir: cli.data_dir,
            accounts: cli.accounts,
            total: cli.total,
            tick: Duration::from_millis(cli.tick_ms),
            vote_delay: Duration::from_millis(cli.vote_delay_ms),
            allow_negative: cli.allow_negative,
            bug: cli.bug,
        };
        if config.participants().is_empty() {
            return Err(invalid("--peers names no participant (n2, n3, …)".into()));
        }
        if id != COORDINATOR && !config.peers.iter().any(|&(p, _)| p == COORDINATOR) {
            return Err(invalid(
                "--peers must name the coordinator, n1, for a participant".into(),
            ));
        }
        Ok(config)
    }

    /// The participants, by number.
    pub fn participants(&self) -> Vec<NodeId> {
        let mut all: Vec<NodeId> = self.peers.iter().map(|&(p, _)| p).collect();
        all.push(self.id);
        all.sort_unstable();
        all.retain(|&p| p != COORDINATOR);
        all
    }

    /// Which accounts each participant owns: account `a` goes to the `a mod P`-th.
    pub fn shards(&self) -> BTreeMap<NodeId, Vec<Account>> {
        let participants = self.participants();
        let mut shards: BTreeMap<NodeId, Vec<Account>> =
            participants.iter().map(|&p| (p, Vec::new())).collect();
        for a in 0..self.accounts {
            let owner = participants[a as usize % participants.len()];
            shards.entry(owner).or_default().push(a);
        }
        shards
    }

    /// Every account's opening balance: the total shared out, the rest on account 0.
    pub fn opening(&self) -> BTreeMap<Account, i64> {
        let n = i64::from(self.accounts);
        (0..self.accounts)
            .map(|a| {
                let rest = if a == 0 { self.total % n } else { 0 };
                (a, self.total / n + rest)
            })
            .collect()
    }

    fn coordinator_config(&self) -> CoordinatorConfig {
        CoordinatorConfig {
            id: self.id,
            shards: self.shards(),
            vote_timeout_ticks: VOTE_TIMEOUT_TICKS,
            retry_ticks: RETRY_TICKS,
        }
    }

    fn participant_config(&self) -> ParticipantConfig {
        let opening = self.opening();
        let mine = self.shards().remove(&self.id).unwrap_or_default();
        ParticipantConfig {
            id: self.id,
            coordinator: COORDINATOR,
            accounts: mine.iter().map(|a| (*a, opening[a])).collect(),
            inquire_ticks: INQUIRE_TICKS,
            heuristic_ticks: HEURISTIC_TICKS,
            allow_negative: self.allow_negative,
            bug: match self.bug {
                None => core::Bug::None,
                Some(Bug::HeuristicAbort) => core::Bug::HeuristicAbort,
            },
        }
    }
}

/// Runs a node until `shutdown` completes: binds its addresses, then [`serve_on`] them.
pub async fn serve(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
    let listeners = Listeners::bind(config.client, config.peer).await?;
    serve_on(config, listeners, shutdown).await
}

/// Runs a node on sockets already bound, until `shutdown` completes. Fails at start (bad data
/// directory) or later if the disk fails.
pub async fn serve_on(
    config: Config,
    listeners: Listeners,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    let log = Logger::new(&config.name);
    shell::create_data_dir(&config.data_dir)?;
    let (inbox, inbox_rx) = mpsc::channel(INBOX);
    let mut tasks = JoinSet::new();
    let peers = Peers::start(&config.peers, &log, &mut tasks);
    tasks.spawn(peers::listen(listeners.peer.0, inbox, log.clone()));
    let path = config.data_dir.join(LOG);
    let result = if config.id == COORDINATOR {
        let opened =
            LogFile::open(&path, MAGIC).map_err(|e| Error(format!("cannot open the log: {e}")))?;
        if let Some(dropped) = &opened.dropped {
            log.line(format_args!("cut a torn tail off the log: {dropped}"));
        }
        log.line(format_args!(
            "starting as the coordinator: {} records, participants {:?}, vote delay {:?}",
            opened.records.len(),
            config.participants(),
            config.vote_delay,
        ));
        let core = core::Coordinator::new(config.coordinator_config(), &opened.records);
        let (requests, requests_rx) = mpsc::channel(REQUESTS);
        let mut http = HttpServer::spawn(listeners.client, http::coordinator(requests));
        let node = coordinator::Node {
            core,
            log: opened.log,
            peers,
            vote_delay: config.vote_delay,
        };
        let result = tokio::select! {
            r = node.run(config.tick, inbox_rx, requests_rx, shutdown) => r,
            r = http.ended() => r,
        };
        http.stop().await;
        result
    } else {
        let opened =
            LogFile::open(&path, MAGIC).map_err(|e| Error(format!("cannot open the log: {e}")))?;
        if let Some(dropped) = &opened.dropped {
            log.line(format_args!("cut a torn tail off the log: {dropped}"));
        }
        let pconfig = config.participant_config();
        log.line(format_args!(
            "starting as a participant: {} records, accounts {:?}, bug {:?}",
            opened.records.len(),
            pconfig.accounts.keys().collect::<Vec<_>>(),
            config.bug,
        ));
        let initial = pconfig.accounts.clone();
        let core = core::Participant::new(pconfig, &opened.records);
        let (queries, queries_rx) = mpsc::channel(16);
        let mut http = HttpServer::spawn(listeners.client, http::participant(queries));
        let node = participant::Node::new(core, &opened.records, initial, opened.log, peers);
        let result = tokio::select! {
            r = node.run(config.tick, inbox_rx, queries_rx, shutdown) => r,
            r = http.ended() => r,
        };
        http.stop().await;
        result
    };
    tasks.shutdown().await;
    log.ended(result)
}

/// `faultline node 2pc ARGS…`: runs a node until SIGTERM or SIGINT. `args` are the arguments
/// after `2pc`. Exit code 0 after a clean stop, 3 on any error.
pub fn main(args: Vec<String>) -> ExitCode {
    shell::main(
        "2pc",
        Config::from_args(args),
        |config| config.name.clone(),
        serve,
    )
}

#[cfg(test)]
mod tests;
