//! Pre-vote and check-quorum (thesis §9.6 and §6.2): a node that was partitioned away does not
//! depose a working leader when it comes back, and a leader cut off from its majority stops
//! leading. Each is shown next to what happens without it.

use super::network::Cluster;
use crate::raft::{NodeId, Role, Term};
use crate::test_links::Partitioned;

fn follower_of(c: &Cluster, leader: NodeId) -> NodeId {
    c.ids()
        .into_iter()
        .find(|&id| id != leader)
        .expect("a follower")
}

/// Elects a leader of a 3-node cluster, isolates a follower for ten election timeouts and more,
/// then heals it and lets it time out before the leader's next heartbeat can reach it: only the
/// healed node ticks for a while. Returns the leader, its term and the healed node.
fn isolate_and_heal_a_follower(c: &mut Cluster) -> (NodeId, Term, NodeId) {
    let leader = c.wait_for_leader();
    c.run(3);
    let term = c.raft(leader).term();
    let away = follower_of(c, leader);
    c.isolate(away);
    c.run(200);
    c.heal();
    for _ in 0..40 {
        c.tick(away);
        c.stabilize();
    }
    (leader, term, away)
}

#[test]
fn healed_node_does_not_depose_the_leader() {
    // Pre-vote alone suffices; check-quorum does not get in its way.
    for check_quorum in [true, false] {
        let mut c = Cluster::with(3, 5, |config| config.check_quorum = check_quorum);
        let (leader, term, away) = isolate_and_heal_a_follower(&mut c);
        // Its pre-votes never bumped its term, and the others, who heard from the leader within
        // an election timeout, ignored them.
        assert_eq!(c.raft(away).term(), term, "check_quorum {check_quorum}");
        assert_eq!(c.leader(), Some(leader), "check_quorum {check_quorum}");
        assert_eq!(c.raft(leader).term(), term, "check_quorum {check_quorum}");
        c.run(5);
        assert_eq!(c.raft(away).leader(), Some(leader));
        assert_eq!(c.raft(away).role(), Role::Follower);
    }
}

#[test]
fn without_pre_vote_a_healed_node_deposes_the_leader() {
    let mut c = Cluster::with(3, 5, |config| {
        config.pre_vote = false;
        config.check_quorum = false;
    });
    let (leader, term, away) = isolate_and_heal_a_follower(&mut c);
    assert!(
        c.raft(away).term() > term + 5,
        "each timeout started an election at a new term"
    );
    assert!(
        c.raft(leader).term() > term,
        "the leader was deposed by the higher term"
    );
}

#[test]
fn leader_without_quorum_steps_down() {
    let mut c = Cluster::new(3, 6);
    let leader = c.wait_for_leader();
    c.run(3);
    let term = c.raft(leader).term();
    c.isolate(leader);
    // It checks its quorum every `election_ticks.0` (10) ticks: it has stepped down after two
    // checks at most, without bumping its term.
    c.run(20);
    assert_ne!(c.raft(leader).role(), Role::Leader);
    assert_eq!(c.raft(leader).term(), term);
    assert_eq!(
        c.propose(leader, b"x").map_err(|e| e.leader),
        Err(None),
        "clients are turned away"
    );
}

#[test]
fn without_check_quorum_an_isolated_leader_keeps_leading() {
    let mut c = Cluster::with(3, 6, |config| config.check_quorum = false);
    let leader = c.wait_for_leader();
    c.run(3);
    c.isolate(leader);
    c.run(200);
    assert_eq!(c.raft(leader).role(), Role::Leader);
    assert!(
        c.propose(leader, b"x").is_ok(),
        "it accepts proposals it can never commit"
    );
}
