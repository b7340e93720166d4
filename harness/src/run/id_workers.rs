//! The `unique-ids` workload's clients: `concurrency` workers, each bound to a home node (ID
//! servers are independent), asking for batches of IDs at the scenario's rate. Every request
//! is recorded on invocation and on completion; after an `info` the worker carries on as a
//! fresh process (Jepsen's rule), as the register workers do.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use checkers::Value;
use checkers::history::{EventType, Process};
use tokio::time::Instant;
use workloads::ids::client::IdClient;

use super::recorder::{Record, Recorder};
use super::workers::{Pacer, Tally};

/// What the ID workers share.
pub struct IdShared {
    pub client: IdClient,
    pub recorder: Recorder,
    pub tally: Arc<Tally>,
    /// IDs asked for per request.
    pub batch: u32,
}

/// A worker's identity and pacing.
pub struct IdWorker {
    pub index: usize,
    pub concurrency: usize,
    /// Mean pause between a worker's requests.
    pub pace: Duration,
    pub seed: u64,
}

impl IdWorker {
    /// Requests IDs until `until`.
    pub async fn run(self, shared: Arc<IdShared>, until: Instant) {
        let mut process = self.index as u64;
        let mut pacer = Pacer::new(self.seed, self.index, self.pace);
        while pacer.wait(until).await {
            shared.recorder.record(Record {
                process: Process::Client(process),
                kind: EventType::Invoke,
                f: "generate",
                key: None,
                value: Value::Int(i64::from(shared.batch)),
                node: None,
                error: None,
            });
            let out = shared.client.generate(self.index, shared.batch).await;
            shared.recorder.record(Record {
                process: Process::Client(process),
                kind: out.kind,
                f: "generate",
                key: None,
                value: serde_json::from_value(out.value).unwrap_or_default(),
                node: Some(out.node),
                error: out.error,
            });
            let counter = match out.kind {
                EventType::Ok => &shared.tally.ok,
                EventType::Fail => &shared.tally.fail,
                _ => &shared.tally.info,
            };
            counter.fetch_add(1, Ordering::Relaxed);
            if out.kind == EventType::Info {
                process += self.concurrency as u64;
            }
        }
    }
}
