//! An in-memory cluster for tests: N nodes, a network between them that can cut links, lose,
//! duplicate and reorder messages (from a seed), and a disk per node.
//!
//! After every event a node handles — a tick, a message, a proposal, a read — the cluster takes
//! its `Ready` and plays the shell: it persists to the node's disk, queues the messages, applies
//! the committed entries and records the reads; then it checks the safety properties
//! ([`Invariants`]). Because each `Ready` is handled at once, a crash loses exactly the node's
//! volatile state, and a restart rebuilds it from its disk alone.

use std::collections::{BTreeMap, VecDeque};

use super::invariants::Invariants;
use crate::raft::rng::Rng;
use crate::raft::{
    Body, Config, Entry, Index, Message, NodeId, NotLeader, Persisted, Raft, ReadState, Ready,
    Role, Term,
};
use crate::test_links::{Links, Partitioned};

/// One node: its state machine (none while crashed), its disk, and what its shell observed.
pub(super) struct Node {
    config: Config,
    raft: Option<Raft>,
    pub(super) disk: Persisted,
    /// The entries applied since the last (re)start, in order: its state machine.
    pub(super) applied: Vec<Entry>,
    pub(super) read_states: Vec<ReadState>,
    pub(super) failed_reads: Vec<u64>,
}

impl Node {
    pub(super) fn raft(&self) -> Option<&Raft> {
        self.raft.as_ref()
    }

    fn leader_term(&self) -> Option<Term> {
        self.raft
            .as_ref()
            .filter(|r| r.role() == Role::Leader)
            .map(Raft::term)
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
    /// While set, vote requests from any other node are dropped (see [`Cluster::elect`]).
    campaigner: Option<NodeId>,
    rng: Rng,
    /// Chance that a message is lost, in thousandths.
    pub(super) loss_per_mille: u64,
    /// Chance that a delivered message is delivered again later, in thousandths.
    pub(super) duplicate_per_mille: u64,
    /// Deliver a random message in flight instead of the oldest.
    pub(super) reorder: bool,
    /// For each read in progress, how much of the log was committed when it was asked.
    read_floors: BTreeMap<(NodeId, u64), Index>,
    pub(super) invariants: Invariants,
    pub(super) stats: Stats,
}

/// What happened in a run, so that randomized tests can show they exercised what they claim.
#[derive(Debug, Default)]
pub(super) struct Stats {
    /// `Ready`s that truncated a follower's log.
    pub(super) overwrites: u32,
    pub(super) crashes: u32,
    pub(super) reads_confirmed: u32,
    pub(super) reads_failed: u32,
}

/// The test configuration: elections after 10..=20 ticks, heartbeats every 3 ticks.
pub(super) fn config(id: NodeId, n: u64, seed: u64) -> Config {
    Config {
        seed,
        ..Config::new(id, (1..=n).collect())
    }
}

/// The entry a test expects at `(index, term)`; tests build logs with it so that the same
/// index and term always mean the same entry.
pub(super) fn entry(index: Index, term: Term) -> Entry {
    Entry {
        term,
        index,
        data: format!("{index}@{term}").into_bytes(),
    }
}

/// Plays a shell's step 1: applies a `Ready`'s persistence instructions to `disk`, checking
/// that the hard state only moves as Raft allows.
fn persist(id: NodeId, disk: &mut Persisted, ready: &Ready) {
    if let Some(hs) = ready.hard_state {
        let old = disk.hard_state;
        assert!(
            hs.term >= old.term,
            "node {id}: term went back from {} to {}",
            old.term,
            hs.term
        );
        if hs.term == old.term && old.vote.is_some() {
            assert_eq!(
                hs.vote, old.vote,
                "§5.2: node {id} voted twice in term {}",
                hs.term
            );
        }
        disk.hard_state = hs;
    }
    if let Some(from) = ready.truncate_from {
        disk.entries.truncate(from as usize - 1);
    }
    if let Some(first) = ready.entries.first() {
        assert_eq!(
            first.index,
            disk.entries.len() as Index + 1,
            "node {id}: a gap in the persisted log"
        );
    }
    disk.entries.extend(ready.entries.iter().cloned());
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
            let raft = Some(Raft::new(config.clone(), disk.clone()).expect("a valid start"));
            let node = Node {
                config,
                raft,
                disk,
                applied: vec![],
                read_states: vec![],
                failed_reads: vec![],
            };
            (id, node)
        });
        Cluster {
            nodes: nodes.collect(),
            in_flight: VecDeque::new(),
            links: Links::default(),
            filter: None,
            campaigner: None,
            rng: Rng::new(seed),
            loss_per_mille: 0,
            duplicate_per_mille: 0,
            reorder: false,
            read_floors: BTreeMap::new(),
            invariants: Invariants::default(),
            stats: Stats::default(),
        }
    }

    pub(super) fn ids(&self) -> Vec<NodeId> {
        self.nodes.keys().copied().collect()
    }

    pub(super) fn node(&self, id: NodeId) -> &Node {
        &self.nodes[&id]
    }

    /// Node `id`'s state machine; panics if it is down.
    pub(super) fn raft(&self, id: NodeId) -> &Raft {
        self.nodes[&id]
            .raft()
            .unwrap_or_else(|| panic!("node {id} is down"))
    }

    pub(super) fn is_up(&self, id: NodeId) -> bool {
        self.nodes[&id].raft.is_some()
    }

    /// The terms of node `id`'s persisted log.
    pub(super) fn log_terms(&self, id: NodeId) -> Vec<Term> {
        self.nodes[&id]
            .disk
            .entries
            .iter()
            .map(|e| e.term)
            .collect()
    }

    /// The leader with the highest term among the nodes up, if any.
    pub(super) fn leader(&self) -> Option<NodeId> {
        let leaders = self
            .nodes
            .iter()
            .filter_map(|(&id, node)| Some((node.leader_term()?, id)));
        leaders.max().map(|(_, id)| id)
    }

    /// Runs `f` on node `id` if it is up, then handles the `Ready` it leaves.
    fn on<R>(&mut self, id: NodeId, f: impl FnOnce(&mut Raft) -> R) -> Option<R> {
        let node = self.nodes.get_mut(&id)?;
        let leader_term = node.leader_term();
        let result = f(node.raft.as_mut()?);
        self.handle_ready(id, leader_term);
        Some(result)
    }

    fn handle_ready(&mut self, id: NodeId, leader_term_before: Option<Term>) {
        let node = self.nodes.get_mut(&id).expect("a known node");
        let ready = node.raft.as_mut().expect("node is up").ready();
        if leader_term_before.is_some() && leader_term_before == node.leader_term() {
            assert_eq!(
                ready.truncate_from, None,
                "§5.3 leader append-only: leader {id} rewrote its log"
            );
        }
        persist(id, &mut node.disk, &ready);
        self.stats.overwrites += u32::from(ready.truncate_from.is_some());
        self.stats.reads_confirmed += ready.read_states.len() as u32;
        self.stats.reads_failed += ready.failed_reads.len() as u32;
        let applied_from = node.applied.len();
        for entry in &ready.committed {
            let expected = node.applied.len() as Index + 1;
            assert_eq!(
                entry.index, expected,
                "node {id} must apply entries in order, each once"
            );
            node.applied.push(entry.clone());
        }
        for read in &ready.read_states {
            let floor = self
                .read_floors
                .remove(&(id, read.ctx))
                .expect("a read that was asked");
            assert!(
                read.index >= floor,
                "linearizable read: node {id} confirmed read {} at {} but {floor} was committed before it began",
                read.ctx,
                read.index
            );
        }
        for ctx in &ready.failed_reads {
            self.read_floors.remove(&(id, *ctx));
        }
        node.read_states.extend(ready.read_states);
        node.failed_reads.extend(ready.failed_reads);
        self.in_flight.extend(ready.messages);
        let log_changed = ready.truncate_from.is_some()
            || !ready.entries.is_empty()
            || !ready.committed.is_empty();
        self.invariants
            .check(&self.nodes, id, applied_from, log_changed);
    }

    pub(super) fn tick(&mut self, id: NodeId) {
        self.on(id, Raft::tick);
    }

    pub(super) fn tick_all(&mut self) {
        for id in self.ids() {
            self.tick(id);
        }
    }

    /// Proposes `data` at node `id`, which must be up.
    pub(super) fn propose(&mut self, id: NodeId, data: &[u8]) -> Result<(Index, Term), NotLeader> {
        self.on(id, |raft| raft.propose(data.to_vec()))
            .expect("node is up")
    }

    /// Asks node `id`, which must be up, for a read identified by `ctx`.
    pub(super) fn read_index(&mut self, id: NodeId, ctx: u64) -> Result<(), NotLeader> {
        let floor = self.invariants.committed().len() as Index;
        self.read_floors.insert((id, ctx), floor);
        let result = self
            .on(id, |raft| raft.read_index(ctx))
            .expect("node is up");
        if result.is_err() {
            self.read_floors.remove(&(id, ctx));
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
        let campaigning_elsewhere = matches!(msg.body, Body::PreVote { .. } | Body::Vote { .. })
            && self.campaigner.is_some_and(|c| c != msg.from);
        if self.links.blocks(msg.from, msg.to)
            || campaigning_elsewhere
            || self.rng.below(1000) < self.loss_per_mille
            || self.filter.as_mut().is_some_and(|keep| !keep(&mut msg))
        {
            return true;
        }
        if self.rng.below(1000) < self.duplicate_per_mille {
            self.in_flight.push_back(msg.clone());
        }
        self.on(msg.to, |raft| raft.step(msg));
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

    /// Runs rounds until `done` holds; false if it did not within `max_ticks` rounds.
    pub(super) fn run_until(&mut self, max_ticks: u32, done: impl Fn(&Cluster) -> bool) -> bool {
        for _ in 0..max_ticks {
            if done(self) {
                return true;
            }
            self.run(1);
        }
        done(self)
    }

    /// Runs until some node leads, and returns it.
    pub(super) fn wait_for_leader(&mut self) -> NodeId {
        assert!(
            self.run_until(500, |c| c.leader().is_some()),
            "no leader after 500 ticks"
        );
        self.leader().expect("a leader")
    }

    /// Runs until node `id` leads, with every other node's vote requests dropped so that it is
    /// the only one that can win. The others must be able to vote for it: no leader they hear
    /// from, and a log no more up to date than its own.
    pub(super) fn elect(&mut self, id: NodeId) {
        self.campaigner = Some(id);
        let elected = self.run_until(1000, |c| c.is_up(id) && c.raft(id).role() == Role::Leader);
        self.campaigner = None;
        assert!(elected, "node {id} could not win an election");
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
        self.nodes.get_mut(&id).expect("a known node").raft = None;
        self.stats.crashes += 1;
        self.in_flight.retain(|m| m.to != id);
        self.read_floors.retain(|&(node, _), _| node != id);
    }

    /// Starts node `id` again from its disk, with an empty state machine.
    pub(super) fn restart(&mut self, id: NodeId) {
        let node = self.nodes.get_mut(&id).expect("a known node");
        assert!(node.raft.is_none(), "node {id} is up");
        node.raft =
            Some(Raft::new(node.config.clone(), node.disk.clone()).expect("a valid restart"));
        node.applied.clear();
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
