//! §5.3 Log replication: the consistency check, the repair of divergent followers, fast
//! backtracking, commit propagation and retransmission.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use super::network::{Cluster, entry};
use super::{disk, lone, msg};
use crate::raft::{AppendResult, Body, NodeId, Term};

/// Figure 7: node 1 is about to lead term 8; nodes 2–7 are followers (a)–(f), missing entries,
/// holding extra uncommitted ones, or both.
fn figure_7() -> Cluster {
    let logs: [&[Term]; 7] = [
        &[1, 1, 1, 4, 4, 5, 5, 6, 6, 6],
        &[1, 1, 1, 4, 4, 5, 5, 6, 6],
        &[1, 1, 1, 4],
        &[1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
        &[1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
        &[1, 1, 1, 4, 4, 4, 4],
        &[1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
    ];
    Cluster::restored(
        logs.iter().map(|log| disk(7, None, log)).collect(),
        7,
        |_| {},
    )
}

#[test]
fn log_matching_figure_7_followers_converge_on_the_leaders_log() {
    let mut c = figure_7();
    c.elect(1);
    assert_eq!(c.raft(1).term(), 8);
    c.run(5);
    let expected: Vec<Term> = vec![1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 8];
    for id in c.ids() {
        assert_eq!(c.log_terms(id), expected, "node {id}");
        assert_eq!(c.node(id).disk.entries, c.node(1).disk.entries, "node {id}");
        assert_eq!(c.raft(id).commit_index(), 11, "node {id}");
    }
}

#[test]
fn fast_backtracking_repairs_each_figure_7_follower_after_one_rejection() {
    // The leader's first append follows its entry 10 (then comes its no-op). Followers (c) and
    // (d) hold that entry and accept at once, losing their extra entries to the no-op. The
    // others reject it; probing one index at a time, (f) would then reject six more (at 9, 8,
    // …, 4), but with the conflict hint each follower needs just that one rejection.
    let rejections = Rc::new(RefCell::new(BTreeMap::<NodeId, u32>::new()));
    let mut c = figure_7();
    let counted = Rc::clone(&rejections);
    c.set_filter(move |m| {
        if let Body::AppendResp(AppendResult::Rejected { .. }) = m.body {
            *counted.borrow_mut().entry(m.from).or_default() += 1;
        }
        true
    });
    c.elect(1);
    c.run(5);
    let rejections = rejections.borrow();
    assert_eq!(
        *rejections,
        BTreeMap::from([(2, 1), (3, 1), (6, 1), (7, 1)])
    );
    for id in c.ids() {
        assert_eq!(c.node(id).disk.entries, c.node(1).disk.entries, "node {id}");
    }
}

#[test]
fn leader_append_only_under_lost_duplicated_and_reordered_messages() {
    // The cluster fails the test if a leader's `Ready` ever truncates its log; here the leader
    // also receives rejections, stale answers and duplicates from followers whose logs conflict.
    let mut c = figure_7();
    c.reorder = true;
    c.duplicate_per_mille = 200;
    c.loss_per_mille = 100;
    c.elect(1);
    let before = c.node(1).disk.entries.clone();
    for k in 0..20u8 {
        c.propose(1, &[k]).expect("node 1 leads");
        c.run(1);
    }
    let after = &c.node(1).disk.entries;
    assert_eq!(after[..before.len()], before[..]);
    assert_eq!(after.len(), before.len() + 20);
}

#[test]
fn a_follower_commits_only_what_the_append_matched() {
    // The leader (of term 3, log 1@1 2@1 3@3, all committed) sends entry 2 alone — appends are
    // capped in size — with its commit index 3. The follower's own entry 3 is of term 2: stale.
    let mut follower = lone(2, 3, disk(2, None, &[1, 1, 2]));
    let entries = vec![entry(2, 1)];
    let append = Body::Append {
        prev_index: 1,
        prev_term: 1,
        entries,
        commit: 3,
    };
    follower.step(msg(1, 2, 3, append));
    assert_eq!(follower.commit_index(), 2);
    assert_eq!(follower.ready().committed, [entry(1, 1), entry(2, 1)]);
}

#[test]
fn followers_learn_commit_from_the_leader() {
    let mut c = Cluster::new(3, 2);
    let leader = c.wait_for_leader();
    c.run(3);
    let (index, _) = c.propose(leader, b"x").expect("a leader");
    c.stabilize();
    assert_eq!(
        c.raft(leader).commit_index(),
        index,
        "one round trip to a majority commits"
    );
    // The followers learn it with the next heartbeat.
    c.run(3);
    for id in c.ids() {
        assert_eq!(c.raft(id).commit_index(), index, "node {id}");
        assert_eq!(
            c.node(id).applied.last().map(|e| &e.data[..]),
            Some(&b"x"[..]),
            "node {id}"
        );
    }
}

#[test]
fn lost_appends_are_retransmitted() {
    let mut c = Cluster::new(3, 4);
    let leader = c.wait_for_leader();
    c.run(3);
    // Two appends in three are lost; heartbeats (and their answers) get through.
    let mut appends = 0;
    c.set_filter(move |m| {
        if !matches!(m.body, Body::Append { .. }) {
            return true;
        }
        appends += 1;
        appends % 3 == 0
    });
    for k in 0..10u8 {
        c.propose(leader, &[k]).expect("a leader");
    }
    assert!(c.run_until(100, |c| {
        c.ids().iter().all(|&id| c.node(id).applied.len() == 11)
    }));
    assert_eq!(c.leader(), Some(leader));
}
