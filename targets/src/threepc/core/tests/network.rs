//! An in-memory bank for tests: a coordinator (node 0), participants 1..=n each owning two
//! accounts of 100, a network that can lose, duplicate and reorder messages (from a seed) and
//! be cut between chosen sets of nodes, and a disk (an append-only log) per node.
//!
//! After every event — a begin, a tick, a delivery, a restart — the node's `Ready` is handled
//! as a shell would (log appended, then messages queued, outcomes recorded) and, unless
//! `split_allowed`, atomicity is checked: no transaction is committed on one participant's disk
//! and aborted on another's, and no disk holds two decisions for one transaction. A crash loses
//! exactly a node's volatile state.

use std::collections::{BTreeMap, BTreeSet};

use crate::raft::rng::Rng;
use crate::threepc::core::{
    Account, Body, Config, Coordinator, CoordinatorConfig, CoordinatorRecord, Message, NodeId, Op,
    Outcome, Participant, ParticipantConfig, ParticipantRecord, TxnId,
};

pub(super) const COORDINATOR: NodeId = 0;
pub(super) const BALANCE: i64 = 100;

/// The tick counts of every test: votes time out before participants start terminating,
/// and an attempt spans several retries, so that only a lasting cut looks like a crash.
pub(super) const TICKS: Config = Config {
    vote_timeout_ticks: 8,
    ack_timeout_ticks: 9,
    retry_ticks: 2,
    timeout_ticks: 12,
    termination_ticks: 8,
};

/// The accounts participant `p` owns.
pub(super) fn accounts(p: NodeId) -> [Account; 2] {
    [p as Account * 10, p as Account * 10 + 1]
}

pub(super) struct Side<S, R> {
    pub(super) node: Option<S>,
    pub(super) disk: Vec<R>,
}

pub(super) struct Bank {
    coordinator_config: CoordinatorConfig,
    pub(super) coordinator: Side<Coordinator, CoordinatorRecord>,
    participant_configs: BTreeMap<NodeId, ParticipantConfig>,
    pub(super) participants: BTreeMap<NodeId, Side<Participant, ParticipantRecord>>,
    pub(super) in_flight: Vec<Message>,
    pub(super) outcomes: Vec<Outcome>,
    rng: Rng,
    pub(super) loss_per_mille: u64,
    pub(super) duplicate_per_mille: u64,
    pub(super) reorder: bool,
    /// Pairs of nodes that cannot reach each other (both directions stored).
    cut: BTreeSet<(NodeId, NodeId)>,
    /// Skip the atomicity check: for the partition test, which shows the split.
    pub(super) split_allowed: bool,
    pub(super) stats: Stats,
}

/// What happened in a run, so that randomized tests can show they exercised what they claim.
#[derive(Debug, Default)]
pub(super) struct Stats {
    pub(super) crashes: u32,
    /// Participants restarted with a transaction undecided.
    pub(super) in_doubt_restarts: u32,
    /// Coordinator restarts with a pre-committed or committed transaction to resume.
    pub(super) resumes: u32,
    /// Decisions a backup coordinator (a participant) made and sent to its peers.
    pub(super) backup_decisions: u32,
}

impl Bank {
    pub(super) fn new(n: u64, seed: u64) -> Bank {
        let ids: Vec<NodeId> = (1..=n).collect();
        let shards: BTreeMap<NodeId, Vec<Account>> =
            ids.iter().map(|&p| (p, accounts(p).to_vec())).collect();
        let coordinator_config = CoordinatorConfig {
            id: COORDINATOR,
            shards: shards.clone(),
            ticks: TICKS,
        };
        let participant_configs: BTreeMap<NodeId, ParticipantConfig> = ids
            .iter()
            .map(|&p| {
                let config = ParticipantConfig {
                    id: p,
                    coordinator: COORDINATOR,
                    participants: shards.clone(),
                    accounts: accounts(p).iter().map(|&a| (a, BALANCE)).collect(),
                    allow_negative: false,
                    ticks: TICKS,
                };
                (p, config)
            })
            .collect();
        let mut bank = Bank {
            coordinator: Side {
                node: None,
                disk: Vec::new(),
            },
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
            coordinator_config,
            participant_configs,
            in_flight: Vec::new(),
            outcomes: Vec::new(),
            rng: Rng::new(seed),
            loss_per_mille: 0,
            duplicate_per_mille: 0,
            reorder: false,
            cut: BTreeSet::new(),
            split_allowed: false,
            stats: Stats::default(),
        };
        bank.restart(COORDINATOR);
        for p in ids {
            bank.restart(p);
        }
        bank
    }

    pub(super) fn ids(&self) -> Vec<NodeId> {
        std::iter::once(COORDINATOR)
            .chain(self.participants.keys().copied())
            .collect()
    }

    pub(super) fn total_initial(&self) -> i64 {
        self.participants.len() as i64 * 2 * BALANCE
    }

    pub(super) fn coordinator(&self) -> &Coordinator {
        self.coordinator
            .node
            .as_ref()
            .expect("the coordinator is up")
    }

    pub(super) fn participant(&self, p: NodeId) -> &Participant {
        self.participants[&p]
            .node
            .as_ref()
            .expect("the participant is up")
    }

    pub(super) fn is_up(&self, id: NodeId) -> bool {
        if id == COORDINATOR {
            self.coordinator.node.is_some()
        } else {
            self.participants[&id].node.is_some()
        }
    }

    /// Begins a transaction at the coordinator.
    pub(super) fn begin(&mut self, op: Op) -> TxnId {
        let c = self
            .coordinator
            .node
            .as_mut()
            .expect("the coordinator is up");
        let txn = c.begin(op).expect("known accounts");
        self.drain(COORDINATOR);
        txn
    }

    pub(super) fn transfer(&mut self, from: Account, to: Account, amount: i64) -> TxnId {
        self.begin(Op::Transfer { from, to, amount })
    }

    pub(super) fn tick(&mut self, id: NodeId) {
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

    pub(super) fn tick_all(&mut self, times: u32) {
        for _ in 0..times {
            for id in self.ids() {
                self.tick(id);
            }
        }
    }

    /// Cuts every link between a node of `a` and a node of `b` (messages in flight across the
    /// cut are lost when delivered).
    pub(super) fn partition(&mut self, a: &[NodeId], b: &[NodeId]) {
        for &x in a {
            for &y in b {
                self.cut.insert((x, y));
                self.cut.insert((y, x));
            }
        }
    }

    pub(super) fn heal(&mut self) {
        self.cut.clear();
    }

    /// Delivers one message in flight (the oldest, or a random one when reordering); false if
    /// none was in flight.
    pub(super) fn deliver_one(&mut self) -> bool {
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
    pub(super) fn deliver(&mut self, message: Message) {
        let to = message.to;
        if self.cut.contains(&(message.from, to)) {
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

    /// Delivers until nothing is in flight.
    pub(super) fn settle(&mut self) {
        let mut budget = 100_000;
        while self.deliver_one() {
            budget -= 1;
            assert!(budget > 0, "messages never stop");
        }
    }

    /// Ticks everyone and delivers everything, `rounds` times: time passes.
    pub(super) fn run(&mut self, rounds: u32) {
        for _ in 0..rounds {
            self.tick_all(1);
            self.settle();
        }
    }

    pub(super) fn crash(&mut self, id: NodeId) {
        self.stats.crashes += 1;
        if id == COORDINATOR {
            self.coordinator.node = None;
        } else {
            self.participants.get_mut(&id).expect("a participant").node = None;
        }
    }

    /// Starts a node (again) from its disk.
    pub(super) fn restart(&mut self, id: NodeId) {
        if id == COORDINATOR {
            let c = Coordinator::new(self.coordinator_config.clone(), &self.coordinator.disk);
            self.stats.resumes += u32::from(c.active() > 0);
            self.coordinator.node = Some(c);
        } else {
            let side = self.participants.get_mut(&id).expect("a participant");
            let config = self.participant_configs[&id].clone();
            let p = Participant::new(config, &side.disk);
            self.stats.in_doubt_restarts += u32::from(p.in_doubt().next().is_some());
            side.node = Some(p);
        }
        self.drain(id);
    }

    /// Plays the shell for `id`'s `Ready`, then checks atomicity.
    fn drain(&mut self, id: NodeId) {
        let messages = if id == COORDINATOR {
            let ready = self.coordinator.node.as_mut().expect("up").ready();
            self.coordinator.disk.extend(ready.log);
            self.outcomes.extend(ready.outcomes);
            ready.messages
        } else {
            let side = self.participants.get_mut(&id).expect("a participant");
            let ready = side.node.as_mut().expect("up").ready();
            assert!(ready.outcomes.is_empty(), "participants answer no clients");
            let decisions = ready.messages.iter().filter(|m| {
                m.to != COORDINATOR && matches!(m.body, Body::DoCommit { .. } | Body::Abort { .. })
            });
            self.stats.backup_decisions += u32::from(decisions.count() > 0);
            side.disk.extend(ready.log);
            ready.messages
        };
        if !self.split_allowed {
            if let Some(violation) = self.violation() {
                panic!("violated: {violation}");
            }
        }
        for m in messages {
            if self.rng.below(1000) >= self.loss_per_mille {
                self.in_flight.push(m);
            }
        }
    }

    /// The first atomicity or durability violation on the disks, if any.
    pub(super) fn violation(&self) -> Option<String> {
        let mut decided: BTreeMap<TxnId, (NodeId, bool)> = BTreeMap::new();
        for (&p, side) in &self.participants {
            let mut mine: BTreeMap<TxnId, bool> = BTreeMap::new();
            for r in &side.disk {
                let (txn, commit) = match r {
                    ParticipantRecord::Committed { txn } => (*txn, true),
                    ParticipantRecord::Aborted { txn } => (*txn, false),
                    _ => continue,
                };
                if mine.insert(txn, commit).is_some_and(|c| c != commit) {
                    return Some(format!("durability: {p} decided {txn} both ways"));
                }
                match decided.get(&txn) {
                    Some(&(q, c)) if c != commit => {
                        return Some(format!(
                            "atomicity: {txn} {} at {q}, {} at {p}",
                            if c { "committed" } else { "aborted" },
                            if commit { "committed" } else { "aborted" },
                        ));
                    }
                    _ => {
                        decided.insert(txn, (p, commit));
                    }
                }
            }
        }
        None
    }

    /// Drops the messages in flight that match (lost); says how many.
    pub(super) fn drop_messages(&mut self, matching: impl Fn(&Message) -> bool) -> usize {
        let before = self.in_flight.len();
        self.in_flight.retain(|m| !matching(m));
        before - self.in_flight.len()
    }

    /// Delivers the messages in flight that match, in order, leaving the others.
    pub(super) fn deliver_where(&mut self, f: impl Fn(&Message) -> bool) {
        let (now, later): (Vec<Message>, Vec<Message>) =
            self.in_flight.drain(..).partition(|m| f(m));
        self.in_flight = later;
        for m in now {
            self.deliver(m);
        }
    }

    /// The outcome reported for `txn`: `Some(true)` committed, `Some(false)` aborted.
    pub(super) fn outcome(&self, txn: TxnId) -> Option<bool> {
        self.outcomes
            .iter()
            .find(|o| o.txn == txn)
            .map(|o| o.committed.is_some())
    }

    /// Sum of the committed balances of every participant (all must be up).
    pub(super) fn total(&self) -> i64 {
        self.participants
            .keys()
            .map(|&p| self.participant(p).balances().values().sum::<i64>())
            .sum()
    }

    /// The decision on `txn` at participant `p`'s disk.
    pub(super) fn decided(&self, p: NodeId, txn: TxnId) -> Option<bool> {
        self.participants[&p]
            .disk
            .iter()
            .rev()
            .find_map(|r| match r {
                ParticipantRecord::Committed { txn: t } if *t == txn => Some(true),
                ParticipantRecord::Aborted { txn: t } if *t == txn => Some(false),
                _ => None,
            })
    }

    /// Messages in flight with this body shape, for scripted tests.
    pub(super) fn in_flight_matching(&self, f: impl Fn(&Body) -> bool) -> usize {
        self.in_flight.iter().filter(|m| f(&m.body)).count()
    }
}
