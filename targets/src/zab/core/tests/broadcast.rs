//! Phase 3, broadcast: proposals are committed in zxid order once a quorum logged them, and
//! delivered everywhere in that order — through lost, duplicated and reordered messages — and
//! a leader that loses its quorum stops.

use super::network::Cluster;
use super::{lone, packet, packets};
use crate::test_links::Partitioned;
use crate::zab::core::{Packet, Persisted, Phase, Role, Zxid};

#[test]
fn proposals_are_delivered_everywhere_in_zxid_order() {
    let mut c = Cluster::new(3, 1);
    let leader = c.wait_for_leader();
    let epoch = c.status(leader).current_epoch;
    for k in 1..=5u8 {
        let zxid = c.propose(leader, &[k]).expect("an established leader");
        assert_eq!(zxid, Zxid::new(epoch, u64::from(k)));
    }
    c.run(3);
    for id in c.ids() {
        let payloads: Vec<u8> = c.node(id).delivered.iter().map(|t| t.payload[0]).collect();
        assert_eq!(payloads, [1, 2, 3, 4, 5], "node {id}");
    }
}

#[test]
fn only_an_established_leader_proposes() {
    let mut c = Cluster::new(3, 2);
    let leader = c.wait_for_leader();
    for id in c.ids().into_iter().filter(|&id| id != leader) {
        let refusal = c.propose(id, b"x").expect_err("a follower refuses");
        assert_eq!(refusal.leader, Some(leader));
    }
}

#[test]
fn a_minority_commits_nothing() {
    let mut c = Cluster::new(5, 3);
    let leader = c.wait_for_leader();
    let others: Vec<u64> = c.ids().into_iter().filter(|&id| id != leader).collect();
    c.partition(&[&[leader, others[0]], &others[1..]]);
    c.propose(leader, b"lost").expect("still leading");
    c.run(3);
    assert!(c.invariants.delivered().is_empty());
}

#[test]
fn a_leader_cut_off_from_its_quorum_steps_down() {
    let mut c = Cluster::new(5, 4);
    let leader = c.wait_for_leader();
    let others: Vec<u64> = c.ids().into_iter().filter(|&id| id != leader).collect();
    c.partition(&[&[leader, others[0]], &others[1..]]);
    // Within the shortest election timeout (10 ticks) plus one check period.
    let ticks = c.run_until(25, |c| c.status(leader).role != Role::Leading);
    assert!(ticks.is_some_and(|t| t <= 20), "still leading: {ticks:?}");
    // The majority side has moved on to a new epoch meanwhile.
    let next = c.leader().expect("the majority elected a leader");
    assert!(others[1..].contains(&next));
}

#[test]
fn lost_duplicated_and_reordered_messages_are_repaired() {
    let mut c = Cluster::new(5, 5);
    c.wait_for_leader();
    c.loss_per_mille = 200;
    c.duplicate_per_mille = 100;
    c.reorder = true;
    let mut proposed = 0;
    for k in 0..40u8 {
        if let Some(leader) = c.leader()
            && c.propose(leader, &[k]).is_ok()
        {
            proposed += 1;
        }
        c.run(1);
    }
    assert!(proposed >= 20, "only {proposed} proposals taken");
    (c.loss_per_mille, c.duplicate_per_mille, c.reorder) = (0, 0, false);
    c.wait_for_leader();
    let caught_up = |c: &Cluster| {
        let all = c.invariants.delivered().len();
        c.ids().iter().all(|&id| c.node(id).delivered.len() == all)
    };
    assert!(
        c.run_until(20, caught_up).is_some(),
        "not every node caught up"
    );
    // A leader that kept its quorum through the losses commits everything it took.
    if c.invariants.leaders().len() == 1 {
        assert_eq!(c.invariants.delivered().len(), proposed);
    }
}

#[test]
fn a_follower_drops_a_proposal_out_of_order() {
    // Node 1 follows node 3 on link 7, in broadcast at epoch 1 after an empty sync.
    let mut node = lone(1, 3, Persisted::default());
    let n = node.status();
    assert_eq!(n.role, Role::Looking);
    let vote = |leader| {
        crate::zab::core::Body::Notification(crate::zab::core::Notification {
            vote: crate::zab::core::Vote {
                epoch: 0,
                zxid: Zxid::ZERO,
                leader,
            },
            round: 1,
            state: Role::Looking,
        })
    };
    node.step(crate::zab::core::Message {
        from: 3,
        to: 1,
        body: vote(3),
    });
    // A quorum (nodes 1 and 3) agrees: node 1 decides at its next tick.
    node.tick();
    assert_eq!(node.status().role, Role::Following);
    let link = packets(&node.ready().messages)[0].1.id;
    node.step(packet(3, 1, link, 1, Packet::NewEpoch));
    node.step(packet(
        3,
        1,
        link,
        1,
        Packet::NewLeader(crate::zab::core::Sync::Diff {
            after: Zxid::ZERO,
            txns: vec![],
        }),
    ));
    node.step(packet(
        3,
        1,
        link,
        1,
        Packet::UpToDate {
            committed: Zxid::ZERO,
        },
    ));
    assert_eq!(node.status().phase, Phase::Broadcast);
    node.ready();
    let txn = |c| crate::zab::core::Txn {
        zxid: Zxid::new(1, c),
        payload: vec![],
    };
    // 1:2 before 1:1 is a gap: dropped, not acknowledged.
    node.step(packet(3, 1, link, 1, Packet::Propose(txn(2))));
    node.step(packet(3, 1, link, 1, Packet::Propose(txn(1))));
    node.step(packet(3, 1, link, 1, Packet::Propose(txn(1))));
    let ready = node.ready();
    let acks: Vec<&Packet> = packets(&ready.messages)
        .iter()
        .map(|(_, l)| &l.packet)
        .collect();
    assert_eq!(
        acks,
        [&Packet::Ack {
            zxid: Zxid::new(1, 1)
        }]
    );
    assert_eq!(ready.append, [txn(1)]);
}
