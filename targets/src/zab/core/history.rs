//! One node's history: its transaction log, how much of it is committed and delivered, and what
//! the shell has not persisted yet. Also the leader's choice of how to synchronize a follower.
//!
//! A history is in zxid order, and two histories that hold the same zxid hold the same
//! transaction and the same transactions before it: one leader per epoch gives each zxid once,
//! and a follower takes an epoch's transactions only after taking that leader's history
//! (ZAB's primary order). So a zxid names a whole prefix, which is what lets NEWLEADER name the
//! point to synchronize from.

use super::message::Sync;
use super::zxid::{Epoch, Txn, Zxid};

#[derive(Debug)]
pub(crate) struct History {
    txns: Vec<Txn>,
    /// How many transactions from the start are committed, and how many of those were handed
    /// to the shell for delivery.
    committed: usize,
    delivered: usize,
    /// How many transactions from the start are on disk as they are here; the rest go out with
    /// the next `Ready`. `truncated` says that the disk holds more than `stable`, to be cut.
    stable: usize,
    truncated: bool,
}

impl History {
    /// The history a node persisted. It must be in strictly increasing zxid order.
    pub(crate) fn restore(txns: Vec<Txn>) -> Result<History, String> {
        if let Some(w) = txns.windows(2).find(|w| w[0].zxid >= w[1].zxid) {
            return Err(format!("zxid {} follows {}", w[1].zxid, w[0].zxid));
        }
        Ok(History {
            stable: txns.len(),
            txns,
            committed: 0,
            delivered: 0,
            truncated: false,
        })
    }

    pub(crate) fn last_zxid(&self) -> Zxid {
        self.txns.last().map_or(Zxid::ZERO, |t| t.zxid)
    }

    /// The last committed zxid this node knows of.
    pub(crate) fn committed_zxid(&self) -> Zxid {
        self.zxid_before(self.committed)
    }

    /// The zxid of the `n`th transaction, the one a prefix of length `n` ends with.
    fn zxid_before(&self, n: usize) -> Zxid {
        n.checked_sub(1)
            .and_then(|k| self.txns.get(k))
            .map_or(Zxid::ZERO, |t| t.zxid)
    }

    /// How many transactions have a zxid up to `zxid`: the length of the prefix it names.
    fn prefix_len(&self, zxid: Zxid) -> usize {
        self.txns.partition_point(|t| t.zxid <= zxid)
    }

    pub(crate) fn contains(&self, zxid: Zxid) -> bool {
        zxid == Zxid::ZERO || self.txns.binary_search_by_key(&zxid, |t| t.zxid).is_ok()
    }

    pub(crate) fn append(&mut self, txn: Txn) {
        self.txns.push(txn);
    }

    /// The transactions after `zxid`, at most `max` of them.
    pub(crate) fn after(&self, zxid: Zxid, max: usize) -> &[Txn] {
        let from = self.prefix_len(zxid);
        &self.txns[from..self.txns.len().min(from.saturating_add(max))]
    }

    /// Commits every transaction up to `zxid`. Commit never moves back.
    pub(crate) fn commit_through(&mut self, zxid: Zxid) {
        self.committed = self.committed.max(self.prefix_len(zxid));
    }

    /// Deletes every transaction after `zxid`. Committed transactions are never deleted by a
    /// correct leader; should one try, the commit point follows (the test network flags it).
    fn truncate_after(&mut self, zxid: Zxid) {
        let keep = self.prefix_len(zxid);
        if keep >= self.txns.len() {
            return;
        }
        self.txns.truncate(keep);
        self.committed = self.committed.min(keep);
        self.delivered = self.delivered.min(keep);
        if keep < self.stable {
            self.stable = keep;
            self.truncated = true;
        }
    }

    /// How a leader with this history brings up to date a follower whose history ends at
    /// `follower_last`:
    /// * DIFF if that is a zxid of this history (or the empty history's): send what follows;
    /// * TRUNC if the follower has more of an epoch this history has — it holds proposals of that
    ///   epoch that never made it here, so cut them off after this history's last zxid of that
    ///   epoch and send what follows;
    /// * SNAP otherwise: the histories diverged before anything this history names.
    pub(crate) fn sync_for(&self, follower_last: Zxid) -> Sync {
        if self.contains(follower_last) {
            let txns = self.after(follower_last, usize::MAX).to_vec();
            return Sync::Diff {
                after: follower_last,
                txns,
            };
        }
        let same_epoch = self
            .txns
            .iter()
            .rev()
            .find(|t| t.zxid.epoch == follower_last.epoch && t.zxid < follower_last);
        match same_epoch {
            Some(t) => Sync::Trunc {
                to: t.zxid,
                txns: self.after(t.zxid, usize::MAX).to_vec(),
            },
            None => Sync::Snap {
                txns: self.txns.clone(),
            },
        }
    }

    /// A follower takes the history of the leader of `epoch`. Refuses (false) a DIFF that does
    /// not start at its last zxid — a NEWLEADER answering some other state of this history — and
    /// anything that is not a history that leader can have: out of zxid order, or holding
    /// transactions of a later epoch.
    pub(crate) fn apply_sync(&mut self, sync: Sync, epoch: Epoch) -> bool {
        let (cut, txns) = match sync {
            Sync::Diff { after, txns } if after == self.last_zxid() => (None, txns),
            Sync::Diff { .. } => return false,
            Sync::Trunc { to, txns } => (Some(to), txns),
            Sync::Snap { mut txns } => {
                // Keep what this history shares with the snapshot (equal zxids, equal
                // prefixes): the committed transactions, delivered already, stay where they are.
                let shared = self
                    .txns
                    .iter()
                    .zip(&txns)
                    .take_while(|(a, b)| a.zxid == b.zxid)
                    .count();
                let rest = txns.split_off(shared);
                (Some(self.zxid_before(shared)), rest)
            }
        };
        // Checked before anything changes: a refused sync leaves the history as it was.
        let base = cut.map_or(self.last_zxid(), |to| self.zxid_before(self.prefix_len(to)));
        let mut last = base;
        for txn in &txns {
            if txn.zxid <= last || txn.zxid.epoch > epoch {
                return false;
            }
            last = txn.zxid;
        }
        if let Some(to) = cut {
            self.truncate_after(to);
        }
        self.txns.extend(txns);
        true
    }

    /// What the shell must persist: a cut of the persisted history, then transactions to
    /// append.
    pub(crate) fn take_unpersisted(&mut self) -> (Option<Zxid>, Vec<Txn>) {
        let cut = std::mem::take(&mut self.truncated).then(|| self.zxid_before(self.stable));
        let append = self.txns[self.stable..].to_vec();
        self.stable = self.txns.len();
        (cut, append)
    }

    /// Committed transactions not yet handed out for delivery.
    pub(crate) fn take_committed(&mut self) -> Vec<Txn> {
        let txns = self.txns[self.delivered..self.committed].to_vec();
        self.delivered = self.committed;
        txns
    }
}

#[cfg(test)]
mod tests {
    use super::History;
    use crate::zab::core::message::Sync;
    use crate::zab::core::zxid::{Txn, Zxid};

    fn history(zxids: &[(u64, u64)]) -> History {
        let txns = zxids
            .iter()
            .map(|&(e, c)| Txn {
                zxid: Zxid::new(e, c),
                payload: vec![],
            })
            .collect();
        History::restore(txns).expect("ordered")
    }

    fn kind(sync: &Sync) -> (&'static str, Zxid, Vec<Zxid>) {
        let zxids = |txns: &[Txn]| txns.iter().map(|t| t.zxid).collect();
        match sync {
            Sync::Diff { after, txns } => ("diff", *after, zxids(txns)),
            Sync::Trunc { to, txns } => ("trunc", *to, zxids(txns)),
            Sync::Snap { txns } => ("snap", Zxid::ZERO, zxids(txns)),
        }
    }

    #[test]
    fn a_leader_picks_diff_trunc_or_snap() {
        let leader = history(&[(1, 1), (1, 2), (3, 1)]);
        let z = Zxid::new;
        assert_eq!(
            kind(&leader.sync_for(z(1, 2))),
            ("diff", z(1, 2), vec![z(3, 1)])
        );
        assert_eq!(
            kind(&leader.sync_for(Zxid::ZERO)),
            ("diff", Zxid::ZERO, vec![z(1, 1), z(1, 2), z(3, 1)])
        );
        assert_eq!(kind(&leader.sync_for(z(3, 1))), ("diff", z(3, 1), vec![]));
        // The follower logged (1,3), which this leader never had.
        assert_eq!(
            kind(&leader.sync_for(z(1, 3))),
            ("trunc", z(1, 2), vec![z(3, 1)])
        );
        // An epoch this leader has nothing of.
        assert_eq!(kind(&leader.sync_for(z(2, 5))).0, "snap");
    }

    #[test]
    fn a_follower_takes_a_sync_and_reports_the_cut() {
        let mut follower = history(&[(1, 1), (1, 2), (1, 3)]);
        let leader = history(&[(1, 1), (1, 2), (3, 1)]);
        assert!(follower.apply_sync(leader.sync_for(follower.last_zxid()), 3));
        assert_eq!(follower.last_zxid(), Zxid::new(3, 1));
        let (cut, append) = follower.take_unpersisted();
        assert_eq!(cut, Some(Zxid::new(1, 2)));
        assert_eq!(append.len(), 1);
        // A DIFF computed for another state of the history is refused.
        let stale = Sync::Diff {
            after: Zxid::new(1, 1),
            txns: vec![],
        };
        assert!(!follower.apply_sync(stale, 3));
        // Nor a transaction of an epoch after the leader's.
        let future = Sync::Diff {
            after: Zxid::new(3, 1),
            txns: vec![Txn {
                zxid: Zxid::new(4, 1),
                payload: vec![],
            }],
        };
        assert!(!follower.apply_sync(future, 3));
    }

    #[test]
    fn restore_refuses_an_unordered_history() {
        let txns = vec![
            Txn {
                zxid: Zxid::new(2, 1),
                payload: vec![],
            },
            Txn {
                zxid: Zxid::new(1, 1),
                payload: vec![],
            },
        ];
        assert!(History::restore(txns).is_err());
    }
}
