//! When the coordinator was down, from the nemesis's events: a `kill` naming it until the next
//! `start` or `restart` naming it, a `pause` until the next `resume`, and a `restart` on its
//! own for as long as it took.

use serde::{Deserialize, Serialize};

use super::intervals::Interval;
use crate::lock::Fault;
use crate::value::Value;

/// One span of a node's downtime.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Downtime {
    pub node: String,
    /// What took it down: `kill`, `pause` or `restart`.
    pub cause: String,
    /// From the fault's invocation to the completion of what ended it (ns).
    pub from: u64,
    pub to: u64,
    /// History index of the fault that began it.
    pub index: u64,
    /// False when nothing ended it: it was closed at the first decisions event.
    pub ended: bool,
}

impl Downtime {
    pub fn span(&self) -> Interval {
        (self.from, self.to)
    }
}

/// Whether a fault's value names `node`: a list of node names, or one.
fn names(value: &Value, node: &str) -> bool {
    match value {
        Value::Str(s) => &**s == node,
        Value::List(items) => items.iter().any(|v| v.as_str() == Some(node)),
        _ => false,
    }
}

/// When it ended: its completion, else its invocation.
fn end(f: &Fault) -> u64 {
    f.complete_time.unwrap_or(f.time).max(f.time)
}

/// `node`'s downtime from `faults` (in history order); what is still open closes at `end`.
pub fn downtime(faults: &[Fault], node: &str, end_of_run: u64) -> Vec<Downtime> {
    let mut out = Vec::new();
    let mut killed: Option<&Fault> = None;
    let mut paused: Option<&Fault> = None;
    let span = |began: &Fault, cause: &str, to: u64, ended: bool| Downtime {
        node: node.to_string(),
        cause: cause.to_string(),
        from: began.time,
        to: to.max(began.time),
        index: began.index,
        ended,
    };
    for f in faults.iter().filter(|f| names(&f.value, node)) {
        match f.f.as_str() {
            "kill" => {
                killed.get_or_insert(f);
            }
            "pause" => {
                paused.get_or_insert(f);
            }
            "start" => {
                if let Some(k) = killed.take() {
                    out.push(span(k, "kill", end(f), true));
                }
            }
            "restart" => match killed.take() {
                Some(k) => out.push(span(k, "kill", end(f), true)),
                None => out.push(span(f, "restart", end(f), true)),
            },
            "resume" => {
                if let Some(p) = paused.take() {
                    out.push(span(p, "pause", end(f), true));
                }
            }
            _ => {}
        }
    }
    for (open, cause) in [(killed, "kill"), (paused, "pause")] {
        if let Some(f) = open {
            out.push(span(f, cause, end_of_run, false));
        }
    }
    out.sort_by_key(|d| (d.from, d.to));
    out
}
