//! The coordinator: collects votes, pre-commits, commits once every participant is known to
//! be pre-committed, and resends whatever is unacknowledged.
//!
//! Abort is presumed only until `PreCommit` is logged: before that no participant can be
//! pre-committed, so nobody can ever commit, and "no record" safely answers "aborted". After
//! it, participants may decide by the termination protocol while the coordinator is down or
//! cut off, so the coordinator decides only on evidence:
//!
//! * every participant acknowledged the `PreCommit` (or reported itself pre-committed or
//!   committed) → commit. Nobody can have aborted: an abort is first decided by someone
//!   uncertain, who then never acknowledges a `PreCommit`.
//! * a participant reports `Committed` or `Aborted` → that decision.
//!
//! **A missing `PreCommit` ack is never skipped.** Skeen lets the coordinator commit anyway,
//! presuming the silent participant crashed; with timeouts instead of a perfect failure
//! detector the silent one may be alive, uncertain, and about to abort by termination. So the
//! coordinator resends `PreCommit` for `ack_timeout_ticks`, then only asks the missing ones
//! for their state (`StateReq`) until the termination protocol has decided — it then reports
//! that decision. Blocking is not reintroduced: participants never wait for the coordinator.
//!
//! A restarted coordinator resumes what it logged: `PreCommit` without a decision is resumed
//! exactly as above (never presumed aborted); `Commit` without `Ended` resends `DoCommit`.
//! Transactions it had not pre-committed are aborted, unlogged: their participants time out
//! and abort by termination, or ask and are told.

use std::collections::{BTreeMap, BTreeSet};
use std::mem;

use super::config::CoordinatorConfig;
use super::log::CoordinatorRecord;
use super::message::{Body, Message, Round, TxnState};
use crate::twopc::core::Ready;
use crate::twopc::core::{NodeId, Op, Outcome, Reads, TxnId, UnknownAccount};
use crate::txn_core::{Shards, TxnIds, YesVotes};

#[derive(Debug)]
enum Phase {
    /// Phase one: the yes votes so far, with what each participant read.
    Voting { yes: YesVotes },
    /// Phase two (`PreCommit` logged): who is known to be pre-committed.
    PreCommitting { acked: BTreeSet<NodeId> },
    /// Phase three (`Commit` logged): who acknowledged the commit.
    Committing { acked: BTreeSet<NodeId> },
}

#[derive(Debug)]
struct Active {
    participants: BTreeSet<NodeId>,
    phase: Phase,
    /// Ticks in the current phase.
    elapsed: u32,
    /// Every participant's reads, once all voted yes — `None` for a transaction resumed after
    /// a restart, whose client is gone.
    reads: Option<Reads>,
}

/// The coordinator. Drive it like the 2PC one: [`Coordinator::begin`],
/// [`Coordinator::tick`], [`Coordinator::step`], then [`Coordinator::ready`].
#[derive(Debug)]
pub struct Coordinator {
    config: CoordinatorConfig,
    shards: Shards,
    ids: TxnIds,
    active: BTreeMap<TxnId, Active>,
    /// Decisions about transactions that were pre-committed (true: committed).
    decided: BTreeMap<TxnId, bool>,
    /// What the next [`ready`](Self::ready) hands the shell.
    pending: Ready<CoordinatorRecord, Message>,
}

/// The coordinator's round: the lowest, so that any backup's outranks it.
fn round0(id: NodeId) -> Round {
    Round { n: 0, by: id }
}

impl Coordinator {
    /// Starts from the records persisted so far (none for a new coordinator): logs a new
    /// incarnation and resumes every pre-committed or committed transaction not finished.
    pub fn new(config: CoordinatorConfig, restored: &[CoordinatorRecord]) -> Coordinator {
        let mut incarnation = 0;
        let mut unfinished: BTreeMap<TxnId, (BTreeSet<NodeId>, bool)> = BTreeMap::new();
        let mut decided = BTreeMap::new();
        for record in restored {
            match record {
                CoordinatorRecord::Started { incarnation: i } => incarnation = incarnation.max(*i),
                CoordinatorRecord::PreCommit { txn, participants } => {
                    unfinished.insert(*txn, (participants.iter().copied().collect(), false));
                }
                CoordinatorRecord::Commit { txn, participants } => {
                    unfinished.insert(*txn, (participants.iter().copied().collect(), true));
                    decided.insert(*txn, true);
                }
                CoordinatorRecord::Abort { txn } => {
                    unfinished.remove(txn);
                    decided.insert(*txn, false);
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
            decided,
        };
        for (txn, (participants, committed)) in unfinished {
            let phase = if committed {
                Phase::Committing {
                    acked: BTreeSet::new(),
                }
            } else {
                Phase::PreCommitting {
                    acked: BTreeSet::new(),
                }
            };
            c.active.insert(
                txn,
                Active {
                    participants,
                    phase,
                    elapsed: 0,
                    reads: None,
                },
            );
            c.resend(txn);
        }
        c
    }

    /// Transactions begun (or resumed) and not yet finished here.
    pub fn active(&self) -> usize {
        self.active.len()
    }

    /// Begins a transaction: `CanCommit` goes to every participant it touches (every
    /// participant, for a read). Its outcome comes in a later [`Ready`].
    pub fn begin(&mut self, op: Op) -> Result<TxnId, UnknownAccount> {
        let participants = self.shards.route(&op)?;
        let txn = self.ids.next();
        for &p in &participants {
            let op = op.clone();
            self.send(p, Body::CanCommit { txn, op });
        }
        self.active.insert(
            txn,
            Active {
                participants,
                phase: Phase::Voting {
                    yes: YesVotes::default(),
                },
                elapsed: 0,
                reads: None,
            },
        );
        Ok(txn)
    }

    /// One tick: missing votes abort; unacknowledged `PreCommit`s and `DoCommit`s go again.
    pub fn tick(&mut self) {
        let ticks = self.config.ticks;
        let mut timed_out = Vec::new();
        let mut resend = Vec::new();
        for (txn, a) in &mut self.active {
            a.elapsed += 1;
            match a.phase {
                Phase::Voting { .. } if a.elapsed >= ticks.vote_timeout_ticks => {
                    timed_out.push(*txn)
                }
                Phase::Voting { .. } => {}
                _ if a.elapsed % ticks.retry() == 0 => resend.push(*txn),
                _ => {}
            }
        }
        for txn in timed_out {
            self.abort_voting(txn);
        }
        for txn in resend {
            self.resend(txn);
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
            Body::PreCommitAck { txn, .. } => self.on_state(from, txn, TxnState::PreCommitted),
            Body::Ack { txn } => self.on_state(from, txn, TxnState::Committed),
            Body::StateReply { txn, state, .. } => self.on_state(from, txn, state),
            Body::StateReq { txn, round } => self.on_state_req(from, txn, round),
            Body::CanCommit { .. } | Body::PreCommit { .. } | Body::DoCommit { .. } => {}
            Body::Abort { .. } => {}
        }
    }

    fn on_vote(&mut self, from: NodeId, txn: TxnId, yes: bool, reads: Reads) {
        let Some(a) = self.active.get_mut(&txn) else {
            // A yes for a transaction aborted (or never pre-committed before a crash) is
            // answered at once, freeing its locks.
            if yes && self.known_state(txn) == Some(TxnState::Aborted) {
                self.send(from, Body::Abort { txn });
            }
            return;
        };
        if !a.participants.contains(&from) {
            return;
        }
        let Phase::Voting { yes: votes } = &mut a.phase else {
            // A duplicate vote: phase two reaches it by retries.
            return;
        };
        if !yes {
            self.abort_voting(txn);
            return;
        }
        let Some(reads) = votes.add(from, reads, &a.participants) else {
            return;
        };
        // Every participant voted yes: logged before anyone is pre-committed.
        a.reads = Some(reads);
        a.phase = Phase::PreCommitting {
            acked: BTreeSet::new(),
        };
        a.elapsed = 0;
        let participants = a.participants.iter().copied().collect();
        self.pending
            .log
            .push(CoordinatorRecord::PreCommit { txn, participants });
        self.resend(txn);
    }

    /// What `from` reported of `txn` — an acknowledgement or a state reply alike.
    fn on_state(&mut self, from: NodeId, txn: TxnId, state: TxnState) {
        let Some(a) = self.active.get_mut(&txn) else {
            return;
        };
        if !a.participants.contains(&from) {
            return;
        }
        match (&mut a.phase, state) {
            (Phase::PreCommitting { acked }, TxnState::PreCommitted | TxnState::Committed) => {
                acked.insert(from);
                let all = acked.len() == a.participants.len();
                if state == TxnState::Committed || all {
                    self.commit(txn);
                    if let Some(Active {
                        phase: Phase::Committing { acked },
                        ..
                    }) = self.active.get_mut(&txn)
                    {
                        if state == TxnState::Committed {
                            acked.insert(from);
                        }
                    }
                    self.finish_if_acked(txn);
                }
            }
            (Phase::PreCommitting { .. }, TxnState::Aborted) => self.abort_learned(txn),
            (Phase::Committing { acked }, TxnState::Committed) => {
                acked.insert(from);
                self.finish_if_acked(txn);
            }
            // Uncertain, or a state that contradicts a logged commit (impossible unless a
            // message is forged): nothing to learn.
            _ => {}
        }
    }

    /// A participant's termination protocol asks what the coordinator knows.
    fn on_state_req(&mut self, from: NodeId, txn: TxnId, round: Round) {
        if matches!(
            self.active.get(&txn).map(|a| &a.phase),
            Some(Phase::Voting { .. })
        ) {
            // Nobody is pre-committed yet: aborting now is safe, and unblocks the asker.
            self.abort_voting(txn);
        }
        if let Some(state) = self.known_state(txn) {
            self.send(from, Body::StateReply { txn, round, state });
        }
    }

    /// What this coordinator can assert about `txn`: `None` when it is pre-committed and
    /// undecided (termination may be deciding it), or not one of its transactions.
    fn known_state(&self, txn: TxnId) -> Option<TxnState> {
        match self.active.get(&txn).map(|a| &a.phase) {
            Some(Phase::Committing { .. }) => return Some(TxnState::Committed),
            Some(_) => return None,
            None => {}
        }
        match self.decided.get(&txn) {
            Some(true) => Some(TxnState::Committed),
            Some(false) => Some(TxnState::Aborted),
            // Never pre-committed (else it would be active or decided): nobody can commit it.
            None if self.ids.issued(txn) => Some(TxnState::Aborted),
            None => None,
        }
    }

    /// Logs the commit and reports it; `DoCommit` goes to everyone not known to have it.
    fn commit(&mut self, txn: TxnId) {
        let Some(a) = self.active.get_mut(&txn) else {
            return;
        };
        a.phase = Phase::Committing {
            acked: BTreeSet::new(),
        };
        a.elapsed = 0;
        let participants = a.participants.iter().copied().collect();
        if let Some(reads) = a.reads.clone() {
            self.pending.outcomes.push(Outcome {
                txn,
                committed: Some(reads),
            });
        }
        self.pending
            .log
            .push(CoordinatorRecord::Commit { txn, participants });
        self.decided.insert(txn, true);
        self.resend(txn);
    }

    fn finish_if_acked(&mut self, txn: TxnId) {
        if let Some(Active {
            participants,
            phase: Phase::Committing { acked },
            ..
        }) = self.active.get(&txn)
        {
            if acked.len() == participants.len() {
                self.active.remove(&txn);
                self.pending.log.push(CoordinatorRecord::Ended { txn });
            }
        }
    }

    /// Aborts a transaction in phase one: nothing is logged, every participant is told once
    /// (one that misses it times out and is told again, or aborts by termination).
    fn abort_voting(&mut self, txn: TxnId) {
        let Some(a) = self.active.remove(&txn) else {
            return;
        };
        for p in a.participants {
            self.send(p, Body::Abort { txn });
        }
        self.pending.outcomes.push(Outcome {
            txn,
            committed: None,
        });
    }

    /// A pre-committed transaction learned aborted by termination: logged, then passed on.
    fn abort_learned(&mut self, txn: TxnId) {
        let Some(a) = self.active.remove(&txn) else {
            return;
        };
        self.pending.log.push(CoordinatorRecord::Abort { txn });
        self.decided.insert(txn, false);
        for p in a.participants {
            self.send(p, Body::Abort { txn });
        }
        if a.reads.is_some() {
            self.pending.outcomes.push(Outcome {
                txn,
                committed: None,
            });
        }
    }

    /// Sends what `txn`'s phase waits for to those it still waits for.
    fn resend(&mut self, txn: TxnId) {
        let Some(a) = self.active.get(&txn) else {
            return;
        };
        let round = round0(self.config.id);
        let (to, body): (Vec<NodeId>, Body) = match &a.phase {
            Phase::Voting { .. } => return,
            Phase::PreCommitting { acked } => {
                let to = a.participants.difference(acked).copied().collect();
                if a.elapsed < self.config.ticks.ack_timeout_ticks {
                    (to, Body::PreCommit { txn, round })
                } else {
                    (to, Body::StateReq { txn, round })
                }
            }
            Phase::Committing { acked } => (
                a.participants.difference(acked).copied().collect(),
                Body::DoCommit { txn },
            ),
        };
        for p in to {
            self.send(p, body.clone());
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
