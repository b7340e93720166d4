//! Counts, availability and latencies of a history's client operations — what every checker
//! reports beside its verdict.

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
    /// Fraction of operations that completed `ok` (1 for an empty history).
    pub availability: f64,
    /// Absent when the history has no timestamps.
    pub latency: Option<Latency>,
}

impl Stats {
    pub fn of(history: &History, ops: &[Operation]) -> Stats {
        let mut counts = Counts::default();
        let mut by_f: Vec<(String, Counts)> = Vec::new();
        let mut latencies: Vec<u64> = Vec::new();
        for op in ops {
            let i = match by_f.iter().position(|(f, _)| **f == *op.f) {
                Some(i) => i,
                None => {
                    by_f.push((op.f.to_string(), Counts::default()));
                    by_f.len() - 1
                }
            };
            counts.count(op.outcome);
            by_f[i].1.count(op.outcome);
            if history.timed
                && let Some(done) = op.completion(history)
            {
                latencies.push(done.time.saturating_sub(op.invocation(history).time));
            }
        }
        latencies.sort_unstable();
        let quantile = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
        Stats {
            availability: if counts.ops == 0 {
                1.0
            } else {
                counts.ok as f64 / counts.ops as f64
            },
            latency: (!latencies.is_empty()).then(|| Latency {
                p50: quantile(0.5),
                p99: quantile(0.99),
                max: latencies[latencies.len() - 1],
            }),
            counts,
            by_f,
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
        let s = Stats::of(&h, &ops);
        let c = s.counts;
        assert_eq!(c.ops, 300);
        assert_eq!(c.ok + c.fail + c.info, c.ops);
        assert_eq!(s.by_f.iter().map(|(_, c)| c.ops).sum::<usize>(), 300);
        let l = s.latency.unwrap();
        assert!(l.p50 <= l.p99 && l.p99 <= l.max);
        assert!((s.availability - c.ok as f64 / 300.0).abs() < 1e-9);
    }
}
