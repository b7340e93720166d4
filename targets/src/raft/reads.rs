//! Read-index requests waiting for confirmation (thesis §6.4).
//!
//! A leader may serve a read from its state machine without writing it to the log, provided
//! that (1) it has committed an entry of its own term, so that its commit index covers every
//! entry committed before it was elected, (2) it records its commit index when the read
//! arrives, and (3) a majority then acknowledges a heartbeat sent *after* the read arrived,
//! which proves that no other leader had been elected by then. The read is served once the
//! state machine has applied up to the recorded index.
//!
//! Heartbeats carry a round number, and a follower's echo of round `r` confirms every read of
//! rounds up to `r`. Reads that arrive join the next round, which opens — one heartbeat to
//! every follower — when the shell next collects its `Ready`: reads arriving together share a
//! round instead of each paying for its own. Rounds only ever grow — across terms too — and a
//! round's heartbeat is sent after every read in it arrived, so an echo of a heartbeat sent
//! before a read arrived (or in an earlier term) can never confirm it.

use std::collections::VecDeque;

use super::Index;
use super::ready::ReadState;

#[derive(Debug, Default)]
pub(crate) struct Reads {
    /// The latest round sent; heartbeats carry it.
    round: u64,
    /// Whether reads wait for the next round to open.
    unsent: bool,
    /// Reads that arrived before the leader committed an entry of its term (condition 1).
    deferred: Vec<u64>,
    /// Reads with their recorded index, waiting for a majority to echo their round, in order.
    pending: VecDeque<Pending>,
}

#[derive(Debug)]
struct Pending {
    ctx: u64,
    index: Index,
    round: u64,
}

impl Reads {
    pub(crate) fn round(&self) -> u64 {
        self.round
    }

    /// Holds a read until the leader's first commit in its term.
    pub(crate) fn defer(&mut self, ctx: u64) {
        self.deferred.push(ctx);
    }

    /// Records a read at the commit index `index`, in the next round.
    pub(crate) fn start(&mut self, ctx: u64, index: Index) {
        self.unsent = true;
        self.pending.push_back(Pending {
            ctx,
            index,
            round: self.round + 1,
        });
    }

    /// Opens the next round if reads wait for it; true if its heartbeat must now be sent.
    pub(crate) fn open_round(&mut self) -> bool {
        if !self.unsent {
            return false;
        }
        self.unsent = false;
        self.round += 1;
        true
    }

    /// The leader committed its first entry of the term, up to `index`: the deferred reads start,
    /// in the next round.
    pub(crate) fn release_deferred(&mut self, index: Index) {
        if self.deferred.is_empty() {
            return;
        }
        self.unsent = true;
        let round = self.round + 1;
        self.pending.extend(
            self.deferred
                .drain(..)
                .map(|ctx| Pending { ctx, index, round }),
        );
    }

    /// Moves to `out` every read whose round `quorum_echoed` says a majority has echoed. Rounds
    /// grow along the queue, so the confirmed reads are a prefix of it.
    pub(crate) fn confirm(
        &mut self,
        quorum_echoed: impl Fn(u64) -> bool,
        out: &mut Vec<ReadState>,
    ) {
        while let Some(read) = self.pending.front() {
            if !quorum_echoed(read.round) {
                break;
            }
            out.push(ReadState {
                ctx: read.ctx,
                index: read.index,
            });
            self.pending.pop_front();
        }
    }

    /// The leader stepped down: no waiting read can be confirmed any more.
    pub(crate) fn abandon(&mut self) -> impl Iterator<Item = u64> + '_ {
        self.unsent = false;
        self.pending
            .drain(..)
            .map(|read| read.ctx)
            .chain(self.deferred.drain(..))
    }
}
