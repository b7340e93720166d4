//! `faultline node raft-kv`: one node of the Raft-replicated key-value store, as a real process.
//!
//! This is the tokio shell around the sans-I/O [`raft`] core and the [`kv`](crate::kv) state
//! machine. It follows the shell contract in [`raft`] to the letter and serves the `http-kv`
//! client protocol (docs/protocols/http-kv.md).
//!
//! ```text
//!              ┌──────────── one task owns Raft + KvStore + the log file ────────────┐
//!  timer ─tick─▶                                                                     │
//!  peers ─mpsc─▶  node::Node::run ──Ready──▶ storage (write + fsync)                 │
//!  HTTP  ─mpsc─▶       │                 ──▶ peers (one-way TCP, per-peer queues)    │
//!   ▲                  │                 ──▶ KvStore::apply ──▶ proposals answered   │
//!   └────oneshot───────┘                 ──▶ read states / failed reads answered     │
//!              └─────────────────────────────────────────────────────────────────────┘
//! ```
//!
//! * `node`: the event loop; how each request's fate is decided.
//! * `storage`: the append-only, checksummed log file, and its recovery after a crash.
//! * [`peers`](crate::peers): one-way peer connections carrying length-prefixed JSON messages.
//! * `http`: the axum client API and `/health`.
//!
//! # Command line
//!
//! ```text
//! raft-kv --id n3 --client 127.0.0.1:PORT --peer 127.0.0.1:PORT \
//!         --peers n1=127.0.0.1:A,n2=127.0.0.1:B --data-dir DIR [--bug stale-reads|txn-local-reads]
//!         [--tick-ms 10]
//! ```
//!
//! [`main`] takes the arguments after the word `raft-kv` (a leading `raft-kv` is tolerated and
//! skipped). Nodes are named `n<number>` and the number is the Raft id. `--peers` gives, for each
//! other node, the address to send to it at — the harness's proxy for that link, never the
//! peer's own `--peer` address; it may be empty (a single node). Bad flags, an unusable data
//! directory, an address that cannot be bound, or a failure to write the log later: one line on
//! stderr and exit code 3. SIGTERM and SIGINT stop the node cleanly (exit 0).
//!
//! Timing: a tick every `--tick-ms` (10 ms); elections after 15–30 ticks of silence; heartbeats
//! every 3 ticks; pre-vote and check-quorum on; the election timer's seed is the id. Requests
//! wait at most 800 ms for their fate (`http::REQUEST_TIMEOUT`).
//!
//! # Crashes
//!
//! Term, vote and log survive a SIGKILL (every `Ready` is fsynced before its messages go out);
//! the state machine does not: it starts empty and is rebuilt as the core redelivers every
//! committed entry, which also rebuilds the table that deduplicates retried `(client, seq)`s.
//!
//! # The `stale-reads` bug (`--bug stale-reads`)
//!
//! etcd issue #741: a node that believes it is the leader answers a read at once from its own
//! state machine, without the read-index round that confirms no newer leader exists. And, as in
//! the etcd of that era, leadership is never confirmed in any other way either: check-quorum is
//! off, so a leader cut off in a minority keeps believing it leads — and keeps serving reads of
//! ever older data — until a message from a higher term reaches it. (A freshly elected leader
//! may also answer before it has applied everything committed before it.) Writes are unchanged
//! and still go through the log. Without the switch, reads are linearizable.
//!
//! # The `txn-local-reads` bug (`--bug txn-local-reads`)
//!
//! A read-only transaction is answered at once from the state machine of whichever node
//! received it — leader or follower, with no leadership check and no log entry — the way a
//! database serving "follower reads" without a closed timestamp would. Every node's state is a
//! prefix of the committed log, so each answer is a consistent snapshot (serializable), but an
//! old one: a follower learns of a commit a heartbeat after the leader acknowledged it, and one
//! cut off by a partition, or a deposed leader, goes on serving its old state. A read-only
//! transaction that begins after an append completed can miss it: strict serializability
//! (real-time order) is violated. Transactions that write, and everything else, are unchanged.
//!
//! # What is left out
//!
//! The log is never compacted (it grows for the length of a test), the data directory is not
//! locked against a second node, and peer messages are not authenticated.

mod http;
mod node;
mod storage;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::peers;
use crate::raft::{self, NodeId, Raft};
use crate::shell::{self, HttpServer, Listeners, Logger};
pub use crate::shell::{ArgsError, Error};
use node::{Node, Status};
use storage::Storage;

/// Messages from peers waiting for the event loop.
const INBOX: usize = 4096;
/// Client requests waiting for the event loop; beyond this, requests are refused (503).
const CALLS: usize = 4096;

/// Known bugs, switched on with `--bug`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Bug {
    /// Leaders serve reads from local state without confirming leadership; check-quorum off.
    StaleReads,
    /// Any node answers read-only transactions from its local state, outside the log.
    TxnLocalReads,
}

/// Everything a node is started with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// `<prefix><id>`: `n3`, or `s3` for a store's node.
    pub name: String,
    /// The letters every node's name starts with (`n`): peers and leader hints are named with it.
    pub prefix: String,
    pub id: NodeId,
    /// Where clients reach this node (HTTP).
    pub client: SocketAddr,
    /// Where peers' connections to this node arrive.
    pub peer: SocketAddr,
    /// Each other node, and the address to send to it at.
    pub peers: Vec<(NodeId, SocketAddr)>,
    pub data_dir: PathBuf,
    pub bug: Option<Bug>,
    /// The length of one Raft tick.
    pub tick: Duration,
}

#[derive(Debug, Parser)]
#[command(
    name = "raft-kv",
    about = "One node of faultline's Raft-replicated key-value store"
)]
struct Cli {
    /// This node's name, `n<number>`; the number is its Raft id.
    #[arg(long)]
    id: String,
    /// The address to serve the http-kv client protocol on.
    #[arg(long)]
    client: SocketAddr,
    /// The address to accept peers' connections on.
    #[arg(long)]
    peer: SocketAddr,
    /// The other nodes, as `n1=HOST:PORT,n2=HOST:PORT`: where to send to each. May be empty.
    #[arg(long, default_value = "")]
    peers: String,
    /// Where the Raft log is kept (created if missing).
    #[arg(long)]
    data_dir: PathBuf,
    /// Switch on a known bug.
    #[arg(long, value_enum)]
    bug: Option<Bug>,
    /// Milliseconds per Raft tick.
    #[arg(long, default_value_t = 10)]
    tick_ms: u64,
}

impl Config {
    /// Parses the arguments after `raft-kv`.
    pub fn from_args(args: Vec<String>) -> Result<Config, ArgsError> {
        let cli: Cli = shell::parse_args("raft-kv", args)?;
        let invalid = |msg: String| ArgsError::Invalid(msg);
        let (prefix, id) = parse_name(&cli.id).map_err(invalid)?;
        let mut peers = Vec::new();
        for item in cli.peers.split(',').filter(|s| !s.trim().is_empty()) {
            let (name, addr) = item
                .split_once('=')
                .ok_or_else(|| invalid(format!("--peers: {item:?} is not NAME=HOST:PORT")))?;
            let (peer_prefix, peer) = parse_name(name.trim()).map_err(invalid)?;
            if peer_prefix != prefix {
                return Err(invalid(format!(
                    "--peers: {name:?} is not named like --id {:?}",
                    cli.id
                )));
            }
            let addr: SocketAddr = addr
                .trim()
                .parse()
                .map_err(|e| invalid(format!("--peers: {addr:?}: {e}")))?;
            if peer == id || peers.iter().any(|&(p, _)| p == peer) {
                return Err(invalid(format!("--peers: {prefix}{peer} appears twice")));
            }
            peers.push((peer, addr));
        }
        if cli.tick_ms == 0 {
            return Err(invalid("--tick-ms must be above 0".into()));
        }
        Ok(Config {
            name: format!("{prefix}{id}"),
            prefix,
            id,
            client: cli.client,
            peer: cli.peer,
            peers,
            data_dir: cli.data_dir,
            bug: cli.bug,
            tick: Duration::from_millis(cli.tick_ms),
        })
    }

    /// The Raft core's configuration for this node.
    pub fn raft_config(&self) -> raft::Config {
        let mut voters: Vec<NodeId> = self.peers.iter().map(|&(p, _)| p).collect();
        voters.push(self.id);
        voters.sort_unstable();
        raft::Config {
            election_ticks: (15, 30),
            heartbeat_ticks: 3,
            pre_vote: true,
            // The bug's leaders never check that a quorum still follows them.
            check_quorum: self.bug != Some(Bug::StaleReads),
            seed: self.id,
            ..raft::Config::new(self.id, voters)
        }
    }
}

/// `n3` → (`n`, 3): letters, then the node's number.
fn parse_name(name: &str) -> Result<(String, NodeId), String> {
    let digits = name.trim_start_matches(|c: char| c.is_ascii_lowercase());
    let prefix = &name[..name.len() - digits.len()];
    match digits.parse() {
        Ok(id) if !prefix.is_empty() && !digits.starts_with('+') => Ok((prefix.to_string(), id)),
        _ => Err(format!("{name:?} is not a node name like n1")),
    }
}

/// Runs a node until `shutdown` completes: binds its addresses, then [`serve_on`] them.
pub async fn serve(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
    let listeners = Listeners::bind(config.client, config.peer).await?;
    serve_on(config, listeners, shutdown).await
}

/// Runs a node on sockets already bound, until `shutdown` completes. Fails at start (bad data
/// directory, inconsistent log) or later if the log cannot be written.
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
    let hard_state = opened.persisted.hard_state;
    let entries = opened.persisted.entries.len();
    let raft =
        Raft::new(config.raft_config(), opened.persisted).map_err(|e| Error(e.to_string()))?;
    log.line(format_args!(
        "starting: term {}, vote {:?}, {entries} log entries, {} peers, bug {:?}",
        hard_state.term,
        hard_state.vote,
        config.peers.len(),
        config.bug,
    ));

    let (status, status_rx) = watch::channel(Status::of(&raft));
    let (inbox, inbox_rx) = mpsc::channel(INBOX);
    let (calls, calls_rx) = mpsc::channel(CALLS);
    let mut tasks = JoinSet::new();
    let peers = peers::Peers::start(&config.peers, &log, &mut tasks);
    tasks.spawn(peers::listen(listeners.peer.0, inbox, log.clone()));

    let api = http::Api {
        name: config.name.as_str().into(),
        prefix: config.prefix.as_str().into(),
        calls,
        status: status_rx,
    };
    let http = HttpServer::spawn(listeners.client, http::router(api));

    let node = Node::new(
        raft,
        opened.storage,
        peers,
        config.bug,
        log.clone(),
        status,
        config.prefix.clone(),
    );
    let result = node.run(config.tick, inbox_rx, calls_rx, shutdown).await;

    // The loop is gone, and with it every waiting request's oneshot: their handlers answer
    // now, so the HTTP server can drain its connections and stop.
    http.stop().await;
    tasks.shutdown().await;
    log.ended(result)
}

/// `faultline node raft-kv ARGS…`: runs a node until SIGTERM or SIGINT. `args` are the
/// arguments after `raft-kv`. Exit code 0 after a clean stop, 3 on any error.
pub fn main(args: Vec<String>) -> ExitCode {
    shell::main(
        "raft-kv",
        Config::from_args(args),
        |config| config.name.clone(),
        serve,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::{args, assert_usage_errors};

    const BASE: &str = "--id n3 --client 127.0.0.1:4000 --peer 127.0.0.1:4001 --data-dir /tmp/d";

    #[test]
    fn the_descriptors_command_line_parses() {
        let line = format!("{BASE} --peers n1=127.0.0.1:5001,n2=127.0.0.1:5002");
        let config = Config::from_args(args(&line)).unwrap();
        assert_eq!(config.name, "n3");
        assert_eq!(config.id, 3);
        assert_eq!(config.client, "127.0.0.1:4000".parse().unwrap());
        assert_eq!(
            config.peers,
            vec![
                (1, "127.0.0.1:5001".parse().unwrap()),
                (2, "127.0.0.1:5002".parse().unwrap())
            ]
        );
        assert_eq!(config.bug, None);
        assert_eq!(config.tick, Duration::from_millis(10));
        let raft = config.raft_config();
        assert_eq!(raft.voters, vec![1, 2, 3]);
        assert!(raft.check_quorum && raft.pre_vote);
        assert_eq!(raft.election_ticks, (15, 30));
        raft.validate().unwrap();

        // With the program's name in front, the bug, and another tick.
        let line =
            format!("raft-kv {BASE} --peers n1=127.0.0.1:5001 --bug stale-reads --tick-ms 5");
        let config = Config::from_args(args(&line)).unwrap();
        assert_eq!(config.bug, Some(Bug::StaleReads));
        assert_eq!(config.tick, Duration::from_millis(5));
        assert!(!config.raft_config().check_quorum);

        let line = format!("{BASE} --bug txn-local-reads");
        let config = Config::from_args(args(&line)).unwrap();
        assert_eq!(config.bug, Some(Bug::TxnLocalReads));
        assert!(
            config.raft_config().check_quorum,
            "only stale-reads turns it off"
        );
    }

    #[test]
    fn a_single_node_has_no_peers() {
        let mut single = args(BASE);
        single.extend(["--peers".to_string(), String::new()]);
        let config = Config::from_args(single).unwrap();
        assert!(config.peers.is_empty());
        assert_eq!(config.raft_config().voters, vec![3]);
        assert!(Config::from_args(args(BASE)).unwrap().peers.is_empty());
    }

    #[test]
    fn a_stores_nodes_keep_their_names() {
        let line = "--id s2 --client 127.0.0.1:4000 --peer 127.0.0.1:4001 --data-dir /tmp/x \
                    --peers s1=127.0.0.1:5001,s3=127.0.0.1:5003";
        let config = Config::from_args(args(line)).unwrap();
        assert_eq!(
            (config.name.as_str(), config.prefix.as_str(), config.id),
            ("s2", "s", 2)
        );
        assert_eq!(config.peers.len(), 2);
    }

    #[test]
    fn bad_command_lines_are_one_line_errors() {
        assert_usage_errors(
            Config::from_args,
            &[
                "--id n3 --client 127.0.0.1:4000 --peer 127.0.0.1:4001".to_string(),
                format!("{BASE} --peers n1=nowhere"),
                format!("{BASE} --peers n1"),
                format!("{BASE} --peers n3=127.0.0.1:1"),
                format!("{BASE} --peers n1=127.0.0.1:1,n1=127.0.0.1:2"),
                format!("{BASE} --bug nonsense"),
                format!("{BASE} --tick-ms 0"),
                format!("{BASE} --unknown"),
                BASE.replace("n3", "3"),
                BASE.replace("n3", "N3"),
                format!("{} --peers n1=127.0.0.1:1", BASE.replace("n3", "s3")),
            ],
        );
    }
}
