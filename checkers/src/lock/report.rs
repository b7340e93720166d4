//! What the lock checker says: a verdict, counts, and each anomaly with both holders, their
//! windows, the instances each acquired, their tokens and the faults in between — as data
//! (serialized into results.json) and as text.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::faults::Fault;
use crate::linear::OpSummary;
use crate::value::Value;
use crate::verdict::Validity;

/// How many anomalies of each kind a report keeps (`anomaly_counts` has them all).
pub const MAX_PER_KIND: usize = 100;
/// How many anomalies of each kind the text shows.
const SHOWN_PER_KIND: usize = 10;
/// How many faults a one-line description names.
const FAULTS_NAMED: usize = 6;

/// How operations of one kind ended.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Tally {
    /// Invocations.
    pub attempted: usize,
    pub ok: usize,
    pub fail: usize,
    /// `info`, or no completion at all.
    pub info: usize,
}

/// How the writes to the protected resource ended.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct WriteCounts {
    pub attempted: usize,
    /// `ok`: the resource accepted (and logged) it.
    pub accepted: usize,
    /// `fail`: the resource rejected it (a stale fencing token). Not an anomaly.
    pub rejected: usize,
    /// `info`, or no completion.
    pub unknown: usize,
}

/// Counts of the operations read, and of what the checker built from them.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Counts {
    pub acquires: Tally,
    pub releases: Tally,
    pub renewals: Tally,
    pub writes: WriteCounts,
    /// Belief windows (an `ok` acquire opens one; an `ok` renew after the window closed opens
    /// another).
    pub windows: usize,
    /// Faults the nemesis recorded (an invocation and its completion count once).
    pub faults: usize,
}

/// Anomalies found, by kind (the report keeps at most [`MAX_PER_KIND`] of each).
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct AnomalyCounts {
    pub overlap: usize,
    pub interleaved: usize,
    pub fencing: usize,
}

/// What ended a belief window.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Close {
    /// The validity the acquire computed ran out.
    Validity,
    /// The validity the last `ok` renew computed ran out.
    RenewedValidity,
    /// The client invoked `release`.
    Release,
    /// A `renew` completed `fail`.
    FailedRenewal,
    /// The client invoked `acquire` again without releasing.
    NextAcquire,
}

impl Close {
    pub fn word(self) -> &'static str {
        match self {
            Close::Validity => "validity",
            Close::RenewedValidity => "renewed validity",
            Close::Release => "release",
            Close::FailedRenewal => "failed renewal",
            Close::NextAcquire => "next acquire",
        }
    }
}

/// A belief window (or, for a resource anomaly, the span of a holding's windows), on the
/// harness clock: from `start` (included) to `end` (excluded).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
pub struct Window {
    pub start_ns: u64,
    pub end_ns: u64,
    /// The same, in milliseconds, for reading.
    pub start_ms: f64,
    pub end_ms: f64,
    pub closed_by: Close,
}

impl Window {
    pub fn new(start_ns: u64, end_ns: u64, closed_by: Close) -> Window {
        Window {
            start_ns,
            end_ns,
            start_ms: start_ns as f64 / 1e6,
            end_ms: end_ns as f64 / 1e6,
            closed_by,
        }
    }
}

/// One side of an anomaly: a client and the holding (acquire) it acted under.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Holder {
    pub process: u64,
    /// The random value the client set.
    pub lock: Value,
    /// Its fencing token (`null` without fencing).
    pub token: Option<i64>,
    /// The instances that granted it.
    pub nodes: Vec<Value>,
    /// For an overlap, the overlapping window; for a resource anomaly, the holding's span
    /// (its first window's opening to its last one's closing).
    pub window: Window,
    /// The acquire that began the holding.
    pub acquire: OpSummary,
}

/// One accepted write, as an anomaly shows it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct WriteSummary {
    pub process: u64,
    pub token: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<i64>,
    /// Its place among the accepted writes (1, 2, …).
    pub order: u64,
    /// Harness-clock times (ns) of invocation and completion.
    pub time: u64,
    pub complete_time: u64,
    /// Source line of the completion.
    pub line: u32,
}

/// The kinds of anomaly.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Two clients' belief windows overlap.
    Overlap,
    /// Two holdings both wrote as holders: their accepted writes interleave (A, B, A), or B's
    /// write, invoked after A acquired, was accepted before A's first.
    Interleaved,
    /// An accepted token lower than one accepted before.
    Fencing,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Overlap => "overlap",
            Kind::Interleaved => "interleaved",
            Kind::Fencing => "fencing",
        }
    }
}

/// A violation of mutual exclusion.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Anomaly {
    pub kind: Kind,
    /// One line for a human.
    pub description: String,
    /// For an overlap, the window that opened first; for interleaving, the holding that was
    /// interrupted; for fencing, the holder of the higher token, accepted first.
    pub first: Holder,
    /// The other: the later window; the interrupting holding; the stale token accepted later.
    pub second: Holder,
    /// How long both windows were open (overlaps only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overlap_ns: Option<u64>,
    /// The accepted writes that show it, in order (resource anomalies only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub writes: Vec<WriteSummary>,
    /// Nemesis events from the earlier window's opening to the later one's closing (for a
    /// resource anomaly, also to the last write shown).
    pub faults: Vec<Fault>,
}

/// The lock checker's result.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Report {
    /// Lock safety: invalid iff an anomaly was found.
    pub valid: Validity,
    pub counts: Counts,
    /// Whether any acquire or accepted write carried a fencing token (then the fencing check
    /// applies).
    pub fenced: bool,
    pub anomaly_counts: AnomalyCounts,
    /// At most [`MAX_PER_KIND`] of each kind; overlaps, then interleavings, then fencing, each
    /// in time order.
    pub anomalies: Vec<Anomaly>,
}

impl Report {
    /// A console rendering: the counts, and each anomaly (at most ten of each kind).
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let c = &self.counts;
        let a = &c.acquires;
        let _ = writeln!(
            out,
            "  acquires {} ({} ok, {} fail, {} info), releases {}, renewals {} ({} ok, {} fail), writes {} accepted, {} rejected{}; {} windows, {} faults",
            a.attempted,
            a.ok,
            a.fail,
            a.info,
            c.releases.attempted,
            c.renewals.attempted,
            c.renewals.ok,
            c.renewals.fail,
            c.writes.accepted,
            c.writes.rejected,
            if self.fenced { " (fenced)" } else { "" },
            c.windows,
            c.faults
        );
        for kind in [Kind::Overlap, Kind::Interleaved, Kind::Fencing] {
            let total = match kind {
                Kind::Overlap => self.anomaly_counts.overlap,
                Kind::Interleaved => self.anomaly_counts.interleaved,
                Kind::Fencing => self.anomaly_counts.fencing,
            };
            let shown: Vec<&Anomaly> = self
                .anomalies
                .iter()
                .filter(|x| x.kind == kind)
                .take(SHOWN_PER_KIND)
                .collect();
            for anomaly in &shown {
                let _ = writeln!(out, "  {}: {}", kind.name(), anomaly.description);
            }
            if total > shown.len() {
                let _ = writeln!(
                    out,
                    "  … {} more {} anomalies (results.json keeps up to {MAX_PER_KIND})",
                    total - shown.len(),
                    kind.name()
                );
            }
        }
        out
    }
}

/// `1.204 s`: a harness-clock time, to the millisecond.
pub(super) fn secs(ns: u64) -> String {
    format!("{:.3} s", ns as f64 / 1e9)
}

/// `412 ms`, or `0.25 ms`: a duration, to the microsecond.
pub(super) fn ms(ns: u64) -> String {
    if ns > 0 && ns < 1_000 {
        format!("{ns} ns")
    } else if ns % 1_000_000 == 0 {
        format!("{} ms", ns / 1_000_000)
    } else {
        let text = format!("{:.3}", ns as f64 / 1e6);
        format!("{} ms", text.trim_end_matches('0').trim_end_matches('.'))
    }
}

/// A value as text without JSON quotes for strings (node names).
fn bare(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

/// `3 from 1.204 s to 2.004 s, via n1 n2 n3, token 5`.
fn holder_text(h: &Holder) -> String {
    let mut s = format!(
        "{} from {} to {}",
        h.process,
        secs(h.window.start_ns),
        secs(h.window.end_ns)
    );
    if !h.nodes.is_empty() {
        let nodes: Vec<String> = h.nodes.iter().map(bare).collect();
        let _ = write!(s, ", via {}", nodes.join(" "));
    }
    if let Some(t) = h.token {
        let _ = write!(s, ", token {t}");
    }
    s
}

/// `; between them: clock-bump n3 +15000 ms, kill n1`, or `; no faults between them`.
fn faults_text(faults: &[Fault]) -> String {
    if faults.is_empty() {
        return "; no faults between them".to_string();
    }
    let named: Vec<String> = faults
        .iter()
        .take(FAULTS_NAMED)
        .map(Fault::describe)
        .collect();
    let mut s = format!("; between them: {}", named.join(", "));
    if faults.len() > FAULTS_NAMED {
        let _ = write!(s, " and {} more", faults.len() - FAULTS_NAMED);
    }
    s
}

/// `#4 from 3 (token 5)`.
fn write_text(w: &WriteSummary) -> String {
    match w.token {
        Some(t) => format!("#{} from {} (token {t})", w.order, w.process),
        None => format!("#{} from {}", w.order, w.process),
    }
}

pub(super) fn overlap(
    first: Holder,
    second: Holder,
    overlap_ns: u64,
    faults: Vec<Fault>,
) -> Anomaly {
    let description = format!(
        "processes {} and {} both believed they held the lock for {} ({}; {}){}",
        first.process,
        second.process,
        ms(overlap_ns),
        holder_text(&first),
        holder_text(&second),
        faults_text(&faults)
    );
    Anomaly {
        kind: Kind::Overlap,
        description,
        first,
        second,
        overlap_ns: Some(overlap_ns),
        writes: Vec::new(),
        faults,
    }
}

/// `writes`: the interrupted holding's last write before (if `wrote_before`), the first
/// interrupting write, and the interrupted holding's next write. `first` is the interrupted
/// holding.
pub(super) fn interleaved(
    first: Holder,
    second: Holder,
    wrote_before: bool,
    writes: Vec<WriteSummary>,
    faults: Vec<Fault>,
) -> Anomaly {
    let steps: Vec<String> = writes.iter().map(write_text).collect();
    let story = if wrote_before {
        format!("the resource accepted {} again", steps.join(", then "))
    } else {
        format!(
            "after process {} acquired the lock, the resource accepted {}",
            first.process,
            steps.join(", then ")
        )
    };
    let description = format!(
        "processes {} and {} both wrote as holders: {story} ({}; {}){}",
        first.process,
        second.process,
        holder_text(&first),
        holder_text(&second),
        faults_text(&faults)
    );
    Anomaly {
        kind: Kind::Interleaved,
        description,
        first,
        second,
        overlap_ns: None,
        writes,
        faults,
    }
}

/// `high`: the write of the higher token; `low`: the lower one, accepted after it.
pub(super) fn fencing(
    first: Holder,
    second: Holder,
    high: WriteSummary,
    low: WriteSummary,
    faults: Vec<Fault>,
) -> Anomaly {
    let description = format!(
        "broken fencing: the resource accepted write #{}, token {} from process {}, after write #{}, token {} from process {} ({}; {}){}",
        low.order,
        low.token.unwrap_or_default(),
        low.process,
        high.order,
        high.token.unwrap_or_default(),
        high.process,
        holder_text(&first),
        holder_text(&second),
        faults_text(&faults)
    );
    Anomaly {
        kind: Kind::Fencing,
        description,
        first,
        second,
        overlap_ns: None,
        writes: vec![high, low],
        faults,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_times_read_well() {
        assert_eq!(ms(412_000_000), "412 ms");
        assert_eq!(ms(250_000), "0.25 ms");
        assert_eq!(ms(1), "1 ns");
        assert_eq!(ms(1_500), "0.002 ms");
        assert_eq!(secs(1_204_000_000), "1.204 s");
    }
}
