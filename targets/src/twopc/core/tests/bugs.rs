//! The bug switch, scripted: the invariant checks must see what it breaks.

use super::network::{Bank, COORDINATOR};
use crate::twopc::core::{Body, Bug, Message};

#[test]
fn heuristic_abort_splits_the_decision_and_is_caught() {
    let mut b = Bank::new(2, 1, Bug::HeuristicAbort);
    b.watch.strict = false;
    let t = b.transfer(10, 20, 30);
    // Prepares, then votes: the coordinator logs the commit.
    for _ in 0..4 {
        b.deliver_one();
    }
    assert!(b.coordinator().is_committing(t));
    // The commit reaches 1 only; the coordinator dies.
    let commits: Vec<Message> = b.in_flight.drain(..).collect();
    for m in commits {
        if m.to == 1 && matches!(m.body, Body::Decision { commit: true, .. }) {
            b.deliver(m);
        }
    }
    b.crash(COORDINATOR);
    b.in_flight.clear();
    assert_eq!(b.decided(1, t), Some(true));
    for _ in 0..6 {
        b.tick(2);
    }
    assert_eq!(b.decided(2, t), Some(false), "2 gave up waiting");
    let v = &b.watch.violations;
    assert!(v.iter().any(|v| v.starts_with("atomicity")), "{v:?}");
    assert!(v.iter().any(|v| v.starts_with("total conserved")), "{v:?}");
}

#[test]
fn without_the_bug_the_same_schedule_blocks_instead() {
    let mut b = Bank::new(2, 1, Bug::None);
    let t = b.transfer(10, 20, 30);
    for _ in 0..4 {
        b.deliver_one();
    }
    b.in_flight.retain(|m| m.to == 1);
    b.crash(COORDINATOR);
    b.settle();
    for _ in 0..60 {
        b.tick(2);
    }
    assert!(b.participant(2).in_doubt().any(|x| x == t));
    b.restart(COORDINATOR);
    b.run(3);
    assert_eq!(b.decided(2, t), Some(true));
}
