//! §5.1's persistent state: a node restarts from its term, vote and log alone, and relearns
//! everything else.

use super::network::{Cluster, config};
use super::{disk, lone, msg};
use crate::raft::{Body, Config, HardState, Persisted, Raft, Role};

#[test]
fn restart_recovers_from_persisted_state() {
    let mut c = Cluster::new(3, 10);
    let leader = c.wait_for_leader();
    c.run(3);
    for k in 0..5u8 {
        c.propose(leader, &[k]).expect("a leader");
    }
    c.run(3);
    let follower = c
        .ids()
        .into_iter()
        .find(|&id| id != leader)
        .expect("a follower");
    let applied = c.node(follower).applied.clone();
    assert_eq!(applied.len(), 6);

    c.crash(follower);
    c.restart(follower);
    let restarted = c.raft(follower);
    assert_eq!(restarted.term(), c.node(follower).disk.hard_state.term);
    assert_eq!(
        (
            restarted.role(),
            restarted.leader(),
            restarted.commit_index()
        ),
        (Role::Follower, None, 0)
    );
    c.run(3);
    assert_eq!(
        c.node(follower).applied,
        applied,
        "the commit index is relearned and every entry replayed"
    );

    // The leader crashes too; the cluster goes on from what was persisted.
    c.crash(leader);
    c.restart(leader);
    let next = c.wait_for_leader();
    c.propose(next, b"after").expect("a leader");
    c.run(5);
    for id in c.ids() {
        assert!(c.node(id).applied.starts_with(&applied), "node {id}");
        assert_eq!(
            c.node(id).applied.last().map(|e| &e.data[..]),
            Some(&b"after"[..]),
            "node {id}"
        );
    }
}

#[test]
fn a_restarted_node_keeps_its_vote() {
    let vote = |from, term| {
        msg(
            from,
            1,
            term,
            Body::Vote {
                last_index: 0,
                last_term: 0,
            },
        )
    };
    let mut node = lone(1, 3, Persisted::default());
    node.step(vote(2, 4));
    let hard_state = node
        .ready()
        .hard_state
        .expect("the vote is to be persisted");
    assert_eq!(
        hard_state,
        HardState {
            term: 4,
            vote: Some(2)
        }
    );

    let mut node = lone(
        1,
        3,
        Persisted {
            hard_state,
            entries: vec![],
        },
    );
    node.step(vote(3, 4));
    node.step(vote(2, 4));
    let granted: Vec<_> = node
        .ready()
        .messages
        .iter()
        .map(|m| (m.to, m.body.clone()))
        .collect();
    assert_eq!(
        granted,
        [
            (3, Body::VoteResp { granted: false }),
            (2, Body::VoteResp { granted: true })
        ]
    );
}

#[test]
fn the_whole_cluster_restarts_with_its_committed_entries() {
    let mut c = Cluster::new(3, 13);
    let leader = c.wait_for_leader();
    for k in 0..5u8 {
        c.propose(leader, &[k]).expect("a leader");
    }
    c.run(3);
    let committed = c.invariants.committed().to_vec();
    assert_eq!(committed.len(), 6);
    for id in c.ids() {
        c.crash(id);
    }
    for id in c.ids() {
        c.restart(id);
    }
    c.wait_for_leader();
    c.run(5);
    for id in c.ids() {
        assert!(c.node(id).applied.starts_with(&committed), "node {id}");
    }
}

#[test]
fn start_refuses_an_invalid_configuration_or_persisted_state() {
    let bad_configs = [
        Config {
            id: 4,
            ..config(1, 3, 0)
        },
        Config {
            voters: vec![1, 2, 2],
            ..config(1, 3, 0)
        },
        Config {
            election_ticks: (0, 5),
            ..config(1, 3, 0)
        },
        Config {
            election_ticks: (10, 5),
            ..config(1, 3, 0)
        },
        Config {
            heartbeat_ticks: 0,
            ..config(1, 3, 0)
        },
        Config {
            heartbeat_ticks: 10,
            ..config(1, 3, 0)
        },
    ];
    for bad in bad_configs {
        assert!(
            Raft::new(bad.clone(), Persisted::default()).is_err(),
            "{bad:?}"
        );
    }
    let mut gap = disk(2, None, &[1, 2]);
    gap.entries.remove(0);
    let bad_disks = [gap, disk(2, None, &[2, 1]), disk(1, None, &[1, 2])];
    for bad in bad_disks {
        assert!(Raft::new(config(1, 3, 0), bad.clone()).is_err(), "{bad:?}");
    }
}
