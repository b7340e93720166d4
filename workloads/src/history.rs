//! Where a workload's operations go as they happen: the harness's recorder, seen through
//! [`Sink`], and the running counts its progress bar reads ([`Tally`]).
//!
//! The worker loop ([`crate::worker`]) records every invocation and completion through the
//! sink the moment it happens; the harness stamps times and indices and writes the line.

use std::sync::atomic::{AtomicU64, Ordering};

use checkers::Value;
use checkers::history::{EventType, Name, Process};

/// One event to record (the recorder adds index and time).
#[derive(Clone, Debug)]
pub struct Record {
    pub process: Process,
    pub kind: EventType,
    pub f: &'static str,
    pub key: Option<Value>,
    pub value: Value,
    pub node: Option<String>,
    pub error: Option<String>,
}

/// The history being written.
pub trait Sink: Send + Sync {
    fn record(&self, record: Record);
    /// Now, on the history's clock: nanoseconds since the test started — for what a workload
    /// observed at other times (the 2PC participants' decisions, reported as ages).
    fn now(&self) -> u64;
}

/// Operation counts, for the progress bar and the summary.
#[derive(Debug, Default)]
pub struct Tally {
    pub ok: AtomicU64,
    pub fail: AtomicU64,
    pub info: AtomicU64,
    pub faults: AtomicU64,
}

impl Tally {
    /// Counts one completion.
    pub fn count(&self, kind: EventType) {
        let counter = match kind {
            EventType::Ok => &self.ok,
            EventType::Fail => &self.fail,
            _ => &self.info,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// The nemesis, as the process of the faults it records.
pub fn nemesis() -> Process {
    Process::Named(Name::from("nemesis"))
}

/// A history value from JSON (a client's answer, an operation's arguments).
pub fn value(v: serde_json::Value) -> Value {
    serde_json::from_value(v).unwrap_or_default()
}
