//! What one run of a suite gave, against what its scenario expects; and the short anomaly
//! summary read from a run's results.json.

use std::path::PathBuf;

use checkers::Validity;
use serde_json::Value;

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

/// A short summary of a run's anomalies, from its results.json: `key 2 not linearizable`,
/// `2 overlap, 1 interleaved` (lock safety), `14 duplicated IDs`; "" when there are none.
pub fn anomalies(results: &Value) -> String {
    let h = &results["history"];
    let mut parts = Vec::new();
    if let Some(partitions) = h["linearizable"]["partitions"].as_array() {
        let with = |v: &Value| {
            partitions
                .iter()
                .filter(|p| p["valid"] == *v)
                .collect::<Vec<_>>()
        };
        let invalid = with(&Value::Bool(false));
        let keys: Vec<String> = invalid
            .iter()
            .filter_map(|p| p.get("key").map(short_value))
            .collect();
        match (invalid.len(), keys.len()) {
            (0, _) => {}
            (_, 0) => parts.push("not linearizable".to_string()),
            (_, 1) => parts.push(format!("key {} not linearizable", keys[0])),
            _ => parts.push(format!("keys {} not linearizable", list(&keys, 4))),
        }
        let unknown = with(&Value::String("unknown".into())).len();
        if unknown > 0 && invalid.is_empty() {
            parts.push(format!(
                "{unknown} {} unknown",
                if unknown == 1 { "key" } else { "keys" }
            ));
        }
    }
    if let Some(counts) = h["lock"]["anomaly_counts"].as_object() {
        // The checker's order (overlaps, interleavings, fencing), then any newer kind.
        const ORDER: [&str; 3] = ["overlap", "interleaved", "fencing"];
        let mut kinds: Vec<&String> = counts.keys().collect();
        kinds.sort_by_key(|k| ORDER.iter().position(|o| o == k).unwrap_or(ORDER.len()));
        for kind in kinds {
            match counts[kind.as_str()].as_u64() {
                Some(n) if n > 0 => parts.push(format!("{n} {kind}")),
                _ => {}
            }
        }
    }
    if let Some(n) = h["unique_ids"]["duplicated"].as_u64()
        && n > 0
    {
        parts.push(format!(
            "{n} duplicated {}",
            if n == 1 { "ID" } else { "IDs" }
        ));
    }
    parts.join(", ")
}

fn short_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
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
    use serde_json::json;

    #[test]
    fn anomalies_are_summed_up_per_checker() {
        let lin = json!({"history": {"linearizable": {"partitions": [
            {"key": 1, "valid": true}, {"key": 2, "valid": false}, {"key": 3, "valid": "unknown"}
        ]}}});
        assert_eq!(anomalies(&lin), "key 2 not linearizable");
        let two = json!({"history": {"linearizable": {"partitions": [
            {"key": "a", "valid": false}, {"key": "b", "valid": false}
        ]}}});
        assert_eq!(anomalies(&two), "keys a, b not linearizable");
        let unkeyed = json!({"history": {"linearizable": {"partitions": [{"valid": false}]}}});
        assert_eq!(anomalies(&unkeyed), "not linearizable");
        let unknown = json!({"history": {"linearizable": {"partitions": [
            {"key": 1, "valid": "unknown"}, {"key": 2, "valid": "unknown"}
        ]}}});
        assert_eq!(anomalies(&unknown), "2 keys unknown");
        let lock = json!({"history": {"lock": {"anomaly_counts":
            {"overlap": 2, "interleaved": 1, "fencing": 0}}}});
        assert_eq!(anomalies(&lock), "2 overlap, 1 interleaved");
        let ids = json!({"history": {"unique_ids": {"duplicated": 14}}});
        assert_eq!(anomalies(&ids), "14 duplicated IDs");
        let valid = json!({"history": {"unique_ids": {"duplicated": 0}}});
        assert_eq!(anomalies(&valid), "");
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
