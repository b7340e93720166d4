//! Scripted runs of the protocol: the happy path, crashes of the coordinator at each phase
//! (which 3PC survives without blocking), restarts, and the partition that splits a decision.

use super::network::{Bank, COORDINATOR, TICKS, is_prepare, is_vote};
use crate::threepc::core::{
    Body, CoordinatorRecord, Message, Op, ParticipantRecord, Round, TxnState,
};

fn is_pre_commit(m: &Message) -> bool {
    matches!(m.body, Body::PreCommit { .. })
}

fn is_pre_commit_to(p: u64) -> impl Fn(&Message) -> bool {
    move |m| is_pre_commit(m) && m.to == p
}

/// Ticks enough for any undecided participant to time out and finish a few attempts.
const TERMINATION: u32 = TICKS.timeout_ticks + 3 * TICKS.termination_ticks;

/// Runs a transaction up to the point where every participant voted yes and the coordinator
/// logged `PreCommit`; its `PreCommit`s are left in flight.
fn up_to_pre_commit(b: &mut Bank, op: Op) -> crate::threepc::core::TxnId {
    let t = b.begin(op);
    b.deliver_where(is_prepare);
    b.deliver_where(is_vote);
    assert!(
        b.coordinator
            .disk
            .iter()
            .any(|r| matches!(r, CoordinatorRecord::PreCommit { txn, .. } if *txn == t))
    );
    t
}

#[test]
fn happy_path_commits_in_three_phases_and_reads_conserve_the_total() {
    let mut b = Bank::new(3, 1);
    let t = b.transfer(10, 20, 30);
    b.settle();
    assert_eq!(b.outcome(t), Some(true));
    assert_eq!(b.participant(1).balances()[&10], 70);
    assert_eq!(b.participant(2).balances()[&20], 130);
    assert_eq!(b.total(), 600);
    for p in [1, 2] {
        let disk = &b.participants[&p].disk;
        assert!(matches!(disk[0], ParticipantRecord::Prepared { .. }));
        assert_eq!(disk[1], ParticipantRecord::PreCommitted { txn: t });
        assert_eq!(disk[2], ParticipantRecord::Committed { txn: t });
        assert!(!b.participant(p).holds_locks());
    }
    assert_eq!(b.participants[&3].disk, [], "not a participant of t");
    assert_eq!(b.coordinator().active(), 0, "every ack in: ended");
    assert!(
        b.coordinator
            .disk
            .contains(&CoordinatorRecord::Ended { txn: t })
    );
    let r = b.begin(Op::ReadAll);
    b.settle();
    let reads = b.outcomes.iter().find(|o| o.txn == r).unwrap();
    let reads = reads.committed.as_ref().expect("the read commits");
    assert_eq!(reads.len(), 6);
    assert_eq!(reads.iter().map(|r| r.1).sum::<i64>(), 600);
    assert!(reads.contains(&(10, 70)) && reads.contains(&(20, 130)));
}

#[test]
fn conflicting_can_commit_votes_no_at_once_and_is_counted() {
    let mut b = Bank::new(2, 1);
    let t1 = b.transfer(10, 20, 1);
    let t2 = b.transfer(21, 10, 1);
    b.settle();
    assert_eq!(b.outcome(t1), Some(true));
    assert_eq!(b.outcome(t2), Some(false), "account 10 is locked by t1");
    assert_eq!(b.participant(1).refused_on_locks(), 1);
    assert_eq!(b.participant(2).refused_on_locks(), 0);
    let overdraft = b.transfer(10, 20, 1000);
    b.settle();
    assert_eq!(b.outcome(overdraft), Some(false));
    assert_eq!(
        b.participant(1).refused_on_locks(),
        1,
        "an overdraft is no lock refusal"
    );
    assert_eq!(b.total(), 400);
}

#[test]
fn coordinator_crash_after_all_pre_committed_commits_by_termination() {
    let mut b = Bank::new(3, 1);
    let t = up_to_pre_commit(
        &mut b,
        Op::Transfer {
            from: 10,
            to: 20,
            amount: 30,
        },
    );
    b.deliver_where(is_pre_commit);
    // Both acknowledgements are in flight; the coordinator dies before it logs the commit.
    b.crash(COORDINATOR);
    for p in [1, 2] {
        assert_eq!(b.participant(p).txn(t), Some(&TxnState::PreCommitted));
    }
    b.run(TICKS.timeout_ticks + TICKS.termination_ticks);
    for p in [1, 2] {
        assert_eq!(b.decided(p, t), Some(true), "participant {p} did not block");
        assert!(!b.participant(p).holds_locks());
    }
    assert_eq!(b.total(), 600);
    assert_eq!(b.participant(1).balances()[&10], 70);
    // The restarted coordinator resumes its PreCommit, learns the commit, ends it.
    b.restart(COORDINATOR);
    b.run(2 * TICKS.retry_ticks);
    assert_eq!(b.coordinator().active(), 0);
    assert!(
        b.coordinator
            .disk
            .iter()
            .any(|r| matches!(r, CoordinatorRecord::Commit { txn, .. } if *txn == t))
    );
}

#[test]
fn coordinator_crash_while_all_uncertain_aborts_by_termination() {
    let mut b = Bank::new(3, 1);
    let t = b.begin(Op::ReadAll);
    b.deliver_where(is_prepare);
    // Every yes vote is in flight; the coordinator dies before it hears them.
    b.crash(COORDINATOR);
    for p in 1..=3 {
        assert_eq!(b.participant(p).txn(t), Some(&TxnState::Prepared));
        assert!(b.participant(p).holds_locks());
    }
    b.run(TICKS.timeout_ticks + TICKS.termination_ticks);
    for p in 1..=3 {
        assert_eq!(b.decided(p, t), Some(false));
        assert!(!b.participant(p).holds_locks(), "no blocking");
    }
    // The coordinator never logged a PreCommit: restarted, it has nothing to resume, and a
    // late vote is answered with the abort.
    b.restart(COORDINATOR);
    assert_eq!(b.coordinator().active(), 0);
}

#[test]
fn pre_commit_reaching_only_some_commits_everywhere_by_termination() {
    let mut b = Bank::new(3, 1);
    let t = up_to_pre_commit(&mut b, Op::ReadAll);
    // Only participant 2 is pre-committed; 1 (the lowest: the backup) and 3 stay uncertain.
    b.deliver_where(is_pre_commit_to(2));
    b.drop_messages(is_pre_commit);
    b.crash(COORDINATOR);
    assert_eq!(b.participant(1).txn(t), Some(&TxnState::Prepared));
    assert_eq!(b.participant(2).txn(t), Some(&TxnState::PreCommitted));
    b.run(TICKS.timeout_ticks + TICKS.termination_ticks);
    for p in 1..=3 {
        assert_eq!(b.decided(p, t), Some(true), "participant {p}");
        assert!(!b.participant(p).holds_locks());
    }
    // The backup pre-committed the uncertain ones before anyone committed.
    for p in [1, 3] {
        let disk = &b.participants[&p].disk;
        let pre = disk
            .iter()
            .position(|r| *r == ParticipantRecord::PreCommitted { txn: t });
        let commit = disk
            .iter()
            .position(|r| *r == ParticipantRecord::Committed { txn: t });
        assert!(pre.unwrap() < commit.unwrap(), "participant {p}: {disk:?}");
    }
}

#[test]
fn partition_between_a_pre_committed_and_an_uncertain_participant_splits_the_decision() {
    let mut b = Bank::new(3, 1);
    b.watch.split_allowed = true;
    let t = up_to_pre_commit(
        &mut b,
        Op::Transfer {
            from: 10,
            to: 20,
            amount: 30,
        },
    );
    // The PreCommit reaches 1 only; then the coordinator dies and 1 is cut off from 2.
    b.deliver_where(is_pre_commit_to(1));
    b.drop_messages(is_pre_commit);
    b.crash(COORDINATOR);
    b.partition(&[1], &[2, 3]);
    b.run(TERMINATION);
    // Each side decided by the timeout rule, alone: pre-committed → commit, uncertain → abort.
    assert_eq!(b.decided(1, t), Some(true), "pre-committed: commits");
    assert_eq!(b.decided(2, t), Some(false), "uncertain: aborts");
    let violation = b.violation().expect("the split is an atomicity violation");
    assert!(violation.starts_with("atomicity"), "{violation}");
    // 30 left account 10 and never reached account 20.
    assert_eq!(b.total(), 570);
    // Healing changes nothing: decisions are final.
    b.heal();
    b.restart(COORDINATOR);
    b.run(TERMINATION);
    assert_eq!(b.decided(1, t), Some(true));
    assert_eq!(b.decided(2, t), Some(false));
    for p in [1, 2] {
        assert_eq!(b.participant(p).in_doubt().count(), 0);
    }
}

#[test]
fn coordinator_restart_after_pre_commit_resumes_instead_of_presuming_abort() {
    let mut b = Bank::new(2, 1);
    let t = up_to_pre_commit(
        &mut b,
        Op::Transfer {
            from: 10,
            to: 20,
            amount: 5,
        },
    );
    // The PreCommits are lost with the crash; nobody is pre-committed yet.
    b.drop_messages(is_pre_commit);
    b.crash(COORDINATOR);
    b.restart(COORDINATOR);
    assert_eq!(b.coordinator().active(), 1, "resumed, not presumed aborted");
    assert_eq!(
        b.in_flight_matching(|m| matches!(m.body, Body::PreCommit { .. })),
        2
    );
    b.settle();
    for p in [1, 2] {
        assert_eq!(b.decided(p, t), Some(true));
    }
    assert_eq!(b.coordinator().active(), 0);
    assert_eq!(b.total(), 400);
}

#[test]
fn coordinator_restart_after_commit_resends_do_commit_until_acknowledged() {
    let mut b = Bank::new(2, 1);
    let t = up_to_pre_commit(
        &mut b,
        Op::Transfer {
            from: 10,
            to: 20,
            amount: 5,
        },
    );
    b.deliver_where(is_pre_commit);
    b.deliver_where(|m| matches!(m.body, Body::PreCommitAck { .. }));
    assert_eq!(b.outcome(t), Some(true), "reported once Commit is logged");
    b.drop_messages(|m| matches!(m.body, Body::DoCommit { .. }));
    b.crash(COORDINATOR);
    b.restart(COORDINATOR);
    b.settle();
    for p in [1, 2] {
        assert_eq!(b.decided(p, t), Some(true));
    }
    assert!(
        b.coordinator
            .disk
            .contains(&CoordinatorRecord::Ended { txn: t })
    );
}

#[test]
fn participant_restart_in_doubt_retakes_locks_and_terminates() {
    let mut b = Bank::new(2, 1);
    let t = up_to_pre_commit(
        &mut b,
        Op::Transfer {
            from: 10,
            to: 20,
            amount: 5,
        },
    );
    b.deliver_where(is_pre_commit_to(2));
    b.drop_messages(is_pre_commit);
    b.crash(COORDINATOR);
    b.crash(1);
    b.restart(1);
    assert_eq!(b.participant(1).in_doubt().collect::<Vec<_>>(), [t]);
    assert!(b.participant(1).holds_locks());
    assert!(
        b.in_flight_matching(|m| matches!(m.body, Body::StateReq { .. })) > 0,
        "it asks its peers at once"
    );
    b.run(TICKS.termination_ticks);
    // 1 (uncertain) was the backup; 2 pre-committed: commit.
    assert_eq!(b.decided(1, t), Some(true));
    assert_eq!(b.decided(2, t), Some(true));
}

#[test]
fn coordinator_cut_off_learns_the_decision_termination_made() {
    let mut b = Bank::new(2, 1);
    let t = up_to_pre_commit(
        &mut b,
        Op::Transfer {
            from: 10,
            to: 20,
            amount: 5,
        },
    );
    b.deliver_where(is_pre_commit);
    // Alive, but cut off before the acknowledgements reach it.
    b.partition(&[COORDINATOR], &[1, 2]);
    b.run(TICKS.timeout_ticks + TICKS.termination_ticks);
    for p in [1, 2] {
        assert_eq!(
            b.decided(p, t),
            Some(true),
            "committed without the coordinator"
        );
    }
    assert_eq!(b.outcome(t), None, "the coordinator does not know yet");
    assert_eq!(b.coordinator().active(), 1);
    b.heal();
    b.run(TICKS.ack_timeout_ticks + 2 * TICKS.retry_ticks);
    assert_eq!(b.outcome(t), Some(true), "learned from the participants");
    assert_eq!(b.coordinator().active(), 0);
    assert!(
        b.coordinator
            .disk
            .contains(&CoordinatorRecord::Ended { txn: t })
    );
}

#[test]
fn pre_commit_arriving_after_termination_aborted_is_answered_with_the_abort() {
    let mut b = Bank::new(2, 1);
    let t = up_to_pre_commit(
        &mut b,
        Op::Transfer {
            from: 10,
            to: 20,
            amount: 5,
        },
    );
    // The PreCommits are delayed past the participants' timeouts: all uncertain, they abort.
    let delayed: Vec<Message> = b.in_flight.drain(..).collect();
    b.partition(&[COORDINATOR], &[1, 2]);
    b.run(TICKS.timeout_ticks + TICKS.termination_ticks);
    for p in [1, 2] {
        assert_eq!(b.decided(p, t), Some(false));
    }
    b.heal();
    for m in delayed {
        b.deliver(m);
    }
    b.settle();
    for p in [1, 2] {
        assert_eq!(b.decided(p, t), Some(false), "a decision is final");
    }
    assert_eq!(
        b.outcome(t),
        Some(false),
        "the coordinator learned the abort"
    );
    assert!(
        b.coordinator
            .disk
            .contains(&CoordinatorRecord::Abort { txn: t })
    );
    assert_eq!(b.coordinator().active(), 0);
}

#[test]
fn a_participant_that_joined_a_backup_round_refuses_the_coordinators_pre_commit() {
    let mut b = Bank::new(3, 1);
    let t = up_to_pre_commit(&mut b, Op::ReadAll);
    let late: Vec<Message> = b.in_flight.drain(..).filter(is_pre_commit_to(2)).collect();
    b.in_flight.clear();
    // Participant 1, a backup in round 1, asks 2 for its state: 2 joins round 1.
    let round = Round { n: 1, by: 1 };
    b.deliver(Message {
        from: 1,
        to: 2,
        body: Body::StateReq { txn: t, round },
    });
    let state = TxnState::Prepared;
    assert_eq!(
        b.in_flight_matching(|m| m.body
            == Body::StateReply {
                txn: t,
                round,
                state
            }),
        1
    );
    b.in_flight.clear();
    // The coordinator's PreCommit (round 0) comes late: fenced, neither logged nor acked.
    for m in late {
        b.deliver(m);
    }
    assert_eq!(b.participant(2).txn(t), Some(&TxnState::Prepared));
    assert!(b.in_flight.is_empty());
    // The backup's own PreCommit is followed.
    b.deliver(Message {
        from: 1,
        to: 2,
        body: Body::PreCommit { txn: t, round },
    });
    assert_eq!(b.participant(2).txn(t), Some(&TxnState::PreCommitted));
    assert_eq!(
        b.in_flight_matching(|m| m.body == Body::PreCommitAck { txn: t, round }),
        1
    );
}
