//! Phase 1, discovery: a leader establishes a new epoch above every epoch its quorum accepted,
//! a follower acknowledges no epoch older than one it accepted, and a leader with a less
//! recent history than one of its followers gives up.

use super::network::Cluster;
use super::{lone, packet, packets};
use crate::raft::rng::Rng;
use crate::test_links::Partitioned;
use crate::zab::core::{
    Body, Epochs, Message, NodeId, Notification, Packet, Persisted, Phase, Role, Vote, Zab, Zxid,
};

fn disk(accepted: u64, current: u64) -> Persisted {
    Persisted {
        epochs: Epochs { accepted, current },
        history: vec![],
    }
}

/// Makes a lone node decide for `leader`, with a vote better than any history it could have,
/// and returns the link it opened (if it follows).
fn elect(node: &mut Zab, leader: NodeId) -> Option<u64> {
    let vote = Vote {
        epoch: 99,
        zxid: Zxid::ZERO,
        leader,
    };
    let n = Notification {
        vote,
        round: 1,
        state: Role::Looking,
    };
    node.step(Message {
        from: if leader == node.id() { 1 } else { leader },
        to: node.id(),
        body: Body::Notification(n),
    });
    node.tick();
    let ready = node.ready();
    packets(&ready.messages).first().map(|(_, link)| link.id)
}

#[test]
fn every_node_takes_the_new_epoch_even_one_that_accepted_a_later_one() {
    // Node 1 accepted epoch 5 from a leader that was never established; the others accepted
    // at most 3. Node 2, the most recent (equal epochs and histories: the higher id), leads. If
    // its first quorum leaves node 1 out, node 1 refuses the epoch it picks (4), and the leader
    // gives up for an epoch node 1 can accept: 5 or later.
    let mut c = Cluster::restored(vec![disk(5, 1), disk(3, 1), disk(0, 0)], 1, |_| {});
    let leader = c.wait_for_leader();
    let epoch = c.status(leader).current_epoch;
    assert!(epoch >= 5, "epoch {epoch}");
    for id in c.ids() {
        assert_eq!(c.status(id).current_epoch, epoch);
    }
}

#[test]
fn a_follower_refuses_an_epoch_older_than_it_accepted() {
    let mut node = lone(1, 3, disk(5, 2));
    let link = elect(&mut node, 3).expect("node 1 follows node 3");
    node.step(packet(3, 1, link, 4, Packet::NewEpoch));
    assert_eq!(node.status().role, Role::Looking);
    let ready = node.ready();
    assert!(packets(&ready.messages).is_empty(), "no ACKEPOCH");
    assert_eq!(ready.epochs, None);
}

#[test]
fn a_follower_acknowledges_a_new_epoch_once_it_is_persisted() {
    let mut node = lone(1, 3, disk(5, 2));
    let link = elect(&mut node, 3).expect("node 1 follows node 3");
    node.step(packet(3, 1, link, 6, Packet::NewEpoch));
    let ready = node.ready();
    // The ACKEPOCH goes out in the same Ready that persists the epoch: after it.
    assert_eq!(
        ready.epochs,
        Some(Epochs {
            accepted: 6,
            current: 2
        })
    );
    let acks: Vec<&Packet> = packets(&ready.messages)
        .iter()
        .map(|(_, l)| &l.packet)
        .collect();
    assert_eq!(
        acks,
        [&Packet::AckEpoch {
            current_epoch: 2,
            last_zxid: Zxid::ZERO
        }]
    );
    // Packets on another link are ignored.
    node.step(packet(3, 1, link ^ 1, 6, Packet::NewEpoch));
    assert!(node.ready().is_empty());
}

#[test]
fn a_leader_gives_up_for_a_follower_with_a_more_recent_history() {
    let mut node = lone(3, 3, Persisted::default());
    elect(&mut node, 3);
    assert_eq!(node.status().role, Role::Leading);
    node.step(packet(1, 3, 9, 0, Packet::FollowerInfo));
    assert_eq!(node.status().accepted_epoch, 1, "a quorum connected");
    let newer = Packet::AckEpoch {
        current_epoch: 1,
        last_zxid: Zxid::new(1, 4),
    };
    node.step(packet(1, 3, 9, 1, newer));
    assert_eq!(node.status().role, Role::Looking);
}

#[test]
fn only_followers_that_accepted_an_older_epoch_count() {
    // Node 5 leads five nodes; nodes 1 and 2 connect and it picks epoch 1. Node 4 had accepted
    // epoch 1 already — possibly from another leader: its acknowledgement must not count.
    let mut node = lone(5, 5, Persisted::default());
    for voter in [1, 2] {
        node.step(Message {
            from: voter,
            to: 5,
            body: Body::Notification(Notification {
                vote: Vote {
                    epoch: 0,
                    zxid: Zxid::ZERO,
                    leader: 5,
                },
                round: 1,
                state: Role::Looking,
            }),
        });
    }
    node.tick();
    assert_eq!(node.status().role, Role::Leading);
    node.step(packet(1, 5, 11, 0, Packet::FollowerInfo));
    node.step(packet(2, 5, 12, 0, Packet::FollowerInfo));
    node.step(packet(4, 5, 14, 1, Packet::FollowerInfo));
    let ack = Packet::AckEpoch {
        current_epoch: 0,
        last_zxid: Zxid::ZERO,
    };
    node.step(packet(4, 5, 14, 1, ack.clone()));
    node.step(packet(1, 5, 11, 1, ack.clone()));
    assert_eq!(node.status().phase, Phase::Discovery, "nodes 5 and 1 only");
    node.step(packet(2, 5, 12, 1, ack));
    assert_eq!(node.status().phase, Phase::Synchronization);
}

#[test]
fn at_most_one_established_leader_per_epoch() {
    // Random partitions over lossy, reordering links force election after election; the
    // ensemble's invariant check fails the test if two nodes are ever established in one epoch.
    let mut epochs = 0;
    for seed in 0..16 {
        let mut c = Cluster::new(5, seed);
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
        epochs += c.invariants.leaders().len();
    }
    assert!(epochs >= 60, "only {epochs} epochs had a leader");
}
