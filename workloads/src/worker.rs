//! The one worker loop every workload runs: `concurrency` logical clients, each asking its
//! workload's [`Client`] what to do next, recording the invocation, performing it, recording
//! the completion and counting it.
//!
//! ```text
//! client.next() ─▶ Sleep ─▶ wait
//!               ─▶ MayPause ─▶ take a pending client pause (recorded as the nemesis's)
//!               ─▶ Invoke(op) ─▶ record invoke ─▶ client.invoke(op) ─▶ record completion, tally
//!               ─▶ Done
//! ```
//!
//! A worker is a logical process. After an operation ends `info` the process is considered
//! crashed (the operation may still take effect), so the worker carries on as a fresh process:
//! Jepsen's rule, old number + concurrency. Pacing, retries and when to stop are the client's
//! to decide ([`Step`]); recording and process numbering are this loop's alone.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use checkers::Value;
use checkers::history::{EventType, Process};
use serde_json::json;
use tokio::time::Instant;

use crate::client_pauses::ClientPauses;
use crate::history::{Record, Sink, Tally, nemesis, value};

/// What a client does next.
#[derive(Debug)]
pub enum Step<Op> {
    /// Perform this operation (recorded before and after).
    Invoke(Op),
    /// Wait this long (pacing, a back-off).
    Sleep(Duration),
    /// A point where a requested client pause strikes, if one is pending.
    MayPause,
    /// Nothing more to do.
    Done,
}

/// How an operation is recorded when it is invoked.
#[derive(Clone, Debug)]
pub struct Invocation {
    pub f: &'static str,
    pub key: Option<Value>,
    pub value: Value,
}

/// How an operation ended, as the history records it.
#[derive(Clone, Debug)]
pub struct Completion {
    /// `Ok`, `Fail` or `Info`.
    pub kind: EventType,
    pub value: Value,
    /// The node that gave the final answer, if one did.
    pub node: Option<String>,
    pub error: Option<String>,
}

/// One logical client of a workload: its generator and its connection to the system.
pub trait Client: Send + 'static {
    type Op: Send;

    /// What to do next, as `process`, with the workload ending at `until`.
    fn next(&mut self, process: u64, until: Instant) -> Step<Self::Op>;

    /// How `op` is recorded.
    fn invocation(&self, op: &Self::Op) -> Invocation;

    /// Performs `op` as `process`.
    fn invoke(&mut self, process: u64, op: Self::Op) -> impl Future<Output = Completion> + Send;

    /// Stops the world for `length`: a client pause. By default the worker just sleeps; a
    /// client with work of its own in the background (a ZooKeeper session's pings) stops that
    /// too.
    fn pause(&mut self, length: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(length)
    }
}

/// What every worker of a run shares: where events go, the counts, the nemesis's pauses.
#[derive(Clone)]
pub struct Context {
    pub history: Arc<dyn Sink>,
    pub tally: Arc<Tally>,
    pub pauses: Arc<ClientPauses>,
}

impl Context {
    /// Takes a pending client pause: recorded as the nemesis pausing and resuming `process`.
    async fn pause<C: Client>(&self, process: u64, client: &mut C) {
        let Some(ms) = self.pauses.take() else {
            return;
        };
        let v = value(json!({ "process": process, "ms": ms }));
        self.fault("pause-client", &v);
        client.pause(Duration::from_millis(ms)).await;
        self.fault("resume-client", &v);
    }

    /// A fault the nemesis made happen: its invocation and its `info` completion.
    fn fault(&self, f: &'static str, v: &Value) {
        for kind in [EventType::Invoke, EventType::Info] {
            self.history.record(Record {
                process: nemesis(),
                kind,
                f,
                key: None,
                value: v.clone(),
                node: None,
                error: None,
            });
        }
    }
}

/// Runs one client as worker `index` of `concurrency` (its first process is
/// `first_process + index`) until it is done; returns the process it ended as.
pub async fn drive<C: Client>(
    mut client: C,
    index: usize,
    concurrency: usize,
    first_process: u64,
    ctx: Context,
    until: Instant,
) -> u64 {
    let mut process = first_process + index as u64;
    loop {
        let op = match client.next(process, until) {
            Step::Done => return process,
            Step::Sleep(d) => {
                tokio::time::sleep(d).await;
                continue;
            }
            Step::MayPause => {
                ctx.pause(process, &mut client).await;
                continue;
            }
            Step::Invoke(op) => op,
        };
        let inv = client.invocation(&op);
        ctx.history.record(Record {
            process: Process::Client(process),
            kind: EventType::Invoke,
            f: inv.f,
            key: inv.key.clone(),
            value: inv.value,
            node: None,
            error: None,
        });
        let done = client.invoke(process, op).await;
        ctx.history.record(Record {
            process: Process::Client(process),
            kind: done.kind,
            f: inv.f,
            key: inv.key,
            value: done.value,
            node: done.node,
            error: done.error,
        });
        ctx.tally.count(done.kind);
        if done.kind == EventType::Info {
            process += concurrency as u64;
        }
    }
}

/// Runs every client, worker `i` being `clients[i]`, until all are done; returns the first
/// process number none of them used (where a later phase's fresh processes may start).
pub async fn drive_all<C: Client>(
    clients: Vec<C>,
    first_process: u64,
    ctx: &Context,
    until: Instant,
) -> u64 {
    let concurrency = clients.len();
    let mut workers = tokio::task::JoinSet::new();
    for (index, client) in clients.into_iter().enumerate() {
        workers.spawn(drive(
            client,
            index,
            concurrency,
            first_process,
            ctx.clone(),
            until,
        ));
    }
    let mut last = first_process;
    while let Some(done) = workers.join_next().await {
        last = last.max(done.unwrap_or(first_process));
    }
    last + concurrency as u64
}
