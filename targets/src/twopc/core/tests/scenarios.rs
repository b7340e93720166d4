//! Scripted runs of the protocol: the happy paths, conflicts, crashes at the points 2PC is
//! known for, and lost and duplicated messages.

use super::network::{Bank, COORDINATOR, is_prepare, is_vote};
use crate::twopc::core::{
    Body, Bug, Coordinator, CoordinatorConfig, CoordinatorRecord, Message, Op, Participant,
    ParticipantConfig, ParticipantRecord,
};

fn bank() -> Bank {
    Bank::new(3, 1, Bug::None)
}

fn is_decision(m: &Message) -> bool {
    matches!(m.body, Body::Decision { .. })
}

#[test]
fn transfer_commits_at_both_participants_and_conserves_the_total() {
    let mut b = bank();
    let t = b.transfer(10, 20, 30);
    b.settle();
    assert_eq!(b.outcome(t), Some(true));
    assert_eq!(b.participant(1).balances()[&10], 70);
    assert_eq!(b.participant(2).balances()[&20], 130);
    assert_eq!(b.total(), 600);
    assert!(!b.participant(1).holds_locks() && !b.participant(2).holds_locks());
    assert_eq!(
        b.coordinator().active(),
        0,
        "every ack in: ended and forgotten"
    );
    assert!(
        b.coordinator
            .disk
            .contains(&CoordinatorRecord::Ended { txn: t })
    );
}

#[test]
fn read_all_goes_through_the_protocol_and_reads_share_locks() {
    let mut b = bank();
    b.transfer(10, 31, 5);
    b.settle();
    let r1 = b.begin(Op::ReadAll);
    let r2 = b.begin(Op::ReadAll);
    b.settle();
    for r in [r1, r2] {
        let reads = b.outcomes.iter().find(|o| o.txn == r).unwrap();
        let reads = reads
            .committed
            .as_ref()
            .expect("concurrent reads both commit");
        assert_eq!(reads.len(), 6);
        assert_eq!(reads.iter().map(|r| r.1).sum::<i64>(), 600);
        assert!(reads.contains(&(10, 95)) && reads.contains(&(31, 105)));
    }
}

#[test]
fn prepare_conflicting_with_a_held_lock_votes_no() {
    let mut b = bank();
    let t1 = b.transfer(10, 20, 1);
    let t2 = b.transfer(21, 10, 1);
    let read = b.begin(Op::ReadAll);
    b.settle();
    assert_eq!(b.outcome(t1), Some(true));
    assert_eq!(b.outcome(t2), Some(false), "account 10 is locked by t1");
    assert_eq!(b.outcome(read), Some(false), "a read waits for no writer");
    assert_eq!(b.total(), 600);
    // Account 10's owner refused t2 and the read; the others refused the read only (on 20's
    // lock, and none at all for participant 3).
    let refused: Vec<u64> = [1, 2, 3]
        .iter()
        .map(|&p| b.participant(p).refused_on_locks())
        .collect();
    assert_eq!(refused, [2, 1, 0]);
    assert!(
        b.participants
            .keys()
            .all(|&p| !b.participant(p).holds_locks())
    );
}

#[test]
fn overdraft_votes_no_and_changes_nothing() {
    let mut b = bank();
    let t = b.transfer(10, 20, 101);
    b.settle();
    assert_eq!(b.outcome(t), Some(false));
    assert_eq!(
        b.participant(1).refused_on_locks(),
        0,
        "refused for funds, not locks"
    );
    assert_eq!(b.participant(1).balances()[&10], 100);
    assert_eq!(b.decided(1, t), Some(false));
    assert_eq!(b.decided(2, t), Some(false));
}

#[test]
fn coordinator_crash_before_deciding_blocks_participants_until_presumed_abort() {
    let mut b = bank();
    let t = b.transfer(10, 20, 30);
    b.deliver_where(is_prepare);
    // Both yes votes are in flight; the coordinator dies before it hears them.
    b.crash(COORDINATOR);
    b.run(30);
    for p in [1, 2] {
        assert_eq!(
            b.participant(p).in_doubt().collect::<Vec<_>>(),
            [t],
            "blocked"
        );
        assert!(b.participant(p).holds_locks(), "in doubt, the locks stay");
    }
    b.restart(COORDINATOR);
    b.run(5);
    assert_eq!(b.decided(1, t), Some(false));
    assert_eq!(b.decided(2, t), Some(false));
    assert!(!b.participant(1).holds_locks());
    assert_eq!(b.total(), 600);
}

#[test]
fn coordinator_crash_after_logging_commit_blocks_participants_until_it_resends() {
    let mut b = bank();
    let t = b.transfer(10, 20, 30);
    b.deliver_where(is_prepare);
    b.deliver_where(is_vote);
    assert!(b.coordinator().is_committing(t));
    assert_eq!(b.outcome(t), Some(true));
    // The decisions die with the coordinator.
    b.crash(COORDINATOR);
    assert_eq!(b.drop_messages(is_decision), 2);
    b.run(30);
    for p in [1, 2] {
        assert!(b.participant(p).in_doubt().any(|x| x == t), "blocked");
        assert!(b.participant(p).holds_locks());
    }
    b.restart(COORDINATOR);
    b.run(5);
    assert_eq!(b.decided(1, t), Some(true));
    assert_eq!(b.decided(2, t), Some(true));
    assert_eq!(b.total(), 600);
    assert_eq!(b.coordinator().active(), 0);
}

#[test]
fn participant_crash_after_voting_recovers_in_doubt_and_asks() {
    let mut b = bank();
    let t = b.transfer(10, 20, 30);
    b.deliver_where(is_prepare);
    b.crash(1);
    b.restart(1);
    assert_eq!(b.participant(1).in_doubt().collect::<Vec<_>>(), [t]);
    assert!(
        b.participant(1).holds_locks(),
        "locks restored from the log"
    );
    assert_eq!(
        b.in_flight_matching(|m| matches!(m.body, Body::Inquire { .. })),
        1
    );
    // The inquiry reaches the coordinator while it still waits for votes: no answer yet.
    b.deliver_where(|m| matches!(m.body, Body::Inquire { .. }));
    assert_eq!(
        b.in_flight_matching(|m| matches!(m.body, Body::Decision { .. })),
        0
    );
    b.settle();
    assert_eq!(b.decided(1, t), Some(true));
    assert_eq!(b.participant(1).balances()[&10], 70);
    // And again after the decision: replayed, not re-asked.
    b.crash(1);
    b.restart(1);
    assert_eq!(b.participant(1).balances()[&10], 70);
    assert!(!b.participant(1).holds_locks());
}

#[test]
fn lost_prepare_aborts_at_the_vote_timeout() {
    let mut b = bank();
    let t = b.transfer(10, 20, 30);
    b.drop_messages(|m| m.to == 2);
    b.run(12);
    assert_eq!(b.outcome(t), Some(false));
    assert_eq!(b.decided(1, t), Some(false));
    assert!(!b.participant(1).holds_locks());
}

#[test]
fn lost_commit_is_resent_until_acknowledged() {
    let mut b = bank();
    let t = b.transfer(10, 20, 30);
    b.deliver_where(is_prepare);
    b.deliver_where(is_vote);
    b.drop_messages(is_decision);
    b.run(4);
    assert_eq!(b.decided(1, t), Some(true));
    assert_eq!(b.decided(2, t), Some(true));
    assert_eq!(b.coordinator().active(), 0);
}

#[test]
fn lost_abort_is_learnt_by_inquiry() {
    let mut b = bank();
    let t = b.transfer(10, 20, 101);
    b.deliver_where(is_prepare);
    b.deliver_where(is_vote);
    b.drop_messages(is_decision);
    assert!(b.participant(2).in_doubt().any(|x| x == t), "2 voted yes");
    b.run(5);
    assert_eq!(b.decided(2, t), Some(false));
}

#[test]
fn duplicate_messages_change_nothing() {
    let mut b = bank();
    let t1 = b.transfer(10, 20, 30);
    let t2 = b.transfer(11, 31, 500);
    let mut budget = 1000;
    while let Some(m) = b.in_flight.first().cloned() {
        b.deliver(m.clone());
        b.deliver(m);
        b.in_flight.remove(0);
        budget -= 1;
        assert!(budget > 0);
    }
    assert_eq!(b.outcome(t1), Some(true));
    assert_eq!(b.outcome(t2), Some(false));
    assert_eq!(b.outcomes.len(), 2, "one outcome each");
    assert_eq!(b.participant(1).balances()[&10], 70);
    assert_eq!(b.participant(2).balances()[&20], 130);
    assert_eq!(b.total(), 600);
}

#[test]
fn restarted_coordinator_never_reuses_a_transaction_id() {
    let mut b = bank();
    let t1 = b.transfer(10, 20, 1);
    b.crash(COORDINATOR);
    b.restart(COORDINATOR);
    // t1's prepares still hold 10 and 20: t2 takes other accounts.
    let t2 = b.transfer(11, 21, 1);
    assert_ne!(t1, t2);
    b.run(12);
    assert_eq!(b.outcome(t2), Some(true));
    // t1 died undecided with the coordinator's first life: presumed aborted when asked.
    assert_eq!(b.outcome(t1), None);
    assert_eq!(b.decided(1, t1), Some(false));
    assert_eq!(b.decided(2, t1), Some(false));
}

#[test]
fn group_commit_batches_several_transactions_in_one_ready() {
    let shards = [(1, vec![10, 11]), (2, vec![20, 21])].into_iter().collect();
    let mut c = Coordinator::new(
        CoordinatorConfig {
            id: 0,
            shards,
            vote_timeout_ticks: 10,
            retry_ticks: 3,
        },
        &[],
    );
    let mut p = Participant::new(
        ParticipantConfig {
            id: 1,
            coordinator: 0,
            accounts: [(10, 100), (11, 100)].into_iter().collect(),
            inquire_ticks: 4,
            heuristic_ticks: 6,
            allow_negative: false,
            bug: Bug::None,
        },
        &[],
    );
    let ops = [
        Op::Transfer {
            from: 10,
            to: 20,
            amount: 1,
        },
        Op::Transfer {
            from: 11,
            to: 21,
            amount: 1,
        },
    ];
    let txns: Vec<_> = ops.iter().map(|op| c.begin(op.clone()).unwrap()).collect();
    c.ready();
    for (&txn, op) in txns.iter().zip(ops) {
        p.step(Message {
            from: 0,
            to: 1,
            body: Body::Prepare { txn, op },
        });
    }
    let ready = p.ready();
    assert_eq!(ready.log.len(), 2, "two prepared records, one fsync");
    assert!(
        ready
            .log
            .iter()
            .all(|r| matches!(r, ParticipantRecord::Prepared { .. }))
    );
    assert_eq!(ready.messages.len(), 2);
    for &txn in &txns {
        for from in [1, 2] {
            c.step(Message {
                from,
                to: 0,
                body: Body::Vote {
                    txn,
                    yes: true,
                    reads: Vec::new(),
                },
            });
        }
    }
    let ready = c.ready();
    assert_eq!(ready.log.len(), 2, "two commit records, one fsync");
    assert_eq!(ready.messages.len(), 4);
    assert_eq!(ready.outcomes.len(), 2);
}
