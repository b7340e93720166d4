//! Which directed links of an in-memory test network drop messages: the partitions the Raft
//! and ZAB cores' test networks (`raft/tests/network.rs`, `zab/core/tests/network.rs`) cut
//! and heal. A message from `from` to `to` is dropped while `(from, to)` is cut. A network
//! keeps its [`Links`] and implements [`Partitioned`]; its tests then cut, isolate, partition
//! and heal it by the trait's methods.

use std::collections::BTreeSet;

/// The cut links of a test network.
#[derive(Debug, Default)]
pub(crate) struct Links {
    blocked: BTreeSet<(u64, u64)>,
}

impl Links {
    /// Whether a message from `from` to `to` is dropped.
    pub(crate) fn blocks(&self, from: u64, to: u64) -> bool {
        self.blocked.contains(&(from, to))
    }

    /// Drops every message from `from` to `to`.
    pub(crate) fn cut(&mut self, from: u64, to: u64) {
        self.blocked.insert((from, to));
    }

    /// Drops every message between `id` and each of `others`.
    pub(crate) fn isolate(&mut self, id: u64, others: &[u64]) {
        for &other in others {
            self.cut(id, other);
            self.cut(other, id);
        }
    }

    /// Drops every message between different groups.
    pub(crate) fn partition(&mut self, groups: &[&[u64]]) {
        for (a, group) in groups.iter().enumerate() {
            for other in &groups[a + 1..] {
                for &x in *group {
                    for &y in *other {
                        self.cut(x, y);
                        self.cut(y, x);
                    }
                }
            }
        }
    }

    /// Replaces the current partition with a split of `ids` in two, each node's side drawn by
    /// `coin` (one side may be empty).
    pub(crate) fn random_partition(&mut self, ids: &[u64], mut coin: impl FnMut() -> bool) {
        self.heal();
        let (a, b): (Vec<u64>, Vec<u64>) = ids.iter().partition(|_| coin());
        self.partition(&[&a, &b]);
    }

    /// Reconnects every link.
    pub(crate) fn heal(&mut self) {
        self.blocked.clear();
    }
}

/// A test network whose links can be cut: the ways its tests do it, written once.
pub(crate) trait Partitioned {
    fn links(&mut self) -> &mut Links;

    /// Every node of the network.
    fn node_ids(&self) -> Vec<u64>;

    /// A fair coin from the network's seeded generator.
    fn coin(&mut self) -> bool;

    /// Drops every message to and from node `id`.
    fn isolate(&mut self, id: u64) {
        let ids = self.node_ids();
        self.links().isolate(id, &ids);
    }

    /// Drops every message from `from` to `to`.
    fn cut(&mut self, from: u64, to: u64) {
        self.links().cut(from, to);
    }

    /// Splits the network: messages between different groups are dropped.
    fn partition(&mut self, groups: &[&[u64]]) {
        self.links().partition(groups);
    }

    /// Replaces the current partition with a random split in two (one side may be empty).
    fn random_partition(&mut self) {
        let ids = self.node_ids();
        let sides: Vec<bool> = ids.iter().map(|_| self.coin()).collect();
        let mut side = sides.into_iter();
        self.links()
            .random_partition(&ids, || side.next().unwrap_or(false));
    }

    /// Reconnects every link.
    fn heal(&mut self) {
        self.links().heal();
    }
}
