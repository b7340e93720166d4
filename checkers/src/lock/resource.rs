//! The protected resource: the writes it accepted, in the order it accepted them (`order`),
//! each attributed to the holding its client made it under.
//!
//! Two checks (docs/workloads/lock.md, "The resource"):
//!
//! * **Interleaving.** Once a holding has acquired the lock, the resource must accept no other
//!   holding's write until this one's last: A, B, A means the resource saw two holders at
//!   once — and so does A acquiring, then B's write (invoked after A's acquisition completed),
//!   then A's first write, which is how a holder paused between its validity check and its
//!   first write shows up (Kleppmann's lost update).
//! * **Fencing.** Among accepted writes that carry a token, a token lower than one accepted
//!   before is broken fencing. (Rejected writes — `fail`, a stale token — are fencing working.)
//!
//! Each pair of holdings is reported once per check (interleaving: whichever came first).

use hashbrown::{HashMap, HashSet};

use super::read;
use crate::error::InputError;
use crate::history::{History, Operation};

/// An accepted write.
#[derive(Clone, Copy, Debug)]
pub(super) struct Write {
    /// Index into the checked operations.
    pub op: usize,
    /// Index into the holdings.
    pub holding: usize,
    pub token: Option<i64>,
    pub seq: Option<i64>,
    pub order: u64,
    /// When the write was invoked (harness clock, ns).
    pub invoked: u64,
}

/// What the resource's log shows; indices are into the writes, sorted by `order`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Finding {
    /// `before` and `again` are one holding's writes, `between` another's accepted in between
    /// (the first after `before`). Without `before`, `again` is its holding's first write and
    /// `between` the first write of another holding invoked after that holding acquired the
    /// lock.
    Interleaved {
        before: Option<usize>,
        between: usize,
        again: usize,
    },
    /// `low`'s token is lower than `high`'s, accepted earlier.
    Fencing { high: usize, low: usize },
}

/// Sorts `writes` by `order` (which must be distinct) and checks them; `acquired` gives, per
/// holding, when its acquire completed.
pub(super) fn check(
    history: &History,
    ops: &[Operation],
    writes: &mut [Write],
    acquired: &[u64],
) -> Result<Vec<Finding>, InputError> {
    writes.sort_by_key(|w| w.order);
    for pair in writes.windows(2) {
        if pair[0].order == pair[1].order {
            let first = read::line(history, &ops[pair[0].op]);
            let second = &ops[pair[1].op];
            return Err(read::error(
                history,
                read::line(history, second),
                format!(
                    "process {}: expected each accepted write to have its own order, found order {} again (first at line {first})",
                    second.process, pair[1].order
                ),
            ));
        }
    }
    let mut findings = Vec::new();
    let mut reported: HashSet<(usize, usize, bool)> = HashSet::new();
    // Interleaving: each holding's last accepted write so far.
    let mut last_of: HashMap<usize, usize> = HashMap::new();
    // Fencing: the highest token accepted so far, and its write.
    let mut highest: Option<(i64, usize)> = None;
    for (i, w) in writes.iter().enumerate() {
        let between = match last_of.get(&w.holding) {
            // Another holding's write between this holding's previous one and this one.
            Some(&before) if before + 1 < i => Some((Some(before), before + 1)),
            Some(_) => None,
            // This holding's first write: the earliest other holding's write invoked after
            // this holding acquired the lock (writes are in the order they were accepted, so
            // the search stops at the first one invoked before).
            None => writes[..i]
                .iter()
                .enumerate()
                .rev()
                .take_while(|(_, x)| x.invoked > acquired[w.holding])
                .filter(|(_, x)| x.holding != w.holding)
                .last()
                .map(|(k, _)| (None, k)),
        };
        if let Some((before, between)) = between {
            let other = writes[between].holding;
            let pair = (w.holding.min(other), w.holding.max(other), false);
            if reported.insert(pair) {
                findings.push(Finding::Interleaved {
                    before,
                    between,
                    again: i,
                });
            }
        }
        last_of.insert(w.holding, i);
        if let Some(token) = w.token {
            match highest {
                Some((top, high)) if token < top => {
                    if reported.insert((writes[high].holding, w.holding, true)) {
                        findings.push(Finding::Fencing { high, low: i });
                    }
                }
                Some((top, _)) if token <= top => {}
                _ => highest = Some((token, i)),
            }
        }
    }
    Ok(findings)
}
