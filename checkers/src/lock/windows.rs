//! Belief windows: when each client believed it held the lock (docs/workloads/lock.md, "What
//! the checker says").
//!
//! A *holding* is one client between one `ok` acquire and its next acquire. Its first window
//! opens at the acquire's `ok` time and is due to close at `ok time + validity_ms`; it closes
//! earlier at the invocation of a `release`, the completion of a `renew` that fails, or the
//! invocation of another `acquire` by the same client. A `renew` that completes `ok` moves the
//! close to `ok time + validity_ms` — extending (or shortening) a window still open at that
//! time, or opening a new one if it had closed. Windows run from `start` (included) to `end`
//! (excluded), so two that only touch do not overlap.

use hashbrown::{HashMap, HashSet};

use super::read::Acquired;
use super::report::Close;
use crate::value::Value;

/// A window of a holding: `[start, end)` on the harness clock (ns).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Span {
    pub start: u64,
    pub end: u64,
    pub closed_by: Close,
}

/// One client's tenure: an `ok` acquire and the windows it led to.
#[derive(Clone, Debug)]
pub(super) struct Holding {
    pub process: u64,
    /// The acquire, as an index into the checked operations.
    pub acquire: usize,
    pub lock: Value,
    pub token: Option<i64>,
    pub nodes: Vec<Value>,
    /// In time order, disjoint; at least one.
    pub windows: Vec<Span>,
}

impl Holding {
    /// From the first window's opening to the last one's closing.
    pub fn span(&self) -> Span {
        let first = self.windows.first().copied();
        let last = self.windows.last().copied();
        match (first, last) {
            (Some(a), Some(b)) => Span {
                start: a.start,
                end: b.end,
                closed_by: b.closed_by,
            },
            _ => Span {
                start: 0,
                end: 0,
                closed_by: Close::Validity,
            },
        }
    }
}

/// Builds holdings from one client operation at a time, in invocation order.
#[derive(Default)]
pub(super) struct Tracker {
    pub holdings: Vec<Holding>,
    /// Per process: its latest holding, and whether the client still counts on it (no release
    /// or new acquire invoked since).
    latest: HashMap<u64, (usize, bool)>,
}

impl Tracker {
    /// The process's live holding, if any.
    fn live(&mut self, process: u64) -> Option<&mut Holding> {
        match self.latest.get(&process) {
            Some(&(h, true)) => self.holdings.get_mut(h),
            _ => None,
        }
    }

    /// Ends the live holding's current window at `time`, if it is still open then.
    fn close(&mut self, process: u64, time: u64, why: Close) {
        if let Some(w) = self.live(process).and_then(|h| h.windows.last_mut())
            && time < w.end
        {
            w.end = time.max(w.start);
            w.closed_by = why;
        }
    }

    /// The process's holding from now on is over (its last window closed at `time`).
    fn end(&mut self, process: u64, time: u64, why: Close) {
        self.close(process, time, why);
        if let Some((_, live)) = self.latest.get_mut(&process) {
            *live = false;
        }
    }

    /// An `acquire` invoked at `time`: a client that acquires again has given up the last one.
    pub fn acquire_invoked(&mut self, process: u64, time: u64) {
        self.end(process, time, Close::NextAcquire);
    }

    /// An `acquire` that completed `ok` at `time`: a new holding, its window open.
    pub fn acquired(&mut self, process: u64, op: usize, time: u64, a: Acquired) {
        self.latest.insert(process, (self.holdings.len(), true));
        self.holdings.push(Holding {
            process,
            acquire: op,
            lock: a.lock,
            token: a.token,
            nodes: a.nodes,
            windows: vec![Span {
                start: time,
                end: time.saturating_add(a.validity_ns),
                closed_by: Close::Validity,
            }],
        });
    }

    /// A `renew` that completed `ok` at `time` with a new validity. Ignored without a live
    /// holding (after a release, or before any acquire): nothing to renew.
    pub fn renewed(&mut self, process: u64, time: u64, validity_ns: u64) {
        let Some(h) = self.live(process) else {
            return;
        };
        let end = time.saturating_add(validity_ns);
        match h.windows.last_mut() {
            Some(w) if w.end >= time => {
                w.end = end.max(w.start);
                w.closed_by = Close::RenewedValidity;
            }
            _ => h.windows.push(Span {
                start: time,
                end,
                closed_by: Close::RenewedValidity,
            }),
        }
    }

    /// A `renew` that completed `fail` at `time`: the client no longer believes it holds.
    pub fn renew_failed(&mut self, process: u64, time: u64) {
        self.close(process, time, Close::FailedRenewal);
    }

    /// A `release` invoked at `time`, whatever became of it.
    pub fn release_invoked(&mut self, process: u64, time: u64) {
        self.end(process, time, Close::Release);
    }

    /// The holding a write by `process` belongs to: its latest `ok` acquire.
    pub fn holding_of(&self, process: u64) -> Option<usize> {
        self.latest.get(&process).map(|&(h, _)| h)
    }

    pub fn window_count(&self) -> usize {
        self.holdings.iter().map(|h| h.windows.len()).sum()
    }
}

/// Two windows of different clients that overlap: holding and window indices, `a` opening
/// first.
#[derive(Clone, Copy, Debug)]
pub(super) struct Overlap {
    pub a: (usize, usize),
    pub b: (usize, usize),
    /// How long both were open.
    pub ns: u64,
}

/// Every pair of holdings of different clients with overlapping windows, once per pair (the
/// first overlap found), in order of the later window's opening.
pub(super) fn overlaps(holdings: &[Holding]) -> Vec<Overlap> {
    let mut all: Vec<(Span, usize, usize)> = holdings
        .iter()
        .enumerate()
        .flat_map(|(h, holding)| {
            holding
                .windows
                .iter()
                .enumerate()
                .map(move |(w, span)| (*span, h, w))
        })
        .filter(|(span, _, _)| span.end > span.start)
        .collect();
    all.sort_by_key(|&(span, h, w)| (span.start, span.end, h, w));
    let mut open: Vec<(Span, usize, usize)> = Vec::new();
    let mut seen: HashSet<(usize, usize)> = HashSet::new();
    let mut out = Vec::new();
    for (span, h, w) in all {
        open.retain(|(s, _, _)| s.end > span.start);
        for &(other, oh, ow) in &open {
            if holdings[oh].process != holdings[h].process && seen.insert((oh, h)) {
                out.push(Overlap {
                    a: (oh, ow),
                    b: (h, w),
                    ns: other.end.min(span.end) - span.start,
                });
            }
        }
        open.push((span, h, w));
    }
    out
}
