//! The list-append and rw-register workloads' glue: their settings, and workers that draw
//! transactions from one shared generator at the scenario's pace and perform them over
//! `http-kv` or on etcd.
//!
//! Each worker starts every transaction at its home node (workers are spread over the nodes,
//! as Jepsen binds clients to nodes) and, over `http-kv`, follows the leader hints it gets
//! within it — as the register's workers do, and for the same reason: every node, followers
//! and stranded leaders included, keeps being asked, so that one that answers when it should
//! not is seen doing it. On etcd a worker only ever talks to its home member, which forwards
//! proposals to the leader itself.

use std::sync::{Arc, Mutex};

use checkers::compose::Checker;
use checkers::elle;
use serde::{Deserialize, Serialize};
use targets::descriptor::Protocol;
use tokio::time::Instant;

use super::client::perform;
use super::etcd::EtcdTxn;
use super::generator::{self, Generator, Kind, Txn};
use crate::history::value;
use crate::pacer::Pacer;
use crate::register::client::Client as HttpKv;
use crate::settings::Settings;
use crate::worker::{self, Client, Completion, Step};
use crate::workload::{Links, Run, Running, TypedWorkload};

/// A transaction that found a key it read changed before it committed (etcd's guarded
/// commit): the optimistic scheme's answer, as a serialization failure is. raft-kv's
/// transactions do not fail but by refusal.
const ANSWERS: &[&str] = &["conflict"];

/// Elle's list-append: transactions of appends and reads of lists.
pub struct ListAppend;

/// Elle's rw-register: transactions of writes and reads of registers.
pub struct RwRegister;

/// Their scenario fields (docs/workloads/list-append.md).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "kebab-case", default)]
pub struct TxnSettings {
    /// Keys active at once.
    pub key_count: u64,
    /// The fewest micro-operations in a transaction.
    pub min_txn_length: u64,
    /// The most micro-operations in a transaction.
    pub max_txn_length: u64,
    /// Writes (appends) to a key before a fresh key replaces it.
    pub max_writes_per_key: u64,
}

impl Default for TxnSettings {
    fn default() -> Self {
        TxnSettings {
            key_count: 8,
            min_txn_length: 1,
            max_txn_length: 4,
            max_writes_per_key: 32,
        }
    }
}

impl Settings for TxnSettings {
    fn check(&self, _protocol: Protocol) -> Result<(), String> {
        if self.key_count == 0 {
            return Err("key-count must be positive".into());
        }
        if self.min_txn_length == 0 {
            return Err("min-txn-length must be positive".into());
        }
        if self.max_txn_length < self.min_txn_length {
            return Err("max-txn-length must be at least min-txn-length".into());
        }
        if self.max_writes_per_key == 0 {
            return Err("max-writes-per-key must be positive".into());
        }
        Ok(())
    }
}

impl TypedWorkload for ListAppend {
    type Settings = TxnSettings;
    const NAME: &'static str = "list-append";
    const SUMMARY: &'static str =
        "Elle's list-append: transactions of appends and list reads over rotating keys";
    const PROTOCOLS: &'static [Protocol] = &[Protocol::HttpKv, Protocol::Etcd];
    const LINKS: Links = Links::Shared;
    const CHECKERS: &'static [Checker] = &[Checker::Isolation(elle::Workload::ListAppend)];
    const ANSWERS: &'static [&'static str] = ANSWERS;

    fn run(&self, settings: TxnSettings, run: Run) -> Running {
        start(Kind::ListAppend, settings, run)
    }
}

impl TypedWorkload for RwRegister {
    type Settings = TxnSettings;
    const NAME: &'static str = "rw-register";
    const SUMMARY: &'static str =
        "Elle's rw-register: transactions of register writes and reads over rotating keys";
    const PROTOCOLS: &'static [Protocol] = &[Protocol::HttpKv, Protocol::Etcd];
    const LINKS: Links = Links::Shared;
    const CHECKERS: &'static [Checker] = &[Checker::Isolation(elle::Workload::RwRegister)];
    const ANSWERS: &'static [&'static str] = ANSWERS;

    fn run(&self, settings: TxnSettings, run: Run) -> Running {
        start(Kind::RwRegister, settings, run)
    }
}

/// Starts `run.concurrency` paced workers of `kind`.
fn start(kind: Kind, settings: TxnSettings, run: Run) -> Running {
    let generator = Arc::new(Mutex::new(Generator::new(generator::Config {
        seed: run.seed,
        kind,
        key_count: settings.key_count as usize,
        min_txn_length: settings.min_txn_length as usize,
        max_txn_length: settings.max_txn_length as usize,
        max_writes_per_key: settings.max_writes_per_key,
    })));
    let nodes = run.shared_nodes();
    let http = HttpKv::new(nodes.clone(), run.op_timeout);
    let pace = run.pace();
    let workers = (0..run.concurrency)
        .map(|index| Worker {
            generator: generator.clone(),
            conn: match run.protocol {
                Protocol::Etcd => Conn::Etcd(EtcdTxn::new(
                    nodes[index % nodes.len().max(1)].clone(),
                    run.op_timeout,
                )),
                _ => Conn::Http {
                    http: http.clone(),
                    home: index,
                },
            },
            pacer: Pacer::new(run.seed, index, pace),
            seq: 0,
        })
        .collect();
    Box::pin(async move {
        worker::drive_all(workers, 0, &run.ctx, run.until).await;
        None
    })
}

/// One transactional client: paced transactions from the shared generator.
struct Worker {
    generator: Arc<Mutex<Generator>>,
    conn: Conn,
    pacer: Pacer,
    seq: u64,
}

/// One worker's way to the keys.
enum Conn {
    /// Over `http-kv`: every transaction starts at node `home` (modulo the nodes).
    Http { http: HttpKv, home: usize },
    /// On etcd, at the worker's home member.
    Etcd(EtcdTxn),
}

impl Client for Worker {
    type Op = Txn;

    fn next(&mut self, _process: u64, until: Instant) -> Step<Txn> {
        let generator = &self.generator;
        self.pacer.step(until, || {
            generator
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .next_txn()
        })
    }

    fn invocation(&self, txn: &Txn) -> worker::Invocation {
        worker::Invocation {
            f: "txn",
            key: None,
            value: value(txn.to_json()),
        }
    }

    async fn invoke(&mut self, process: u64, txn: Txn) -> Completion {
        self.seq += 1;
        let out = match &self.conn {
            Conn::Http { http, home } => {
                let mut node = *home;
                perform(http, process, self.seq, &mut node, &txn).await
            }
            Conn::Etcd(etcd) => etcd.perform(&txn).await,
        };
        Completion {
            kind: out.kind,
            value: value(out.value),
            node: Some(out.node),
            error: out.error,
        }
    }
}
