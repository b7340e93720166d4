//! An in-memory ensemble for tests: N nodes, a network between them that can cut links, lose,
//! duplicate and reorder messages (from a seed), and a disk per node.
//!
//! After every event a node handles — a tick, a message, a proposal, a sync — the ensemble
//! takes its `Ready` and plays the shell: it persists to the node's disk, queues the messages,
//! delivers the committed transactions and records the syncs; then it checks ZAB's properties
//! ([`Invariants`]). Because each `Ready` is handled at once, a crash loses exactly the node's
//! volatile state, and a restart rebuilds it from its disk alone.

use std::collections::{BTreeMap, VecDeque};

use super::invariants::Invariants;
use crate::raft::rng::Rng;
use crate::test_links::{Links, Partitioned};
use crate::zab::core::{
    Body, Config, Link, Message, NodeId, NotLeader, Packet, Persisted, Phase, Ready, Role, Status,
    Sync, Txn, Zab, Zxid,
};

/// One node: its state machine (none while crashed), its disk, and what its shell observed.
pub(super) struct Node {
    config: Config,
    zab: Option<Zab>,
    /// How many times it started: mixed into its seed, as a shell draws a fresh one.
    starts: u64,
    pub(super) disk: Persisted,
    /// The transactions delivered since the last (re)start, in order: its data tree.
    pub(super) delivered: Vec<Txn>,
    pub(super) synced: Vec<(u64, Zxid)>,
    pub(super) failed_syncs: Vec<u64>,
}

impl Node {
    pub(super) fn zab(&self) -> Option<&Zab> {
        self.zab.as_ref()
    }

    pub(super) fn status(&self) -> Option<Status> {
        self.zab.as_ref().map(Zab::status)
    }
}

/// Sees every message about to be delivered; may edit it, and drops it by returning false.
type Filter = Box<dyn FnMut(&mut Message) -> bool>;

pub(super) struct Cluster {
    nodes: BTreeMap<NodeId, Node>,
    in_flight: VecDeque<Message>,
    /// Directed links that drop everything.
    links: Links,
    filter: Option<Filter>,
    rng: Rng,
    /// Chance that a message is lost, in thousandths.
    pub(super) loss_per_mille: u64,
    /// Chance that a delivered message is delivered again later, in thousandths.
    pub(super) duplicate_per_mille: u64,
    /// Deliver a random message in flight instead of the oldest.
    pub(super) reorder: bool,
    /// For each sync in progress, how many transactions were delivered when it was asked.
    sync_floors: BTreeMap<(NodeId, u64), usize>,
    pub(super) invariants: Invariants,
    /// Panic on the first violated property (the default), or record it in `violations` — for
    /// tests that show a bug switch is caught.
    pub(super) strict: bool,
    pub(super) violations: Vec<String>,
    pub(super) stats: Stats,
}

/// What happened in a run, so that randomized tests can show they exercised what they claim.
#[derive(Debug, Default)]
pub(super) struct Stats {
    /// NEWLEADERs taken by DIFF, TRUNC and SNAP.
    pub(super) diffs: u32,
    pub(super) truncs: u32,
    pub(super) snaps: u32,
    pub(super) crashes: u32,
    pub(super) syncs_done: u32,
    pub(super) syncs_failed: u32,
}

/// The test configuration: the defaults (silence tolerated for 10..=20 ticks, heartbeats every
/// 2 ticks), seeded.
pub(super) fn config(id: NodeId, n: u64, seed: u64) -> Config {
    Config {
        seed,
        ..Config::new(id, (1..=n).collect())
    }
}

/// Plays a shell's step 1: applies a `Ready`'s persistence instructions to `disk`, checking
/// that the epochs only move forward.
fn persist(id: NodeId, disk: &mut Persisted, ready: &Ready) {
    if let Some(z) = ready.truncate_after {
        disk.history.retain(|t| t.zxid <= z);
    }
    disk.history.extend(ready.append.iter().cloned());
    if let Some(epochs) = ready.epochs {
        let old = disk.epochs;
        assert!(
            epochs.accepted >= old.accepted && epochs.current >= old.current,
            "node {id}: epochs went back from {old:?} to {epochs:?}"
        );
        assert!(
            epochs.current <= epochs.accepted,
            "node {id}: current epoch above the accepted one: {epochs:?}"
        );
        disk.epochs = epochs;
    }
}

impl Cluster {
    /// Nodes 1..=n with the test configuration, all starting fresh.
    pub(super) fn new(n: u64, seed: u64) -> Cluster {
        Cluster::with(n, seed, |_| {})
    }

    /// Like [`Cluster::new`], each node's configuration adjusted by `tweak`.
    pub(super) fn with(n: u64, seed: u64, tweak: impl Fn(&mut Config)) -> Cluster {
        Cluster::restored(vec![Persisted::default(); n as usize], seed, tweak)
    }

    /// Nodes 1..=disks.len(), each started from its disk.
    pub(super) fn restored(
        disks: Vec<Persisted>,
        seed: u64,
        tweak: impl Fn(&mut Config),
    ) -> Cluster {
        let n = disks.len() as u64;
        let nodes = (1..=n).zip(disks).map(|(id, disk)| {
            let mut config = config(id, n, seed);
            tweak(&mut config);
            let node = Node {
                config,
                zab: None,
                starts: 0,
                disk,
                delivered: vec![],
                synced: vec![],
                failed_syncs: vec![],
            };
            (id, node)
        });
        let mut cluster = Cluster {
            nodes: nodes.collect(),
            in_flight: VecDeque::new(),
            links: Links::default(),
            filter: None,
            rng: Rng::new(seed),
            loss_per_mille: 0,
            duplicate_per_mille: 0,
            reorder: false,
            sync_floors: BTreeMap::new(),
            invariants: Invariants::default(),
            strict: true,
            violations: vec![],
            stats: Stats::default(),
        };
        for id in cluster.ids() {
            // What the disks hold was broadcast by primaries of a past the test does not see.
            let history = cluster.nodes[&id].disk.history.clone();
            cluster.invariants.assume_broadcast(history);
            cluster.start(id);
        }
        cluster
    }

    pub(super) fn ids(&self) -> Vec<NodeId> {
        self.nodes.keys().copied().collect()
    }

    pub(super) fn node(&self, id: NodeId) -> &Node {
        &self.nodes[&id]
    }

    /// Node `id`'s state machine; panics if it is down.
    pub(super) fn zab(&self, id: NodeId) -> &Zab {
        self.nodes[&id]
            .zab()
            .unwrap_or_else(|| panic!("node {id} is down"))
    }

    pub(super) fn status(&self, id: NodeId) -> Status {
        self.zab(id).status()
    }

    pub(super) fn is_up(&self, id: NodeId) -> bool {
        self.nodes[&id].zab.is_some()
    }

    /// The established leader with the highest epoch among the nodes up, if any.
    pub(super) fn leader(&self) -> Option<NodeId> {
        let leaders = self.nodes.iter().filter_map(|(&id, node)| {
            let s = node.status()?;
            (s.role == Role::Leading && s.phase == Phase::Broadcast)
                .then_some((s.current_epoch, id))
        });
        leaders.max().map(|(_, id)| id)
    }

    /// Whether a leader is established and every node up is synced with it.
    pub(super) fn all_synced(&self) -> bool {
        let Some(leader) = self.leader() else {
            return false;
        };
        self.nodes
            .values()
            .filter_map(Node::status)
            .all(|s| s.synced() && s.leader == Some(leader))
    }

    /// Starts node `id` from its disk, with an empty data tree.
    fn start(&mut self, id: NodeId) {
        let node = self.nodes.get_mut(&id).expect("a known node");
        node.starts += 1;
        let config = Config {
            seed: node.config.seed ^ node.starts.wrapping_mul(0x9E37_79B9_7F4A_7C15),
            ..node.config.clone()
        };
        node.delivered.clear();
        match Zab::new(config, node.disk.clone()) {
            Ok(zab) => node.zab = Some(zab),
            Err(e) => {
                // Only a bug switch corrupts a disk so: the node stays down.
                self.verdict(Err(format!("restart: node {id}: {e}")));
                return;
            }
        }
        // The node's first notifications are waiting.
        self.handle_ready(id);
    }

    /// Runs `f` on node `id` if it is up, then handles the `Ready` it leaves.
    fn on<R>(&mut self, id: NodeId, f: impl FnOnce(&mut Zab) -> R) -> Option<R> {
        let node = self.nodes.get_mut(&id)?;
        let result = f(node.zab.as_mut()?);
        self.handle_ready(id);
        Some(result)
    }

    fn handle_ready(&mut self, id: NodeId) {
        let node = self.nodes.get_mut(&id).expect("a known node");
        let ready = node.zab.as_mut().expect("node is up").ready();
        persist(id, &mut node.disk, &ready);
        let delivered_from = node.delivered.len();
        node.delivered.extend(ready.committed.iter().cloned());
        self.stats.syncs_done += ready.synced.len() as u32;
        self.stats.syncs_failed += ready.failed_syncs.len() as u32;
        node.synced.extend(ready.synced.iter().copied());
        node.failed_syncs.extend(ready.failed_syncs.iter().copied());
        let mut verdicts = vec![];
        for &(ctx, zxid) in &ready.synced {
            let floor = self.sync_floors.remove(&(id, ctx)).unwrap_or(0);
            let (had, last) = (
                node.delivered.len(),
                node.delivered.last().map_or(Zxid::ZERO, |t| t.zxid),
            );
            if had < floor || last < zxid {
                verdicts.push(Err(format!(
                    "linearizable sync: node {id} finished sync {ctx} at {zxid} having delivered {had} transactions up to {last}, but {floor} were delivered before it began"
                )));
            }
        }
        for ctx in &ready.failed_syncs {
            self.sync_floors.remove(&(id, *ctx));
        }
        for msg in &ready.messages {
            if let Body::Link(Link {
                packet: Packet::NewLeader(sync),
                ..
            }) = &msg.body
            {
                match sync {
                    Sync::Diff { .. } => self.stats.diffs += 1,
                    Sync::Trunc { .. } => self.stats.truncs += 1,
                    Sync::Snap { .. } => self.stats.snaps += 1,
                }
            }
        }
        self.in_flight.extend(ready.messages);
        let truncated = ready.truncate_after.is_some();
        verdicts.push(
            self.invariants
                .check(&self.nodes, id, delivered_from, truncated),
        );
        for verdict in verdicts {
            self.verdict(verdict);
        }
    }

    /// Fails the test on a violated property, or records it if the test expects some.
    fn verdict(&mut self, verdict: Result<(), String>) {
        if let Err(violation) = verdict {
            assert!(!self.strict, "{violation}");
            self.violations.push(violation);
        }
    }

    pub(super) fn tick(&mut self, id: NodeId) {
        self.on(id, Zab::tick);
    }

    pub(super) fn tick_all(&mut self) {
        for id in self.ids() {
            self.tick(id);
        }
    }

    /// What node `id`, which must be up, says its next proposal's zxid will be.
    pub(super) fn next_zxid(&self, id: NodeId) -> Result<Zxid, NotLeader> {
        let node = self.nodes.get(&id).expect("a known node");
        node.zab.as_ref().expect("node is up").next_zxid()
    }

    /// Proposes `payload` at node `id`, which must be up.
    pub(super) fn propose(&mut self, id: NodeId, payload: &[u8]) -> Result<Zxid, NotLeader> {
        let node = self.nodes.get_mut(&id).expect("a known node");
        let zab = node.zab.as_mut().expect("node is up");
        let result = zab.propose(payload.to_vec());
        if let Ok(zxid) = result {
            let txn = Txn {
                zxid,
                payload: payload.to_vec(),
            };
            let verdict = self.invariants.broadcast(id, txn, &node.delivered);
            self.verdict(verdict);
        }
        self.handle_ready(id);
        result
    }

    /// Asks node `id`, which must be up, for a sync identified by `ctx`.
    pub(super) fn sync(&mut self, id: NodeId, ctx: u64) -> Result<(), NotLeader> {
        let floor = self.invariants.delivered().len();
        self.sync_floors.insert((id, ctx), floor);
        let result = self.on(id, |zab| zab.sync(ctx)).expect("node is up");
        if result.is_err() {
            self.sync_floors.remove(&(id, ctx));
        }
        result
    }

    /// Delivers (or loses) one message in flight; false if there was none.
    pub(super) fn deliver_one(&mut self) -> bool {
        let next = if self.reorder {
            let k = self.rng.below(self.in_flight.len().max(1) as u64) as usize;
            self.in_flight.swap_remove_back(k)
        } else {
            self.in_flight.pop_front()
        };
        let Some(mut msg) = next else { return false };
        if self.links.blocks(msg.from, msg.to)
            || self.rng.below(1000) < self.loss_per_mille
            || self.filter.as_mut().is_some_and(|keep| !keep(&mut msg))
        {
            return true;
        }
        if self.rng.below(1000) < self.duplicate_per_mille {
            self.in_flight.push_back(msg.clone());
        }
        self.on(msg.to, |zab| zab.step(msg));
        true
    }

    /// Delivers messages until none is left in flight.
    pub(super) fn stabilize(&mut self) {
        for _ in 0..1_000_000 {
            if !self.deliver_one() {
                return;
            }
        }
        panic!("messages never stop flowing");
    }

    /// `ticks` rounds of: every node ticks, then every message is delivered.
    pub(super) fn run(&mut self, ticks: u32) {
        for _ in 0..ticks {
            self.tick_all();
            self.stabilize();
        }
    }

    /// Runs rounds until `done` holds; the number of rounds it took, or `None` if it did not
    /// within `max_ticks` rounds.
    pub(super) fn run_until(
        &mut self,
        max_ticks: u32,
        done: impl Fn(&Cluster) -> bool,
    ) -> Option<u32> {
        self.stabilize();
        for ticks in 0..=max_ticks {
            if done(self) {
                return Some(ticks);
            }
            self.run(1);
        }
        None
    }

    /// Runs until a leader is established and every node up is synced with it; returns it.
    pub(super) fn wait_for_leader(&mut self) -> NodeId {
        assert!(
            self.run_until(500, Cluster::all_synced).is_some(),
            "no established leader with every node synced after 500 ticks"
        );
        self.leader().expect("a leader")
    }

    /// Installs a filter over delivered messages (replacing any other).
    pub(super) fn set_filter(&mut self, filter: impl FnMut(&mut Message) -> bool + 'static) {
        self.filter = Some(Box::new(filter));
    }

    pub(super) fn clear_filter(&mut self) {
        self.filter = None;
    }

    /// Kills node `id`: its volatile state is gone and so are the messages on their way to it.
    pub(super) fn crash(&mut self, id: NodeId) {
        self.nodes.get_mut(&id).expect("a known node").zab = None;
        self.stats.crashes += 1;
        self.in_flight.retain(|m| m.to != id);
        self.sync_floors.retain(|&(node, _), _| node != id);
    }

    /// Starts node `id` again from its disk, with an empty data tree.
    pub(super) fn restart(&mut self, id: NodeId) {
        assert!(!self.is_up(id), "node {id} is up");
        self.start(id);
    }
}

impl Partitioned for Cluster {
    fn links(&mut self) -> &mut Links {
        &mut self.links
    }

    fn node_ids(&self) -> Vec<u64> {
        self.ids()
    }

    fn coin(&mut self) -> bool {
        self.rng.below(2) == 0
    }
}
