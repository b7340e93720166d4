//! ZooKeeper's `sync`: a client's way to make its next read at this node see every write
//! committed before the sync. The leader answers a sync with its last proposed zxid — every
//! write it committed before the sync reached it is at or before that zxid — and the sync is
//! done once the asking node has delivered up to it. A follower forwards the sync to its leader
//! and waits for the answer, asking again every heartbeat until it comes; the leader asks
//! itself.
//!
//! Unlike ZooKeeper's, the leader answers only once a quorum has answered a ping sent after the
//! sync arrived (Raft's read index): a deposed leader that does not know it yet cannot gather
//! that quorum — the quorum that moved to a newer leader has left its links, and would depose
//! it if it came back — so no sync is answered without the writes a newer leader committed.
//! That makes sync linearizable, at the cost of one round trip.

use super::zxid::Zxid;

#[derive(Debug, Default)]
pub(crate) struct Syncs {
    /// Forwarded to the leader, not answered yet.
    asked: Vec<u64>,
    /// Answered: done once this node delivered up to the zxid.
    waiting: Vec<(u64, Zxid)>,
}

impl Syncs {
    /// A follower forwarded sync `ctx`.
    pub(crate) fn ask(&mut self, ctx: u64) {
        self.asked.push(ctx);
    }

    /// The syncs forwarded and not answered yet, to ask again.
    pub(crate) fn asked(&self) -> &[u64] {
        &self.asked
    }

    /// Sync `ctx` waits for delivery up to `zxid`. An answer to a sync not asked (a duplicate)
    /// is ignored.
    pub(crate) fn answered(&mut self, ctx: u64, zxid: Zxid) {
        if let Some(k) = self.asked.iter().position(|&c| c == ctx) {
            self.asked.swap_remove(k);
            self.waiting.push((ctx, zxid));
        }
    }

    /// Moves to `done` every sync satisfied by delivery up to `delivered`.
    pub(crate) fn release(&mut self, delivered: Zxid, done: &mut Vec<(u64, Zxid)>) {
        self.waiting.retain(|&(ctx, zxid)| {
            let ready = zxid <= delivered;
            if ready {
                done.push((ctx, zxid));
            }
            !ready
        });
    }

    /// This node lost its leader: every sync in progress fails.
    pub(crate) fn abandon(&mut self, failed: &mut Vec<u64>) {
        failed.append(&mut self.asked);
        failed.extend(self.waiting.drain(..).map(|(ctx, _)| ctx));
    }
}
