//! The leader's view of one follower (Figure 2's `nextIndex` and `matchIndex`, plus what
//! check-quorum and read index need).
//!
//! Replication runs in one of two modes, as in raft-rs. While **probing**, the leader does not
//! know where the follower's log stops matching its own; it sends one append at a time and moves
//! `next` back on each rejection (fast backtracking). Once an append is accepted it
//! **replicates**: it streams new entries without waiting for answers, advancing `next`
//! optimistically. A rejection (an append was lost, or the follower restarted) drops it back to
//! probing.

use super::Index;

#[derive(Debug)]
pub(crate) struct Progress {
    /// The follower's log is known to match the leader's up to here.
    pub(crate) matched: Index,
    /// The next entry to send.
    pub(crate) next: Index,
    /// The follower answered since the last check-quorum.
    pub(crate) recent_active: bool,
    /// The highest read-confirmation round the follower has echoed in this term.
    pub(crate) read_round: u64,
    mode: Mode,
}

#[derive(Debug, PartialEq, Eq)]
enum Mode {
    /// `paused`: a probe is in flight; wait for its answer or the next heartbeat's.
    Probe {
        paused: bool,
    },
    Replicate,
}

impl Progress {
    /// A new leader's assumption: the follower holds everything before `next`, to be verified.
    pub(crate) fn new(next: Index) -> Progress {
        Progress {
            matched: 0,
            next,
            recent_active: false,
            read_round: 0,
            mode: Mode::Probe { paused: false },
        }
    }

    pub(crate) fn can_send(&self) -> bool {
        self.mode != Mode::Probe { paused: true }
    }

    /// An append ending at `last` went out.
    pub(crate) fn sent(&mut self, last: Index) {
        match &mut self.mode {
            Mode::Probe { paused } => *paused = true,
            Mode::Replicate => self.next = last + 1,
        }
    }

    /// The follower matches up to `index`; false if that is old news.
    pub(crate) fn accept(&mut self, index: Index) -> bool {
        if index <= self.matched {
            return false;
        }
        self.matched = index;
        self.next = self.next.max(index + 1);
        self.mode = Mode::Replicate;
        true
    }

    /// The follower rejected the append after `prev_index`, and the leader's log suggests probing
    /// after `probe_at` next. Returns whether to send a new probe: false if the rejection answers
    /// an append that has been superseded since.
    pub(crate) fn reject(&mut self, prev_index: Index, probe_at: Index) -> bool {
        let stale = match self.mode {
            // Everything up to `matched` is acknowledged: a rejection there is an old answer.
            Mode::Replicate => prev_index <= self.matched,
            // Only the answer to the probe in flight counts.
            Mode::Probe { .. } => prev_index + 1 != self.next,
        };
        if stale {
            return false;
        }
        self.next = prev_index.min(probe_at + 1).max(self.matched + 1);
        self.mode = Mode::Probe { paused: false };
        true
    }

    /// The follower answered a heartbeat: a lost probe may be retried.
    pub(crate) fn resume(&mut self) {
        if let Mode::Probe { paused } = &mut self.mode {
            *paused = false;
        }
    }
}
