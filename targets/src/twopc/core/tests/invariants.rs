//! 2PC's properties, checked by the test bank after every event on what the nodes persisted,
//! sent and reported:
//!
//! * **atomicity**: no transaction is committed at one participant and aborted at another;
//! * **validity**: a transaction commits (a participant logs it, or the coordinator does) only
//!   if every participant of it voted yes — logged `Prepared`, which precedes a yes vote;
//! * **durability of decisions**: a participant's decision never changes, across restarts: its
//!   log never holds two for one transaction, and its live state agrees with its log;
//! * **total conserved**: replaying each participant's log, applying a prepared transaction's
//!   writes where it committed (its commit logged by the coordinator, not aborted locally),
//!   the balances sum to the initial total — and so do the balances of every committed read;
//! * **presumed abort honoured**: the coordinator sends a commit, or reports one, only for a
//!   transaction whose commit it logged; it sends an abort only for one with no commit record,
//!   or one every participant acknowledged (`Ended`: a stale inquiry, ignored).

use std::collections::{BTreeMap, BTreeSet};

use super::network::{BALANCE, Side, accounts};
use crate::twopc::core::{
    Account, Body, CoordinatorRecord, Message, NodeId, Outcome, Part, Participant,
    ParticipantRecord, TxnId, TxnState,
};

pub(super) struct Invariants {
    total: i64,
    /// The first decision seen at each participant.
    decisions: BTreeMap<(NodeId, TxnId), bool>,
    /// Panic on the first violated property (the default), or only record it — for tests that
    /// show the bug switch is caught.
    pub(super) strict: bool,
    pub(super) violations: Vec<String>,
}

/// The commits the coordinator logged, and those it ended.
fn commits(disk: &[CoordinatorRecord]) -> (BTreeMap<TxnId, Vec<NodeId>>, BTreeSet<TxnId>) {
    let mut logged = BTreeMap::new();
    let mut ended = BTreeSet::new();
    for r in disk {
        match r {
            CoordinatorRecord::Commit { txn, participants } => {
                logged.insert(*txn, participants.clone());
            }
            CoordinatorRecord::Ended { txn } => {
                ended.insert(*txn);
            }
            CoordinatorRecord::Started { .. } => {}
        }
    }
    (logged, ended)
}

impl Invariants {
    pub(super) fn new(total: i64) -> Invariants {
        Invariants {
            total,
            decisions: BTreeMap::new(),
            strict: true,
            violations: Vec::new(),
        }
    }

    /// Presumed abort, on what the coordinator is about to send (its log already durable).
    pub(super) fn check_sent(&self, disk: &[CoordinatorRecord], sent: &[Message]) -> Vec<String> {
        let (logged, ended) = commits(disk);
        let mut found = Vec::new();
        for m in sent {
            if let Body::Decision { txn, commit } = m.body {
                if commit && !logged.contains_key(&txn) {
                    found.push(format!(
                        "presumed abort: commit of {txn} sent, never logged"
                    ));
                }
                if !commit && logged.contains_key(&txn) && !ended.contains(&txn) {
                    found.push(format!(
                        "presumed abort: abort of {txn} sent, commit logged"
                    ));
                }
            }
        }
        found
    }

    /// What clients are told: commits logged, and reads showing the total.
    pub(super) fn check_outcomes(
        &self,
        disk: &[CoordinatorRecord],
        outcomes: &[Outcome],
    ) -> Vec<String> {
        let (logged, _) = commits(disk);
        let mut found = Vec::new();
        for o in outcomes {
            let Some(reads) = &o.committed else { continue };
            if !logged.contains_key(&o.txn) {
                found.push(format!(
                    "presumed abort: {} reported committed, not logged",
                    o.txn
                ));
            }
            let sum: i64 = reads.iter().map(|r| r.1).sum();
            if !reads.is_empty() && sum != self.total {
                found.push(format!("total conserved: read {} saw {sum}", o.txn));
            }
        }
        found
    }

    /// Atomicity, validity, durability and the total, on every disk and live state.
    pub(super) fn check(
        &mut self,
        coordinator: &[CoordinatorRecord],
        participants: &BTreeMap<NodeId, Side<Participant, ParticipantRecord>>,
    ) -> Vec<String> {
        let mut found = Vec::new();
        let (logged, _) = commits(coordinator);
        let mut outcome: BTreeMap<TxnId, (NodeId, bool)> = BTreeMap::new();
        let mut prepared: BTreeSet<(NodeId, TxnId)> = BTreeSet::new();
        let mut sum = 0;
        for (&p, side) in participants {
            let mut local: BTreeMap<TxnId, bool> = BTreeMap::new();
            let mut writes = Vec::new();
            for r in &side.disk {
                match r {
                    ParticipantRecord::Prepared { txn, part } => {
                        prepared.insert((p, *txn));
                        writes.push((*txn, part.writes.clone()));
                    }
                    ParticipantRecord::Committed { txn } | ParticipantRecord::Aborted { txn } => {
                        let commit = matches!(r, ParticipantRecord::Committed { .. });
                        if let Some(&before) = local.get(txn) {
                            if before != commit {
                                found.push(format!("durability: {p} decided {txn} twice"));
                            }
                        }
                        local.insert(*txn, commit);
                    }
                }
            }
            for (&txn, &commit) in &local {
                if *self.decisions.entry((p, txn)).or_insert(commit) != commit {
                    found.push(format!("durability: {p} changed its decision on {txn}"));
                }
                if let Some(&(other, theirs)) = outcome.get(&txn) {
                    if theirs != commit {
                        found.push(format!(
                            "atomicity: {txn} is {} at {other} and {} at {p}",
                            word(theirs),
                            word(commit)
                        ));
                    }
                } else {
                    outcome.insert(txn, (p, commit));
                }
                if commit && !logged.contains_key(&txn) {
                    found.push(format!(
                        "validity: {txn} committed at {p}, no commit logged"
                    ));
                }
            }
            if let Some(node) = &side.node {
                for (&txn, &commit) in &local {
                    let live = match node.txn(txn) {
                        Some(TxnState::Committed) => Some(true),
                        Some(TxnState::Aborted) => Some(false),
                        _ => None,
                    };
                    if live != Some(commit) {
                        found.push(format!(
                            "durability: {p} logged {txn} {} but its state is {live:?}",
                            word(commit)
                        ));
                    }
                }
            }
            let mut balances: BTreeMap<Account, i64> =
                accounts(p).iter().map(|&a| (a, BALANCE)).collect();
            // In log order: locks make each account's prepares follow one another.
            for (txn, w) in writes {
                if logged.contains_key(&txn) && local.get(&txn) != Some(&false) {
                    balances.extend(w);
                }
            }
            sum += balances.values().sum::<i64>();
        }
        for (txn, participants) in &logged {
            for &p in participants {
                if !prepared.contains(&(p, *txn)) {
                    found.push(format!("validity: {txn} committed without {p}'s yes"));
                }
            }
        }
        if sum != self.total {
            found.push(format!("total conserved: {sum} instead of {}", self.total));
        }
        found
    }
}

fn word(commit: bool) -> &'static str {
    if commit { "committed" } else { "aborted" }
}

mod tests {
    //! Each check rejects what it must, on logs written by hand.

    use super::*;

    const T: TxnId = TxnId {
        incarnation: 1,
        seq: 1,
    };

    fn prepared(writes: Vec<(Account, i64)>) -> ParticipantRecord {
        let part = Part {
            exclusive: writes.iter().map(|w| w.0).collect(),
            shared: Vec::new(),
            writes,
            reads: Vec::new(),
        };
        ParticipantRecord::Prepared { txn: T, part }
    }

    /// Participants 1 and 2 (down), with these logs.
    fn sides(
        one: Vec<ParticipantRecord>,
        two: Vec<ParticipantRecord>,
    ) -> BTreeMap<NodeId, Side<Participant, ParticipantRecord>> {
        [(1, one), (2, two)]
            .into_iter()
            .map(|(p, disk)| (p, Side { node: None, disk }))
            .collect()
    }

    fn commit_logged() -> Vec<CoordinatorRecord> {
        vec![CoordinatorRecord::Commit {
            txn: T,
            participants: vec![1, 2],
        }]
    }

    fn check(
        coordinator: &[CoordinatorRecord],
        one: Vec<ParticipantRecord>,
        two: Vec<ParticipantRecord>,
    ) -> Vec<String> {
        Invariants::new(4 * BALANCE).check(coordinator, &sides(one, two))
    }

    fn has(found: &[String], property: &str) -> bool {
        found.iter().any(|f| f.starts_with(property))
    }

    #[test]
    fn a_clean_commit_passes() {
        let one = vec![
            prepared(vec![(10, 90)]),
            ParticipantRecord::Committed { txn: T },
        ];
        let two = vec![prepared(vec![(20, 110)])];
        assert!(check(&commit_logged(), one, two).is_empty());
    }

    #[test]
    fn atomicity_check_rejects_a_split_decision() {
        let one = vec![prepared(vec![]), ParticipantRecord::Committed { txn: T }];
        let two = vec![prepared(vec![]), ParticipantRecord::Aborted { txn: T }];
        assert!(has(&check(&commit_logged(), one, two), "atomicity"));
    }

    #[test]
    fn validity_check_rejects_a_commit_without_every_yes() {
        let one = vec![prepared(vec![]), ParticipantRecord::Committed { txn: T }];
        assert!(has(
            &check(&commit_logged(), one.clone(), vec![]),
            "validity"
        ));
        assert!(has(&check(&[], one, vec![]), "validity"));
    }

    #[test]
    fn durability_check_rejects_a_changed_decision() {
        let mut invariants = Invariants::new(4 * BALANCE);
        let aborted = vec![ParticipantRecord::Aborted { txn: T }];
        assert!(invariants.check(&[], &sides(aborted, vec![])).is_empty());
        let committed = vec![prepared(vec![]), ParticipantRecord::Committed { txn: T }];
        let found = invariants.check(&commit_logged(), &sides(committed, vec![prepared(vec![])]));
        assert!(has(&found, "durability"), "{found:?}");
    }

    #[test]
    fn total_check_rejects_money_from_nowhere() {
        let one = vec![prepared(vec![(10, 500)])];
        assert!(has(
            &check(&commit_logged(), one, vec![prepared(vec![])]),
            "total"
        ));
        let read = Outcome {
            txn: T,
            committed: Some(vec![(10, 1)]),
        };
        let found = Invariants::new(4 * BALANCE).check_outcomes(&commit_logged(), &[read]);
        assert!(has(&found, "total"));
    }

    #[test]
    fn presumed_abort_check_rejects_decisions_against_the_log() {
        let invariants = Invariants::new(4 * BALANCE);
        let decision = |commit| Message {
            from: 0,
            to: 1,
            body: Body::Decision { txn: T, commit },
        };
        assert!(has(
            &invariants.check_sent(&[], &[decision(true)]),
            "presumed abort"
        ));
        let abort = [decision(false)];
        assert!(has(
            &invariants.check_sent(&commit_logged(), &abort),
            "presumed abort"
        ));
        let mut ended = commit_logged();
        ended.push(CoordinatorRecord::Ended { txn: T });
        assert!(invariants.check_sent(&ended, &abort).is_empty());
        let told = Outcome {
            txn: T,
            committed: Some(Vec::new()),
        };
        assert!(has(
            &invariants.check_outcomes(&[], &[told]),
            "presumed abort"
        ));
    }
}
