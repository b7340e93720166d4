//! The coordinator: begins transactions, collects votes, logs a commit before phase two, and
//! resends it until every participant acknowledged.
//!
//! Presumed abort: only commits are logged. A transaction the coordinator has no live record
//! of — it never decided, it aborted, or it crashed before logging the commit — is aborted,
//! and so is the answer to an inquiry about it. Aborts are sent once, unacknowledged: a
//! participant that misses one inquires and is told again. A commit, once logged, is sent
//! until every participant acknowledged it (then `Ended` is logged and it is forgotten); a
//! restarted coordinator resends the commits it logged without an `Ended`.

use std::collections::{BTreeMap, BTreeSet};
use std::{fmt, mem};

use super::NodeId;
use super::config::CoordinatorConfig;
use super::log::CoordinatorRecord;
use super::message::{Account, Body, Message, Op, Reads, TxnId};
use super::ready::{Outcome, Ready};
use crate::txn_core::{Shards, TxnIds, YesVotes};

/// A definite refusal of [`Coordinator::begin`]: the transaction names an account no
/// participant owns. Nothing was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnknownAccount(pub Account);

impl fmt::Display for UnknownAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no participant owns account {}", self.0)
    }
}

impl std::error::Error for UnknownAccount {}

#[derive(Debug)]
enum Phase {
    /// Phase one: the yes votes so far, with what each participant read.
    Voting { yes: YesVotes },
    /// Phase two of a logged commit: who acknowledged.
    Committing { acked: BTreeSet<NodeId> },
}

#[derive(Debug)]
struct Active {
    participants: BTreeSet<NodeId>,
    phase: Phase,
    /// Ticks in the current phase.
    elapsed: u32,
}

/// The coordinator. Drive it like the other cores: [`Coordinator::begin`],
/// [`Coordinator::tick`], [`Coordinator::step`], then [`Coordinator::ready`].
#[derive(Debug)]
pub struct Coordinator {
    config: CoordinatorConfig,
    shards: Shards,
    ids: TxnIds,
    active: BTreeMap<TxnId, Active>,
    /// What the next [`ready`](Self::ready) hands the shell.
    pending: Ready<CoordinatorRecord, Message>,
}

impl Coordinator {
    /// Starts from the records persisted so far (none for a new coordinator): logs a new
    /// incarnation, and resends every commit not known to be acknowledged by all.
    pub fn new(config: CoordinatorConfig, restored: &[CoordinatorRecord]) -> Coordinator {
        let mut incarnation = 0;
        let mut unfinished = BTreeMap::new();
        for record in restored {
            match record {
                CoordinatorRecord::Started { incarnation: i } => incarnation = incarnation.max(*i),
                CoordinatorRecord::Commit { txn, participants } => {
                    unfinished.insert(*txn, participants.iter().copied().collect());
                }
                CoordinatorRecord::Ended { txn } => {
                    unfinished.remove(txn);
                }
            }
        }
        let ids = TxnIds::after(incarnation);
        let mut c = Coordinator {
            shards: Shards::new(&config.shards),
            config,
            pending: Ready {
                log: vec![CoordinatorRecord::Started {
                    incarnation: ids.incarnation(),
                }],
                ..Ready::default()
            },
            ids,
            active: BTreeMap::new(),
        };
        for (txn, participants) in unfinished {
            c.active.insert(
                txn,
                Active {
                    participants,
                    phase: Phase::Committing {
                        acked: BTreeSet::new(),
                    },
                    elapsed: 0,
                },
            );
            c.send_commit(txn);
        }
        c
    }

    /// Whether a logged commit of `txn` still waits for acknowledgements.
    pub fn is_committing(&self, txn: TxnId) -> bool {
        matches!(
            self.active.get(&txn),
            Some(Active {
                phase: Phase::Committing { .. },
                ..
            })
        )
    }

    /// Transactions begun and not yet finished here.
    pub fn active(&self) -> usize {
        self.active.len()
    }

    /// Begins a transaction: prepares go to every participant it touches (every participant,
    /// for a read). Its outcome comes in a later [`Ready`].
    pub fn begin(&mut self, op: Op) -> Result<TxnId, UnknownAccount> {
        let participants = self.shards.route(&op)?;
        let txn = self.ids.next();
        for &p in &participants {
            self.send(
                p,
                Body::Prepare {
                    txn,
                    op: op.clone(),
                },
            );
        }
        self.active.insert(
            txn,
            Active {
                participants,
                phase: Phase::Voting {
                    yes: YesVotes::default(),
                },
                elapsed: 0,
            },
        );
        Ok(txn)
    }

    /// One tick: votes too long missing abort the transaction; unacknowledged commits go again.
    pub fn tick(&mut self) {
        let mut timed_out = Vec::new();
        let mut resend = Vec::new();
        for (txn, a) in &mut self.active {
            a.elapsed += 1;
            match a.phase {
                Phase::Voting { .. } if a.elapsed >= self.config.vote_timeout_ticks => {
                    timed_out.push(*txn)
                }
                Phase::Committing { .. } if a.elapsed % self.config.retry_ticks.max(1) == 0 => {
                    resend.push(*txn)
                }
                _ => {}
            }
        }
        for txn in timed_out {
            self.abort(txn);
        }
        for txn in resend {
            self.send_commit(txn);
        }
    }

    /// One message. Messages from anyone but a participant, or not addressed here, are ignored.
    pub fn step(&mut self, message: Message) {
        let from = message.from;
        if message.to != self.config.id || !self.config.shards.contains_key(&from) {
            return;
        }
        match message.body {
            Body::Vote { txn, yes, reads } => self.on_vote(from, txn, yes, reads),
            Body::Ack { txn } => self.on_ack(from, txn),
            Body::Inquire { txn } => self.on_inquire(from, txn),
            Body::Prepare { .. } | Body::Decision { .. } => {}
        }
    }

    fn on_vote(&mut self, from: NodeId, txn: TxnId, yes: bool, reads: Reads) {
        let Some(a) = self.active.get_mut(&txn) else {
            // Presumed abort: a yes for a transaction this coordinator has no record of (it
            // aborted it, or forgot it in a crash) is answered at once, freeing the locks.
            if yes {
                self.send(from, Body::Decision { txn, commit: false });
            }
            return;
        };
        if !a.participants.contains(&from) {
            return;
        }
        let Phase::Voting { yes: votes } = &mut a.phase else {
            // A duplicate vote during phase two: the commit reaches it by retries.
            return;
        };
        if !yes {
            self.abort(txn);
            return;
        }
        let Some(reads) = votes.add(from, reads, &a.participants) else {
            return;
        };
        // Every participant voted yes: the decision is logged before anyone hears it.
        a.phase = Phase::Committing {
            acked: BTreeSet::new(),
        };
        a.elapsed = 0;
        let participants = a.participants.iter().copied().collect();
        self.pending
            .log
            .push(CoordinatorRecord::Commit { txn, participants });
        self.pending.outcomes.push(Outcome {
            txn,
            committed: Some(reads),
        });
        self.send_commit(txn);
    }

    fn on_ack(&mut self, from: NodeId, txn: TxnId) {
        let Some(Active {
            participants,
            phase: Phase::Committing { acked },
            ..
        }) = self.active.get_mut(&txn)
        else {
            return;
        };
        if participants.contains(&from) {
            acked.insert(from);
        }
        if acked.len() == participants.len() {
            self.active.remove(&txn);
            self.pending.log.push(CoordinatorRecord::Ended { txn });
        }
    }

    fn on_inquire(&mut self, from: NodeId, txn: TxnId) {
        match self.active.get(&txn).map(|a| &a.phase) {
            Some(Phase::Committing { .. }) => self.send(from, Body::Decision { txn, commit: true }),
            // Still voting: the decision will come; guessing now could contradict it.
            Some(Phase::Voting { .. }) => {}
            // Presumed abort: no live record, no commit.
            None => self.send(from, Body::Decision { txn, commit: false }),
        }
    }

    /// Aborts a transaction in phase one: nothing is logged, every participant is told once.
    fn abort(&mut self, txn: TxnId) {
        let Some(a) = self.active.remove(&txn) else {
            return;
        };
        for p in a.participants {
            self.send(p, Body::Decision { txn, commit: false });
        }
        self.pending.outcomes.push(Outcome {
            txn,
            committed: None,
        });
    }

    fn send_commit(&mut self, txn: TxnId) {
        let Some(Active {
            participants,
            phase: Phase::Committing { acked },
            ..
        }) = self.active.get(&txn)
        else {
            return;
        };
        let to: Vec<NodeId> = participants.difference(acked).copied().collect();
        for p in to {
            self.send(p, Body::Decision { txn, commit: true });
        }
    }

    fn send(&mut self, to: NodeId, body: Body) {
        self.pending.send(self.config.id, to, body);
    }

    /// Everything to persist, send and answer since the last call.
    pub fn ready(&mut self) -> Ready<CoordinatorRecord, Message> {
        mem::take(&mut self.pending)
    }
}
