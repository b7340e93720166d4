//! The lock-safety checker, for the `lock` workload (docs/workloads/lock.md).
//!
//! ```text
//! operations ──read (read.rs)──▶ holdings and their belief windows (windows.rs) ──▶ overlaps
//!            └─────────────────▶ accepted writes, by order (resource.rs) ─────────▶ interleaving, fencing
//! nemesis events ──(faults.rs)──▶ the faults each anomaly names
//! ```
//!
//! **Belief windows** (`windows.rs` has the exact rules). A client's window opens when its
//! `acquire` completes `ok` and closes at the earliest of the invocation of its next `release`
//! (whatever the release's outcome: the client stopped believing when it asked), `ok time +
//! validity_ms`, the completion of a `renew` that fails, and the invocation of another
//! `acquire` by the same client. A `renew` that completes `ok` moves the close to `ok time +
//! validity_ms` (a new window if the old one had closed). An acquire that fails or is unknown
//! opens none: the client does not believe it holds. An unknown (`info`) renew changes
//! nothing. All times are the events' `time` (harness clock, ns), so two windows of different
//! clients that overlap — strictly: touching is not overlapping — are a real violation:
//! anomaly `overlap`.
//!
//! **The resource** (`resource.rs`). Accepted writes sorted by `order`, each attributed to
//! its client's latest `ok` acquire: two holdings' writes interleaving (A, B, A) is anomaly
//! `interleaved`; a token lower than one accepted before is anomaly `fencing` (checked among
//! writes that carry a token; a `null` token, as Redlock's, is not compared). Rejected writes
//! are counted, never anomalies.
//!
//! **The verdict** is lock safety alone: invalid iff an anomaly was found, else valid (never
//! unknown). The acquire/release operations alone can also be checked as a linearizable
//! mutex ([`mutex`], `mutex.rs`): a checker of its own, and information only — a lease that
//! expires frees the lock without a release, which a mutex cannot express, so that check is
//! expected to be invalid whenever a lease expires.
//!
//! Each anomaly names both clients, their windows, the instances each acquired, their tokens,
//! and the nemesis events from the earlier window's opening to the later one's closing.

mod faults;
mod mutex;
mod read;
mod report;
mod resource;
mod windows;

pub use faults::{Fault, collect as nemesis_faults};
pub use mutex::{MUTEX_BUDGET, mutex};
pub use report::{
    Anomaly, AnomalyCounts, Close, Counts, Holder, Kind, MAX_PER_KIND, Report, Tally, Window,
    WriteCounts, WriteSummary,
};

use resource::{Finding, Write};
use windows::{Holding, Span, Tracker};

use crate::error::InputError;
use crate::history::{History, Operation, Outcome};
use crate::linear::OpSummary;
use crate::verdict::Validity;

/// Checks the lock workload's operations `ops` (the client operations of `history`).
///
/// Fails, naming the line, on an operation that is not `acquire`, `renew`, `release` or
/// `write`, on an `ok` value without what the checker needs (an acquire's or renew's
/// `validity_ms`, a write's `order`), on an accepted write by a client that never acquired,
/// on two accepted writes with the same `order`, and on a history without times.
pub fn check(history: &History, ops: &[Operation]) -> Result<Report, InputError> {
    if !history.timed {
        return Err(read::error(
            history,
            0,
            "the history has no times (belief windows are measured on the harness clock)".into(),
        ));
    }
    let mut counts = Counts::default();
    let mut tracker = Tracker::default();
    let mut writes: Vec<Write> = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        let invoked = op.invocation(history).time;
        let done = op.completion(history).map_or(invoked, |c| c.time);
        let p = op.process;
        match &*op.f {
            "acquire" => {
                tally(&mut counts.acquires, op.outcome);
                tracker.acquire_invoked(p, invoked);
                if op.outcome == Outcome::Ok {
                    tracker.acquired(p, i, done, read::acquired(history, op)?);
                }
            }
            "renew" => {
                tally(&mut counts.renewals, op.outcome);
                match op.outcome {
                    Outcome::Ok => tracker.renewed(p, done, read::renewed(history, op)?),
                    Outcome::Fail => tracker.renew_failed(p, done),
                    Outcome::Info => {}
                }
            }
            "release" => {
                tally(&mut counts.releases, op.outcome);
                tracker.release_invoked(p, invoked);
            }
            "write" => {
                counts.writes.attempted += 1;
                match op.outcome {
                    Outcome::Ok => counts.writes.accepted += 1,
                    Outcome::Fail => counts.writes.rejected += 1,
                    Outcome::Info => counts.writes.unknown += 1,
                }
                if op.outcome == Outcome::Ok {
                    let w = read::accepted(history, op)?;
                    let Some(holding) = tracker.holding_of(p) else {
                        return Err(read::error(
                            history,
                            read::line(history, op),
                            format!(
                                "process {p}: expected writes only from a client that acquired the lock, found write #{} accepted with no ok acquire before it",
                                w.order
                            ),
                        ));
                    };
                    writes.push(Write {
                        op: i,
                        holding,
                        token: w.token,
                        seq: w.seq,
                        order: w.order,
                        invoked: op.invocation(history).time,
                    });
                }
            }
            f => {
                return Err(read::error(
                    history,
                    op.invocation(history).line as usize,
                    format!(
                        "expected f acquire, renew, release or write, found `{}`",
                        f.escape_debug()
                    ),
                ));
            }
        }
    }
    counts.windows = tracker.window_count();
    let holdings = tracker.holdings;
    let faults = faults::collect(history);
    counts.faults = faults.len();
    let fenced =
        holdings.iter().any(|h| h.token.is_some()) || writes.iter().any(|w| w.token.is_some());

    let ctx = Context {
        history,
        ops,
        holdings: &holdings,
        faults: &faults,
    };
    let mut anomaly_counts = AnomalyCounts::default();
    let mut anomalies = Vec::new();
    for o in windows::overlaps(&holdings) {
        anomaly_counts.overlap += 1;
        if anomaly_counts.overlap <= MAX_PER_KIND {
            anomalies.push(ctx.overlap(o));
        }
    }
    let mut resource_anomalies = Vec::new();
    let acquired: Vec<u64> = holdings.iter().map(|h| h.span().start).collect();
    for finding in resource::check(history, ops, &mut writes, &acquired)? {
        let count = match finding {
            Finding::Interleaved { .. } => &mut anomaly_counts.interleaved,
            Finding::Fencing { .. } => &mut anomaly_counts.fencing,
        };
        *count += 1;
        if *count <= MAX_PER_KIND {
            resource_anomalies.push(ctx.resource(finding, &writes));
        }
    }
    // Interleavings before fencing, each in the order the resource saw them.
    resource_anomalies.sort_by_key(|a: &Anomaly| a.kind == Kind::Fencing);
    anomalies.extend(resource_anomalies);

    Ok(Report {
        valid: if anomalies.is_empty() {
            Validity::Valid
        } else {
            Validity::Invalid
        },
        counts,
        fenced,
        anomaly_counts,
        anomalies,
    })
}

fn tally(t: &mut Tally, outcome: Outcome) {
    t.attempted += 1;
    match outcome {
        Outcome::Ok => t.ok += 1,
        Outcome::Fail => t.fail += 1,
        Outcome::Info => t.info += 1,
    }
}

/// What building an anomaly needs.
struct Context<'a> {
    history: &'a History,
    ops: &'a [Operation],
    holdings: &'a [Holding],
    faults: &'a [Fault],
}

impl Context<'_> {
    fn holder(&self, h: usize, span: Span) -> Holder {
        let holding = &self.holdings[h];
        Holder {
            process: holding.process,
            lock: holding.lock.clone(),
            token: holding.token,
            nodes: holding.nodes.clone(),
            window: Window::new(span.start, span.end, span.closed_by),
            acquire: OpSummary::new(&self.ops[holding.acquire], self.history),
        }
    }

    fn overlap(&self, o: windows::Overlap) -> Anomaly {
        let a = self.holdings[o.a.0].windows[o.a.1];
        let b = self.holdings[o.b.0].windows[o.b.1];
        let faults = faults::between(self.faults, a.start, b.end);
        report::overlap(self.holder(o.a.0, a), self.holder(o.b.0, b), o.ns, faults)
    }

    fn write(&self, w: &Write) -> WriteSummary {
        let op = &self.ops[w.op];
        let invoked = op.invocation(self.history);
        let done = op.completion(self.history).unwrap_or(invoked);
        WriteSummary {
            process: op.process,
            token: w.token,
            seq: w.seq,
            order: w.order,
            time: invoked.time,
            complete_time: done.time,
            line: done.line,
        }
    }

    /// A resource anomaly between holdings `first` and `second`, shown by `shown` (indices
    /// into `writes`). Its faults run from the earlier holding's opening to the later one's
    /// closing, or to the last write shown if that came later.
    fn resource(&self, finding: Finding, writes: &[Write]) -> Anomaly {
        let (first, second, shown) = match finding {
            Finding::Interleaved {
                before,
                between,
                again,
            } => (
                writes[again].holding,
                writes[between].holding,
                before.into_iter().chain([between, again]).collect(),
            ),
            Finding::Fencing { high, low } => {
                (writes[high].holding, writes[low].holding, vec![high, low])
            }
        };
        let (sa, sb) = (self.holdings[first].span(), self.holdings[second].span());
        let later = if (sb.start, second) >= (sa.start, first) {
            sb
        } else {
            sa
        };
        let last_write = shown
            .iter()
            .map(|&i| self.write(&writes[i]).complete_time)
            .max()
            .unwrap_or(0);
        let faults = faults::between(
            self.faults,
            sa.start.min(sb.start),
            later.end.max(last_write),
        );
        let (a, b) = (self.holder(first, sa), self.holder(second, sb));
        match finding {
            Finding::Interleaved { before, .. } => {
                let shown = shown.iter().map(|&i| self.write(&writes[i])).collect();
                report::interleaved(a, b, before.is_some(), shown, faults)
            }
            Finding::Fencing { high, low } => report::fencing(
                a,
                b,
                self.write(&writes[high]),
                self.write(&writes[low]),
                faults,
            ),
        }
    }
}
