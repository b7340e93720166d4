//! Phase 0, fast leader election: whom an ensemble elects, how fast, and how a node joins a
//! leader that is already established.

use super::network::Cluster;
use crate::test_links::Partitioned;
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
fn five_nodes_elect_and_sync_without_waiting_for_a_timer() {
    // Every node starts electing at once; with equal histories every vote soon names the
    // highest id, and a node decides as soon as all the votes agree — and the three round trips
    // of discovery and synchronization follow without waiting for a tick either. With the
    // shell's 10 ms tick, that is a few network round trips: well under a second.
    for seed in 0..50 {
        let mut c = Cluster::new(5, seed);
        let ticks = c.run_until(10, Cluster::all_synced);
        assert_eq!(ticks, Some(0), "seed {seed}");
    }
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
    // Followers give up on a silent leader after 10..=20 ticks; the election then decides at
    // the next tick once a quorum agrees (the dead node's vote never comes), and discovery and
    // synchronization take no tick. Worst case over these seeds: 22 ticks (220 ms at 10 ms).
    for seed in 0..50 {
        let mut c = Cluster::new(5, seed);
        let leader = c.wait_for_leader();
        let epoch = c.status(leader).current_epoch;
        c.crash(leader);
        let ticks = c.run_until(30, Cluster::all_synced);
        assert!(ticks.is_some_and(|t| t <= 22), "seed {seed}: {ticks:?}");
        let next = c.leader().expect("a leader");
        assert_ne!(next, leader);
        assert!(c.status(next).current_epoch > epoch);
    }
}

#[test]
fn no_leader_without_a_quorum() {
    let mut c = Cluster::new(5, 6);
    c.partition(&[&[1, 2], &[3], &[4], &[5]]);
    assert!(c.run_until(200, |c| c.leader().is_some()).is_none());
    c.heal();
    c.wait_for_leader();
}
