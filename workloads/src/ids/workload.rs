//! The `unique-ids` workload's clients: `concurrency` workers, each bound to a home node (ID
//! servers are independent: there is no leader to follow), asking it for batches of IDs at the
//! scenario's pace.

use checkers::Value;
use checkers::compose::Checker;
use serde::{Deserialize, Serialize};
use targets::descriptor::Protocol;
use tokio::time::Instant;

use super::MAX_BATCH;
use super::client::IdClient;
use crate::history::value;
use crate::pacer::Pacer;
use crate::settings::Settings;
use crate::worker::{self, Client, Completion, Step};
use crate::workload::{Links, Run, Running, TypedWorkload};

/// The unique-ids workload.
pub struct UniqueIds;

/// Its scenario fields.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "kebab-case", default)]
pub struct IdSettings {
    /// IDs asked for per request.
    pub batch_size: u32,
}

impl Default for IdSettings {
    fn default() -> Self {
        IdSettings { batch_size: 1 }
    }
}

impl Settings for IdSettings {
    fn check(&self, _protocol: Protocol) -> Result<(), String> {
        if !(1..=MAX_BATCH).contains(&self.batch_size) {
            return Err(format!("batch-size must be 1 to {MAX_BATCH}"));
        }
        Ok(())
    }
}

impl TypedWorkload for UniqueIds {
    type Settings = IdSettings;
    const NAME: &'static str = "unique-ids";
    const SUMMARY: &'static str =
        "ask ID servers for batches of IDs; every acknowledged ID distinct";
    const PROTOCOLS: &'static [Protocol] = &[Protocol::HttpIds];
    const LINKS: Links = Links::Shared;
    const CHECKERS: &'static [Checker] = super::CHECKERS;
    /// An ID request has no answer but an ID.
    const ANSWERS: &'static [&'static str] = &[];

    fn run(&self, settings: IdSettings, run: Run) -> Running {
        let client = IdClient::new(run.shared_nodes(), run.op_timeout);
        let pace = run.pace();
        let workers = (0..run.concurrency)
            .map(|index| Worker {
                client: client.clone(),
                home: index,
                pacer: Pacer::new(run.seed, index, pace),
                batch: settings.batch_size,
            })
            .collect();
        Box::pin(async move {
            worker::drive_all(workers, 0, &run.ctx, run.until).await;
            None
        })
    }
}

/// One ID client.
struct Worker {
    client: IdClient,
    home: usize,
    pacer: Pacer,
    batch: u32,
}

/// A request for a batch of this many IDs.
struct Generate(u32);

impl Client for Worker {
    type Op = Generate;

    fn next(&mut self, _process: u64, until: Instant) -> Step<Generate> {
        let batch = self.batch;
        self.pacer.step(until, || Generate(batch))
    }

    fn invocation(&self, op: &Generate) -> worker::Invocation {
        worker::Invocation {
            f: "generate",
            key: None,
            value: Value::Int(i64::from(op.0)),
        }
    }

    async fn invoke(&mut self, _process: u64, op: Generate) -> Completion {
        let out = self.client.generate(self.home, op.0).await;
        Completion {
            kind: out.kind,
            value: value(out.value),
            node: Some(out.node),
            error: out.error,
        }
    }
}
