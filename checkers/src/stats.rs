//! Counts, availability, errors and latencies of a history's client operations — what every
//! checker reports beside its verdict.
//!
//! Availability is the share of operations the system definitely answered: an `ok`, or a
//! `fail` whose error is the operation's own answer — a compare-and-set that compared false
//! (`cas-mismatch`), a lock held by another. Which errors are answers the caller says (each
//! workload declares its own); every other `fail` (a refusal: not the leader, unavailable, a
//! connection refused) and every `info` (a timeout, an unknown outcome) counts against it. The
//! errors are also tallied per operation name and outcome, as Jepsen's stats checker does.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::history::{History, Operation, Outcome};

/// Operation counts by outcome.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Counts {
    pub ops: usize,
    pub ok: usize,
    pub fail: usize,
    /// `info` completions and invocations that never completed.
    pub info: usize,
}

impl Counts {
    /// Counts one more operation that ended with `outcome`.
    pub fn count(&mut self, outcome: Outcome) {
        self.ops += 1;
        match outcome {
            Outcome::Ok => self.ok += 1,
            Outcome::Fail => self.fail += 1,
            Outcome::Info => self.info += 1,
        }
    }
}

/// How many operations of one name ended with one error.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorCount {
    pub f: String,
    /// `fail` or `info`.
    pub outcome: String,
    /// The completion's error; empty when it gave none (or the operation never completed).
    pub error: String,
    pub count: usize,
    /// A `fail` that is the operation's own answer: it counts as available.
    pub answer: bool,
}

/// Latency quantiles in nanoseconds of harness time, over completed operations.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Latency {
    pub p50: u64,
    pub p99: u64,
    pub max: u64,
}

/// A history's statistics.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Stats {
    #[serde(flatten)]
    pub counts: Counts,
    /// Per operation name, in order of first appearance.
    pub by_f: Vec<(String, Counts)>,
    /// The `fail`s that are the operation's own answer (counted in `fail` too).
    pub answers: usize,
    /// The share of operations the system answered: `ok` and answers, of all (1 for none).
    pub availability: f64,
    /// Every `fail` and `info` by operation name, outcome and error, most frequent first.
    pub errors: Vec<ErrorCount>,
    /// Absent when the history has no timestamps.
    pub latency: Option<Latency>,
}

impl Stats {
    /// The statistics of `ops`, where a `fail` whose error is one of `answers` is the
    /// operation's own answer.
    pub fn of(history: &History, ops: &[Operation], answers: &[&str]) -> Stats {
        let mut counts = Counts::default();
        let mut answered = 0;
        let mut by_f: Vec<(String, Counts)> = Vec::new();
        let mut errors: Vec<ErrorCount> = Vec::new();
        let mut error_at: HashMap<(&str, &str, &str), usize> = HashMap::new();
        let mut latencies: Vec<u64> = Vec::new();
        for op in ops {
            let i = match by_f.iter().position(|(f, _)| **f == *op.f) {
                Some(i) => i,
                None => {
                    by_f.push((op.f.to_string(), Counts::default()));
                    by_f.len() - 1
                }
            };
            let done = op.completion(history);
            let error = done.and_then(|e| e.error.as_deref()).unwrap_or("");
            let answer = op.outcome == Outcome::Fail && answers.contains(&error);
            counts.count(op.outcome);
            by_f[i].1.count(op.outcome);
            answered += usize::from(answer);
            if op.outcome != Outcome::Ok {
                let outcome = op.outcome.word();
                let at = *error_at.entry((&op.f, outcome, error)).or_insert_with(|| {
                    errors.push(ErrorCount {
                        f: op.f.to_string(),
                        outcome: outcome.to_string(),
                        error: error.to_string(),
                        count: 0,
                        answer,
                    });
                    errors.len() - 1
                });
                errors[at].count += 1;
            }
            if history.timed
                && let Some(done) = done
            {
                latencies.push(done.time.saturating_sub(op.invocation(history).time));
            }
        }
        // Most frequent first; ties in order of first appearance (the sort is stable).
        errors.sort_by_key(|e| std::cmp::Reverse(e.count));
        latencies.sort_unstable();
        let quantile = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
        Stats {
            availability: if counts.ops == 0 {
                1.0
            } else {
                (counts.ok + answered) as f64 / counts.ops as f64
            },
            answers: answered,
            latency: (!latencies.is_empty()).then(|| Latency {
                p50: quantile(0.5),
                p99: quantile(0.99),
                max: latencies[latencies.len() - 1],
            }),
            counts,
            by_f,
            errors,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::{Config, register_history};

    #[test]
    fn counts_add_up_and_latencies_are_ordered() {
        let h = register_history(&Config {
            ops: 300,
            crash: 0.1,
            ..Config::default()
        });
        let ops = h.operations().unwrap();
        let s = Stats::of(&h, &ops, &[]);
        let c = s.counts;
        assert_eq!(c.ops, 300);
        assert_eq!(c.ok + c.fail + c.info, c.ops);
        assert_eq!(s.by_f.iter().map(|(_, c)| c.ops).sum::<usize>(), 300);
        let l = s.latency.unwrap();
        assert!(l.p50 <= l.p99 && l.p99 <= l.max);
        assert!((s.availability - c.ok as f64 / 300.0).abs() < 1e-9);
    }

    #[test]
    fn a_fail_that_is_the_operations_answer_counts_as_available_and_a_refusal_does_not() {
        let h = crate::import::read_history(
            "t.jsonl",
            r#"{"process":0,"type":"invoke","f":"cas","value":[1,2]}
{"process":0,"type":"fail","f":"cas","value":[1,2],"error":"cas-mismatch"}
{"process":0,"type":"invoke","f":"write","value":3}
{"process":0,"type":"fail","f":"write","value":3,"error":"not-leader"}
{"process":0,"type":"invoke","f":"cas","value":[1,2]}
{"process":0,"type":"fail","f":"cas","value":[1,2],"error":"cas-mismatch"}
{"process":0,"type":"invoke","f":"read","value":null}
{"process":0,"type":"info","f":"read","value":null,"error":"timeout"}
{"process":1,"type":"invoke","f":"read","value":null}
{"process":1,"type":"ok","f":"read","value":null}
"#,
            None,
        )
        .unwrap();
        let ops = h.operations().unwrap();
        let s = Stats::of(&h, &ops, &["cas-mismatch"]);
        assert_eq!((s.counts.ops, s.counts.fail, s.answers), (5, 3, 2));
        assert!((s.availability - 3.0 / 5.0).abs() < 1e-9);
        let errors: Vec<(&str, &str, &str, usize, bool)> = s
            .errors
            .iter()
            .map(|e| (&*e.f, &*e.outcome, &*e.error, e.count, e.answer))
            .collect();
        assert_eq!(
            errors,
            [
                ("cas", "fail", "cas-mismatch", 2, true),
                ("write", "fail", "not-leader", 1, false),
                ("read", "info", "timeout", 1, false),
            ]
        );
        // Without answers, the same history is 1 in 5 available.
        assert!((Stats::of(&h, &ops, &[]).availability - 0.2).abs() < 1e-9);
    }
}
