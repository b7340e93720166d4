//! Client interaction (§8): proposals, refusals by non-leaders, and linearizable reads through
//! read index (thesis §6.4). The test cluster also checks every confirmed read: its index must
//! cover everything committed before the read was asked.

use super::network::Cluster;
use crate::raft::{Body, Config, NodeId, NotLeader, Persisted, Raft, ReadState, Role};
use crate::test_links::Partitioned;

fn follower_of(c: &Cluster, leader: NodeId) -> NodeId {
    c.ids()
        .into_iter()
        .find(|&id| id != leader)
        .expect("a follower")
}

#[test]
fn a_follower_refuses_proposals_and_reads_and_names_the_leader() {
    let mut c = Cluster::new(3, 5);
    let leader = c.wait_for_leader();
    c.run(3);
    let follower = follower_of(&c, leader);
    let before = c.node(follower).disk.entries.len();
    assert_eq!(
        c.propose(follower, b"x"),
        Err(NotLeader {
            leader: Some(leader)
        })
    );
    assert_eq!(
        c.read_index(follower, 1),
        Err(NotLeader {
            leader: Some(leader)
        })
    );
    c.run(3);
    // The refusal is definite: nothing was appended, nothing will be applied.
    assert_eq!(c.node(follower).disk.entries.len(), before);
    assert!(
        c.ids()
            .iter()
            .all(|&id| c.node(id).applied.iter().all(|e| e.data != b"x"))
    );
}

#[test]
fn a_single_node_commits_and_reads_on_its_own() {
    let mut node = Raft::new(Config::new(1, vec![1]), Persisted::default()).expect("a valid start");
    for _ in 0..20 {
        node.tick();
    }
    assert_eq!(node.role(), Role::Leader);
    node.ready();
    let (index, term) = node.propose(b"x".to_vec()).expect("the leader");
    node.read_index(7).expect("the leader");
    let ready = node.ready();
    assert_eq!(ready.entries, ready.committed);
    assert_eq!(
        ready
            .committed
            .iter()
            .map(|e| (e.index, e.term, &e.data[..]))
            .collect::<Vec<_>>(),
        [(index, term, &b"x"[..])]
    );
    assert_eq!(ready.read_states, [ReadState { ctx: 7, index }]);
    assert!(ready.messages.is_empty());
    assert!(node.ready().is_empty(), "everything was handed over");
}

#[test]
fn read_index_confirms_leadership() {
    let mut c = Cluster::new(3, 6);
    let leader = c.wait_for_leader();
    c.run(3);
    let (index, _) = c.propose(leader, b"w").expect("a leader");
    c.stabilize();
    // A majority is enough: one follower is cut off.
    c.isolate(follower_of(&c, leader));
    c.read_index(leader, 7).expect("a leader");
    assert!(
        c.node(leader).read_states.is_empty(),
        "confirmed before any heartbeat was answered"
    );
    c.stabilize();
    assert_eq!(c.node(leader).read_states, [ReadState { ctx: 7, index }]);
    assert!(
        c.node(leader).applied.len() as u64 >= index,
        "the read can be served at once"
    );
}

#[test]
fn a_read_waits_for_the_leaders_first_commit_in_its_term() {
    // Until a new leader commits an entry of its term, its commit index may lag behind entries
    // committed under its predecessors: a read must wait for its no-op.
    let mut c = Cluster::new(3, 9);
    c.set_filter(|m| !matches!(m.body, Body::AppendResp(_)));
    c.elect(1);
    c.read_index(1, 5).expect("node 1 leads");
    c.run(5);
    assert!(
        c.node(1).read_states.is_empty(),
        "confirmed before the leader's first commit"
    );
    c.clear_filter();
    assert!(c.run_until(5, |c| !c.node(1).read_states.is_empty()));
    assert_eq!(
        c.node(1).read_states,
        [ReadState {
            ctx: 5,
            index: c.raft(1).commit_index()
        }]
    );
}

#[test]
fn a_deposed_leader_cannot_confirm_a_read() {
    // With check-quorum the old leader gives up on its own; without, when it hears of the new
    // term. Either way the read is reported failed, never confirmed.
    for check_quorum in [true, false] {
        let mut c = Cluster::with(5, 12, |config| config.check_quorum = check_quorum);
        let old = c.wait_for_leader();
        c.run(3);
        let follower = follower_of(&c, old);
        let majority: Vec<NodeId> = c
            .ids()
            .into_iter()
            .filter(|&id| id != old && id != follower)
            .collect();
        c.partition(&[&[old, follower], &majority]);
        c.read_index(old, 9).expect("it still believes it leads");
        assert!(c.run_until(100, |c| {
            majority.iter().any(|&id| c.raft(id).role() == Role::Leader)
        }));
        let new = c.leader().expect("a leader");
        c.propose(new, b"w").expect("the new leader");
        c.heal();
        c.run(10);
        assert!(
            c.node(old).read_states.is_empty(),
            "check_quorum {check_quorum}"
        );
        assert_eq!(c.node(old).failed_reads, [9], "check_quorum {check_quorum}");
    }
}
