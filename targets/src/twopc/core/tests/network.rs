//! An in-memory bank for tests: a coordinator (node 0), participants 1..=n each owning two
//! accounts of 100, a network that can lose, duplicate and reorder messages (from a seed), and
//! a disk (an append-only log) per node.
//!
//! After every event — a begin, a tick, a delivery, a restart — the node's `Ready` is handled
//! as a shell would (log appended, then messages queued, outcomes recorded) and the bank's
//! properties are checked ([`Invariants`]). A crash loses exactly a node's volatile state.

use std::collections::BTreeMap;

use super::invariants::Invariants;
use crate::raft::rng::Rng;
use crate::twopc::core::{
    Account, Body, Bug, Coordinator, CoordinatorConfig, CoordinatorRecord, Message, NodeId, Op,
    Outcome, Participant, ParticipantConfig, ParticipantRecord, TxnId,
};

pub(super) const COORDINATOR: NodeId = 0;
pub(super) const BALANCE: i64 = 100;

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
    pub(super) invariants: Invariants,
    /// Panic on the first violated property (the default), or only record it — for tests that
    /// show the bug switch is caught.
    pub(super) strict: bool,
    pub(super) stats: Stats,
}

/// What happened in a run, so that randomized tests can show they exercised what they claim.
#[derive(Debug, Default)]
pub(super) struct Stats {
    pub(super) crashes: u32,
    /// Participants restarted with a transaction in doubt.
    pub(super) in_doubt_restarts: u32,
    /// Coordinator restarts with a logged commit still unacknowledged.
    pub(super) commit_resumes: u32,
}

impl Bank {
    pub(super) fn new(n: u64, seed: u64, bug: Bug) -> Bank {
        let ids: Vec<NodeId> = (1..=n).collect();
        let coordinator_config = CoordinatorConfig {
            id: COORDINATOR,
            shards: ids.iter().map(|&p| (p, accounts(p).to_vec())).collect(),
            vote_timeout_ticks: 10,
            retry_ticks: 3,
        };
        let participant_configs: BTreeMap<NodeId, ParticipantConfig> = ids
            .iter()
            .map(|&p| {
                let config = ParticipantConfig {
                    id: p,
                    coordinator: COORDINATOR,
                    accounts: accounts(p).iter().map(|&a| (a, BALANCE)).collect(),
                    inquire_ticks: 4,
                    heuristic_ticks: 6,
                    allow_negative: false,
                    bug,
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
            invariants: Invariants::new(n as i64 * 2 * BALANCE),
            strict: true,
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

    /// Delivers `message` now, to a node that is up.
    pub(super) fn deliver(&mut self, message: Message) {
        let to = message.to;
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
        let mut budget = 10_000;
        while self.deliver_one() {
            budget -= 1;
            assert!(budget > 0, "messages never stop");
        }
    }

    /// Ticks everyone and delivers everything, `rounds` times: time passes on a quiet network.
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
            self.stats.commit_resumes += u32::from(c.active() > 0);
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

    /// Plays the shell for `id`'s `Ready`, then checks every property.
    fn drain(&mut self, id: NodeId) {
        let (messages, outcomes) = if id == COORDINATOR {
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
        let mut found = Vec::new();
        if id == COORDINATOR {
            found.extend(
                self.invariants
                    .check_sent(&self.coordinator.disk, &messages),
            );
            found.extend(
                self.invariants
                    .check_outcomes(&self.coordinator.disk, &outcomes),
            );
        }
        found.extend(
            self.invariants
                .check(&self.coordinator.disk, &self.participants),
        );
        for violation in found {
            assert!(!self.strict, "violated: {violation}");
            self.invariants.violations.push(violation);
        }
        self.outcomes.extend(outcomes);
        for m in messages {
            if self.rng.below(1000) >= self.loss_per_mille {
                self.in_flight.push(m);
            }
        }
    }

    /// Drops the messages in flight that match (lost); says how many.
    pub(super) fn drop_messages(&mut self, matching: impl Fn(&Message) -> bool) -> usize {
        let before = self.in_flight.len();
        self.in_flight.retain(|m| !matching(m));
        before - self.in_flight.len()
    }

    /// The outcome reported for `txn`: `Some(true)` committed, `Some(false)` aborted.
    pub(super) fn outcome(&self, txn: TxnId) -> Option<bool> {
        self.outcomes
            .iter()
            .find(|o| o.txn == txn)
            .map(|o| o.committed.is_some())
    }

    /// Sum of the committed balances the live participants hold (all must be up).
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
