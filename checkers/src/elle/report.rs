//! What the checker says: a verdict, counts, and each anomaly with the transactions that show
//! it — as data (serialized into results.json) and as text.
//!
//! Anomalies arrive through a [`Collector`], which counts every one but builds (and keeps) at
//! most [`MAX_PER_KIND`] of each kind: an invalid history of a million transactions can have
//! a million anomalies, and describing each would cost more than finding it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::txn::{Parsed, Txn};
use super::{Consistency, Workload, consistency};
use crate::history::{History, Operation, Outcome};
use crate::value::Value;
use crate::verdict::Validity;

/// How many anomalies of each kind a report keeps (`anomaly_counts` has them all).
pub const MAX_PER_KIND: usize = 8;

/// The relation an edge of a cycle stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Rel {
    /// Write-write: the second overwrote (or appended after) the first's write.
    Ww,
    /// Write-read: the second read the first's write.
    Wr,
    /// Read-write (anti-dependency): the first read a version the second overwrote.
    Rw,
    /// The same process ran the first, then the second.
    Process,
    /// The first completed before the second was invoked.
    Realtime,
}

impl Rel {
    pub fn name(self) -> &'static str {
        match self {
            Rel::Ww => "ww",
            Rel::Wr => "wr",
            Rel::Rw => "rw",
            Rel::Process => "process",
            Rel::Realtime => "realtime",
        }
    }
}

/// A transaction, as an anomaly shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TxnRef {
    /// `T` and the history index of its completion (of its invocation, if it has none).
    pub name: String,
    /// Its micro-ops as written: the completion's value for an `ok` transaction, else the
    /// invocation's.
    pub ops: Value,
    pub process: u64,
    #[serde(rename = "type")]
    pub outcome: Outcome,
    /// History index and source line of the event `ops` comes from.
    pub index: u64,
    pub line: u32,
}

impl TxnRef {
    pub(super) fn new(history: &History, ops: &[Operation], txn: &Txn) -> TxnRef {
        let op = &ops[txn.op];
        let event = shown(history, op);
        TxnRef {
            name: name(history, op),
            ops: event.value.clone(),
            process: op.process,
            outcome: op.outcome,
            index: event.index,
            line: event.line,
        }
    }
}

/// The event that stands for an operation: its completion for an `ok` one (which says what it
/// read), else its invocation.
fn shown<'h>(history: &'h History, op: &Operation) -> &'h crate::history::Event {
    match op.outcome {
        Outcome::Ok => op.completion(history).unwrap_or(op.invocation(history)),
        _ => op.invocation(history),
    }
}

/// A transaction's name in explanations: `T` and the history index of the event that stands
/// for it.
pub(super) fn name(history: &History, op: &Operation) -> String {
    format!("T{}", shown(history, op).index)
}

/// One edge of a cycle: why `from` must precede `to`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub from: String,
    pub to: String,
    pub rel: Rel,
    pub why: String,
}

/// One anomaly.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Anomaly {
    /// Elle's name for it: `G0`, `G1a`, `G-single-realtime`, `internal` …
    pub kind: String,
    /// Whether the consistency model checked prohibits it.
    pub counts: bool,
    pub explanation: String,
    /// The transactions involved; for a cycle, in the cycle's order.
    pub txns: Vec<TxnRef>,
    /// For a cycle, its edges: `steps[i]` leads from `txns[i]` to the next.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<Step>,
}

/// The checker's verdict and what it found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Invalid iff some anomaly counts against the model; unknown if the cycle search ran out
    /// of budget where a cycle that counts could still hide.
    pub valid: Validity,
    pub workload: Workload,
    pub consistency: Consistency,
    /// Transactions in all, and by outcome.
    pub txns: usize,
    pub ok: usize,
    pub info: usize,
    pub fail: usize,
    /// Every anomaly found, by kind, whether it counts or not.
    pub anomaly_counts: BTreeMap<String, usize>,
    /// At most [`MAX_PER_KIND`] of each kind, those that count first.
    pub anomalies: Vec<Anomaly>,
    /// The cycle search gave up somewhere (see `valid`).
    pub search_incomplete: bool,
}

impl Report {
    /// The kinds found that count against the model.
    pub fn counted_kinds(&self) -> Vec<&str> {
        self.anomaly_counts
            .keys()
            .map(String::as_str)
            .filter(|k| consistency::counts(self.consistency, k))
            .collect()
    }

    /// The report as text: the verdict, counts, each kept anomaly with its steps.
    pub fn text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{} {} under {}: {} transactions ({} ok, {} info, {} fail)",
            self.workload.name(),
            self.valid.word(),
            self.consistency.name(),
            self.txns,
            self.ok,
            self.info,
            self.fail
        );
        for (kind, n) in &self.anomaly_counts {
            let counts = if consistency::counts(self.consistency, kind) {
                "prohibited"
            } else {
                "allowed"
            };
            let _ = writeln!(s, "  {kind}: {n} ({counts})");
        }
        if self.search_incomplete {
            s.push_str("  cycle search incomplete (budget exceeded)\n");
        }
        for a in &self.anomalies {
            let _ = writeln!(s, "\n{}: {}", a.kind, a.explanation);
            for t in &a.txns {
                let _ = writeln!(
                    s,
                    "    {} = {} (process {}, line {})",
                    t.name, t.ops, t.process, t.line
                );
            }
            for step in &a.steps {
                let _ = writeln!(
                    s,
                    "    - {} <{}> {}: {}",
                    step.from,
                    step.rel.name(),
                    step.to,
                    step.why
                );
            }
        }
        s
    }
}

/// Counts anomalies and keeps the first few of each kind.
pub(super) struct Collector {
    consistency: Consistency,
    counts: BTreeMap<String, usize>,
    kept: Vec<Anomaly>,
}

impl Collector {
    pub fn new(consistency: Consistency) -> Collector {
        Collector {
            consistency,
            counts: BTreeMap::new(),
            kept: Vec::new(),
        }
    }

    /// Counts one anomaly of `kind`; `describe` (called only if the report keeps it) gives its
    /// explanation, transactions and steps.
    pub fn add(&mut self, kind: &str, describe: impl FnOnce() -> (String, Vec<TxnRef>, Vec<Step>)) {
        let n = match self.counts.get_mut(kind) {
            Some(n) => n,
            None => self.counts.entry(kind.to_string()).or_default(),
        };
        *n += 1;
        if *n <= MAX_PER_KIND {
            let (explanation, txns, steps) = describe();
            self.kept.push(Anomaly {
                kind: kind.to_string(),
                counts: consistency::counts(self.consistency, kind),
                explanation,
                txns,
                steps,
            });
        }
    }

    /// Whether an anomaly of `kind` counts against the model.
    pub fn counts(&self, kind: &str) -> bool {
        consistency::counts(self.consistency, kind)
    }

    pub fn into_report(mut self, workload: Workload, parsed: &Parsed, incomplete: bool) -> Report {
        let outcomes = |o: Outcome| parsed.txns.iter().filter(|t| t.outcome == o).count();
        let invalid = self.kept.iter().any(|a| a.counts);
        // Those that count first; within that, as found (Vec::sort_by_key is stable).
        self.kept.sort_by_key(|a| !a.counts);
        Report {
            valid: if invalid {
                Validity::Invalid
            } else if incomplete {
                Validity::Unknown
            } else {
                Validity::Valid
            },
            workload,
            consistency: self.consistency,
            txns: parsed.txns.len(),
            ok: outcomes(Outcome::Ok),
            info: outcomes(Outcome::Info),
            fail: outcomes(Outcome::Fail),
            anomaly_counts: self.counts,
            anomalies: self.kept,
            search_incomplete: incomplete,
        }
    }
}
