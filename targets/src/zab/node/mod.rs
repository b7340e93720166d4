//! `faultline node zab`: one server of the bundled ZooKeeper-like system, as a real process.
//!
//! This is the tokio shell around the sans-I/O [`core`](crate::zab::core) and the pure pieces
//! of [`zab`](crate::zab) (tree, preparer, sessions, watches). It follows the core's shell
//! contract to the letter and serves ZooKeeper's own client protocol, so that the
//! `zookeeper-client` crate — the client the workloads use against Apache ZooKeeper — works
//! against it unchanged.
//!
//! ```text
//!                ┌──── one task owns Zab + DataTree + Preparer + SessionTracker + Watches ────┐
//!   timer ─tick──▶                                                                           │
//!   peers ─mpsc──▶  server::Server::run ──Ready──▶ storage (append + fsync; epochs, atomic)  │
//! clients ─mpsc──▶        │                   ──▶ peers (one-way TCP, per-peer queues)       │
//!    ▲                    │                   ──▶ DataTree::apply ──▶ watches, replies       │
//!    └──ToClient frames───┘                   ──▶ syncs answered                             │
//!                └────────────────────────────────────────────────────────────────────────────┘
//! ```
//!
//! * `server`: the event loop; how a write flows from a client through the leader and back.
//! * `clients`: client connections — jute frames, the handshake, four-letter words.
//! * `wire`: what servers say to each other (the core's messages, and forwarded requests).
//! * `storage`: the transaction log and the epochs, and their recovery after a crash.
//! * [`peers`](crate::peers): the one-way peer links, shared with `raft-kv`.
//!
//! # Command line
//!
//! ```text
//! zab --id n1 --client-port P --peer-port Q --peers n2=127.0.0.1:A,n3=127.0.0.1:B \
//!     --data-dir DIR [--tick-ms 10] [--bug broadcast-before-sync|accept-older-epoch]
//! ```
//!
//! [`main`] takes the arguments after the word `zab` (a leading `zab` is skipped). Nodes are
//! named `n<number>`, 1 to 255 (the number is the ZAB id and the top byte of the session ids
//! the server hands out). Both ports are on 127.0.0.1. `--peers` gives, for each other node,
//! the address to send to it at — the harness's proxy for that link. Bad flags, an unusable
//! data directory, a persisted state the core refuses, or a disk that fails later: one line on
//! stderr and exit code 3. SIGTERM and SIGINT stop the node cleanly (exit 0).
//!
//! Timing: a tick every `--tick-ms` (10 ms); the core's defaults (silence tolerated for 10..=20
//! ticks, heartbeats every 2). Sessions use ZooKeeper's rules with a 200 ms `tickTime`, as the
//! `zookeeper` target is set up: timeouts of 400 ms to 4 s, expiry checked at tick boundaries.
//!
//! # Crashes
//!
//! Epochs and history survive a SIGKILL (every `Ready` is fsync'd before its messages go out);
//! the tree does not: it starts empty and is rebuilt as the core delivers every committed
//! transaction again. Watches and connections are lost, as they are in ZooKeeper.
//!
//! # Bugs
//!
//! `--bug` switches on one of the core's [`Bug`](crate::zab::core::Bug)s. A persisted state the
//! core refuses (a history out of zxid order, say) stops the node at start with one line and
//! exit code 3.
//!
//! # What is left out
//!
//! ACLs (every node is open to anyone), authentication, quotas, multi, persistent and
//! recursive watches, observers, read-only mode, snapshots (the log grows for a test's
//! length); the data directory is not locked against a second node.

mod clients;
mod server;
mod storage;
mod wire;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::peers::{self, NodeId, Peers};
use crate::shell::{self, Listeners, Logger};
pub use crate::shell::{ArgsError, Error};
use crate::zab::core::{self, Zab};
use server::Server;
use storage::Storage;

/// Messages from peers waiting for the event loop.
const INBOX: usize = 4096;
/// Client events waiting for the event loop; beyond this, connections wait.
const CLIENTS: usize = 4096;
/// The ensemble's shared secret, from which every server derives (and checks) a session's
/// password. Not a defence: peer links are not authenticated either.
pub(crate) const SECRET: u64 = 0x7a61_625f_7365_6372;
/// ZooKeeper's `tickTime` for sessions, in ms: timeouts are 2 to 20 of these.
pub(crate) const SESSION_TICK_MS: u64 = 200;

/// The core's bug switches, as `--bug` names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Bug {
    /// A new leader broadcasts before a quorum took its history.
    BroadcastBeforeSync,
    /// Followers acknowledge proposals and pings from a leader of an older epoch.
    AcceptOlderEpoch,
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
    pub bug: Option<Bug>,
    /// The length of one ZAB tick.
    pub tick: Duration,
}

#[derive(Debug, Parser)]
#[command(
    name = "zab",
    about = "One server of faultline's ZooKeeper-like system (ZAB, ZooKeeper's client protocol)"
)]
struct Cli {
    /// This node's name, `n<number>` (1 to 255); the number is its ZAB id.
    #[arg(long)]
    id: String,
    /// The port (on 127.0.0.1) to serve ZooKeeper's client protocol on.
    #[arg(long)]
    client_port: u16,
    /// The port (on 127.0.0.1) to accept peers' connections on.
    #[arg(long)]
    peer_port: u16,
    /// The other nodes, as `n1=HOST:PORT,n2=HOST:PORT`: where to send to each. May be empty.
    #[arg(long, default_value = "")]
    peers: String,
    /// Where the transaction log and the epochs are kept (created if missing).
    #[arg(long)]
    data_dir: PathBuf,
    /// Milliseconds per ZAB tick.
    #[arg(long, default_value_t = 10)]
    tick_ms: u64,
    /// Switch on a known bug.
    #[arg(long, value_enum)]
    bug: Option<Bug>,
}

impl Config {
    /// Parses the arguments after `zab`.
    pub fn from_args(args: Vec<String>) -> Result<Config, ArgsError> {
        let cli: Cli = shell::parse_args("zab", args)?;
        let invalid = ArgsError::Invalid;
        let id = peers::parse_name(&cli.id).map_err(invalid)?;
        let peers = peers::parse_peers(&cli.peers, id).map_err(invalid)?;
        if cli.tick_ms == 0 {
            return Err(invalid("--tick-ms must be above 0".into()));
        }
        let local = |port| SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        Ok(Config {
            name: format!("n{id}"),
            id,
            client: local(cli.client_port),
            peer: local(cli.peer_port),
            peers,
            data_dir: cli.data_dir,
            bug: cli.bug,
            tick: Duration::from_millis(cli.tick_ms),
        })
    }

    /// The core's configuration for this node, with `seed` (fresh on every start).
    pub fn zab_config(&self, seed: u64) -> core::Config {
        let mut voters: Vec<NodeId> = self.peers.iter().map(|&(p, _)| p).collect();
        voters.push(self.id);
        voters.sort_unstable();
        core::Config {
            seed,
            bug: match self.bug {
                None => core::Bug::None,
                Some(Bug::BroadcastBeforeSync) => core::Bug::BroadcastBeforeSync,
                Some(Bug::AcceptOlderEpoch) => core::Bug::AcceptOlderEpoch,
            },
            ..core::Config::new(self.id, voters)
        }
    }
}

/// A seed no earlier start of this node used: link ids are drawn from it.
fn fresh_seed() -> Result<u64, Error> {
    let mut bytes = [0; 8];
    getrandom::fill(&mut bytes).map_err(|e| Error(format!("no randomness from the OS: {e}")))?;
    Ok(u64::from_le_bytes(bytes))
}

/// Runs a node until `shutdown` completes: binds its addresses, then [`serve_on`] them.
pub async fn serve(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
    let listeners = Listeners::bind(config.client, config.peer).await?;
    serve_on(config, listeners, shutdown).await
}

/// Runs a node on sockets already bound, until `shutdown` completes. Fails at start (bad data
/// directory, a persisted state the core refuses) or later if the disk fails.
pub async fn serve_on(
    config: Config,
    listeners: Listeners,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    let log = Logger::new(&config.name);
    let opened = Storage::open(&config.data_dir)
        .map_err(|e| Error(format!("cannot open the data directory: {e}")))?;
    if let Some(torn) = &opened.torn {
        log.line(format_args!("cut a torn tail off the log: {torn}"));
    }
    let epochs = opened.persisted.epochs;
    let txns = opened.persisted.history.len();
    let zab = Zab::new(config.zab_config(fresh_seed()?), opened.persisted)
        .map_err(|e| Error(e.to_string()))?;
    log.line(format_args!(
        "starting: epochs {}/{} (accepted/current), {txns} transactions, {} peers, bug {:?}",
        epochs.accepted,
        epochs.current,
        config.peers.len(),
        config.bug,
    ));

    let (status, status_rx) = watch::channel(zab.status());
    let (inbox, inbox_rx) = mpsc::channel(INBOX);
    let (clients, clients_rx) = mpsc::channel(CLIENTS);
    let mut tasks = JoinSet::new();
    let peers = Peers::start(&config.peers, &log, &mut tasks);
    tasks.spawn(peers::listen(listeners.peer.0, inbox, log.clone()));
    tasks.spawn(clients::listen(
        listeners.client.0,
        clients,
        status_rx,
        log.clone(),
    ));
    let server = Server::new(zab, opened.storage, peers, log.clone(), status);
    let result = server
        .run(config.tick, inbox_rx, clients_rx, shutdown)
        .await;
    tasks.shutdown().await;
    log.ended(result)
}

/// `faultline node zab ARGS…`: runs a node until SIGTERM or SIGINT. `args` are the arguments
/// after `zab`. Exit code 0 after a clean stop, 3 on any error.
pub fn main(args: Vec<String>) -> ExitCode {
    shell::main(
        "zab",
        Config::from_args(args),
        |config| config.name.clone(),
        serve,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::{args, assert_usage_errors};

    const BASE: &str = "--id n3 --client-port 4000 --peer-port 4001 --data-dir /tmp/d";

    #[test]
    fn the_descriptors_command_line_parses() {
        let line = format!("zab {BASE} --peers n1=127.0.0.1:5001,n2=127.0.0.1:5002");
        let config = Config::from_args(args(&line)).unwrap();
        assert_eq!((config.name.as_str(), config.id), ("n3", 3));
        assert_eq!(config.client, "127.0.0.1:4000".parse().unwrap());
        assert_eq!(config.peer, "127.0.0.1:4001".parse().unwrap());
        assert_eq!(config.peers.len(), 2);
        assert_eq!(config.tick, Duration::from_millis(10));
        let zab = config.zab_config(7);
        assert_eq!(
            (zab.voters, zab.seed, zab.bug),
            (vec![1, 2, 3], 7, core::Bug::None)
        );

        let line = format!("{BASE} --bug accept-older-epoch --tick-ms 5");
        let config = Config::from_args(args(&line)).unwrap();
        assert_eq!(config.zab_config(0).bug, core::Bug::AcceptOlderEpoch);
        assert_eq!(config.tick, Duration::from_millis(5));
        let line = format!("{BASE} --bug broadcast-before-sync");
        let config = Config::from_args(args(&line)).unwrap();
        assert_eq!(config.zab_config(0).bug, core::Bug::BroadcastBeforeSync);
        assert!(config.peers.is_empty());
    }

    #[tokio::test]
    async fn a_disk_the_core_refuses_is_one_line_at_start() {
        // A history out of zxid order, which no correct node writes.
        let dir = shell::empty_temp_dir("zab-refused");
        let txn = |epoch, counter| core::Txn {
            zxid: core::Zxid::new(epoch, counter),
            payload: Vec::new(),
        };
        let epochs = core::Epochs {
            accepted: 9,
            current: 9,
        };
        let mut opened = Storage::open(&dir).unwrap();
        opened
            .storage
            .persist(None, &[txn(9, 73), txn(8, 88)], Some(epochs))
            .unwrap();
        let line = format!(
            "--id n1 --client-port 0 --peer-port 0 --data-dir {}",
            dir.display()
        );
        let config = Config::from_args(args(&line)).unwrap();
        let Err(Error(message)) = serve(config, std::future::pending()).await else {
            panic!("the node started on a history out of order");
        };
        assert!(
            message.starts_with("cannot start the zab node: "),
            "{message}"
        );
        assert!(message.contains("8:88 follows 9:73") && !message.contains('\n'));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn bad_command_lines_are_one_line_errors() {
        assert_usage_errors(
            Config::from_args,
            &[
                "--id n3 --client-port 4000 --peer-port 4001".to_string(),
                format!("{BASE} --peers n1=nowhere"),
                format!("{BASE} --peers n1"),
                format!("{BASE} --peers n3=127.0.0.1:1"),
                format!("{BASE} --peers n1=127.0.0.1:1,n1=127.0.0.1:2"),
                format!("{BASE} --bug nonsense"),
                format!("{BASE} --tick-ms 0"),
                BASE.replace("n3", "n0"),
                BASE.replace("n3", "n256"),
                BASE.replace("n3", "s3"),
            ],
        );
    }
}
