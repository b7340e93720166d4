//! The clients: `concurrency` workers issuing the workload's operations at the scenario's rate,
//! each operation recorded on invocation and on completion.
//!
//! A worker is a logical process; after an operation ends `info` the process is considered
//! crashed (it may still take effect), so the worker carries on as a fresh process (Jepsen's
//! rule: old number + concurrency).
//!
//! Each worker has a home node (workers are spread over the nodes, as Jepsen binds clients to
//! nodes), where every operation starts; within an operation it follows the leader hints it
//! gets. Were workers to stay with the leader they found, they would all end up on one node,
//! and a leader stranded in a minority would have every client to itself — nobody would be
//! writing on the majority side, and nothing it did wrong could be seen.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use checkers::Value;
use checkers::history::{EventType, Process};
use checkers::synth::Rng;
use tokio::time::Instant;
use workloads::register::client::{Client, Outcome};
use workloads::register::generator::{Generator, Invocation, Op};

use super::recorder::{Record, Recorder};

/// Operation counts, for the progress bar.
#[derive(Debug, Default)]
pub struct Tally {
    pub ok: AtomicU64,
    pub fail: AtomicU64,
    pub info: AtomicU64,
    pub faults: AtomicU64,
}

/// What the workers share.
pub struct Shared {
    pub generator: Mutex<Generator>,
    pub client: Client,
    pub recorder: Recorder,
    pub tally: Arc<Tally>,
}

fn json_value(v: serde_json::Value) -> Value {
    serde_json::from_value(v).unwrap_or_default()
}

/// One operation: recorded, performed, recorded.
async fn perform(
    shared: &Shared,
    process: u64,
    seq: u64,
    preferred: &mut usize,
    inv: Invocation,
) -> Outcome {
    let key = Some(Value::Int(inv.key as i64));
    shared.recorder.record(Record {
        process: Process::Client(process),
        kind: EventType::Invoke,
        f: inv.op.f(),
        key: key.clone(),
        value: json_value(inv.op.value()),
        node: None,
        error: None,
    });
    let out = shared.client.invoke(process, seq, preferred, inv).await;
    shared.recorder.record(Record {
        process: Process::Client(process),
        kind: out.kind,
        f: inv.op.f(),
        key,
        value: json_value(out.value.clone()),
        node: Some(out.node.clone()),
        error: out.error.clone(),
    });
    let counter = match out.kind {
        EventType::Ok => &shared.tally.ok,
        EventType::Fail => &shared.tally.fail,
        _ => &shared.tally.info,
    };
    counter.fetch_add(1, Ordering::Relaxed);
    out
}

/// A worker's pauses between operations: uniform in [0, 2·pace), so that the mean rate is the
/// scenario's, drawn from the worker's own seeded stream.
pub struct Pacer {
    rng: Rng,
    pace: Duration,
}

impl Pacer {
    pub fn new(seed: u64, index: usize, pace: Duration) -> Pacer {
        Pacer {
            rng: Rng::new(seed ^ (index as u64).wrapping_mul(0x9E37_79B9)),
            pace,
        }
    }

    /// Sleeps for the next pause; false (without sleeping) if it would end past `until`.
    pub async fn wait(&mut self, until: Instant) -> bool {
        let nanos = self.pace.as_nanos() as u64 * 2;
        let pause = Duration::from_nanos(self.rng.below(nanos.max(1)));
        if Instant::now() + pause >= until {
            return false;
        }
        tokio::time::sleep(pause).await;
        true
    }
}

/// A worker's identity and pacing.
pub struct Worker {
    pub index: usize,
    pub concurrency: usize,
    /// Mean pause between a worker's operations.
    pub pace: Duration,
    pub seed: u64,
}

impl Worker {
    /// Issues operations until `until`; returns the process number it ended as.
    pub async fn run(self, shared: Arc<Shared>, until: Instant) -> u64 {
        let mut process = self.index as u64;
        let mut seq = 0;
        let home = self.index;
        let mut pacer = Pacer::new(self.seed, self.index, self.pace);
        while pacer.wait(until).await {
            let inv = shared
                .generator
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .next_invocation();
            seq += 1;
            let mut node = home;
            if perform(&shared, process, seq, &mut node, inv).await.kind == EventType::Info {
                process += self.concurrency as u64;
            }
        }
        process
    }
}

/// After the test: one read of every key used, spread over `concurrency` fresh processes.
pub async fn final_reads(shared: Arc<Shared>, concurrency: usize, first_process: u64) {
    let keys: Vec<u64> = shared
        .generator
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .keys()
        .collect();
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..concurrency.max(1) {
        let mine: Vec<u64> = keys
            .iter()
            .copied()
            .skip(w)
            .step_by(concurrency.max(1))
            .collect();
        let shared = shared.clone();
        tasks.spawn(async move {
            let mut preferred = w;
            for (seq, key) in mine.into_iter().enumerate() {
                let inv = Invocation { key, op: Op::Read };
                perform(
                    &shared,
                    first_process + w as u64,
                    1_000_000 + seq as u64,
                    &mut preferred,
                    inv,
                )
                .await;
            }
        });
    }
    while tasks.join_next().await.is_some() {}
}
