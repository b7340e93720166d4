//! The blocking checker: how long the participants of 2PC/3PC transactions were *in doubt* —
//! prepared, holding their locks, unable to decide alone — and how much of that fell while
//! the coordinator was down. Informational: blocking is what 2PC is known for, not a broken
//! promise, so its verdict never changes the history's.
//!
//! ```text
//! decisions events ──(crate::txn)──▶ per participant, each txn it voted yes on
//!                                     ──▶ its window in doubt ──(intervals.rs)──▶ unions
//! nemesis events ──(crate::lock::nemesis_faults)──(downtime.rs)──▶ the coordinator's downtime
//! both ──▶ |in doubt ∩ downtime|, its ratio to the downtime ──(report.rs)──▶ Report
//! ```
//!
//! * **A window in doubt**: for a transaction a participant voted yes on, from its `prepared`
//!   time (else `precommitted`) to its `decided` time, or — still undecided when asked — to
//!   its decisions event's time. A window with an end unknown (times lost to a restart) is
//!   counted as untimed and left out.
//! * **In doubt**: per participant the union of its windows, and overall the union of all.
//! * **Downtime**: the coordinator (as the participants' records name it) from a `kill` to the
//!   next `start` or `restart` naming it, from a `pause` to the next `resume`, a `restart`
//!   alone for its own duration; one still open at the end closes at the first decisions
//!   event's time.
//! * **In doubt during downtime**: |union of all windows ∩ union of downtime|, and its ratio to
//!   the downtime (null when there was none).
//!
//! **The verdict** is valid when every participant's record could be read, unknown when one
//! could not be reached. A history without any decisions event is not the blocking checker's:
//! [`check`] returns `None`.

mod downtime;
pub mod intervals;
mod report;

pub use downtime::{Downtime, downtime};
pub use report::{ParticipantBlocking, Report, Window};

use crate::error::InputError;
use crate::history::History;
use crate::lock;
use crate::txn::{self, Vote};
use crate::verdict::Validity;

use intervals::{Interval, intersect, measure, union};

/// Measures how long `history`'s participants were in doubt; `None` when it records no
/// decisions event. Fails, naming the line, on a decisions event that is not as the workload
/// writes it.
pub fn check(history: &History) -> Result<Option<Report>, InputError> {
    let participants = txn::participants(history)?;
    let Some(first) = participants.first() else {
        return Ok(None);
    };
    let mut all: Vec<Interval> = Vec::new();
    let mut longest: Option<Window> = None;
    let mut rows = Vec::with_capacity(participants.len());
    let mut coordinators: Vec<String> = Vec::new();
    let mut refused_on_locks = 0;
    let mut unreachable = Vec::new();
    for p in &participants {
        let mut row = ParticipantBlocking {
            node: p.node.clone(),
            index: p.index,
            ..ParticipantBlocking::default()
        };
        let Some(d) = p.decisions() else {
            unreachable.push(p.node.clone());
            rows.push(row);
            continue;
        };
        row.reachable = true;
        row.refused_on_locks = d.refused_on_locks;
        row.restarts = d.restarts;
        refused_on_locks += d.refused_on_locks;
        if !coordinators.contains(&d.coordinator) {
            coordinators.push(d.coordinator.clone());
        }
        let mut mine: Vec<Interval> = Vec::new();
        for r in d.txns.iter().filter(|r| r.vote == Some(Vote::Yes)) {
            let from = r.prepared.or(r.precommitted);
            let to = if r.decision.is_some() {
                r.decided
            } else {
                Some(p.time)
            };
            let (Some(from), Some(to)) = (from, to) else {
                row.untimed += 1;
                continue;
            };
            let to = to.max(from);
            row.windows += 1;
            row.undecided += usize::from(r.decision.is_none());
            mine.push((from, to));
            if longest.as_ref().is_none_or(|w| to - from > w.ns) {
                longest = Some(Window {
                    txn: r.txn,
                    node: p.node.clone(),
                    from,
                    to,
                    ns: to - from,
                    decided: r.decision.is_some(),
                });
            }
        }
        row.in_doubt_ns = measure(&union(mine.clone()));
        all.extend(mine);
        rows.push(row);
    }
    let in_doubt = union(all);

    let faults = lock::nemesis_faults(history);
    let mut downtime: Vec<Downtime> = coordinators
        .iter()
        .flat_map(|c| downtime::downtime(&faults, c, first.time))
        .collect();
    downtime.sort_by_key(|d| (d.from, d.to));
    let down = union(downtime.iter().map(Downtime::span).collect());
    let downtime_ns = measure(&down);
    let during = measure(&intersect(&in_doubt, &down));

    let unknown_because = (!unreachable.is_empty()).then(|| {
        format!(
            "{} could not be reached: its time in doubt cannot be seen",
            unreachable.join(", ")
        )
    });
    Ok(Some(Report {
        valid: if unknown_because.is_some() {
            Validity::Unknown
        } else {
            Validity::Valid
        },
        unknown_because,
        coordinators,
        participants: rows,
        in_doubt_ns: measure(&in_doubt),
        refused_on_locks,
        downtime,
        downtime_ns,
        in_doubt_during_downtime_ns: during,
        in_doubt_during_downtime_ratio: (downtime_ns > 0)
            .then(|| during as f64 / downtime_ns as f64),
        longest,
    }))
}
