//! The node process of the transaction targets — `faultline node 2pc` and `faultline node
//! 3pc` — written once for both: the coordinator (`n1`) or a participant (`n2`, `n3`, …), by
//! its name, as the tokio shell around a protocol's sans-I/O cores.
//!
//! A protocol plugs in through [`Protocol`] (module `protocol`): its coordinator and
//! participant cores behind [`CoordinatorCore`] and [`ParticipantCore`] (begin / tick / step /
//! ready, their records and messages — the 2PC core's [`Ready`](crate::twopc::core::Ready),
//! generic over the message), what a log record means for the journal ([`Entry`]), which
//! message is a vote or a prepare ([`TxnMessage`]), and its name, log file and own flags.
//! The shell follows the cores' contract to the letter: one task owns the state machine;
//! every batch of inputs is drained into one `Ready`, whose log records are appended with one
//! write and one fdatasync (group commit: concurrent transactions share the fsync) before its
//! messages go out and its outcomes are answered.
//!
//! ```text
//!  clients ─HTTP─▶ api ─Request─▶ ┌── coordinator::run (CoordinatorCore) ──┐ ─▶ <proto>.log
//!                                 │   tick · votes (held --vote-delay)     │ ─▶ peers ─▶ all
//!                  api ◀─Answer── └────────────────────────────────────────┘
//!
//!    peers ─mpsc─▶ ┌── participant::run (ParticipantCore + journal) ──┐ ─▶ <proto>.log
//!    timer ─tick─▶ │                                                   │ ─▶ peers ─▶ coordinator
//!  GET /decisions ▶└───────────────────────────────────────────────────┘   (3PC: and participants)
//!                                                                      ─▶ Decisions (with ages)
//! ```
//!
//! * `protocol`: the traits a protocol implements.
//! * `coordinator`, `participant`: the two event loops.
//! * `http`: the client protocol ([`api`](crate::twopc::api)) in axum.
//! * [`LogFile`](crate::record_log::LogFile): the log, its torn tail cut off at start (and
//!   said, in one line of the node's log).
//! * [`peers`](crate::peers): the one-way peer links, shared with `raft-kv` and `zab`. A node
//!   can send to every node named in `--peers`: 3PC participants talk to one another.
//!
//! # Command line
//!
//! ```text
//! <2pc|3pc> --id n1 --port P --peer-port Q --peers n2=127.0.0.1:A,n3=127.0.0.1:B --data-dir DIR \
//!     [--accounts 8] [--total 100] [--allow-negative] [--tick-ms 10] [--vote-delay-ms 0] \
//!     [the protocol's own flags]
//! ```
//!
//! `n1` coordinates; every other node named in `--peers` (and this one, if not `n1`) is a
//! participant. Accounts `0..accounts` are dealt to the participants in turn (account `a` to
//! the `a mod P`-th participant by number) and open with `total / accounts` each, the rest on
//! account 0 — every node works this out alike from the same flags. Bad flags, an unusable
//! data directory or a disk that fails later: one line on stderr and exit code 3.
//! `--vote-delay-ms` holds every vote that long at the coordinator before counting it — a
//! slow decision, which widens the window in which participants sit prepared and in doubt,
//! so that a fault lands in it. Timeouts are the protocol's (its module documentation).

mod coordinator;
mod http;
mod participant;
mod protocol;

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{CommandFactory, Parser};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

#[cfg(test)]
pub(crate) use http::parse_transfer;
pub(crate) use protocol::impl_shell_traits;
pub use protocol::{CoordinatorCore, Entry, ParticipantCore, Protocol, TxnMessage};

use crate::peers::{self, NodeId, Peers};
use crate::record_log::LogFile;
use crate::shell::{self, HttpServer, Listeners, Logger};
pub use crate::shell::{ArgsError, Error};
use crate::twopc::core::Account;

/// The coordinator's number: `n1`.
pub const COORDINATOR: NodeId = 1;
/// Messages from peers waiting for the event loop.
const INBOX: usize = 4096;
/// Client requests waiting for the event loop; beyond this, requests are refused.
const REQUESTS: usize = 4096;

/// Everything a node is started with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config<P: Protocol> {
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
    /// The protocol's own flags.
    pub flags: P::Flags,
}

/// The command line every transaction node shares; `F`, the protocol's own flags.
#[derive(Debug, Parser)]
struct Cli<F: clap::Args> {
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
    #[command(flatten)]
    flags: F,
}

impl<P: Protocol> Config<P> {
    /// Parses the arguments after the program's name.
    pub fn from_args(args: Vec<String>) -> Result<Config<P>, ArgsError> {
        let command = Cli::<P::Flags>::command().name(P::NAME).about(P::ABOUT);
        let cli: Cli<P::Flags> = shell::parse_command(command, P::NAME, args)?;
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
            flags: cli.flags,
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

    /// This node's accounts and their opening balances (none for the coordinator).
    pub fn my_accounts(&self) -> BTreeMap<Account, i64> {
        let opening = self.opening();
        let mine = self.shards().remove(&self.id).unwrap_or_default();
        mine.iter().map(|a| (*a, opening[a])).collect()
    }
}

/// Runs a node until `shutdown` completes: binds its addresses, then [`serve_on`] them.
pub async fn serve<P: Protocol>(
    config: Config<P>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    let listeners = Listeners::bind(config.client, config.peer).await?;
    serve_on(config, listeners, shutdown).await
}

/// Runs a node on sockets already bound, until `shutdown` completes. Fails at start (bad data
/// directory) or later if the disk fails.
pub async fn serve_on<P: Protocol>(
    config: Config<P>,
    listeners: Listeners,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    let log = Logger::new(&config.name);
    shell::create_data_dir(&config.data_dir)?;
    let (inbox, inbox_rx) = mpsc::channel(INBOX);
    let mut tasks = JoinSet::new();
    let peers = Peers::<P::Message>::start(&config.peers, &log, &mut tasks);
    tasks.spawn(peers::listen(listeners.peer.0, inbox, log.clone()));
    let path = config.data_dir.join(P::LOG);
    let result = if config.id == COORDINATOR {
        let opened = LogFile::open(&path, P::MAGIC)
            .map_err(|e| Error(format!("cannot open the log: {e}")))?;
        if let Some(dropped) = &opened.dropped {
            log.line(format_args!("cut a torn tail off the log: {dropped}"));
        }
        log.line(format_args!(
            "starting as the {} coordinator: {} records, participants {:?}, vote delay {:?}",
            P::NAME,
            opened.records.len(),
            config.participants(),
            config.vote_delay,
        ));
        let core = P::coordinator(&config, &opened.records);
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
        let opened = LogFile::open(&path, P::MAGIC)
            .map_err(|e| Error(format!("cannot open the log: {e}")))?;
        if let Some(dropped) = &opened.dropped {
            log.line(format_args!("cut a torn tail off the log: {dropped}"));
        }
        let initial = config.my_accounts();
        log.line(format_args!(
            "starting as a {} participant: {} records, accounts {:?}, {:?}",
            P::NAME,
            opened.records.len(),
            initial.keys().collect::<Vec<_>>(),
            config.flags,
        ));
        let core = P::participant(&config, initial.clone(), &opened.records);
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

/// `faultline node <P::NAME> ARGS…`: runs a node until SIGTERM or SIGINT. `args` are the
/// arguments after the name. Exit code 0 after a clean stop, 3 on any error.
pub fn main<P: Protocol>(args: Vec<String>) -> ExitCode {
    shell::main(
        P::NAME,
        Config::<P>::from_args(args),
        |config| config.name.clone(),
        serve,
    )
}
