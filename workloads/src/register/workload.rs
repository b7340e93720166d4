//! The register workload's clients: each worker draws its next operation from the shared
//! generator at the scenario's pace and performs it — over `http-kv`, starting at its home node
//! (workers are spread over the nodes, as Jepsen binds clients to nodes) and following the
//! leader hints it gets within one operation. Were workers to stay with the leader they found,
//! they would all end up on one node, and a leader stranded in a minority would have every
//! client to itself — nobody would be writing on the majority side, and nothing it did wrong
//! could be seen; or over ZooKeeper, in a session with its home node; or over etcd's JSON
//! gateway, at its home member.
//!
//! After the faults are healed, every key used is read once more, by fresh processes.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use checkers::Value;
use checkers::compose::Checker;
use serde::{Deserialize, Serialize};
use targets::descriptor::Protocol;
use tokio::time::Instant;

use super::client::{Client as HttpKv, Node};
use super::etcd::{EtcdRegister, SERIALIZABLE};
use super::generator::{self, Generator, Invocation, Op};
use super::zookeeper::{FOLLOWER_READS, ZkRegister};
use crate::history::value;
use crate::pacer::Pacer;
use crate::settings::Settings;
use crate::worker::{self, Client, Completion, Step};
use crate::workload::{Links, Run, Running, TypedWorkload};

/// The register workload.
pub struct Register;

/// Its scenario fields.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "kebab-case", default)]
pub struct RegisterSettings {
    /// Operations on one key before moving to the next.
    pub ops_per_key: u64,
    /// Values written (and compared) are drawn from `0..value-count`. Few values make cas
    /// succeed often; many make a stale read hard to explain away: a timed-out write may take
    /// effect at any later point, so with five values some write of the stale value is usually
    /// pending, and the checker may place it just before the read.
    pub value_count: u32,
}

impl Default for RegisterSettings {
    fn default() -> Self {
        RegisterSettings {
            ops_per_key: 200,
            value_count: 5,
        }
    }
}

impl Settings for RegisterSettings {
    fn check(&self, _protocol: Protocol) -> Result<(), String> {
        if self.ops_per_key == 0 {
            return Err("ops-per-key must be positive".into());
        }
        if self.value_count == 0 {
            return Err("value-count must be positive".into());
        }
        Ok(())
    }
}

impl TypedWorkload for Register {
    type Settings = RegisterSettings;
    const NAME: &'static str = "register";
    const SUMMARY: &'static str =
        "read/write/cas on rotating keys; checked linearizable as a cas-register per key";
    const PROTOCOLS: &'static [Protocol] = &[Protocol::HttpKv, Protocol::Zookeeper, Protocol::Etcd];
    const LINKS: Links = Links::Shared;
    const CHECKERS: &'static [Checker] = super::CHECKERS;
    /// A cas that compared false; a cas of a key never written (ZooKeeper's missing znode).
    const ANSWERS: &'static [&'static str] = &["cas-mismatch", "no such register"];

    fn run(&self, settings: RegisterSettings, run: Run) -> Running {
        let shared = Arc::new(Shared {
            generator: Mutex::new(Generator::new(generator::Config {
                seed: run.seed,
                ops_per_key: settings.ops_per_key,
                values: settings.value_count,
                ..generator::Config::default()
            })),
            store: match run.protocol {
                Protocol::Zookeeper => Store::Zookeeper {
                    nodes: run.shared_nodes(),
                    op_timeout: run.op_timeout,
                    sync_reads: !run.options.iter().any(|o| o == FOLLOWER_READS),
                },
                Protocol::Etcd => Store::Etcd {
                    nodes: run.shared_nodes(),
                    op_timeout: run.op_timeout,
                    serializable: run.options.iter().any(|o| o == SERIALIZABLE),
                },
                _ => Store::Http(HttpKv::new(run.shared_nodes(), run.op_timeout)),
            },
        });
        let pace = run.pace();
        let workers = (0..run.concurrency)
            .map(|index| Worker {
                conn: shared.store.conn(index),
                shared: shared.clone(),
                pacer: Pacer::new(run.seed, index, pace),
                seq: 0,
            })
            .collect();
        Box::pin(async move {
            let fresh = worker::drive_all(workers, 0, &run.ctx, run.until).await;
            let finish: crate::workload::Finish =
                Box::pin(final_reads(shared, run.concurrency, fresh, run.ctx));
            Some(finish)
        })
    }
}

/// What the workers share.
struct Shared {
    generator: Mutex<Generator>,
    store: Store,
}

/// The system the registers live in.
enum Store {
    /// `http-kv`: one HTTP client for all workers.
    Http(HttpKv),
    /// ZooKeeper: every worker opens a session of its own; reads `sync` first unless the
    /// scenario asked for follower reads.
    Zookeeper {
        nodes: Vec<Node>,
        op_timeout: Duration,
        sync_reads: bool,
    },
    /// etcd: every worker talks to its home member; reads are linearizable unless the
    /// scenario asked for serializable ones.
    Etcd {
        nodes: Vec<Node>,
        op_timeout: Duration,
        serializable: bool,
    },
}

impl Store {
    /// A connection for a client whose home is node `home` (modulo the nodes).
    fn conn(&self, home: usize) -> Conn {
        match self {
            Store::Http(http) => Conn::Http {
                http: http.clone(),
                home,
                node: home,
            },
            Store::Zookeeper {
                nodes,
                op_timeout,
                sync_reads,
            } => {
                let node = nodes[home % nodes.len().max(1)].clone();
                Conn::Zookeeper(ZkRegister::new(node, *op_timeout, *sync_reads))
            }
            Store::Etcd {
                nodes,
                op_timeout,
                serializable,
            } => {
                let node = nodes[home % nodes.len().max(1)].clone();
                Conn::Etcd(EtcdRegister::new(node, *op_timeout, *serializable))
            }
        }
    }
}

/// One client's way to the registers.
enum Conn {
    /// Over `http-kv`: an operation starts at `node`, which follows the leader hints it gets.
    Http {
        http: HttpKv,
        home: usize,
        node: usize,
    },
    Zookeeper(ZkRegister),
    Etcd(EtcdRegister),
}

impl Conn {
    /// Starts the next operation at the client's home node.
    fn go_home(&mut self) {
        if let Conn::Http { home, node, .. } = self {
            *node = *home;
        }
    }

    /// Performs `inv` as `process` with its `seq`.
    async fn perform(&mut self, process: u64, seq: u64, inv: Invocation) -> Completion {
        let out = match self {
            Conn::Http { http, node, .. } => http.invoke(process, seq, node, inv).await,
            Conn::Zookeeper(zk) => zk.invoke(inv).await,
            Conn::Etcd(etcd) => etcd.invoke(inv).await,
        };
        Completion {
            kind: out.kind,
            value: value(out.value),
            node: Some(out.node),
            error: out.error,
        }
    }
}

impl Shared {
    fn draw(&self) -> Invocation {
        self.generator
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .next_invocation()
    }

    fn keys(&self) -> Vec<u64> {
        self.generator
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .collect()
    }
}

/// One register client: paced operations from the shared generator.
struct Worker {
    shared: Arc<Shared>,
    conn: Conn,
    pacer: Pacer,
    seq: u64,
}

fn invocation(inv: &Invocation) -> worker::Invocation {
    worker::Invocation {
        f: inv.op.f(),
        key: Some(Value::Int(inv.key as i64)),
        value: value(inv.op.value()),
    }
}

impl Client for Worker {
    type Op = Invocation;

    fn next(&mut self, _process: u64, until: Instant) -> Step<Invocation> {
        let shared = &self.shared;
        self.pacer.step(until, || shared.draw())
    }

    fn invocation(&self, op: &Invocation) -> worker::Invocation {
        invocation(op)
    }

    async fn invoke(&mut self, process: u64, op: Invocation) -> Completion {
        self.seq += 1;
        // Every operation starts at the worker's home node.
        self.conn.go_home();
        self.conn.perform(process, self.seq, op).await
    }
}

/// After the test: one read of every key used, spread over `concurrency` fresh processes
/// from `first_process`.
async fn final_reads(
    shared: Arc<Shared>,
    concurrency: usize,
    first_process: u64,
    ctx: worker::Context,
) {
    let keys = shared.keys();
    let readers = (0..concurrency.max(1))
        .map(|w| FinalReads {
            conn: shared.store.conn(w),
            keys: keys
                .iter()
                .copied()
                .skip(w)
                .step_by(concurrency.max(1))
                .rev()
                .collect(),
            seq: 1_000_000,
        })
        .collect();
    // No time limit: every key is read, however long the cluster takes to answer.
    let never = Instant::now() + std::time::Duration::from_secs(86_400 * 365);
    worker::drive_all(readers, first_process, &ctx, never).await;
}

/// One final reader: a read of each of its keys, one after another.
struct FinalReads {
    /// Starting where the last read was answered.
    conn: Conn,
    /// Still to read, the next last.
    keys: Vec<u64>,
    seq: u64,
}

impl Client for FinalReads {
    type Op = Invocation;

    fn next(&mut self, _process: u64, _until: Instant) -> Step<Invocation> {
        match self.keys.pop() {
            Some(key) => Step::Invoke(Invocation { key, op: Op::Read }),
            None => Step::Done,
        }
    }

    fn invocation(&self, op: &Invocation) -> worker::Invocation {
        invocation(op)
    }

    async fn invoke(&mut self, process: u64, op: Invocation) -> Completion {
        let seq = self.seq;
        self.seq += 1;
        self.conn.perform(process, seq, op).await
    }
}
