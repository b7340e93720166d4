//! A participant: owns some accounts, prepares its part of each transaction under locks, and —
//! unlike in 2PC — decides for itself with its peers when the coordinator falls silent.
//!
//! A transaction here is `Prepared` (voted yes: uncertain), `PreCommitted`, `Committed` or
//! `Aborted`, each entered by a log record the shell makes durable before the message that
//! reveals it. Decisions are final: a message contradicting one is stale and ignored.
//!
//! # Termination protocol
//!
//! An undecided participant that has heard nothing about a transaction for `timeout_ticks`
//! (or that has just restarted with it undecided) makes an *attempt*, lasting
//! `termination_ticks`, with retries every `retry_ticks`:
//!
//! * Its **candidate** is the lowest id among the transaction's participants that it does not
//!   suspect (itself never). A participant suspects a candidate that stayed silent through a
//!   whole attempt.
//! * **Follower** (the candidate is another): it asks the candidate (and the coordinator) for
//!   their state — which also prompts an undecided candidate to start its own attempt — and
//!   waits. A decided state in any reply is adopted at once.
//! * **Backup coordinator** (the candidate is itself): it takes a new round above every round
//!   it has seen, sends `StateReq` to every other participant and the coordinator, and decides
//!   by Skeen's rule from its own state and the states gathered — once all participants
//!   answered, or when the attempt ends:
//!   - any `Committed` → commit; any `Aborted` → abort;
//!   - any `PreCommitted` (itself included) → it pre-commits itself, sends `PreCommit` to the
//!     uncertain ones that answered, and commits once all of them acknowledged. If any of them
//!     does not (it has joined a newer round since), the attempt ends undecided and a new one
//!     begins;
//!   - all uncertain → abort.
//!
//!   A backup that heard from no one thus decides **alone by the timeout rule**: uncertain →
//!   abort, pre-committed → commit.
//!
//! The states a backup gathers are only those it could reach. When a failure is a crash, the
//! rule is safe: whoever did not answer is down, and learns the decision from its peers when it
//! recovers. When it is a partition, both sides decide, each from its own states, and a
//! pre-committed participant cut off from an uncertain one commits while the other aborts:
//! 3PC trades 2PC's blocking for atomicity under partitions. Message loss lasting a whole
//! attempt (every retry lost) is such a partition too.
//!
//! Rounds fence concurrent authorities: a participant that answers a backup of round `r`
//! refuses any `PreCommit` of an older round (the coordinator's is round 0), so an older
//! authority can no longer gather the acknowledgements it needs to commit behind the back of
//! the newer one, which may have found that participant uncertain and aborted. Rounds are
//! volatile: a restart forgets them, and a restarted participant starts its own attempt.
//!
//! A `StateReq` about a transaction this participant never prepared is answered by aborting it
//! on the spot: it has not voted, so it may, and nobody can have pre-committed.
//!
//! # Restart
//!
//! Replaying the log restores balances, decisions and, for undecided transactions, their parts
//! (whose locks are taken again) and their state; each undecided one starts an attempt at once.

use std::collections::{BTreeMap, BTreeSet};
use std::mem;

use super::config::ParticipantConfig;
use super::log::ParticipantRecord;
use super::message::{Body, Message, Round, TxnState};
use crate::twopc::core::{Account, NodeId, Op, Part, Reads, Ready, TxnId};
use crate::txn_core::locks::Locks;
use crate::txn_core::{Shards, plan};

/// An undecided transaction's volatile bookkeeping.
#[derive(Debug)]
struct Open {
    part: Part,
    /// Every participant of the transaction, this one included.
    participants: Vec<NodeId>,
    /// The newest round this participant has answered or run.
    round: Round,
    /// Ticks since it last heard from an authority about the transaction.
    waited: u32,
    attempt: Option<Attempt>,
    /// Candidates that stayed silent through an attempt.
    suspected: BTreeSet<NodeId>,
}

/// One attempt of the termination protocol.
#[derive(Debug)]
struct Attempt {
    candidate: NodeId,
    elapsed: u32,
    /// A follower: whether the candidate answered during this attempt.
    heard: bool,
    /// A backup: the states gathered from the other participants in its round.
    states: BTreeMap<NodeId, TxnState>,
    /// A backup that pre-commits: the uncertain ones still to acknowledge.
    precommitting: Option<BTreeSet<NodeId>>,
}

/// One participant. Drive it like the 2PC one: [`Participant::tick`],
/// [`Participant::step`], then [`Participant::ready`].
#[derive(Debug)]
pub struct Participant {
    config: ParticipantConfig,
    shards: Shards,
    /// Committed balances.
    balances: BTreeMap<Account, i64>,
    locks: Locks,
    txns: BTreeMap<TxnId, TxnState>,
    open: BTreeMap<TxnId, Open>,
    refused_on_locks: u64,
    /// What the next [`ready`](Self::ready) hands the shell.
    pending: Ready<ParticipantRecord, Message>,
}

impl Participant {
    /// Starts from the records persisted so far (none for a new participant). Transactions
    /// left undecided start the termination protocol at once.
    pub fn new(config: ParticipantConfig, restored: &[ParticipantRecord]) -> Participant {
        let mut p = Participant {
            balances: config.accounts.clone(),
            shards: Shards::new(&config.participants),
            config,
            locks: Locks::default(),
            txns: BTreeMap::new(),
            open: BTreeMap::new(),
            refused_on_locks: 0,
            pending: Ready::default(),
        };
        for record in restored {
            p.replay(record);
        }
        let undecided: Vec<TxnId> = p.open.keys().copied().collect();
        for txn in undecided {
            let part = &p.open[&txn].part;
            // Held before the crash, so free of conflicts now.
            p.locks.acquire(txn, &part.exclusive, &part.shared);
            p.start_attempt(txn);
        }
        p
    }

    fn replay(&mut self, record: &ParticipantRecord) {
        match record {
            ParticipantRecord::Prepared {
                txn,
                part,
                participants,
            } => {
                self.txns.insert(*txn, TxnState::Prepared);
                let open = self.new_open(part.clone(), participants.clone());
                self.open.insert(*txn, open);
            }
            ParticipantRecord::PreCommitted { txn } => {
                self.txns.insert(*txn, TxnState::PreCommitted);
            }
            ParticipantRecord::Committed { txn } => {
                if let Some(open) = self.open.remove(txn) {
                    self.balances.extend(open.part.writes);
                }
                self.txns.insert(*txn, TxnState::Committed);
            }
            ParticipantRecord::Aborted { txn } => {
                self.open.remove(txn);
                self.txns.insert(*txn, TxnState::Aborted);
            }
        }
    }

    fn new_open(&self, part: Part, participants: Vec<NodeId>) -> Open {
        Open {
            part,
            participants,
            round: Round {
                n: 0,
                by: self.config.coordinator,
            },
            waited: 0,
            attempt: None,
            suspected: BTreeSet::new(),
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

    /// Transactions voted yes on and not yet decided here (uncertain or pre-committed).
    pub fn in_doubt(&self) -> impl Iterator<Item = TxnId> + '_ {
        self.open.keys().copied()
    }

    /// Whether any lock is held.
    pub fn holds_locks(&self) -> bool {
        !self.locks.is_empty()
    }

    /// How many `CanCommit`s were voted no because a lock was held (no-wait locking).
    pub fn refused_on_locks(&self) -> u64 {
        self.refused_on_locks
    }

    /// One tick: silent transactions start the termination protocol; attempts retry, and end.
    pub fn tick(&mut self) {
        let ticks = self.config.ticks;
        let mut start = Vec::new();
        let mut retry = Vec::new();
        let mut end = Vec::new();
        for (txn, open) in &mut self.open {
            match &mut open.attempt {
                None => {
                    open.waited += 1;
                    if open.waited >= ticks.timeout_ticks {
                        start.push(*txn);
                    }
                }
                Some(attempt) => {
                    attempt.elapsed += 1;
                    if attempt.elapsed >= ticks.termination_ticks {
                        end.push(*txn);
                    } else if attempt.elapsed % ticks.retry() == 0 {
                        retry.push(*txn);
                    }
                }
            }
        }
        for txn in start {
            self.start_attempt(txn);
        }
        for txn in retry {
            self.send_attempt(txn);
        }
        for txn in end {
            self.end_attempt(txn);
        }
    }

    /// One message. Messages not addressed here, or from anyone but the coordinator and the
    /// other participants, are ignored; so are those of the wrong kind for their sender.
    pub fn step(&mut self, message: Message) {
        let from = message.from;
        let me = self.config.id;
        let from_coordinator = from == self.config.coordinator;
        if message.to != me
            || from == me
            || !(from_coordinator || self.config.participants.contains_key(&from))
        {
            return;
        }
        match message.body {
            Body::CanCommit { txn, op } if from_coordinator => self.can_commit(txn, &op),
            Body::PreCommit { txn, round } => self.on_pre_commit(from, txn, round),
            Body::PreCommitAck { txn, round } => self.on_pre_commit_ack(from, txn, round),
            Body::DoCommit { txn } => self.on_decision(from, txn, true),
            Body::Abort { txn } => self.on_decision(from, txn, false),
            Body::StateReq { txn, round } => self.on_state_req(from, txn, round),
            Body::StateReply { txn, round, state } => self.on_state_reply(from, txn, round, state),
            Body::CanCommit { .. } | Body::Vote { .. } | Body::Ack { .. } => {}
        }
    }

    fn can_commit(&mut self, txn: TxnId, op: &Op) {
        match self.txns.get(&txn) {
            // A duplicate: the same vote again.
            Some(TxnState::Prepared | TxnState::PreCommitted) => {
                let reads = self.open[&txn].part.reads.clone();
                self.vote(txn, true, reads);
            }
            Some(TxnState::Aborted) => self.vote(txn, false, Vec::new()),
            Some(TxnState::Committed) => {}
            None => {
                let Some(part) = plan(&self.balances, self.config.allow_negative, op) else {
                    self.abort_unvoted(txn);
                    return self.vote(txn, false, Vec::new());
                };
                if !self.locks.acquire(txn, &part.exclusive, &part.shared) {
                    self.refused_on_locks += 1;
                    self.abort_unvoted(txn);
                    return self.vote(txn, false, Vec::new());
                }
                let participants = self.participants_of(op);
                self.pending.log.push(ParticipantRecord::Prepared {
                    txn,
                    part: part.clone(),
                    participants: participants.clone(),
                });
                let reads = part.reads.clone();
                self.txns.insert(txn, TxnState::Prepared);
                let open = self.new_open(part, participants);
                self.open.insert(txn, open);
                self.vote(txn, true, reads);
            }
        }
    }

    /// The participants of `op`, as the coordinator routes it.
    fn participants_of(&self, op: &Op) -> Vec<NodeId> {
        let set: BTreeSet<NodeId> = match *op {
            Op::Transfer { from, to, .. } => [from, to]
                .iter()
                .filter_map(|&a| self.shards.owner(a))
                .chain([self.config.id])
                .collect(),
            Op::ReadAll => self.config.participants.keys().copied().collect(),
        };
        set.into_iter().collect()
    }

    fn on_pre_commit(&mut self, from: NodeId, txn: TxnId, round: Round) {
        let Some(open) = self.open.get_mut(&txn) else {
            // Decided here: tell the sender, which is waiting for this participant.
            if let Some(&state) = self.txns.get(&txn) {
                self.send(from, Body::StateReply { txn, round, state });
            }
            return;
        };
        if round < open.round {
            // Fenced: this participant answered a newer authority since.
            return;
        }
        open.round = round;
        open.waited = 0;
        open.attempt = None;
        if self.txns[&txn] == TxnState::Prepared {
            self.txns.insert(txn, TxnState::PreCommitted);
            self.pending
                .log
                .push(ParticipantRecord::PreCommitted { txn });
        }
        self.send(from, Body::PreCommitAck { txn, round });
    }

    fn on_pre_commit_ack(&mut self, from: NodeId, txn: TxnId, round: Round) {
        let Some(open) = self.open.get_mut(&txn) else {
            return;
        };
        if round != open.round || round.by != self.config.id {
            return;
        }
        let Some(Attempt {
            precommitting: Some(pending),
            ..
        }) = &mut open.attempt
        else {
            return;
        };
        pending.remove(&from);
        if pending.is_empty() {
            self.decide_and_tell(txn, true);
        }
    }

    fn on_decision(&mut self, from: NodeId, txn: TxnId, commit: bool) {
        match self.txns.get(&txn) {
            Some(TxnState::Prepared | TxnState::PreCommitted) => {
                self.decide(txn, commit);
                if commit {
                    self.send(from, Body::Ack { txn });
                }
            }
            // A lost acknowledgement: acknowledge again.
            Some(TxnState::Committed) if commit => self.send(from, Body::Ack { txn }),
            Some(_) => {}
            // An abort for a transaction never voted on (its `CanCommit` was lost, or is still
            // coming): remember it, so that the `CanCommit` is refused. A commit for one never
            // voted on cannot be genuine, and is ignored.
            None if !commit => self.abort_unvoted(txn),
            None => {}
        }
    }

    fn on_state_req(&mut self, from: NodeId, txn: TxnId, round: Round) {
        let me = self.config.id;
        let Some(open) = self.open.get_mut(&txn) else {
            let state = match self.txns.get(&txn) {
                Some(&state) => state,
                None => {
                    // Never voted: it may abort on its own, and nobody can be pre-committed.
                    self.abort_unvoted(txn);
                    TxnState::Aborted
                }
            };
            return self.send(from, Body::StateReply { txn, round, state });
        };
        let state = self.txns[&txn];
        let from_peer = from != self.config.coordinator;
        // Not gone after all.
        open.suspected.remove(&from);
        if round > open.round && round.by == from {
            // A newer backup: join its round, drop our own attempt, and give it time.
            open.round = round;
            open.waited = 0;
            open.attempt = None;
        } else if from_peer && open.attempt.is_none() {
            // A follower's question, carrying the round it follows: fenced by it too.
            open.round = open.round.max(round);
            // A peer is terminating and asks us: if we are its candidate, start now.
            let candidate = candidate(me, &open.participants, &open.suspected);
            if candidate == me {
                self.send(from, Body::StateReply { txn, round, state });
                return self.start_attempt(txn);
            }
        }
        if let Some(attempt) = &mut open.attempt {
            attempt.heard |= from == attempt.candidate;
        }
        self.send(from, Body::StateReply { txn, round, state });
    }

    fn on_state_reply(&mut self, from: NodeId, txn: TxnId, round: Round, state: TxnState) {
        let me = self.config.id;
        let Some(open) = self.open.get_mut(&txn) else {
            return;
        };
        // A decision made elsewhere is final: adopt it, whoever reports it.
        if state.is_decided() {
            let commit = state == TxnState::Committed;
            return if open.round.by == me && open.attempt.is_some() {
                self.decide_and_tell(txn, commit)
            } else {
                self.decide(txn, commit)
            };
        }
        open.suspected.remove(&from);
        let Some(attempt) = &mut open.attempt else {
            return;
        };
        attempt.heard |= from == attempt.candidate;
        let backup = attempt.candidate == me;
        if !backup
            || round != open.round
            || attempt.precommitting.is_some()
            || !open.participants.contains(&from)
        {
            return;
        }
        attempt.states.insert(from, state);
        if attempt.states.len() + 1 == open.participants.len() {
            self.conclude(txn);
        }
    }

    /// Starts an attempt of the termination protocol: as the backup if this participant is
    /// its own candidate, else as a follower of the candidate.
    fn start_attempt(&mut self, txn: TxnId) {
        let me = self.config.id;
        let Some(open) = self.open.get_mut(&txn) else {
            return;
        };
        let candidate = candidate(me, &open.participants, &open.suspected);
        if candidate == me {
            open.round = Round {
                n: open.round.n + 1,
                by: me,
            };
        }
        open.attempt = Some(Attempt {
            candidate,
            elapsed: 0,
            heard: false,
            states: BTreeMap::new(),
            precommitting: None,
        });
        if candidate == me && open.participants.len() == 1 {
            // Alone in the transaction: nobody to ask.
            return self.conclude(txn);
        }
        self.send_attempt(txn);
    }

    /// Sends (again) what the current attempt waits for.
    fn send_attempt(&mut self, txn: TxnId) {
        let me = self.config.id;
        let coordinator = self.config.coordinator;
        let Some(open) = self.open.get(&txn) else {
            return;
        };
        let Some(attempt) = &open.attempt else {
            return;
        };
        let round = open.round;
        let mut out = Vec::new();
        if attempt.candidate != me {
            out.push((attempt.candidate, Body::StateReq { txn, round }));
            out.push((coordinator, Body::StateReq { txn, round }));
        } else if let Some(pending) = &attempt.precommitting {
            out.extend(pending.iter().map(|&p| (p, Body::PreCommit { txn, round })));
        } else {
            let others = open.participants.iter().copied();
            let missing = others.filter(|p| *p != me && !attempt.states.contains_key(p));
            out.extend(missing.map(|p| (p, Body::StateReq { txn, round })));
            out.push((coordinator, Body::StateReq { txn, round }));
        }
        for (to, body) in out {
            self.send(to, body);
        }
    }

    /// The end of an attempt that decided nothing.
    fn end_attempt(&mut self, txn: TxnId) {
        let me = self.config.id;
        let Some(open) = self.open.get_mut(&txn) else {
            return;
        };
        let Some(attempt) = open.attempt.take() else {
            return;
        };
        if attempt.candidate != me {
            if !attempt.heard {
                open.suspected.insert(attempt.candidate);
            }
            return self.start_attempt(txn);
        }
        if attempt.precommitting.is_some() {
            // An uncertain participant that answered did not acknowledge: it has joined a
            // newer round, or crashed. Committing without it could contradict that round;
            // try again in a new round of our own.
            return self.start_attempt(txn);
        }
        open.attempt = Some(attempt);
        self.conclude(txn);
    }

    /// The backup applies Skeen's rule to its own state and the states it gathered.
    fn conclude(&mut self, txn: TxnId) {
        let own = self.txns[&txn];
        let Some(Open {
            attempt: Some(attempt),
            round,
            ..
        }) = self.open.get_mut(&txn)
        else {
            return;
        };
        let round = *round;
        let states: Vec<TxnState> = attempt.states.values().copied().collect();
        if states.contains(&TxnState::Committed) {
            return self.decide_and_tell(txn, true);
        }
        if states.contains(&TxnState::Aborted) {
            return self.decide_and_tell(txn, false);
        }
        if own != TxnState::PreCommitted && !states.contains(&TxnState::PreCommitted) {
            // Everyone reached is uncertain: nobody can have committed.
            return self.decide_and_tell(txn, false);
        }
        let uncertain: BTreeSet<NodeId> = attempt
            .states
            .iter()
            .filter(|(_, s)| **s == TxnState::Prepared)
            .map(|(p, _)| *p)
            .collect();
        attempt.elapsed = 0;
        attempt.precommitting = Some(uncertain.clone());
        if own == TxnState::Prepared {
            self.txns.insert(txn, TxnState::PreCommitted);
            self.pending
                .log
                .push(ParticipantRecord::PreCommitted { txn });
        }
        if uncertain.is_empty() {
            return self.decide_and_tell(txn, true);
        }
        for p in uncertain {
            self.send(p, Body::PreCommit { txn, round });
        }
    }

    /// Decides as the backup: the decision goes to every other participant and to the
    /// coordinator. Lost ones are asked for again by their own termination.
    fn decide_and_tell(&mut self, txn: TxnId, commit: bool) {
        let me = self.config.id;
        let Some(open) = self.open.get(&txn) else {
            return;
        };
        let round = open.round;
        let others: Vec<NodeId> = open
            .participants
            .iter()
            .copied()
            .filter(|p| *p != me)
            .collect();
        self.decide(txn, commit);
        let body = if commit {
            Body::DoCommit { txn }
        } else {
            Body::Abort { txn }
        };
        for p in others {
            self.send(p, body.clone());
        }
        let state = self.txns[&txn];
        self.send(
            self.config.coordinator,
            Body::StateReply { txn, round, state },
        );
    }

    /// Logs and applies the decision for an undecided transaction and releases its locks.
    fn decide(&mut self, txn: TxnId, commit: bool) {
        let Some(open) = self.open.remove(&txn) else {
            return;
        };
        let part = open.part;
        self.locks
            .release(txn, part.exclusive.into_iter().chain(part.shared));
        if commit {
            self.txns.insert(txn, TxnState::Committed);
            self.pending.log.push(ParticipantRecord::Committed { txn });
            self.balances.extend(part.writes);
        } else {
            self.txns.insert(txn, TxnState::Aborted);
            self.pending.log.push(ParticipantRecord::Aborted { txn });
        }
    }

    /// Aborts a transaction this participant has not voted yes on.
    fn abort_unvoted(&mut self, txn: TxnId) {
        self.pending.log.push(ParticipantRecord::Aborted { txn });
        self.txns.insert(txn, TxnState::Aborted);
    }

    fn vote(&mut self, txn: TxnId, yes: bool, reads: Reads) {
        let coordinator = self.config.coordinator;
        self.send(coordinator, Body::Vote { txn, yes, reads });
    }

    fn send(&mut self, to: NodeId, body: Body) {
        self.pending.send(self.config.id, to, body);
    }

    /// Everything to persist and send since the last call.
    pub fn ready(&mut self) -> Ready<ParticipantRecord, Message> {
        mem::take(&mut self.pending)
    }
}

/// The lowest participant not suspected (never `me`: a participant does not suspect itself).
fn candidate(me: NodeId, participants: &[NodeId], suspected: &BTreeSet<NodeId>) -> NodeId {
    participants
        .iter()
        .copied()
        .filter(|p| *p == me || !suspected.contains(p))
        .min()
        .unwrap_or(me)
}
