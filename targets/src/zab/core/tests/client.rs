//! What clients see: a proposal's fate, and ZooKeeper's sync.

use super::network::Cluster;
use crate::test_links::Partitioned;
use crate::zab::core::{Body, Packet, Role};

#[test]
fn a_proposal_overtaken_by_a_later_epoch_is_lost_for_good() {
    let mut c = Cluster::new(3, 1);
    let old = c.wait_for_leader();
    let others: Vec<u64> = c.ids().into_iter().filter(|&id| id != old).collect();
    c.isolate(old);
    let zxid = c.propose(old, b"lost").expect("still leading");
    assert!(
        c.run_until(50, |c| c.leader().is_some_and(|l| l != old))
            .is_some()
    );
    let new = c.leader().expect("a new leader");
    let later = c.propose(new, b"kept").expect("the new leader");
    assert!(later.epoch > zxid.epoch);
    c.run(2);
    c.heal();
    assert!(c.run_until(50, Cluster::all_synced).is_some());
    // A zxid of a later epoch was delivered and `zxid` never was: the proposal is lost.
    for id in c.ids() {
        let delivered = &c.node(id).delivered;
        assert!(delivered.iter().all(|t| t.zxid != zxid), "node {id}");
        assert!(delivered.iter().any(|t| t.zxid == later), "node {id}");
    }
    assert!(others.contains(&new));
}

#[test]
fn a_sync_at_the_leader_is_done_once_its_proposals_are_delivered() {
    let mut c = Cluster::new(3, 2);
    let leader = c.wait_for_leader();
    let zxid = c.propose(leader, b"x").expect("an established leader");
    c.sync(leader, 7).expect("an established leader");
    assert!(
        c.node(leader).synced.is_empty(),
        "x is not committed, and a quorum has not confirmed the leadership"
    );
    c.stabilize();
    assert_eq!(c.node(leader).synced, [(7, zxid)]);
}

#[test]
fn a_sync_at_a_follower_waits_until_it_delivered_the_leaders_last_proposal() {
    let mut c = Cluster::new(3, 3);
    let leader = c.wait_for_leader();
    let follower = if leader == 1 { 2 } else { 1 };
    // The follower misses the proposal; the leader commits it with the third node.
    c.set_filter(move |m| {
        !(m.to == follower
            && matches!(&m.body, Body::Link(l) if matches!(l.packet, Packet::Propose(_))))
    });
    let zxid = c.propose(leader, b"x").expect("an established leader");
    c.stabilize();
    c.clear_filter();
    // The leader answers with x's zxid after a ping round, whose answer from the follower shows
    // the gap: the leader sends x again, and the sync is done once the follower delivered it.
    c.sync(follower, 9).expect("a follower in broadcast");
    c.stabilize();
    assert_eq!(c.node(follower).synced, [(9, zxid)]);
    assert_eq!(
        c.node(follower).delivered.last().map(|t| t.zxid),
        Some(zxid)
    );
}

#[test]
fn a_sync_without_a_leader_fails() {
    let mut c = Cluster::new(3, 4);
    let leader = c.wait_for_leader();
    let follower = if leader == 1 { 2 } else { 1 };
    // Refused at once where there is no leader to ask.
    c.isolate(leader);
    c.crash(leader);
    c.cut(follower, leader);
    // Asked while connected, then its leader goes silent: it fails when the follower gives up.
    c.sync(follower, 5).expect("still following");
    assert!(
        c.run_until(25, |c| c.status(follower).role == Role::Looking)
            .is_some()
    );
    assert_eq!(c.node(follower).failed_syncs, [5]);
    assert!(c.sync(follower, 6).is_err(), "looking: refused at once");
}

#[test]
fn a_deposed_leader_answers_no_sync() {
    // The old leader stops ticking (a paused process): it does not notice that the others
    // moved on and committed a write it lacks. ZooKeeper's own sync would be answered here,
    // from the old leader's state: a stale read.
    let mut c = Cluster::new(3, 5);
    let old = c.wait_for_leader();
    let others: Vec<u64> = c.ids().into_iter().filter(|&id| id != old).collect();
    c.isolate(old);
    let mut moved_on = false;
    for _ in 0..50 {
        for &id in &others {
            c.tick(id);
        }
        c.stabilize();
        if c.leader().is_some_and(|l| l != old) {
            moved_on = true;
            break;
        }
    }
    assert!(moved_on, "the majority did not elect a new leader");
    let new = c.leader().expect("a new leader");
    c.propose(new, b"w").expect("the new leader");
    c.stabilize();
    c.heal();
    assert_eq!(c.status(old).role, Role::Leading);
    c.sync(old, 3).expect("it still thinks it leads");
    c.stabilize();
    assert!(c.node(old).synced.is_empty(), "a stale sync was answered");
    // Once it ticks again it notices, and the sync fails.
    assert!(
        c.run_until(25, |c| c.status(old).role != Role::Leading)
            .is_some()
    );
    assert_eq!(c.node(old).failed_syncs, [3]);
}

#[test]
fn next_zxid_foretells_what_propose_gives() {
    let mut c = Cluster::new(3, 4);
    let old = c.wait_for_leader();
    for payload in [&b"a"[..], b"b"] {
        let foretold = c.next_zxid(old).expect("an established leader");
        assert_eq!(c.propose(old, payload), Ok(foretold));
    }
    let follower = c.ids().into_iter().find(|&id| id != old).expect("3 nodes");
    assert_eq!(c.next_zxid(follower).map_err(|e| e.leader), Err(Some(old)));
    // A new leader's first proposal opens its epoch.
    c.isolate(old);
    assert!(
        c.run_until(50, |c| c.leader().is_some_and(|l| l != old))
            .is_some()
    );
    let new = c.leader().expect("a new leader");
    let foretold = c.next_zxid(new).expect("an established leader");
    assert_eq!(foretold.counter, 1);
    assert_eq!(c.propose(new, b"c"), Ok(foretold));
}
