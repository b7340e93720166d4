//! §5.2 Leader election, and §5.4.1's restriction on whom a node may vote for.

use super::network::Cluster;
use super::{disk, lone, msg};
use crate::raft::rng::Rng;
use crate::raft::{Body, HardState, Message, NodeId, Persisted, Role};
use crate::test_links::Partitioned;

fn vote(from: NodeId, term: u64, last_index: u64, last_term: u64) -> Message {
    msg(
        from,
        1,
        term,
        Body::Vote {
            last_index,
            last_term,
        },
    )
}

/// The `(to, granted)` of every vote answer in `messages`.
fn answers(messages: &[Message]) -> Vec<(NodeId, bool)> {
    let answer = |m: &Message| match m.body {
        Body::VoteResp { granted } => Some((m.to, granted)),
        _ => None,
    };
    messages.iter().filter_map(answer).collect()
}

#[test]
fn a_leader_is_elected_and_every_node_learns_it() {
    let mut c = Cluster::new(3, 1);
    let leader = c.wait_for_leader();
    c.run(5);
    for id in c.ids() {
        assert_eq!(c.raft(id).leader(), Some(leader));
        assert_eq!(
            c.raft(id).term(),
            1,
            "pre-vote: failed pre-campaigns do not use up terms"
        );
    }
}

#[test]
fn randomized_timeouts_elect_a_leader_quickly() {
    // Split votes are rare and short-lived: over many seeds, a five-node cluster has a leader
    // within two maximal election timeouts.
    for seed in 0..100 {
        let mut c = Cluster::new(5, seed);
        assert!(
            c.run_until(40, |c| c.leader().is_some()),
            "seed {seed}: no leader in 40 ticks"
        );
    }
}

#[test]
fn election_safety_at_most_one_leader_per_term() {
    // Random partitions over lossy, reordering links force election after election; the
    // cluster's invariant check fails the test if two nodes ever lead one term. Odd seeds run
    // classic Raft (no pre-vote, no check-quorum), which churns through terms faster.
    let mut terms = 0;
    for seed in 0..16 {
        let classic = seed % 2 == 1;
        let mut c = Cluster::with(5, seed, |config| {
            config.pre_vote = !classic;
            config.check_quorum = !classic;
        });
        c.reorder = true;
        c.loss_per_mille = 100;
        let mut rng = Rng::new(seed);
        for _ in 0..1000 {
            match rng.below(20) {
                0 => c.random_partition(),
                1 => c.heal(),
                _ => {}
            }
            c.run(1);
        }
        terms += c.invariants.leaders().len();
    }
    assert!(
        terms >= 100,
        "only {terms} terms had a leader: the test exercised too few elections"
    );
}

#[test]
fn a_node_votes_at_most_once_per_term() {
    let mut node = lone(1, 3, Persisted::default());
    node.step(vote(2, 1, 0, 0));
    node.step(vote(3, 1, 0, 0));
    // The first candidate's request, duplicated by the network, is granted again.
    node.step(vote(2, 1, 0, 0));
    let ready = node.ready();
    assert_eq!(answers(&ready.messages), [(2, true), (3, false), (2, true)]);
    assert_eq!(
        ready.hard_state,
        Some(HardState {
            term: 1,
            vote: Some(2)
        })
    );
}

#[test]
fn vote_requires_an_up_to_date_log() {
    // §5.4.1: the later last term wins; with equal last terms, the longer log.
    let mut node = lone(1, 3, disk(2, None, &[1, 1, 2]));
    node.step(vote(2, 3, 5, 1)); // longer, but ends in an older term
    node.step(vote(3, 4, 2, 2)); // same last term, shorter
    node.step(vote(2, 5, 3, 2)); // identical
    node.step(vote(3, 6, 1, 3)); // shorter, but ends in a newer term
    let ready = node.ready();
    assert_eq!(
        answers(&ready.messages),
        [(2, false), (3, false), (2, true), (3, true)]
    );
}

#[test]
fn a_leader_steps_down_on_learning_a_higher_term() {
    // Without pre-vote, an isolated node bumps its term at every election timeout. Healed, it
    // refuses the leader's heartbeats as stale, its refusal carries its term, and the leader
    // steps down on seeing it (§5.1); a new election brings every node under one leader again.
    let mut c = Cluster::with(3, 2, |config| config.pre_vote = false);
    let leader = c.wait_for_leader();
    let term = c.raft(leader).term();
    let other = c
        .ids()
        .into_iter()
        .find(|&id| id != leader)
        .expect("a follower");
    c.isolate(other);
    assert!(c.run_until(100, |c| c.raft(other).term() > term + 1));
    c.heal();
    assert!(
        c.run_until(5, |c| c.raft(leader).term() > term),
        "the leader never learned the higher term"
    );
    c.wait_for_leader();
    c.run(5);
    let now = c.leader().expect("a leader");
    for id in c.ids() {
        assert_eq!(c.raft(id).leader(), Some(now));
        assert_eq!(
            c.raft(id).role(),
            if id == now {
                Role::Leader
            } else {
                Role::Follower
            }
        );
    }
}
