//! The bug switches break ZAB's properties, and the invariant checker catches them: each test
//! runs one schedule with and without its bug, and only the buggy run violates a property.

use super::network::Cluster;
use super::with_bug;
use crate::test_links::Partitioned;
use crate::zab::core::{Body, Bug, Packet, Phase, Role};

/// A deposed leader that does not yet know it (node 3, which stops ticking: a paused process)
/// proposes to a follower of the new leader.
fn deposed_leader_proposes(bug: Bug) -> Cluster {
    let mut c = Cluster::with(3, 1, with_bug(bug));
    c.strict = false;
    assert_eq!(
        c.wait_for_leader(),
        3,
        "equal histories: the highest id leads"
    );
    c.partition(&[&[3], &[1, 2]]);
    let mut elected = false;
    for _ in 0..100 {
        c.tick(1);
        c.tick(2);
        c.stabilize();
        if c.leader() == Some(2) && c.status(1).synced() {
            elected = true;
            break;
        }
    }
    assert!(elected, "nodes 1 and 2 did not establish node 2");
    c.propose(2, b"x").expect("node 2 leads epoch 2");
    c.stabilize();
    // Node 3 reaches node 1 again, still leading epoch 1.
    c.heal();
    c.partition(&[&[3], &[2]]);
    assert_eq!(c.status(3).role, Role::Leading);
    c.propose(3, b"y")
        .expect("node 3 still thinks it leads epoch 1");
    c.stabilize();
    c
}

#[test]
fn accept_older_epoch_lets_a_deposed_leader_commit() {
    let c = deposed_leader_proposes(Bug::AcceptOlderEpoch);
    let first = c.violations.first().expect("the bug must be caught");
    assert!(first.starts_with("agreement / total order"), "{first}");
    // Node 3 delivered y where nodes 1 and 2 delivered x.
    assert_eq!(c.node(3).delivered[0].payload, b"y");
    assert_eq!(c.node(2).delivered[0].payload, b"x");
}

#[test]
fn without_the_bug_a_deposed_leader_commits_nothing() {
    let c = deposed_leader_proposes(Bug::None);
    assert_eq!(c.violations, Vec::<String>::new());
    assert!(c.node(3).delivered.is_empty());
    let delivered: Vec<&[u8]> = c
        .invariants
        .delivered()
        .iter()
        .map(|t| &t.payload[..])
        .collect();
    assert_eq!(delivered, [b"x"]);
}

/// Node 3 leads epoch 1 and logs a proposal nobody else gets; it restarts, wins the next
/// election with that longer history, but none of its NEWLEADERs arrive; it crashes, and nodes
/// 1 and 2 go on without the proposal.
fn leader_without_synced_quorum(bug: Bug) -> Cluster {
    let mut c = Cluster::with(3, 2, with_bug(bug));
    c.strict = false;
    assert_eq!(c.wait_for_leader(), 3);
    c.cut(3, 1);
    c.cut(3, 2);
    c.propose(3, b"p").expect("node 3 leads epoch 1");
    c.stabilize();
    c.crash(3);
    c.heal();
    c.set_filter(
        |m| !matches!(&m.body, Body::Link(link) if matches!(link.packet, Packet::NewLeader(_))),
    );
    c.restart(3);
    let past_discovery = |c: &Cluster| {
        let s = c.status(3);
        s.role == Role::Leading && s.accepted_epoch == 2 && s.phase != Phase::Discovery
    };
    assert!(
        c.run_until(100, past_discovery).is_some(),
        "node 3 did not lead again"
    );
    c.crash(3);
    c.clear_filter();
    assert!(
        c.run_until(100, |c| c.leader() == Some(2)).is_some(),
        "node 2 did not take over"
    );
    c.propose(2, b"q").expect("node 2 leads epoch 3");
    c.run(2);
    c
}

#[test]
fn broadcast_before_sync_delivers_what_no_quorum_holds() {
    let c = leader_without_synced_quorum(Bug::BroadcastBeforeSync);
    let first = c.violations.first().expect("the bug must be caught");
    assert!(first.starts_with("primary integrity"), "{first}");
    assert!(
        c.violations
            .iter()
            .any(|v| v.starts_with("agreement / total order")),
        "{:?}",
        c.violations
    );
}

#[test]
fn without_the_bug_a_leader_waits_for_a_synced_quorum() {
    let c = leader_without_synced_quorum(Bug::None);
    assert_eq!(c.violations, Vec::<String>::new());
    let delivered: Vec<&[u8]> = c
        .invariants
        .delivered()
        .iter()
        .map(|t| &t.payload[..])
        .collect();
    assert_eq!(delivered, [b"q"]);
}
