//! Bad input: messages no correct peer would send, or that arrive from nowhere, late or
//! twice. Each is handled without a panic and without changing a decision.

use super::network::{Bank, COORDINATOR};
use crate::threepc::core::{Body, Message, Op, Round, TxnId, TxnState, UnknownAccount};

const UNKNOWN: TxnId = TxnId {
    incarnation: 99,
    seq: 7,
};

const STRANGER: u64 = 42;

fn msg(to: u64, from: u64, body: Body) -> Message {
    Message { from, to, body }
}

fn round(n: u64, by: u64) -> Round {
    Round { n, by }
}

#[test]
fn messages_from_strangers_are_ignored() {
    let mut b = Bank::new(2, 1);
    let op = Op::Transfer {
        from: 10,
        to: 20,
        amount: 1,
    };
    let t = TxnId {
        incarnation: 1,
        seq: 1,
    };
    let bodies = [
        Body::CanCommit { txn: t, op },
        Body::PreCommit {
            txn: t,
            round: round(9, STRANGER),
        },
        Body::DoCommit { txn: t },
        Body::Abort { txn: t },
        Body::StateReq {
            txn: t,
            round: round(9, STRANGER),
        },
        Body::StateReply {
            txn: t,
            round: round(9, STRANGER),
            state: TxnState::Committed,
        },
        Body::Vote {
            txn: t,
            yes: true,
            reads: Vec::new(),
        },
    ];
    for body in bodies {
        for to in b.ids() {
            b.deliver(msg(to, STRANGER, body.clone()));
        }
        // Misaddressed: from a real node, but meant for another.
        let p1 = b.participants.get_mut(&1).unwrap().node.as_mut().unwrap();
        p1.step(msg(2, COORDINATOR, body.clone()));
        let ready = p1.ready();
        assert!(ready.log.is_empty() && ready.messages.is_empty());
    }
    assert!(
        b.in_flight.is_empty(),
        "nothing answered: {:?}",
        b.in_flight
    );
    assert!(b.participants.values().all(|s| s.disk.is_empty()));
    assert!(!b.participant(1).holds_locks());
    // A participant does not take CanCommit from a peer either.
    let op = Op::ReadAll;
    b.deliver(msg(1, 2, Body::CanCommit { txn: t, op }));
    assert_eq!(b.participant(1).txn(t), None);
}

#[test]
fn unknown_transactions_are_harmless() {
    let mut b = Bank::new(2, 1);
    b.deliver(msg(1, COORDINATOR, Body::DoCommit { txn: UNKNOWN }));
    assert_eq!(
        b.decided(1, UNKNOWN),
        None,
        "never voted: a commit is not believed"
    );
    let r = round(0, COORDINATOR);
    b.deliver(msg(
        1,
        COORDINATOR,
        Body::PreCommit {
            txn: UNKNOWN,
            round: r,
        },
    ));
    assert_eq!(b.participant(1).txn(UNKNOWN), None);
    b.deliver(msg(
        1,
        2,
        Body::PreCommitAck {
            txn: UNKNOWN,
            round: r,
        },
    ));
    b.deliver(msg(1, 2, Body::Ack { txn: UNKNOWN }));
    let state = TxnState::Committed;
    b.deliver(msg(
        1,
        2,
        Body::StateReply {
            txn: UNKNOWN,
            round: r,
            state,
        },
    ));
    assert_eq!(b.participant(1).txn(UNKNOWN), None);
    // The coordinator: acks, replies and votes about transactions it never began.
    for body in [
        Body::PreCommitAck {
            txn: UNKNOWN,
            round: r,
        },
        Body::Ack { txn: UNKNOWN },
        Body::StateReply {
            txn: UNKNOWN,
            round: r,
            state,
        },
    ] {
        b.deliver(msg(COORDINATOR, 1, body));
    }
    assert_eq!(b.coordinator().active(), 0);
    // A StateReq about a transaction never voted on aborts it there: it has not voted.
    b.deliver(msg(
        2,
        1,
        Body::StateReq {
            txn: UNKNOWN,
            round: round(1, 1),
        },
    ));
    assert_eq!(b.decided(2, UNKNOWN), Some(false));
    let op = Op::Transfer {
        from: 20,
        to: 10,
        amount: 1,
    };
    b.deliver(msg(2, COORDINATOR, Body::CanCommit { txn: UNKNOWN, op }));
    assert!(
        !b.participant(2).holds_locks(),
        "the late CanCommit is refused"
    );
}

#[test]
fn duplicate_and_late_messages_change_no_decision() {
    let mut b = Bank::new(2, 1);
    b.duplicate_per_mille = 1000;
    let t = b.transfer(10, 20, 7);
    // Every message delivered at least twice — bounded by draining the copies afterwards.
    for _ in 0..200 {
        b.deliver_one();
    }
    b.duplicate_per_mille = 0;
    b.settle();
    assert_eq!(b.outcome(t), Some(true));
    assert_eq!(b.total(), 400);
    let before: Vec<usize> = [1, 2]
        .iter()
        .map(|p| b.participants[p].disk.len())
        .collect();
    // Late messages of every phase, after the decision.
    let r = round(0, COORDINATOR);
    for p in [1, 2] {
        let op = Op::ReadAll;
        b.deliver(msg(p, COORDINATOR, Body::CanCommit { txn: t, op }));
        b.deliver(msg(p, COORDINATOR, Body::PreCommit { txn: t, round: r }));
        b.deliver(msg(p, COORDINATOR, Body::Abort { txn: t }));
        b.deliver(msg(
            p,
            3 - p,
            Body::StateReq {
                txn: t,
                round: round(5, 3 - p),
            },
        ));
        b.deliver(msg(p, 3 - p, Body::Abort { txn: t }));
    }
    b.settle();
    let after: Vec<usize> = [1, 2]
        .iter()
        .map(|p| b.participants[p].disk.len())
        .collect();
    assert_eq!(before, after, "nothing new logged");
    for p in [1, 2] {
        assert_eq!(b.participant(p).txn(t), Some(&TxnState::Committed));
    }
    assert_eq!(b.participant(1).balances()[&10], 93);
}

#[test]
fn begin_with_an_unknown_account_is_refused() {
    let mut b = Bank::new(2, 1);
    let c = b.coordinator.node.as_mut().unwrap();
    let op = Op::Transfer {
        from: 10,
        to: 99,
        amount: 1,
    };
    assert_eq!(c.begin(op), Err(UnknownAccount(99)));
    assert_eq!(c.active(), 0);
}
