//! ZAB's properties (the paper's §III, and the TLA+ specification's invariants), checked by
//! the test ensemble after every event, on what the nodes delivered, persisted and report of
//! themselves:
//!
//! * **integrity**: a delivered transaction was broadcast — by the leader of its zxid's epoch,
//!   with that payload;
//! * **agreement** and **total order**: every node delivers a prefix of one sequence (a node
//!   that restarts delivers it again from the start) — so two nodes never deliver different
//!   transactions at one position, nor the same ones in different orders;
//! * **primary order** (global): the sequence is in zxid order, so a later primary's
//!   transactions come after an earlier one's;
//! * **local primary order**: a primary's transactions are delivered in the order it broadcast
//!   them, none skipped: `e:c` comes right after `e:c-1`;
//! * **primary integrity**: a primary has delivered, before it broadcasts, every transaction of
//!   an earlier epoch that anybody delivers;
//! * **one established leader per epoch** (the TLA+ spec's `Leadership`);
//! * **durability** of delivered transactions: a node never truncates one from its history.

use std::collections::BTreeMap;

use super::network::Node;
use crate::zab::core::{Epoch, NodeId, Phase, Role, Txn, Zxid};

#[derive(Default)]
pub(super) struct Invariants {
    /// Who was established as the leader of each epoch.
    leaders: BTreeMap<Epoch, NodeId>,
    /// Every transaction a primary broadcast.
    broadcasts: BTreeMap<Zxid, Txn>,
    /// For each primary that broadcast, how many transactions it had delivered by its first
    /// broadcast.
    primaries: BTreeMap<Epoch, usize>,
    /// The longest sequence any node delivered; every node's deliveries are a prefix of it.
    delivered: Vec<Txn>,
}

impl Invariants {
    pub(super) fn delivered(&self) -> &[Txn] {
        &self.delivered
    }

    pub(super) fn leaders(&self) -> &BTreeMap<Epoch, NodeId> {
        &self.leaders
    }

    /// Transactions broadcast before the test began.
    pub(super) fn assume_broadcast(&mut self, txns: Vec<Txn>) {
        self.broadcasts
            .extend(txns.into_iter().map(|txn| (txn.zxid, txn)));
    }

    /// Primary `id` broadcast `txn`, having delivered `delivered`.
    pub(super) fn broadcast(
        &mut self,
        id: NodeId,
        txn: Txn,
        delivered: &[Txn],
    ) -> Result<(), String> {
        if self.broadcasts.contains_key(&txn.zxid) {
            return Err(format!(
                "uniqueness: node {id} broadcast zxid {} a second time",
                txn.zxid
            ));
        }
        self.primaries
            .entry(txn.zxid.epoch)
            .or_insert(delivered.len());
        self.broadcasts.insert(txn.zxid, txn);
        self.check_primary_integrity()
    }

    /// Checks the ensemble after node `changed` handled an event. It delivered its
    /// transactions from `delivered_from` on; `truncated` tells whether it cut its history.
    pub(super) fn check(
        &mut self,
        nodes: &BTreeMap<NodeId, Node>,
        changed: NodeId,
        delivered_from: usize,
        truncated: bool,
    ) -> Result<(), String> {
        let node = &nodes[&changed];
        if let Some(s) = node.status()
            && s.role == Role::Leading
            && s.phase == Phase::Broadcast
        {
            let first = *self.leaders.entry(s.current_epoch).or_insert(changed);
            if first != changed {
                return Err(format!(
                    "one leader per epoch: nodes {first} and {changed} were both established in epoch {}",
                    s.current_epoch
                ));
            }
        }
        for (k, txn) in node.delivered.iter().enumerate().skip(delivered_from) {
            self.check_delivery(changed, k, txn)?;
        }
        if truncated && !node.disk.history.starts_with(&node.delivered) {
            return Err(format!(
                "durability: node {changed} truncated a transaction it delivered"
            ));
        }
        Ok(())
    }

    /// Node `id` delivered `txn` at position `k` of its sequence.
    fn check_delivery(&mut self, id: NodeId, k: usize, txn: &Txn) -> Result<(), String> {
        let z = txn.zxid;
        if self.broadcasts.get(&z) != Some(txn) {
            return Err(format!(
                "integrity: node {id} delivered {z}, which no primary broadcast"
            ));
        }
        if let Some(other) = self.delivered.get(k) {
            if other != txn {
                return Err(format!(
                    "agreement / total order: node {id} delivered {z} at position {k}, where {} was delivered",
                    other.zxid
                ));
            }
            return Ok(());
        }
        if let Some(prev) = self.delivered.last().map(|t| t.zxid) {
            if z <= prev {
                return Err(format!(
                    "primary order: node {id} delivered {z} after {prev}"
                ));
            }
            if z.counter > 1 && prev != Zxid::new(z.epoch, z.counter - 1) {
                return Err(format!(
                    "local primary order: node {id} delivered {z} right after {prev}"
                ));
            }
        } else if z.counter > 1 {
            return Err(format!(
                "local primary order: node {id} delivered {z} first"
            ));
        }
        self.delivered.push(txn.clone());
        self.check_primary_integrity()
    }

    /// Every primary had delivered, by its first broadcast, the transactions of earlier epochs
    /// delivered so far — the sequence is in zxid order, so those are a prefix of it.
    fn check_primary_integrity(&self) -> Result<(), String> {
        for (&epoch, &had) in &self.primaries {
            let earlier = self.delivered.partition_point(|t| t.zxid.epoch < epoch);
            if earlier > had {
                return Err(format!(
                    "primary integrity: the primary of epoch {epoch} broadcast having delivered {had} transactions, but {earlier} of earlier epochs are delivered"
                ));
            }
        }
        Ok(())
    }
}

/// The checker itself: each property check rejects what it must, on deliveries made up by hand.
mod checks {
    use super::Invariants;
    use crate::zab::core::{Txn, Zxid};

    fn txn(epoch: u64, counter: u64) -> Txn {
        Txn {
            zxid: Zxid::new(epoch, counter),
            payload: format!("{epoch}:{counter}").into_bytes(),
        }
    }

    /// A checker that knows the given transactions as broadcast before the test began.
    fn broadcast(zxids: &[(u64, u64)]) -> Invariants {
        let mut inv = Invariants::default();
        inv.assume_broadcast(zxids.iter().map(|&(e, c)| txn(e, c)).collect());
        inv
    }

    fn verdict(result: Result<(), String>) -> String {
        result.err().unwrap_or_default()
    }

    #[test]
    fn integrity() {
        let mut inv = broadcast(&[(1, 1)]);
        let forged = Txn {
            payload: b"forged".to_vec(),
            ..txn(1, 1)
        };
        assert!(verdict(inv.check_delivery(1, 0, &forged)).starts_with("integrity"));
    }

    #[test]
    fn agreement_and_total_order() {
        let mut inv = broadcast(&[(1, 1), (1, 2)]);
        inv.check_delivery(1, 0, &txn(1, 1)).expect("first");
        let v = verdict(inv.check_delivery(2, 0, &txn(1, 2)));
        assert!(v.starts_with("agreement / total order"), "{v}");
    }

    #[test]
    fn primary_order_and_local_primary_order() {
        let mut inv = broadcast(&[(1, 1), (1, 2), (1, 3), (2, 1)]);
        inv.check_delivery(1, 0, &txn(1, 1)).expect("first");
        // 1:3 without 1:2.
        let v = verdict(inv.check_delivery(1, 1, &txn(1, 3)));
        assert!(v.starts_with("local primary order"), "{v}");
        inv.check_delivery(1, 1, &txn(2, 1))
            .expect("a later primary");
        // An earlier primary's transaction after a later one's.
        let v = verdict(inv.check_delivery(1, 2, &txn(1, 2)));
        assert!(v.starts_with("primary order"), "{v}");
    }

    #[test]
    fn primary_integrity() {
        let mut inv = broadcast(&[(1, 1)]);
        // The primary of epoch 2 broadcasts having delivered nothing…
        inv.broadcast(3, txn(2, 1), &[])
            .expect("nothing delivered yet");
        // …and then 1:1, of an earlier epoch, is delivered.
        let v = verdict(inv.check_delivery(1, 0, &txn(1, 1)));
        assert!(v.starts_with("primary integrity"), "{v}");
    }

    #[test]
    fn a_zxid_is_broadcast_once() {
        let mut inv = Invariants::default();
        inv.broadcast(1, txn(1, 1), &[]).expect("first");
        let v = verdict(inv.broadcast(2, txn(1, 1), &[]));
        assert!(v.starts_with("uniqueness"), "{v}");
    }
}
