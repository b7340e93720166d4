//! What `zab` servers say to each other: the core's own [`Message`]s, and what a follower
//! passes to its leader on behalf of its clients — ZooKeeper's REQUEST (a write to prepare),
//! session creation, and the session touches its PING answers carry.
//!
//! The leader answers none of these directly: it proposes a transaction, and every server
//! learns the outcome by applying it — the follower the client is on answers the client then.
//! All of it crosses the one-way links of [`peers`](crate::peers), as JSON frames.

use serde::{Deserialize, Serialize};

use crate::peers::{Addressed, NodeId};
use crate::zab::core::{Message, Zxid};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum PeerMessage {
    /// The consensus core's traffic.
    Zab(Message),
    /// A client's write, as the frame body the client sent (request header and request), for
    /// the leader to prepare and propose.
    Request {
        from: NodeId,
        to: NodeId,
        session: i64,
        body: Vec<u8>,
    },
    /// A client asked the follower for a new session, with this id (the follower's own, from
    /// its server id) and negotiated timeout: the leader proposes its creation.
    CreateSession {
        from: NodeId,
        to: NodeId,
        session: i64,
        timeout_ms: i32,
    },
    /// These sessions were active on the follower since it last said so: the leader's table
    /// must not expire them.
    Touch {
        from: NodeId,
        to: NodeId,
        sessions: Vec<i64>,
    },
}

impl Addressed for PeerMessage {
    fn to(&self) -> NodeId {
        match self {
            PeerMessage::Zab(m) => m.to,
            PeerMessage::Request { to, .. }
            | PeerMessage::CreateSession { to, .. }
            | PeerMessage::Touch { to, .. } => *to,
        }
    }
}

/// A zxid as ZooKeeper's clients see it: the epoch in the high 32 bits, the counter in the low
/// ones. Clients compare zxids as numbers (a server refuses a client that has seen a later
/// one), and this keeps their order as long as counters stay below 2³² — billions of
/// transactions per leader. Beyond, the counter saturates rather than spill into the epoch.
pub(crate) fn client_zxid(zxid: Zxid) -> i64 {
    let epoch = (zxid.epoch & 0x7fff_ffff) << 32;
    (epoch | zxid.counter.min(0xffff_ffff)) as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zab::core::{Body, Link, Packet};

    #[test]
    fn client_zxids_keep_the_order_of_zxids() {
        let zxids = [
            Zxid::ZERO,
            Zxid::new(1, 1),
            Zxid::new(1, 2),
            Zxid::new(2, 1),
            Zxid::new(2, u64::MAX),
            Zxid::new(3, 0),
        ];
        for pair in zxids.windows(2) {
            assert!(client_zxid(pair[0]) < client_zxid(pair[1]), "{pair:?}");
        }
        assert_eq!(client_zxid(Zxid::new(1, 5)), 0x1_0000_0005);
    }

    #[test]
    fn peer_messages_round_trip_and_name_their_addressee() {
        let messages = [
            PeerMessage::Zab(Message {
                from: 1,
                to: 2,
                body: Body::Link(Link {
                    id: 9,
                    epoch: 3,
                    packet: Packet::Ack {
                        zxid: Zxid::new(3, 1),
                    },
                }),
            }),
            PeerMessage::Request {
                from: 2,
                to: 3,
                session: -5,
                body: vec![0, 1, 255],
            },
            PeerMessage::CreateSession {
                from: 2,
                to: 4,
                session: 7,
                timeout_ms: 4000,
            },
            PeerMessage::Touch {
                from: 2,
                to: 5,
                sessions: vec![1, 2],
            },
        ];
        for (k, msg) in messages.into_iter().enumerate() {
            assert_eq!(msg.to(), k as u64 + 2);
            let json = serde_json::to_vec(&msg).unwrap();
            assert_eq!(serde_json::from_slice::<PeerMessage>(&json).unwrap(), msg);
        }
    }
}
