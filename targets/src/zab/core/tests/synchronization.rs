//! Phase 2, synchronization: a follower's history becomes the leader's — by DIFF, TRUNC or
//! SNAP — before the leader commits anything, and a whole ensemble restarted from its disks
//! rebuilds its data trees by replay.

use super::network::Cluster;
use crate::test_links::Partitioned;
use crate::zab::core::{Body, Packet, Phase, Role, Zxid};

/// The payloads of node `id`'s persisted history.
fn history(c: &Cluster, id: u64) -> Vec<Vec<u8>> {
    c.node(id)
        .disk
        .history
        .iter()
        .map(|t| t.payload.clone())
        .collect()
}

#[test]
fn a_follower_that_missed_transactions_gets_a_diff() {
    let mut c = Cluster::new(3, 1);
    let leader = c.wait_for_leader();
    let follower = if leader == 1 { 2 } else { 1 };
    c.crash(follower);
    for k in 0..3u8 {
        c.propose(leader, &[k]).expect("a quorum is up");
    }
    c.run(2);
    let diffs = c.stats.diffs;
    c.restart(follower);
    assert!(c.run_until(5, Cluster::all_synced).is_some());
    assert_eq!(c.stats.diffs, diffs + 1);
    assert_eq!(history(&c, follower), [[0], [1], [2]]);
    assert_eq!(c.node(follower).delivered.len(), 3);
}

/// Five nodes: `committed` transactions are committed everywhere under node 5, then node 5
/// proposes one more that only node 1 logs. Nodes 5 and 1 crash; nodes 2–4 elect node 4,
/// which commits one transaction; then nodes 5 and 1 come back.
fn stranded_proposal(committed: u8) -> Cluster {
    let mut c = Cluster::new(5, 2);
    assert_eq!(c.wait_for_leader(), 5);
    for k in 0..committed {
        c.propose(5, &[k]).expect("an established leader");
    }
    c.run(2);
    for id in [2, 3, 4] {
        c.cut(5, id);
    }
    c.propose(5, b"stranded").expect("still leading");
    c.stabilize();
    assert_eq!(
        history(&c, 1).last().map(|p| &p[..]),
        Some(&b"stranded"[..])
    );
    c.crash(5);
    c.crash(1);
    c.heal();
    assert!(c.run_until(50, |c| c.leader() == Some(4)).is_some());
    c.propose(4, b"new").expect("node 4 leads");
    c.run(2);
    c.restart(5);
    c.restart(1);
    assert!(c.run_until(50, Cluster::all_synced).is_some());
    c
}

#[test]
fn a_follower_with_proposals_the_leader_lacks_is_truncated() {
    let c = stranded_proposal(2);
    // Both hold 1:1 and 1:2, committed, then 1:3, which the leader lacks: cut off after 1:2.
    assert_eq!(c.stats.truncs, 2, "nodes 1 and 5");
    assert_eq!(c.stats.snaps, 0);
    for id in [1, 5] {
        assert_eq!(
            history(&c, id),
            [vec![0], vec![1], b"new".to_vec()],
            "node {id}"
        );
    }
}

#[test]
fn a_follower_diverged_before_anything_the_leader_names_gets_a_snapshot() {
    // The stranded proposal 1:1 is all nodes 1 and 5 have of epoch 1; node 4's history has
    // nothing of that epoch to truncate to.
    let c = stranded_proposal(0);
    assert_eq!(c.stats.snaps, 2, "nodes 1 and 5");
    for id in [1, 5] {
        assert_eq!(history(&c, id), [b"new".to_vec()], "node {id}");
    }
}

#[test]
fn a_leader_commits_nothing_before_a_quorum_acknowledges_newleader() {
    let mut c = Cluster::new(3, 3);
    c.set_filter(|m| {
        !matches!(&m.body, Body::Link(link) if matches!(link.packet, Packet::AckNewLeader { .. }))
    });
    c.run(5);
    let leader = c.ids().into_iter().find(|&id| {
        let s = c.status(id);
        s.role == Role::Leading && s.phase == Phase::Synchronization
    });
    let leader = leader.expect("a leader waiting for ACKNEWLEADER");
    assert!(c.propose(leader, b"x").is_err(), "not established yet");
    c.clear_filter();
    assert!(c.run_until(3, Cluster::all_synced).is_some());
    c.propose(leader, b"x").expect("established");
}

#[test]
fn an_ensemble_restarted_from_its_disks_replays_its_history() {
    let mut c = Cluster::new(5, 4);
    let leader = c.wait_for_leader();
    let epoch = c.status(leader).current_epoch;
    for k in 0..5u8 {
        c.propose(leader, &[k]).expect("an established leader");
    }
    c.run(2);
    for id in c.ids() {
        c.crash(id);
    }
    for id in c.ids() {
        c.restart(id);
    }
    let next = c.wait_for_leader();
    assert!(c.status(next).current_epoch > epoch);
    for id in c.ids() {
        let zxids: Vec<Zxid> = c.node(id).delivered.iter().map(|t| t.zxid).collect();
        assert_eq!(
            zxids,
            (1..=5).map(|k| Zxid::new(epoch, k)).collect::<Vec<_>>()
        );
    }
}
