//! What the report reads from a run's results: the shape of results.json
//! (docs/results-schema.md), as far as the report uses it.
//!
//! One reading serves both ways in: the runner's results serialized in memory, and a stored
//! results.json. Values from the history stay `serde_json::Value`s, shown as compact JSON.

use serde::Deserialize;
use serde_json::Value as Json;

/// A verdict: `true`, `false` or `"unknown"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Verdict {
    Valid,
    Invalid,
    #[default]
    Unknown,
}

impl Verdict {
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Valid => "valid",
            Verdict::Invalid => "invalid",
            Verdict::Unknown => "unknown",
        }
    }
}

impl<'de> Deserialize<'de> for Verdict {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Verdict, D::Error> {
        Ok(match Json::deserialize(d)? {
            Json::Bool(true) => Verdict::Valid,
            Json::Bool(false) => Verdict::Invalid,
            _ => Verdict::Unknown,
        })
    }
}

/// results.json of a run.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Results {
    pub valid: Verdict,
    /// The resolved scenario, as stored (kebab-case keys).
    pub scenario: Json,
    pub command: String,
    pub dir: String,
    pub duration_s: Option<f64>,
    pub faults: Option<u64>,
    pub history: HistoryResult,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct HistoryResult {
    pub valid: Verdict,
    pub checker: String,
    pub model: String,
    pub stats: Stats,
    pub elapsed_ms: f64,
    pub linearizable: Option<LinearReport>,
    pub unique_ids: Option<UniqueIds>,
    pub lock: Option<LockReport>,
}

#[derive(Clone, Copy, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Counts {
    pub ops: u64,
    pub ok: u64,
    pub fail: u64,
    pub info: u64,
}

#[derive(Clone, Copy, Debug, Default, Deserialize)]
pub struct Latency {
    pub p50: u64,
    pub p99: u64,
    pub max: u64,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Stats {
    pub ops: u64,
    pub ok: u64,
    pub fail: u64,
    pub info: u64,
    pub by_f: Vec<(String, Counts)>,
    pub availability: f64,
    pub latency: Option<Latency>,
}

/// An operation as a report shows it (`OpSummary`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Op {
    pub process: u64,
    pub f: String,
    pub value: Json,
    /// Absent when the op returned what it asked; a read of nothing is `Some(null)`.
    #[serde(deserialize_with = "present")]
    pub output: Option<Json>,
    #[serde(rename = "type")]
    pub outcome: String,
    pub index: u64,
    pub complete_index: Option<u64>,
    pub time: u64,
    pub complete_time: Option<u64>,
    pub line: u64,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct LinearReport {
    pub valid: Verdict,
    pub model: String,
    pub partitions: Vec<Partition>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Partition {
    pub key: Option<Json>,
    pub valid: Verdict,
    pub reason: Option<String>,
    pub counterexample: Option<Counterexample>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Step {
    pub op: Op,
    pub state: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Counterexample {
    pub op: Op,
    pub concurrent: Vec<Op>,
    pub prefix: Vec<Step>,
    pub state: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct UniqueIds {
    pub valid: Verdict,
    pub attempted: u64,
    pub acknowledged: u64,
    pub ids: u64,
    pub duplicated: u64,
    pub failed: std::collections::BTreeMap<String, u64>,
    pub range: Option<[Json; 2]>,
    pub duplicates: Vec<Duplicate>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Duplicate {
    pub id: Json,
    pub decoded: Option<Snowflake>,
    pub ops: Vec<Op>,
}

#[derive(Clone, Copy, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Snowflake {
    pub timestamp_ms: i64,
    pub worker: u64,
    pub sequence: u64,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct LockReport {
    pub valid: Verdict,
    pub fenced: bool,
    pub anomaly_counts: AnomalyCounts,
    pub anomalies: Vec<Anomaly>,
}

#[derive(Clone, Copy, Debug, Default, Deserialize)]
#[serde(default)]
pub struct AnomalyCounts {
    pub overlap: u64,
    pub interleaved: u64,
    pub fencing: u64,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Anomaly {
    /// `overlap`, `interleaved` or `fencing`.
    pub kind: String,
    pub description: String,
    pub first: Holder,
    pub second: Holder,
    pub overlap_ns: Option<u64>,
    pub writes: Vec<WriteSummary>,
    pub faults: Vec<Fault>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Holder {
    pub process: u64,
    pub lock: Json,
    pub token: Option<i64>,
    pub nodes: Vec<Json>,
    pub window: Window,
    pub acquire: Op,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Window {
    pub start_ns: u64,
    pub end_ns: u64,
    pub closed_by: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct WriteSummary {
    pub process: u64,
    pub token: Option<i64>,
    pub order: u64,
    pub time: u64,
    pub complete_time: u64,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Fault {
    pub f: String,
    pub value: Json,
    pub time: u64,
    pub complete_time: Option<u64>,
}

/// A field that is there, even as `null`.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Json>, D::Error> {
    Json::deserialize(d).map(Some)
}

/// Text for a value from a history: strings bare, anything else as compact JSON.
pub fn text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A value cut to `max` characters, with an ellipsis.
pub fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}
