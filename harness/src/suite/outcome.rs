//! What one run of a suite gave, against what its scenario expects; and the short anomaly
//! summary of a run's results (the suite's table and JUnit, the sweep).

use std::path::PathBuf;

use checkers::Validity;
use checkers::bank::ErrorKind;
use checkers::compose::Analysis;
use checkers::lock::Kind;

use crate::report::text::text;
use crate::results::HistoryResult;

/// One run of one scenario (a JUnit test case).
#[derive(Clone, Debug, PartialEq)]
pub struct Case {
    pub scenario: String,
    pub target: String,
    /// From 1.
    pub run: u32,
    pub seed: u64,
    /// `None`: the scenario has no `expect`.
    pub expected: Option<Validity>,
    pub duration_s: f64,
    pub outcome: Outcome,
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// The run finished and its history was checked.
    Checked {
        verdict: Validity,
        dir: PathBuf,
        /// [`anomalies`] of its results ("" when none).
        anomalies: String,
    },
    /// The harness failed (a node that never came up, an interrupted run, …).
    Failed(String),
}

impl Case {
    /// `<scenario> #<run> (seed S)`: the JUnit test case's name.
    pub fn name(&self) -> String {
        format!("{} #{} (seed {})", self.scenario, self.run, self.seed)
    }

    /// What differed from the expectation ("expected invalid, got valid"), if anything did. A
    /// run without an expectation never differs; a failed run always does.
    pub fn mismatch(&self) -> Option<String> {
        match &self.outcome {
            Outcome::Failed(e) => Some(e.clone()),
            Outcome::Checked { verdict, .. } => match self.expected {
                Some(expected) if expected != *verdict => Some(format!(
                    "expected {}, got {}",
                    expected.word(),
                    verdict.word()
                )),
                _ => None,
            },
        }
    }

    pub fn passed(&self) -> bool {
        self.mismatch().is_none()
    }

    pub fn failed_to_run(&self) -> bool {
        matches!(self.outcome, Outcome::Failed(_))
    }

    /// The verdict's word, or `error`.
    pub fn got(&self) -> &'static str {
        match &self.outcome {
            Outcome::Checked { verdict, .. } => verdict.word(),
            Outcome::Failed(_) => "error",
        }
    }
}

/// A short summary of a history's anomalies, from its decisive checkers: `key 2 not
/// linearizable`, `2 overlap, 1 interleaved` (lock safety), `14 duplicated IDs`, `3
/// wrong-total` (bank); "" when there are none. Informational checkers find no anomalies.
pub fn anomalies(history: &HistoryResult) -> String {
    let mut parts = Vec::new();
    for c in history.checkers.iter().filter(|c| !c.informational) {
        match &c.analysis {
            Analysis::Linearizable(l) => {
                let with = |v: Validity| {
                    l.partitions
                        .iter()
                        .filter(|p| p.valid == v)
                        .collect::<Vec<_>>()
                };
                let invalid = with(Validity::Invalid);
                let keys: Vec<String> = invalid
                    .iter()
                    .filter_map(|p| p.key.as_ref().map(text))
                    .collect();
                match (invalid.len(), keys.len()) {
                    (0, _) => {}
                    (_, 0) => parts.push("not linearizable".to_string()),
                    (_, 1) => parts.push(format!("key {} not linearizable", keys[0])),
                    _ => parts.push(format!("keys {} not linearizable", list(&keys, 4))),
                }
                let unknown = with(Validity::Unknown).len();
                if unknown > 0 && invalid.is_empty() {
                    parts.push(format!(
                        "{unknown} {} unknown",
                        if unknown == 1 { "key" } else { "keys" }
                    ));
                }
            }
            Analysis::LockSafety(l) => {
                // The checker's order: overlaps, interleavings, fencing.
                let c = l.anomaly_counts;
                for (kind, n) in [
                    (Kind::Overlap, c.overlap),
                    (Kind::Interleaved, c.interleaved),
                    (Kind::Fencing, c.fencing),
                ] {
                    if n > 0 {
                        parts.push(format!("{n} {}", kind.name()));
                    }
                }
            }
            Analysis::UniqueIds(u) if u.duplicated > 0 => parts.push(format!(
                "{} duplicated {}",
                u.duplicated,
                if u.duplicated == 1 { "ID" } else { "IDs" }
            )),
            Analysis::Bank(b) => {
                for kind in ErrorKind::ALL {
                    let n = b.error_counts.of(kind);
                    if n > 0 {
                        parts.push(format!("{n} {}", kind.name()));
                    }
                }
            }
            Analysis::Atomicity(a) => {
                for kind in checkers::atomicity::ErrorKind::ALL {
                    let n = a.error_counts.of(kind);
                    if n > 0 {
                        parts.push(format!("{n} {}", kind.name()));
                    }
                }
            }
            Analysis::Isolation(r) => {
                for kind in r.counted_kinds() {
                    parts.push(format!("{} {kind}", r.anomaly_counts[kind]));
                }
            }
            Analysis::UniqueIds(_)
            | Analysis::Monotonic(_)
            | Analysis::Mutex(_)
            | Analysis::Blocking(_) => {}
        }
    }
    parts.join(", ")
}

/// At most `n` items, then "…".
fn list(items: &[String], n: usize) -> String {
    let mut s = items.iter().take(n).cloned().collect::<Vec<_>>().join(", ");
    if items.len() > n {
        s.push_str(", …");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use checkers::Value;
    use checkers::compose::CheckerResult;
    use checkers::linear::{PartitionReport, Report};
    use checkers::stats::Stats;

    /// A history whose only results are `checkers`.
    fn checked(checkers: Vec<CheckerResult>) -> HistoryResult {
        let h = checkers::history::read_jsonl("h.jsonl", "").unwrap();
        HistoryResult {
            file: "h.jsonl".into(),
            format: "jsonl".into(),
            valid: checkers::compose::merge(&checkers),
            stats: Stats::of(&h, &[], &[]),
            elapsed_ms: 0.0,
            checkers,
        }
    }

    fn decisive(valid: Validity, analysis: Analysis) -> CheckerResult {
        CheckerResult {
            valid,
            informational: false,
            analysis,
        }
    }

    /// A linearizability result with one partition per `(key, verdict)`.
    fn linear(keys: &[(Option<Value>, Validity)]) -> CheckerResult {
        let partitions = keys
            .iter()
            .map(|(key, valid)| PartitionReport::new(key.clone(), *valid))
            .collect();
        let report = Report {
            valid: Validity::all(keys.iter().map(|k| k.1)),
            model: "cas-register".into(),
            split: true,
            unconstrained_nil_reads: None,
            partitions,
        };
        decisive(report.valid, Analysis::Linearizable(report))
    }

    #[test]
    fn anomalies_are_summed_up_per_checker() {
        use Validity::*;
        let int = |i: i64| Some(Value::Int(i));
        let lin = checked(vec![linear(&[
            (int(1), Valid),
            (int(2), Invalid),
            (int(3), Unknown),
        ])]);
        assert_eq!(anomalies(&lin), "key 2 not linearizable");
        let two = checked(vec![linear(&[
            (Some(Value::str("a")), Invalid),
            (Some(Value::str("b")), Invalid),
        ])]);
        assert_eq!(anomalies(&two), "keys a, b not linearizable");
        let unkeyed = checked(vec![linear(&[(None, Invalid)])]);
        assert_eq!(anomalies(&unkeyed), "not linearizable");
        let unknown = checked(vec![linear(&[(int(1), Unknown), (int(2), Unknown)])]);
        assert_eq!(anomalies(&unknown), "2 keys unknown");
        let lock = checkers::lock::Report {
            valid: Invalid,
            counts: Default::default(),
            fenced: false,
            anomaly_counts: checkers::lock::AnomalyCounts {
                overlap: 2,
                interleaved: 1,
                fencing: 0,
            },
            anomalies: Vec::new(),
        };
        let lock = checked(vec![decisive(Invalid, Analysis::LockSafety(lock))]);
        assert_eq!(anomalies(&lock), "2 overlap, 1 interleaved");
        let ids = |duplicated: usize| {
            let report = checkers::unique_ids::Report {
                valid: if duplicated > 0 { Invalid } else { Valid },
                attempted: 0,
                acknowledged: 0,
                ids: 0,
                duplicated,
                failed: Default::default(),
                range: None,
                duplicates: Vec::new(),
            };
            checked(vec![decisive(report.valid, Analysis::UniqueIds(report))])
        };
        assert_eq!(anomalies(&ids(14)), "14 duplicated IDs");
        assert_eq!(anomalies(&ids(0)), "");
        let bank = checkers::bank::Report {
            valid: Invalid,
            total: Some(100),
            accounts: None,
            total_inferred: false,
            accounts_inferred: false,
            inferred_from: None,
            allow_negative: false,
            counts: Default::default(),
            error_counts: checkers::bank::ErrorCounts {
                wrong_total: 3,
                negative_value: 0,
                nil_balance: 1,
                unexpected_key: 0,
            },
            errors: Vec::new(),
        };
        let bank = checked(vec![decisive(Invalid, Analysis::Bank(bank))]);
        assert_eq!(anomalies(&bank), "3 wrong-total, 1 nil-balance");
    }

    #[test]
    fn informational_checkers_find_no_anomalies() {
        use Validity::*;
        let mut mutex = linear(&[(None, Invalid)]);
        mutex.informational = true;
        assert_eq!(anomalies(&checked(vec![mutex])), "");
    }

    #[test]
    fn a_case_differs_only_from_an_expectation() {
        let mut case = Case {
            scenario: "s".into(),
            target: "raft-kv".into(),
            run: 2,
            seed: 8,
            expected: Some(Validity::Invalid),
            duration_s: 1.0,
            outcome: Outcome::Checked {
                verdict: Validity::Valid,
                dir: "results/s/1".into(),
                anomalies: String::new(),
            },
        };
        assert_eq!(case.name(), "s #2 (seed 8)");
        assert_eq!(
            case.mismatch().as_deref(),
            Some("expected invalid, got valid")
        );
        case.expected = None;
        assert!(case.passed());
        case.outcome = Outcome::Failed("node n1 never came up".into());
        assert!(!case.passed() && case.failed_to_run());
    }
}
