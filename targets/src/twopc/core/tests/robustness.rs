//! Bad input: messages no correct peer would send, or that arrive from nowhere. Each is
//! handled without a panic and without changing a decision.

use super::network::{Bank, COORDINATOR};
use crate::twopc::core::{Body, Bug, Message, Op, TxnId, UnknownAccount};

const UNKNOWN: TxnId = TxnId {
    incarnation: 99,
    seq: 7,
};

fn to(to: u64, from: u64, body: Body) -> Message {
    Message { from, to, body }
}

#[test]
fn decision_for_an_unknown_transaction_is_harmless() {
    let mut b = Bank::new(2, 1, Bug::None);
    b.deliver(to(
        1,
        COORDINATOR,
        Body::Decision {
            txn: UNKNOWN,
            commit: true,
        },
    ));
    assert_eq!(
        b.decided(1, UNKNOWN),
        None,
        "never voted: a commit is not believed"
    );
    b.deliver(to(
        1,
        COORDINATOR,
        Body::Decision {
            txn: UNKNOWN,
            commit: false,
        },
    ));
    assert_eq!(b.decided(1, UNKNOWN), Some(false));
    // The prepare arriving after its abort is refused.
    let op = Op::Transfer {
        from: 10,
        to: 20,
        amount: 1,
    };
    b.deliver(to(1, COORDINATOR, Body::Prepare { txn: UNKNOWN, op }));
    assert!(!b.participant(1).holds_locks());
    assert!(b.in_flight.iter().any(|m| m.body
        == Body::Vote {
            txn: UNKNOWN,
            yes: false,
            reads: Vec::new()
        }));
}

#[test]
fn messages_from_unknown_nodes_or_of_the_wrong_kind_are_ignored() {
    let mut b = Bank::new(2, 1, Bug::None);
    let op = Op::Transfer {
        from: 10,
        to: 20,
        amount: 1,
    };
    b.deliver(to(
        1,
        99,
        Body::Prepare {
            txn: UNKNOWN,
            op: op.clone(),
        },
    ));
    b.deliver(to(
        1,
        2,
        Body::Decision {
            txn: UNKNOWN,
            commit: false,
        },
    ));
    b.deliver(to(1, COORDINATOR, Body::Ack { txn: UNKNOWN }));
    b.deliver(to(COORDINATOR, 99, Body::Inquire { txn: UNKNOWN }));
    b.deliver(to(COORDINATOR, 1, Body::Prepare { txn: UNKNOWN, op }));
    b.deliver(to(COORDINATOR, 1, Body::Ack { txn: UNKNOWN }));
    b.deliver(to(
        COORDINATOR,
        1,
        Body::Vote {
            txn: UNKNOWN,
            yes: false,
            reads: Vec::new(),
        },
    ));
    assert!(b.in_flight.is_empty());
    assert!(b.participants[&1].disk.is_empty());
    // A vote from a participant the transaction does not involve counts for nothing.
    let t = b.transfer(10, 11, 1);
    b.deliver(to(
        COORDINATOR,
        2,
        Body::Vote {
            txn: t,
            yes: false,
            reads: Vec::new(),
        },
    ));
    b.settle();
    assert_eq!(b.outcome(t), Some(true));
}

#[test]
fn inquiry_about_an_unknown_transaction_is_answered_abort() {
    let mut b = Bank::new(2, 1, Bug::None);
    b.deliver(to(COORDINATOR, 1, Body::Inquire { txn: UNKNOWN }));
    assert_eq!(
        b.in_flight,
        [to(
            1,
            COORDINATOR,
            Body::Decision {
                txn: UNKNOWN,
                commit: false
            }
        )]
    );
}

#[test]
fn stale_abort_after_a_commit_is_ignored() {
    let mut b = Bank::new(2, 1, Bug::None);
    let t = b.transfer(10, 20, 5);
    b.settle();
    // An inquiry delayed past the end of the transaction gets a presumed abort.
    b.deliver(to(
        1,
        COORDINATOR,
        Body::Decision {
            txn: t,
            commit: false,
        },
    ));
    assert_eq!(b.decided(1, t), Some(true));
    assert_eq!(b.participant(1).balances()[&10], 95);
}

#[test]
fn begin_with_an_unknown_account_is_refused() {
    let mut b = Bank::new(2, 1, Bug::None);
    let c = b.coordinator.node.as_mut().unwrap();
    let refused = c.begin(Op::Transfer {
        from: 10,
        to: 777,
        amount: 1,
    });
    assert_eq!(refused, Err(UnknownAccount(777)));
    assert!(c.ready().messages.is_empty());
}
