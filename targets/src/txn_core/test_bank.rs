//! The in-memory bank both transaction cores' tests run on: a coordinator (node 0),
//! participants 1..=n each owning two accounts of 100, a network that can lose, duplicate and
//! reorder messages (from a seed) and be cut between chosen sets of nodes, and a disk (an
//! append-only log) per node.
//!
//! After every event — a begin, a tick, a delivery, a restart — the node's `Ready` is handled
//! as a shell would (log appended, then messages queued, outcomes recorded), and the
//! protocol's tests check the bank ([`BankProtocol::check`]). A crash loses exactly a node's
//! volatile state. Each protocol's tests plug their cores in through [`BankProtocol`].

use std::collections::{BTreeMap, BTreeSet};

use crate::peers::Addressed;
use crate::raft::rng::Rng;
use crate::twopc::core::{Account, NodeId, Op, Outcome, TxnId};
use crate::txn_node::{CoordinatorCore, Entry, ParticipantCore, TxnMessage};

pub(crate) const COORDINATOR: NodeId = 0;
pub(crate) const BALANCE: i64 = 100;

/// The accounts participant `p` owns.
pub(crate) fn accounts(p: NodeId) -> [Account; 2] {
    [p as Account * 10, p as Account * 10 + 1]
}

/// Whether `m` is a participant's vote — for [`Bank::deliver_where`] and the like.
pub(crate) fn is_vote(m: &impl TxnMessage) -> bool {
    m.is_vote()
}

/// Whether `m` is the coordinator's request to prepare: 2PC's `Prepare`, 3PC's `CanCommit`.
pub(crate) fn is_prepare(m: &impl TxnMessage) -> bool {
    m.prepare().is_some()
}

/// A protocol whose cores the bank runs: how they start, and what its tests check.
pub(crate) trait BankProtocol: Sized {
    type Coordinator: CoordinatorCore<Message = Self::Message>;
    type Participant: ParticipantCore<Message = Self::Message>;
    type Message: Clone + Addressed + TxnMessage;
    type CoordinatorConfig: Clone;
    type ParticipantConfig: Clone;
    /// What the tests keep watching over a run: the state of their checks, their own counts.
    type Watch;

    /// The coordinator, started from its disk.
    fn coordinator(
        config: Self::CoordinatorConfig,
        disk: &[CoordinatorRecord<Self>],
    ) -> Self::Coordinator;
    /// A participant, started from its disk.
    fn participant(
        config: Self::ParticipantConfig,
        disk: &[ParticipantRecord<Self>],
    ) -> Self::Participant;
    /// Whether a (re)started coordinator has logged transactions to finish.
    fn resumes(coordinator: &Self::Coordinator) -> bool;
    /// Whether a (re)started participant has transactions in doubt.
    fn in_doubt(participant: &Self::Participant) -> bool;
    /// Checks the bank once `id`'s log is on its disk, before its `sent` messages go out and
    /// its `outcomes` are recorded.
    fn check(bank: &mut Bank<Self>, id: NodeId, sent: &[Self::Message], outcomes: &[Outcome]);
}

/// The [`BankProtocol`] methods of a protocol whose cores have the 2PC core's inherent API
/// (`new(config, disk)`, the coordinator's `active()`, the participant's `in_doubt()`), as
/// both protocols' do — expanded inside the protocol's `impl BankProtocol` block.
macro_rules! start_cores_by_new {
    () => {
        fn coordinator(
            config: Self::CoordinatorConfig,
            disk: &[$crate::txn_core::test_bank::CoordinatorRecord<Self>],
        ) -> Self::Coordinator {
            <Self::Coordinator>::new(config, disk)
        }

        fn participant(
            config: Self::ParticipantConfig,
            disk: &[$crate::txn_core::test_bank::ParticipantRecord<Self>],
        ) -> Self::Participant {
            <Self::Participant>::new(config, disk)
        }

        fn resumes(coordinator: &Self::Coordinator) -> bool {
            coordinator.active() > 0
        }

        fn in_doubt(participant: &Self::Participant) -> bool {
            participant.in_doubt().next().is_some()
        }
    };
}
pub(crate) use start_cores_by_new;

pub(crate) type CoordinatorRecord<P> =
    <<P as BankProtocol>::Coordinator as CoordinatorCore>::Record;
pub(crate) type ParticipantRecord<P> =
    <<P as BankProtocol>::Participant as ParticipantCore>::Record;

pub(crate) struct Side<S, R> {
    pub(crate) node: Option<S>,
    pub(crate) disk: Vec<R>,
}

/// What happened in a run, so that randomized tests can show they exercised what they claim.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) crashes: u32,
    /// Participants restarted with a transaction in doubt.
    pub(crate) in_doubt_restarts: u32,
    /// Coordinator restarts with a logged transaction to finish.
    pub(crate) resumes: u32,
}

pub(crate) struct Bank<P: BankProtocol> {
    coordinator_config: P::CoordinatorConfig,
    pub(crate) coordinator: Side<P::Coordinator, CoordinatorRecord<P>>,
    participant_configs: BTreeMap<NodeId, P::ParticipantConfig>,
    pub(crate) participants: BTreeMap<NodeId, Side<P::Participant, ParticipantRecord<P>>>,
    pub(crate) in_flight: Vec<P::Message>,
    pub(crate) outcomes: Vec<Outcome>,
    rng: Rng,
    pub(crate) loss_per_mille: u64,
    pub(crate) duplicate_per_mille: u64,
    pub(crate) reorder: bool,
    /// Pairs of nodes that cannot reach each other (both directions stored).
    cut: BTreeSet<(NodeId, NodeId)>,
    pub(crate) watch: P::Watch,
    pub(crate) stats: Stats,
}

impl<P: BankProtocol> Bank<P> {
    /// Starts the coordinator and participants `1..=n` with these configurations.
    pub(crate) fn start(
        n: u64,
        seed: u64,
        coordinator_config: P::CoordinatorConfig,
        participant_config: impl Fn(NodeId) -> P::ParticipantConfig,
        watch: P::Watch,
    ) -> Bank<P> {
        let ids: Vec<NodeId> = (1..=n).collect();
        let mut bank = Bank {
            coordinator_config,
            coordinator: Side {
                node: None,
                disk: Vec::new(),
            },
            participant_configs: ids.iter().map(|&p| (p, participant_config(p))).collect(),
            participants: ids
                .iter()
                .map(|&p| {
                    let side = Side {
                        node: None,
                        disk: Vec::new(),
                    };
                    (p, side)
                })
                .collect(),
            in_flight: Vec::new(),
            outcomes: Vec::new(),
            rng: Rng::new(seed),
            loss_per_mille: 0,
            duplicate_per_mille: 0,
            reorder: false,
            cut: BTreeSet::new(),
            watch,
            stats: Stats::default(),
        };
        bank.restart(COORDINATOR);
        for p in ids {
            bank.restart(p);
        }
        bank
    }

    pub(crate) fn ids(&self) -> Vec<NodeId> {
        std::iter::once(COORDINATOR)
            .chain(self.participants.keys().copied())
            .collect()
    }

    /// The balances the participants opened with, in all.
    pub(crate) fn total_initial(&self) -> i64 {
        self.participants.len() as i64 * 2 * BALANCE
    }

    pub(crate) fn coordinator(&self) -> &P::Coordinator {
        self.coordinator
            .node
            .as_ref()
            .expect("the coordinator is up")
    }

    pub(crate) fn participant(&self, p: NodeId) -> &P::Participant {
        self.participants[&p]
            .node
            .as_ref()
            .expect("the participant is up")
    }

    pub(crate) fn is_up(&self, id: NodeId) -> bool {
        if id == COORDINATOR {
            self.coordinator.node.is_some()
        } else {
            self.participants[&id].node.is_some()
        }
    }

    /// Begins a transaction at the coordinator.
    pub(crate) fn begin(&mut self, op: Op) -> TxnId {
        let c = self
            .coordinator
            .node
            .as_mut()
            .expect("the coordinator is up");
        let txn = c.begin(op).expect("known accounts");
        self.drain(COORDINATOR);
        txn
    }

    pub(crate) fn transfer(&mut self, from: Account, to: Account, amount: i64) -> TxnId {
        self.begin(Op::Transfer { from, to, amount })
    }

    pub(crate) fn tick(&mut self, id: NodeId) {
        if id == COORDINATOR {
            let Some(c) = self.coordinator.node.as_mut() else {
                return;
            };
            c.tick();
        } else {
            let Some(p) = self.participants.get_mut(&id).and_then(|s| s.node.as_mut()) else {
                return;
            };
            p.tick();
        }
        self.drain(id);
    }

    pub(crate) fn tick_all(&mut self, times: u32) {
        for _ in 0..times {
            for id in self.ids() {
                self.tick(id);
            }
        }
    }

    /// Cuts every link between a node of `a` and a node of `b` (messages in flight across the
    /// cut are lost when delivered).
    pub(crate) fn partition(&mut self, a: &[NodeId], b: &[NodeId]) {
        for &x in a {
            for &y in b {
                self.cut.insert((x, y));
                self.cut.insert((y, x));
            }
        }
    }

    pub(crate) fn heal(&mut self) {
        self.cut.clear();
    }

    /// Delivers one message in flight (the oldest, or a random one when reordering); false if
    /// none was in flight.
    pub(crate) fn deliver_one(&mut self) -> bool {
        if self.in_flight.is_empty() {
            return false;
        }
        let i = if self.reorder {
            self.rng.below(self.in_flight.len() as u64) as usize
        } else {
            0
        };
        let message = self.in_flight.remove(i);
        if self.rng.below(1000) < self.duplicate_per_mille {
            self.in_flight.push(message.clone());
        }
        self.deliver(message);
        true
    }

    /// Delivers `message` now, to a node that is up and not cut off from its sender.
    pub(crate) fn deliver(&mut self, message: P::Message) {
        let to = message.to();
        if self.cut.contains(&(message.from(), to)) {
            return;
        }
        if to == COORDINATOR {
            let Some(c) = self.coordinator.node.as_mut() else {
                return;
            };
            c.step(message);
        } else {
            let Some(p) = self.participants.get_mut(&to).and_then(|s| s.node.as_mut()) else {
                return;
            };
            p.step(message);
        }
        self.drain(to);
    }

    /// Delivers the messages in flight that match, in order, leaving the others.
    pub(crate) fn deliver_where(&mut self, f: impl Fn(&P::Message) -> bool) {
        let (now, later): (Vec<P::Message>, Vec<P::Message>) =
            self.in_flight.drain(..).partition(|m| f(m));
        self.in_flight = later;
        for m in now {
            self.deliver(m);
        }
    }

    /// One event of a random schedule, drawn from `rng`: a node of `ids`, and a roll below
    /// 1000 — below 550 a message delivered, below 830 a tick of the node, below 870 a random
    /// transfer or read begun (if the coordinator is up). A higher roll is left to the caller
    /// (its crashes, restarts, cuts), and returned with the node.
    pub(crate) fn random_event(&mut self, rng: &mut Rng, ids: &[NodeId]) -> Option<(NodeId, u64)> {
        let id = ids[rng.below(ids.len() as u64) as usize];
        match rng.below(1000) {
            0..550 => {
                self.deliver_one();
            }
            550..830 => self.tick(id),
            830..870 => {
                if self.is_up(COORDINATOR) {
                    let op = self.random_op(rng);
                    self.begin(op);
                }
            }
            roll => return Some((id, roll)),
        }
        None
    }

    /// A read of every balance (one in five), or a transfer of up to 59 between two accounts.
    fn random_op(&self, rng: &mut Rng) -> Op {
        let participants = self.participants.len() as u64;
        let from = accounts(1 + rng.below(participants))[rng.below(2) as usize];
        let to = accounts(1 + rng.below(participants))[rng.below(2) as usize];
        if rng.below(5) == 0 {
            Op::ReadAll
        } else {
            Op::Transfer {
                from,
                to,
                amount: rng.below(60) as i64,
            }
        }
    }

    /// Ends every fault: no cut, no loss, every node up.
    pub(crate) fn recover(&mut self) {
        self.heal();
        self.loss_per_mille = 0;
        for id in self.ids() {
            if !self.is_up(id) {
                self.restart(id);
            }
        }
    }

    /// Delivers until nothing is in flight.
    pub(crate) fn settle(&mut self) {
        let mut budget = 100_000;
        while self.deliver_one() {
            budget -= 1;
            assert!(budget > 0, "messages never stop");
        }
    }

    /// Ticks everyone and delivers everything, `rounds` times: time passes.
    pub(crate) fn run(&mut self, rounds: u32) {
        for _ in 0..rounds {
            self.tick_all(1);
            self.settle();
        }
    }

    pub(crate) fn crash(&mut self, id: NodeId) {
        self.stats.crashes += 1;
        if id == COORDINATOR {
            self.coordinator.node = None;
        } else {
            self.participants.get_mut(&id).expect("a participant").node = None;
        }
    }

    /// Starts a node (again) from its disk.
    pub(crate) fn restart(&mut self, id: NodeId) {
        if id == COORDINATOR {
            let c = P::coordinator(self.coordinator_config.clone(), &self.coordinator.disk);
            self.stats.resumes += u32::from(P::resumes(&c));
            self.coordinator.node = Some(c);
        } else {
            let side = self.participants.get_mut(&id).expect("a participant");
            let config = self.participant_configs[&id].clone();
            let p = P::participant(config, &side.disk);
            self.stats.in_doubt_restarts += u32::from(P::in_doubt(&p));
            side.node = Some(p);
        }
        self.drain(id);
    }

    /// Plays the shell for `id`'s `Ready`, then checks the bank.
    fn drain(&mut self, id: NodeId) {
        let ready = if id == COORDINATOR {
            let ready = self.coordinator.node.as_mut().expect("up").ready();
            self.coordinator.disk.extend(ready.log);
            (ready.messages, ready.outcomes)
        } else {
            let side = self.participants.get_mut(&id).expect("a participant");
            let ready = side.node.as_mut().expect("up").ready();
            assert!(ready.outcomes.is_empty(), "participants answer no clients");
            side.disk.extend(ready.log);
            (ready.messages, ready.outcomes)
        };
        let (messages, outcomes) = ready;
        P::check(self, id, &messages, &outcomes);
        self.outcomes.extend(outcomes);
        for m in messages {
            if self.rng.below(1000) >= self.loss_per_mille {
                self.in_flight.push(m);
            }
        }
    }

    /// Drops the messages in flight that match (lost); says how many.
    pub(crate) fn drop_messages(&mut self, matching: impl Fn(&P::Message) -> bool) -> usize {
        let before = self.in_flight.len();
        self.in_flight.retain(|m| !matching(m));
        before - self.in_flight.len()
    }

    /// Messages in flight that match, for scripted tests.
    pub(crate) fn in_flight_matching(&self, f: impl Fn(&P::Message) -> bool) -> usize {
        self.in_flight.iter().filter(|m| f(m)).count()
    }

    /// The outcome reported for `txn`: `Some(true)` committed, `Some(false)` aborted.
    pub(crate) fn outcome(&self, txn: TxnId) -> Option<bool> {
        self.outcomes
            .iter()
            .find(|o| o.txn == txn)
            .map(|o| o.committed.is_some())
    }

    /// Sum of the committed balances of every participant (all must be up).
    pub(crate) fn total(&self) -> i64 {
        self.participants
            .keys()
            .map(|&p| self.participant(p).balances().values().sum::<i64>())
            .sum()
    }

    /// The decision on `txn` at participant `p`'s disk.
    pub(crate) fn decided(&self, p: NodeId, txn: TxnId) -> Option<bool> {
        self.participants[&p]
            .disk
            .iter()
            .rev()
            .find_map(|r| match P::Participant::entry(r) {
                (t, Entry::Committed) if t == txn => Some(true),
                (t, Entry::Aborted) if t == txn => Some(false),
                _ => None,
            })
    }
}
