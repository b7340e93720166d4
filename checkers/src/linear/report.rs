//! What the linearizability checker says: per partition (key) a verdict, counters, and for an
//! invalid key a counterexample — the op that cannot be linearized, the ops concurrent with it,
//! and the longest linearizable prefix — as data (serialized into results.json) and as text.

use std::fmt::Write as _;

use serde::{Deserialize, Deserializer, Serialize};

use super::search::Counters;
use crate::history::{History, Operation, Outcome};
use crate::value::Value;
use crate::verdict::Validity;

/// One operation, as a report shows it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct OpSummary {
    pub process: u64,
    pub f: String,
    /// What was asked.
    pub value: Value,
    /// What came back (for `ok` ops whose result differs from what was asked, and for those
    /// that asked nothing, such as reads): a read of nothing is `Some(Nil)`, written `null`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub output: Option<Value>,
    /// `ok`, `fail` or `info` (an op that never completed is `info`).
    #[serde(rename = "type")]
    pub outcome: Outcome,
    /// History index of the invocation, and of the completion if any.
    pub index: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complete_index: Option<u64>,
    /// Harness-clock times (ns) of invocation and completion.
    pub time: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complete_time: Option<u64>,
    /// Source line of the invocation.
    pub line: u32,
}

impl OpSummary {
    pub fn new(op: &Operation, h: &History) -> OpSummary {
        let inv = op.invocation(h);
        let comp = op.completion(h);
        // What came back, when it says more than what was asked: a write returns what it wrote,
        // but a read that asked nothing always shows its result, even `null`.
        let output = match (op.outcome, comp) {
            (Outcome::Ok, Some(c)) if c.value != inv.value || inv.value.is_nil() => {
                Some(c.value.clone())
            }
            _ => None,
        };
        OpSummary {
            process: op.process,
            f: op.f.to_string(),
            value: inv.value.clone(),
            output,
            outcome: op.outcome,
            index: inv.index,
            complete_index: comp.map(|c| c.index),
            time: inv.time,
            complete_time: comp.map(|c| c.time),
            line: inv.line,
        }
    }

    /// `process 3: read → 2 (ok)`; `process 4: write 1 (info)`.
    pub fn describe(&self) -> String {
        let mut s = format!("process {}: {}", self.process, self.f);
        if !self.value.is_nil() {
            let _ = write!(s, " {}", self.value);
        }
        if let Some(out) = &self.output {
            let _ = write!(s, " → {out}");
        }
        let _ = write!(s, " ({}", self.outcome.word());
        if self.line > 0 {
            let _ = write!(s, ", line {}", self.line);
        } else {
            let _ = write!(s, ", index {}", self.index);
        }
        s.push(')');
        s
    }
}

/// A field that is there, even as `null`: `Some(Nil)`, where serde would read `None`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// One step of a linearization: the op and the state after it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Step {
    pub op: OpSummary,
    pub state: String,
}

/// Why a key is not linearizable.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Counterexample {
    /// The op that no linearization of the prefix can be extended with.
    pub op: OpSummary,
    /// Ops whose intervals overlap it (including `info` ops, open to the end).
    pub concurrent: Vec<OpSummary>,
    /// The longest linearizable prefix found, in linearization order.
    pub prefix: Vec<Step>,
    /// The state after the prefix.
    pub state: String,
}

/// One partition's result.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PartitionReport {
    /// The key (absent for a history without keys, or checked as one map-valued state).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Value>,
    pub valid: Validity,
    /// Why the verdict is unknown, or why the key was not checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Operations searched: `ok` ones, and `info` ones kept after pruning.
    pub ok_ops: usize,
    pub info_ops: usize,
    /// Operations removed before the search: `fail` ones, and `info` ones that cannot matter.
    pub failed_ops: usize,
    pub pruned_info_ops: usize,
    pub configurations: u64,
    pub revisits: u64,
    pub forced_reads: u64,
    /// Configurations cut by the lookahead.
    pub dead_ends: u64,
    pub steps: u64,
    /// CPU time spent on this key, in microseconds.
    pub micros: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counterexample: Option<Counterexample>,
}

impl PartitionReport {
    /// A partition's result before any search: its key and verdict, every count zero.
    pub fn new(key: Option<Value>, valid: Validity) -> PartitionReport {
        PartitionReport {
            key,
            valid,
            reason: None,
            ok_ops: 0,
            info_ops: 0,
            failed_ops: 0,
            pruned_info_ops: 0,
            configurations: 0,
            revisits: 0,
            forced_reads: 0,
            dead_ends: 0,
            steps: 0,
            micros: 0,
            counterexample: None,
        }
    }

    pub fn set_counters(&mut self, c: &Counters) {
        self.configurations = c.configurations;
        self.revisits = c.revisits;
        self.forced_reads = c.forced;
        self.dead_ends = c.dead_ends;
        self.steps = c.steps;
    }
}

/// The linearizability checker's result for one history.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Report {
    pub valid: Validity,
    pub model: String,
    /// Whether keys were checked separately.
    pub split: bool,
    /// How many `ok` reads of nil were taken to constrain nothing, as Knossos takes them
    /// (Jepsen's `history.edn`, the multi-register); absent when there were none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unconstrained_nil_reads: Option<usize>,
    pub partitions: Vec<PartitionReport>,
}

impl Report {
    /// The keys whose verdict is unknown.
    pub fn undecided(&self) -> impl Iterator<Item = &PartitionReport> {
        self.partitions
            .iter()
            .filter(|p| p.valid == Validity::Unknown)
    }

    /// A console rendering: each invalid key with its counterexample, then the keys left
    /// unknown, grouped by reason.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        if let Some(n) = self.unconstrained_nil_reads {
            let _ = writeln!(
                out,
                "  {n} {} of nil constrained nothing (Knossos's rule: the client did not learn what it read)",
                if n == 1 { "read" } else { "reads" }
            );
        }
        for p in &self.partitions {
            if let (Validity::Invalid, Some(cex)) = (p.valid, &p.counterexample) {
                match &p.key {
                    Some(k) => {
                        let _ = writeln!(out, "  key {k}: not linearizable");
                    }
                    None => out.push_str("  not linearizable\n"),
                }
                render_counterexample(&mut out, cex);
            }
        }
        let mut reasons: Vec<(&str, Vec<String>)> = Vec::new();
        for p in self.undecided() {
            let why = p.reason.as_deref().unwrap_or("undecided");
            let key = p.key.as_ref().map(ToString::to_string);
            match reasons.iter_mut().find(|(r, _)| *r == why) {
                Some((_, keys)) => keys.extend(key),
                None => reasons.push((why, key.into_iter().collect())),
            }
        }
        for (why, keys) in reasons {
            let _ = match keys.as_slice() {
                [] => writeln!(out, "  unknown: {why}"),
                [k] => writeln!(out, "  key {k}: unknown: {why}"),
                _ => writeln!(
                    out,
                    "  {} keys unknown ({}): {why}",
                    keys.len(),
                    keys.join(", ")
                ),
            };
        }
        out
    }
}

/// How many prefix steps the text shows (the JSON has them all).
const PREFIX_SHOWN: usize = 8;

fn render_counterexample(out: &mut String, cex: &Counterexample) {
    let _ = writeln!(out, "    cannot linearize  {}", cex.op.describe());
    let n = cex.prefix.len();
    let _ = writeln!(
        out,
        "    after the longest linearizable prefix ({n} ops), which leaves the state at {}",
        cex.state
    );
    if n > PREFIX_SHOWN {
        let _ = writeln!(out, "      … {} earlier ops", n - PREFIX_SHOWN);
    }
    for step in &cex.prefix[n.saturating_sub(PREFIX_SHOWN)..] {
        let _ = writeln!(out, "      {:<48} ⇒ {}", step.op.describe(), step.state);
    }
    if !cex.concurrent.is_empty() {
        let _ = writeln!(out, "    concurrent with it ({}):", cex.concurrent.len());
    }
    for op in &cex.concurrent {
        let _ = writeln!(out, "      {}", op.describe());
    }
}
