//! One node's copy of the replicated log (§5.3), with the two cursors the shell cares about:
//! how far it is committed (and how much of that was handed over for applying), and which part
//! the shell has not yet persisted.
//!
//! The node appends here (a leader its proposals, a follower what the leader sends after the
//! consistency check); [`Log::take_unpersisted`] and [`Log::take_committed`] drain the changes
//! into each [`Ready`](super::Ready). Every entry is kept in memory: there is no compaction.

use serde::{Deserialize, Serialize};

use super::{Index, Term};

/// One log entry: a command, or a leader's no-op, stamped with the term of the leader that
/// created it. An entry is identified by `(index, term)`: two logs holding the same pair hold
/// the same entry and the same entries before it (log matching, §5.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub term: Term,
    pub index: Index,
    /// The command, opaque to Raft. Empty for the no-op a new leader appends (§8).
    pub data: Vec<u8>,
}

#[derive(Debug)]
pub(crate) struct Log {
    /// `entries[k]` is at index `k + 1`.
    entries: Vec<Entry>,
    /// The highest index known to be committed. Volatile: relearned after a restart.
    committed: Index,
    /// The highest index handed to the shell to apply.
    delivered: Index,
    /// The first index where the shell's persisted log may differ from `entries`.
    unpersisted_from: Index,
    /// The shell's last persisted index, as of the last [`Log::take_unpersisted`].
    persisted_last: Index,
}

impl Log {
    /// The log as it was persisted: contiguous from index 1, terms never decreasing.
    pub(crate) fn restore(entries: Vec<Entry>) -> Result<Log, String> {
        let mut prev_term = 0;
        for (k, entry) in entries.iter().enumerate() {
            if entry.index != k as Index + 1 {
                return Err(format!("entry {} is at position {}", entry.index, k + 1));
            }
            if entry.term < prev_term {
                return Err(format!(
                    "entry {} has term {} after term {prev_term}",
                    entry.index, entry.term
                ));
            }
            prev_term = entry.term;
        }
        let last = entries.len() as Index;
        Ok(Log {
            entries,
            committed: 0,
            delivered: 0,
            unpersisted_from: last + 1,
            persisted_last: last,
        })
    }

    pub(crate) fn last_index(&self) -> Index {
        self.entries.len() as Index
    }

    pub(crate) fn last_term(&self) -> Term {
        self.entries.last().map_or(0, |e| e.term)
    }

    /// The term of the entry at `index`: 0 for index 0, `None` past the end.
    pub(crate) fn term_at(&self, index: Index) -> Option<Term> {
        match index {
            0 => Some(0),
            _ => self.entries.get(index as usize - 1).map(|e| e.term),
        }
    }

    /// Up to `max` entries from `from` (at least 1) on.
    pub(crate) fn entries_from(&self, from: Index, max: usize) -> &[Entry] {
        let start = (from as usize - 1).min(self.entries.len());
        &self.entries[start..self.entries.len().min(start + max)]
    }

    pub(crate) fn committed(&self) -> Index {
        self.committed
    }

    /// Whether a log ending at `(last_index, last_term)` is at least as up to date as this one
    /// (§5.4.1): the later last term wins, and with equal last terms the longer log.
    pub(crate) fn is_up_to_date(&self, last_index: Index, last_term: Term) -> bool {
        (last_term, last_index) >= (self.last_term(), self.last_index())
    }

    /// A leader's append of a new entry of its term; returns its index.
    pub(crate) fn append(&mut self, term: Term, data: Vec<u8>) -> Index {
        let index = self.last_index() + 1;
        self.entries.push(Entry { term, index, data });
        index
    }

    /// A follower's side of AppendEntries (§5.3). If this log holds `(prev_index, prev_term)`,
    /// `entries` (which follow it) are merged in — an entry that conflicts with one held (same
    /// index, other term) drops the held one and everything after it — and the index of the last
    /// entry of the append is returned: this log matches the leader's up to there. Entries held
    /// past that point are kept: the append may be an old, delayed one, and only a conflict
    /// proves they are not the leader's.
    pub(crate) fn try_append(
        &mut self,
        prev_index: Index,
        prev_term: Term,
        entries: Vec<Entry>,
    ) -> Option<Index> {
        if self.term_at(prev_index) != Some(prev_term) {
            return None;
        }
        let last_new = prev_index + entries.len() as Index;
        if let Some(first_new) = entries
            .iter()
            .position(|e| self.term_at(e.index) != Some(e.term))
        {
            let index = entries[first_new].index;
            if index <= self.last_index() {
                self.truncate(index);
            }
            debug_assert_eq!(
                index,
                self.last_index() + 1,
                "appended entries must be contiguous"
            );
            self.entries.extend(entries.into_iter().skip(first_new));
        }
        Some(last_new)
    }

    /// Drops the entries from `from` on: they conflict with the leader's.
    fn truncate(&mut self, from: Index) {
        // A committed entry is in every later leader's log (§5.4), so a leader never sends a
        // conflicting one: reaching this is a bug or a broken contract (an unpersisted ack).
        assert!(
            from > self.committed,
            "truncating committed entry {from} (committed: {})",
            self.committed
        );
        self.entries.truncate(from as usize - 1);
        self.unpersisted_from = self.unpersisted_from.min(from);
    }

    /// The last entry at or below `index` whose term is at most `term`, as `(index, term)`.
    ///
    /// This is the fast backtracking of §5.3 ("the follower can include the term of the
    /// conflicting entry…"), as etcd and raft-rs do it. A follower that rejects an append at
    /// `(prev_index, prev_term)` answers with this point of its own log: every entry after it
    /// either does not exist or has a term above `prev_term`, so none of them can match the
    /// leader's entry at the same index. The leader runs the same search on its log with the
    /// follower's answer, and probes next at the point it finds — skipping a whole term of
    /// mismatching entries per round trip instead of one entry.
    pub(crate) fn conflict_hint(&self, index: Index, term: Term) -> (Index, Term) {
        let mut index = index.min(self.last_index());
        loop {
            let at = self.term_at(index).expect("index is within the log");
            if at <= term {
                return (index, at);
            }
            index -= 1;
        }
    }

    /// Raises the commit index to `index` (never lowers it).
    pub(crate) fn commit_to(&mut self, index: Index) {
        if index > self.committed {
            assert!(
                index <= self.last_index(),
                "committing {index} past the last entry {}",
                self.last_index()
            );
            self.committed = index;
        }
    }

    /// The committed entries not yet handed over, in order.
    pub(crate) fn take_committed(&mut self) -> Vec<Entry> {
        let entries = self.entries[self.delivered as usize..self.committed as usize].to_vec();
        self.delivered = self.committed;
        entries
    }

    /// What the shell must do to its persisted log to make it equal this one: delete its entries
    /// from the returned index on (if any), then append the returned entries.
    pub(crate) fn take_unpersisted(&mut self) -> (Option<Index>, Vec<Entry>) {
        let from = self.unpersisted_from;
        let entries = self.entries[from as usize - 1..].to_vec();
        let truncate_from = (from <= self.persisted_last).then_some(from);
        self.persisted_last = self.last_index();
        self.unpersisted_from = self.last_index() + 1;
        (truncate_from, entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A log holding one entry per term in `terms`, as persisted.
    fn log(terms: &[Term]) -> Log {
        Log::restore(entries(1, terms)).unwrap()
    }

    fn entries(first: Index, terms: &[Term]) -> Vec<Entry> {
        let entry = |(k, &term)| {
            let index = first + k as Index;
            Entry {
                term,
                index,
                data: format!("{index}@{term}").into_bytes(),
            }
        };
        terms.iter().enumerate().map(entry).collect()
    }

    fn terms(log: &Log) -> Vec<Term> {
        log.entries.iter().map(|e| e.term).collect()
    }

    #[test]
    fn restore_refuses_gaps_and_decreasing_terms() {
        let mut gap = entries(1, &[1, 1]);
        gap[1].index = 3;
        assert!(Log::restore(gap).is_err());
        assert!(Log::restore(entries(1, &[2, 1])).is_err());
        assert!(Log::restore(entries(2, &[1])).is_err());
        assert_eq!(log(&[]).term_at(0), Some(0));
    }

    #[test]
    fn append_fails_the_consistency_check_without_a_matching_previous_entry() {
        let mut l = log(&[1, 1, 2]);
        assert_eq!(
            l.try_append(3, 1, entries(4, &[3])),
            None,
            "term mismatch at 3"
        );
        assert_eq!(l.try_append(4, 2, entries(5, &[3])), None, "nothing at 4");
        assert_eq!(terms(&l), [1, 1, 2]);
        assert_eq!(l.try_append(3, 2, entries(4, &[3])), Some(4));
        assert_eq!(terms(&l), [1, 1, 2, 3]);
    }

    #[test]
    fn append_overwrites_a_conflicting_suffix_and_keeps_a_matching_one() {
        let mut l = log(&[1, 1, 2, 2, 2]);
        // An old, shorter append that matches: nothing is lost.
        assert_eq!(l.try_append(1, 1, entries(2, &[1, 2])), Some(3));
        assert_eq!(terms(&l), [1, 1, 2, 2, 2]);
        // A conflict at 4 drops 4 and 5.
        assert_eq!(l.try_append(2, 1, entries(3, &[2, 3])), Some(4));
        assert_eq!(terms(&l), [1, 1, 2, 3]);
        assert_eq!(l.take_unpersisted(), (Some(4), entries(4, &[3])));
    }

    #[test]
    #[should_panic(expected = "truncating committed entry")]
    fn committed_entries_are_never_truncated() {
        let mut l = log(&[1, 1, 2]);
        l.commit_to(3);
        l.try_append(2, 1, entries(3, &[3]));
    }

    #[test]
    fn unpersisted_changes_are_handed_out_once() {
        let mut l = log(&[1]);
        assert_eq!(l.take_unpersisted(), (None, vec![]));
        l.append(2, b"a".to_vec());
        l.append(2, b"b".to_vec());
        let (truncate, new) = l.take_unpersisted();
        assert_eq!((truncate, new.len()), (None, 2));
        assert_eq!(l.take_unpersisted(), (None, vec![]));
        // Overwrite 3, then append past it before the shell hears of either.
        assert_eq!(l.try_append(2, 2, entries(3, &[3, 3])), Some(4));
        assert_eq!(l.take_unpersisted(), (Some(3), entries(3, &[3, 3])));
    }

    #[test]
    fn committed_entries_are_delivered_in_order_once() {
        let mut l = log(&[1, 1, 2]);
        l.commit_to(2);
        l.commit_to(1);
        assert_eq!(l.take_committed(), entries(1, &[1, 1]));
        assert_eq!(l.take_committed(), vec![]);
        l.commit_to(3);
        assert_eq!(l.take_committed(), entries(3, &[2]));
    }

    #[test]
    fn up_to_date_compares_last_term_then_length() {
        let l = log(&[1, 2, 2]);
        assert!(l.is_up_to_date(3, 2));
        assert!(
            l.is_up_to_date(1, 3),
            "a later last term wins however short"
        );
        assert!(!l.is_up_to_date(2, 2));
        assert!(!l.is_up_to_date(9, 1));
    }

    #[test]
    fn conflict_hint_skips_whole_terms() {
        // Figure 7's follower (f) against a probe at index 11 of term 8.
        let l = log(&[1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3]);
        assert_eq!(l.conflict_hint(11, 8), (11, 3));
        // The leader's log, searched with that answer, points below every term-2 and -3 entry.
        let leader = log(&[1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 8]);
        assert_eq!(leader.conflict_hint(11, 3), (3, 1));
        assert_eq!(l.conflict_hint(20, 0), (0, 0));
    }
}
