//! The results model: what `faultline run` stores in results.json and `faultline check --json`
//! prints (docs/results-schema.md), as one set of types.
//!
//! ```text
//! check::check_one ──▶ HistoryResult { stats, checkers: [CheckerResult] }
//!   ├─ faultline check ──▶ CheckResults ──▶ the console, or --json
//!   └─ the runner ──▶ RunResults ──▶ results.json, the console summary, report.html (typed, in memory)
//! results.json ──serde──▶ RunResults ──▶ `faultline report`, the suite, the sweep, `faultline serve`
//! ```
//!
//! Each checker's analysis is the checker's own report type (`checkers::compose::Analysis`),
//! written and read back by serde: there is no second reading of results.json. A results.json
//! of another [`VERSION`] does not read: the report checks the run's history again instead.

use std::collections::BTreeMap;
use std::path::PathBuf;

use checkers::Validity;
use checkers::compose::CheckerResult;
use checkers::history::History;
use checkers::stats::Stats;
use nemesis::FaultKind;
use serde::{Deserialize, Deserializer, Serialize};

use crate::scenario::Scenario;

/// The shape of results.json: bumped whenever a field is renamed, moved or removed
/// (docs/results-schema.md keeps the changelog).
pub const VERSION: u32 = 2;

/// results.json of a run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunResults {
    #[serde(deserialize_with = "this_version")]
    pub version: u32,
    pub valid: Validity,
    pub scenario: Scenario,
    /// The command that repeats this run.
    pub command: String,
    pub dir: PathBuf,
    pub duration_s: f64,
    /// How long the cluster took to be ready, from its first process started to every node
    /// answering its readiness probe — a JVM's start-up included. Unknown (`None`) for a run
    /// whose results were rebuilt from its history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_s: Option<f64>,
    /// Faults the nemesis started.
    pub faults: u64,
    /// The faults that struck, by kind (`partition`, `kill`, `client-pause`, …), counted from
    /// the history ([`faults_by_kind`]). A requested client pause that no client reached is
    /// in `faults` and not here.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub faults_by_kind: BTreeMap<String, u64>,
    pub history: HistoryResult,
}

impl RunResults {
    /// The faults that struck, for a person: `5: partition ×2, kill ×2, pause ×1`; `none`
    /// for a run without a nemesis; the kinds configured when none struck. Client pauses
    /// requested that no client reached are said apart.
    pub fn faults_line(&self) -> String {
        let struck: u64 = self.faults_by_kind.values().sum();
        let mut line = if struck > 0 {
            let kinds: Vec<String> = self
                .faults_by_kind
                .iter()
                .map(|(kind, n)| format!("{kind} ×{n}"))
                .collect();
            format!("{struck}: {}", kinds.join(", "))
        } else if self.scenario.nemesis.is_empty() {
            return "none".into();
        } else {
            format!(
                "none struck ({} configured)",
                self.scenario.nemesis.join(", ")
            )
        };
        if self.faults > struck {
            let missed = self.faults - struck;
            line.push_str(&format!(
                "; {missed} client pause{} requested that no client reached",
                if missed == 1 { "" } else { "s" }
            ));
        }
        line
    }
}

/// The faults that struck in `history`, by kind: the nemesis's actions that start one.
pub fn faults_by_kind(history: &History) -> BTreeMap<String, u64> {
    let mut kinds = BTreeMap::new();
    for action in checkers::lock::nemesis_faults(history) {
        if let Some(kind) = FaultKind::started_by(&action.f) {
            *kinds.entry(kind.name().to_string()).or_insert(0) += 1;
        }
    }
    kinds
}

/// What `faultline check --json` prints.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CheckResults {
    #[serde(deserialize_with = "this_version")]
    pub version: u32,
    /// The worst verdict over all histories.
    pub valid: Validity,
    pub histories: Vec<HistoryResult>,
}

/// One history, checked.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct HistoryResult {
    /// The history's path as given.
    pub file: String,
    /// `jsonl`, `edn`, `porcupine-kv` or `jepsen-log`.
    pub format: String,
    /// The merge of its checkers' verdicts (`checkers::compose::merge`).
    pub valid: Validity,
    pub stats: Stats,
    /// Time spent checking: pairing, statistics and every checker.
    pub elapsed_ms: f64,
    /// Every checker's verdict and analysis, in the order they ran.
    pub checkers: Vec<CheckerResult>,
}

impl HistoryResult {
    /// What it was checked as, for a line of text: each checker's name, a linearizability
    /// checker by its model (`cas-register`; `lock-safety + mutex`).
    pub fn label(&self) -> String {
        use checkers::compose::Analysis;
        self.checkers
            .iter()
            .map(|c| match &c.analysis {
                Analysis::Linearizable(r) => r.model.as_str(),
                Analysis::Isolation(r) => r.workload.name(),
                _ => c.name(),
            })
            .collect::<Vec<_>>()
            .join(" + ")
    }
}

/// Reads a version, refusing any but [`VERSION`]: an older results.json has other fields.
fn this_version<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let v = u32::deserialize(d)?;
    if v == VERSION {
        Ok(v)
    } else {
        Err(serde::de::Error::custom(format!(
            "results.json version {v}, expected {VERSION}"
        )))
    }
}
