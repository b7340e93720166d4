//! A participant: owns some accounts, prepares its part of each transaction under locks, and
//! applies it when told the decision.
//!
//! A transaction here is in one of three states, each entered by a log record the shell makes
//! durable before the message that reveals it: prepared (voted yes; in doubt until told),
//! committed (acknowledged), aborted (voted no, or told so). A decision is final: a decision
//! that contradicts the one logged is a stale answer (the coordinator forgot a transaction it
//! had finished) and is ignored. Decided transactions are remembered for as long as the
//! participant runs, so that duplicates of old messages get the same answers.
//!
//! After a crash, prepared transactions without a decision are in doubt: their locks are taken
//! again and the participant asks the coordinator until it is told. It never guesses — only
//! [`Bug::HeuristicAbort`] does.

use std::collections::BTreeMap;
use std::mem;

use super::NodeId;
use super::config::{Bug, ParticipantConfig};
use super::log::{Part, ParticipantRecord};
use super::message::{Account, Body, Message, Op, Reads, TxnId};
use super::ready::Ready;
use crate::txn_core::locks::Locks;
use crate::txn_core::plan;

/// What a participant knows of one transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxnState {
    /// Voted yes; `waited` counts the ticks since, for inquiries.
    Prepared {
        part: Part,
        waited: u32,
    },
    Committed,
    Aborted,
}

/// One participant. Drive it like the other cores: [`Participant::tick`],
/// [`Participant::step`], then [`Participant::ready`].
#[derive(Debug)]
pub struct Participant {
    config: ParticipantConfig,
    /// Committed balances.
    balances: BTreeMap<Account, i64>,
    locks: Locks,
    txns: BTreeMap<TxnId, TxnState>,
    /// What the next [`ready`](Self::ready) hands the shell.
    pending: Ready<ParticipantRecord, Message>,
    /// Prepares voted no on because a lock was held, since this start.
    refused_on_locks: u64,
}

impl Participant {
    /// Starts from the records persisted so far (none for a new participant). Transactions in
    /// doubt ask the coordinator at once.
    pub fn new(config: ParticipantConfig, restored: &[ParticipantRecord]) -> Participant {
        let mut p = Participant {
            balances: config.accounts.clone(),
            config,
            locks: Locks::default(),
            txns: BTreeMap::new(),
            pending: Ready::default(),
            refused_on_locks: 0,
        };
        for record in restored {
            p.replay(record);
        }
        let in_doubt: Vec<TxnId> = p.in_doubt().collect();
        for (txn, state) in &p.txns {
            if let TxnState::Prepared { part, .. } = state {
                // Held before the crash, so free of conflicts now.
                p.locks.acquire(*txn, &part.exclusive, &part.shared);
            }
        }
        for txn in in_doubt {
            p.send(Body::Inquire { txn });
        }
        p
    }

    fn replay(&mut self, record: &ParticipantRecord) {
        match record {
            ParticipantRecord::Prepared { txn, part } => {
                let part = part.clone();
                self.txns
                    .insert(*txn, TxnState::Prepared { part, waited: 0 });
            }
            ParticipantRecord::Committed { txn } => {
                if let Some(TxnState::Prepared { part, .. }) = self.txns.get(txn) {
                    self.balances.extend(part.writes.iter().copied());
                }
                self.txns.insert(*txn, TxnState::Committed);
            }
            ParticipantRecord::Aborted { txn } => {
                self.txns.insert(*txn, TxnState::Aborted);
            }
        }
    }

    pub fn id(&self) -> NodeId {
        self.config.id
    }

    /// Committed balances.
    pub fn balances(&self) -> &BTreeMap<Account, i64> {
        &self.balances
    }

    /// What this participant knows of `txn`.
    pub fn txn(&self, txn: TxnId) -> Option<&TxnState> {
        self.txns.get(&txn)
    }

    /// Transactions prepared and not yet decided here.
    pub fn in_doubt(&self) -> impl Iterator<Item = TxnId> + '_ {
        self.txns
            .iter()
            .filter(|(_, s)| matches!(s, TxnState::Prepared { .. }))
            .map(|(t, _)| *t)
    }

    /// Prepares voted no on because a lock was held, since this participant started.
    pub fn refused_on_locks(&self) -> u64 {
        self.refused_on_locks
    }

    /// Whether any lock is held.
    pub fn holds_locks(&self) -> bool {
        !self.locks.is_empty()
    }

    /// One tick: in-doubt transactions ask again (or, with the bug, give up and abort).
    pub fn tick(&mut self) {
        let mut inquire = Vec::new();
        let mut give_up = Vec::new();
        for (txn, state) in &mut self.txns {
            if let TxnState::Prepared { waited, .. } = state {
                *waited += 1;
                if self.config.bug == Bug::HeuristicAbort && *waited >= self.config.heuristic_ticks
                {
                    give_up.push(*txn);
                } else if *waited % self.config.inquire_ticks.max(1) == 0 {
                    inquire.push(*txn);
                }
            }
        }
        for txn in inquire {
            self.send(Body::Inquire { txn });
        }
        for txn in give_up {
            self.decide(txn, false);
        }
    }

    /// One message. Messages from anyone but the coordinator, and a participant's messages, are
    /// ignored.
    pub fn step(&mut self, message: Message) {
        if message.from != self.config.coordinator || message.to != self.config.id {
            return;
        }
        match message.body {
            Body::Prepare { txn, op } => self.prepare(txn, &op),
            Body::Decision { txn, commit } => self.on_decision(txn, commit),
            Body::Vote { .. } | Body::Ack { .. } | Body::Inquire { .. } => {}
        }
    }

    fn prepare(&mut self, txn: TxnId, op: &Op) {
        match self.txns.get(&txn) {
            // A duplicate: the same vote again.
            Some(TxnState::Prepared { part, .. }) => {
                let reads = part.reads.clone();
                self.vote(txn, true, reads);
            }
            Some(TxnState::Aborted) => self.vote(txn, false, Vec::new()),
            // Decided commit: the coordinator has every vote already.
            Some(TxnState::Committed) => {}
            None => match plan(&self.balances, self.config.allow_negative, op) {
                Some(part) if !self.locks.acquire(txn, &part.exclusive, &part.shared) => {
                    self.refused_on_locks += 1;
                    self.refuse(txn);
                }
                Some(part) => {
                    let reads = part.reads.clone();
                    let record = ParticipantRecord::Prepared {
                        txn,
                        part: part.clone(),
                    };
                    self.pending.log.push(record);
                    self.txns
                        .insert(txn, TxnState::Prepared { part, waited: 0 });
                    self.vote(txn, true, reads);
                }
                None => self.refuse(txn),
            },
        }
    }

    /// Votes no on `txn`, remembering it, so that a duplicate prepare is refused again.
    fn refuse(&mut self, txn: TxnId) {
        self.pending.log.push(ParticipantRecord::Aborted { txn });
        self.txns.insert(txn, TxnState::Aborted);
        self.vote(txn, false, Vec::new());
    }

    fn on_decision(&mut self, txn: TxnId, commit: bool) {
        match self.txns.get(&txn) {
            Some(TxnState::Prepared { .. }) => self.decide(txn, commit),
            // A lost acknowledgement: acknowledge again.
            Some(TxnState::Committed) if commit => self.send(Body::Ack { txn }),
            // The same abort again, or a stale answer contradicting the logged decision (the
            // coordinator finished and forgot the transaction): a decision never changes.
            Some(_) => {}
            // An abort for a transaction never prepared here (its prepare was lost, or is
            // still coming): remember it, so that the prepare is refused. A commit for one
            // never prepared cannot be genuine — this participant never voted — and is ignored.
            None if !commit => {
                self.pending.log.push(ParticipantRecord::Aborted { txn });
                self.txns.insert(txn, TxnState::Aborted);
            }
            None => {}
        }
    }

    /// Logs and applies the decision for a prepared transaction and releases its locks.
    fn decide(&mut self, txn: TxnId, commit: bool) {
        let state = if commit {
            TxnState::Committed
        } else {
            TxnState::Aborted
        };
        let Some(TxnState::Prepared { part, .. }) = self.txns.insert(txn, state) else {
            unreachable!("only prepared transactions are decided")
        };
        let locked = part.exclusive.into_iter().chain(part.shared);
        self.locks.release(txn, locked);
        if commit {
            self.pending.log.push(ParticipantRecord::Committed { txn });
            self.balances.extend(part.writes);
            self.send(Body::Ack { txn });
        } else {
            self.pending.log.push(ParticipantRecord::Aborted { txn });
        }
    }

    fn vote(&mut self, txn: TxnId, yes: bool, reads: Reads) {
        self.send(Body::Vote { txn, yes, reads });
    }

    fn send(&mut self, body: Body) {
        self.pending
            .send(self.config.id, self.config.coordinator, body);
    }

    /// Everything to persist and send since the last call.
    pub fn ready(&mut self) -> Ready<ParticipantRecord, Message> {
        mem::take(&mut self.pending)
    }
}
