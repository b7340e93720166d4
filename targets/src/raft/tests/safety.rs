//! §5.4 Safety: the election restriction makes every leader hold every committed entry, and a
//! leader counts replicas only of entries of its own term.

use super::network::Cluster;
use crate::raft::{Body, NodeId, Role};
use crate::test_links::Partitioned;

#[test]
fn leader_completeness() {
    // Each round, entries are committed on a bare majority (the leader and two of four
    // followers), then the leader crashes. Only the two followers holding the entries can win
    // the next election: the other two are refused by them for their older logs (§5.4.1).
    let mut c = Cluster::new(5, 11);
    for round in 0..4u8 {
        let leader = c.wait_for_leader();
        c.run(3);
        let others: Vec<NodeId> = c.ids().into_iter().filter(|&id| id != leader).collect();
        c.cut(leader, others[2]);
        c.cut(leader, others[3]);
        for k in 0..3u8 {
            c.propose(leader, &[round, k]).expect("a leader");
        }
        c.run(3);
        let committed = c.invariants.committed().to_vec();
        assert_eq!(committed.last().map(|e| &e.data[..]), Some(&[round, 2][..]));
        c.crash(leader);
        c.heal();
        let next = c.wait_for_leader();
        assert!(
            next == others[0] || next == others[1],
            "round {round}: node {next} won without the latest entries"
        );
        assert!(
            c.node(next).disk.entries.starts_with(&committed),
            "round {round}: §5.4 leader completeness"
        );
        c.restart(leader);
    }
}

#[test]
fn only_current_term_entries_are_committed_by_counting() {
    // Figure 8, with nodes 1–5 for S1–S5.
    let mut c = Cluster::new(5, 8);
    c.elect(1);
    c.run(3);
    let t1 = c.raft(1).term();

    // (a) S1 replicates entry 2 to S2 only.
    for to in [3, 4, 5] {
        c.cut(1, to);
    }
    let (index, _) = c.propose(1, b"from S1").expect("S1 leads");
    c.stabilize();
    assert_eq!(c.log_terms(2), [t1, t1]);

    // (b) S1 crashes. S5 wins the next term with the votes of S3 and S4 (S2's log is more up
    // to date than its own) and appends its no-op at index 2, which reaches nobody.
    c.crash(1);
    c.heal();
    c.set_filter(|m| {
        !(m.from == 5 && matches!(m.body, Body::Append { .. } | Body::Heartbeat { .. }))
    });
    c.elect(5);
    let t2 = c.raft(5).term();
    assert_eq!(c.log_terms(5), [t1, t2]);
    c.crash(5);

    // (c) S1 restarts and wins a later term. It brings S3 and S4 its entry 2, so that a
    // majority holds it, but none of its no-op. Counting replicas would commit entry 2 now; the
    // rule of §5.4.2 does not, as entry 2 is not of S1's term.
    c.restart(1);
    c.set_filter(move |m| {
        if let (1, Body::Append { entries, .. }) = (m.from, &mut m.body) {
            entries.retain(|e| e.term == t1);
        }
        true
    });
    c.elect(1);
    let t3 = c.raft(1).term();
    c.run(5);
    for id in [1, 2, 3, 4] {
        assert_eq!(
            c.log_terms(id)[..2],
            [t1, t1],
            "node {id} holds entry 2 of term {t1}"
        );
    }
    assert!(
        c.raft(1).commit_index() < index,
        "S1 committed an entry of an earlier term by counting"
    );
    assert_eq!(c.log_terms(1), [t1, t1, t3]);

    // (d) S1 crashes; S5 restarts and wins with the votes of S2, S3 and S4 (its last entry is
    // of a later term than theirs), and overwrites entry 2 everywhere. Had (c) committed it, a
    // committed entry would now be lost — the cluster's invariant check would fail the test.
    c.crash(1);
    c.clear_filter();
    c.restart(5);
    c.elect(5);
    c.run(5);
    c.restart(1);
    c.run(10);
    for id in c.ids() {
        assert_eq!(c.log_terms(id)[..2], [t1, t2], "node {id}");
        assert_eq!(
            c.node(id).applied[1].term,
            t2,
            "node {id} applied S5's entry at 2"
        );
    }
}

#[test]
fn leader_isolated_in_a_minority_does_not_commit() {
    let mut c = Cluster::new(5, 3);
    let old = c.wait_for_leader();
    c.run(3);
    let ids = c.ids();
    let follower = ids
        .iter()
        .copied()
        .find(|&id| id != old)
        .expect("a follower");
    let majority: Vec<NodeId> = ids
        .iter()
        .copied()
        .filter(|&id| id != old && id != follower)
        .collect();
    c.partition(&[&[old, follower], &majority]);

    // The old leader accepts a proposal, but only its minority can store it.
    let (index, term) = c.propose(old, b"lost").expect("still leads");
    c.run(3);
    assert!(c.raft(old).commit_index() < index);

    // The majority elects a leader of a later term, which commits.
    assert!(c.run_until(100, |c| {
        majority.iter().any(|&id| c.raft(id).role() == Role::Leader)
    }));
    let new = c.leader().expect("a leader");
    assert!(majority.contains(&new) && c.raft(new).term() > term);
    let (kept, _) = c.propose(new, b"kept").expect("the new leader");
    assert!(c.run_until(10, |c| c.raft(new).commit_index() >= kept));
    // Two leaders, of different terms, may coexist for a while; check-quorum makes the old one
    // step down within two of its check periods, without having committed.
    assert!(c.run_until(20, |c| c.raft(old).role() != Role::Leader));
    assert!(c.raft(old).commit_index() < index);

    // Healed, the old leader's uncommitted entry is overwritten everywhere. For its client, an
    // entry of another term committed at `index` means "definitely not applied".
    c.heal();
    c.run(10);
    for id in ids {
        let node = c.node(id);
        assert_ne!(
            node.disk.entries[index as usize - 1].term,
            term,
            "node {id}"
        );
        assert!(node.applied.iter().all(|e| e.data != b"lost"), "node {id}");
        assert!(node.applied.iter().any(|e| e.data == b"kept"), "node {id}");
    }
    assert_ne!(c.node(old).applied[index as usize - 1].term, term);
}
