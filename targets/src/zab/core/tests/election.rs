//! Phase 0, fast leader election: whom an ensemble elects, how fast, and how a node joins a
//! leader that is already established.

use super::network::Cluster;
use crate::zab::core::{Epochs, Persisted, Phase, Role, Txn, Zxid};

/// A disk whose history holds one transaction per zxid, with both epochs at `epoch`.
fn disk(epoch: u64, zxids: &[(u64, u64)]) -> Persisted {
    let history = zxids
        .iter()
        .map(|&(e, c)| Txn {
            zxid: Zxid::new(e, c),
            payload: format!("{e}:{c}").into_bytes(),
        })
        .collect();
    Persisted {
        epochs: Epochs {
            accepted: epoch,
            current: epoch,
        },
        history,
    }
}

#[test]
fn a_leader_is_elected_and_every_node_follows_it() {
    let mut c = Cluster::new(3, 1);
    let leader = c.wait_for_leader();
    // Equal (empty) histories: the highest id wins.
    assert_eq!(leader, 3);
    for id in c.ids() {
        let s = c.status(id);
        assert_eq!(s.leader, Some(3));
        assert_eq!(s.current_epoch, 1);
        assert_eq!(s.phase, Phase::Broadcast);
    }
}

#[test]
fn five_nodes_elect_and_sync_within_a_few_ticks() {
    // Messages take less than a tick here, as on a LAN with the shell's 10 ms tick: every node
    // starts electing at once, and the three round trips of discovery and synchronization
    // follow the election without waiting for a timer.
    let mut worst = 0;
    for seed in 0..50 {
        let mut c = Cluster::new(5, seed);
        let ticks = c.run_until(10, Cluster::all_synced);
        let ticks = ticks.unwrap_or_else(|| panic!("seed {seed}: not synced within 10 ticks"));
        worst = worst.max(ticks);
    }
    assert!(worst <= 1, "synced after {worst} ticks");
}

#[test]
fn the_most_recent_history_wins() {
    // Node 1 has the highest current epoch, though node 3 has more transactions and node 2
    // a higher id: the epoch of a history says more about its recency than its length.
    let disks = vec![
        disk(2, &[(1, 1), (2, 1)]),
        disk(1, &[(1, 1)]),
        disk(1, &[(1, 1), (1, 2), (1, 3)]),
    ];
    let mut c = Cluster::restored(disks, 3, |_| {});
    assert_eq!(c.wait_for_leader(), 1);
    // Its history is everyone's now; node 3's two extra transactions are gone.
    for id in c.ids() {
        let zxids: Vec<Zxid> = c.node(id).delivered.iter().map(|t| t.zxid).collect();
        assert_eq!(zxids, [Zxid::new(1, 1), Zxid::new(2, 1)], "node {id}");
    }
}

#[test]
fn a_restarted_node_joins_the_established_leader() {
    let mut c = Cluster::new(5, 4);
    let leader = c.wait_for_leader();
    let epoch = c.status(leader).current_epoch;
    let follower = if leader == 1 { 2 } else { 1 };
    c.crash(follower);
    c.restart(follower);
    assert_eq!(c.status(follower).role, Role::Looking);
    assert!(c.run_until(5, Cluster::all_synced).is_some());
    // It joined the leader in place: no new election, no new epoch.
    assert_eq!(c.leader(), Some(leader));
    assert_eq!(c.status(follower).current_epoch, epoch);
}

#[test]
fn a_dead_leader_is_replaced_within_an_election_timeout() {
    let mut c = Cluster::new(5, 5);
    let leader = c.wait_for_leader();
    let epoch = c.status(leader).current_epoch;
    c.crash(leader);
    // Followers give up after at most 20 silent ticks; the new election and phases 1–2 take
    // a round trip each.
    let ticks = c
        .run_until(25, |c| c.leader().is_some())
        .expect("a new leader");
    assert!(ticks <= 22, "took {ticks} ticks");
    let next = c.leader().expect("a leader");
    assert_ne!(next, leader);
    assert!(c.status(next).current_epoch > epoch);
}

#[test]
fn no_leader_without_a_quorum() {
    let mut c = Cluster::new(5, 6);
    c.partition(&[&[1, 2], &[3], &[4], &[5]]);
    assert!(c.run_until(200, |c| c.leader().is_some()).is_none());
    c.heal();
    c.wait_for_leader();
}
