//! The messages nodes exchange, named after ZooKeeper's: election notifications (phase 0), and
//! the packets of a follower's link to its leader (phases 1–3).
//!
//! ZAB assumes FIFO channels that break as a whole (TCP connections): ZooKeeper's follower
//! talks to its leader over one connection and starts over if it breaks. Here any message may
//! be lost, duplicated or reordered, so the link is explicit: a follower draws a fresh link id
//! each time it connects to a leader, both sides stamp it on every packet, and each ignores
//! packets of any other link. A packet from an old connection can thus never be taken for one
//! of the current connection, whatever the network does.

use serde::{Deserialize, Serialize};

use super::NodeId;
use super::status::Role;
use super::zxid::{Epoch, Txn, Zxid};

/// One message from node `from` to node `to`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub from: NodeId,
    pub to: NodeId,
    pub body: Body,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Body {
    /// Phase 0: fast leader election.
    Notification(Notification),
    /// Phases 1–3: discovery, synchronization, broadcast.
    Link(Link),
}

/// A candidate leader, as fast leader election compares them: by the epoch of its history,
/// then its last zxid, then its id — the most up-to-date history wins, and ids break ties.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Vote {
    /// The candidate's current epoch (ZooKeeper's `peerEpoch`).
    pub epoch: Epoch,
    /// The last zxid of the candidate's history.
    pub zxid: Zxid,
    pub leader: NodeId,
}

/// "I vote for `vote` in election round `round`, and I am `state`." A node that is not looking
/// answers a looking one with the leader it follows or is, so that the latecomer can join.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub vote: Vote,
    /// The sender's election round (ZooKeeper's `logicalclock`).
    pub round: u64,
    pub state: Role,
}

/// One packet on a follower's link to a leader.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// The link the packet belongs to, drawn by the follower when it connected.
    pub id: u64,
    /// In FOLLOWERINFO, the follower's accepted epoch; in every later packet, the epoch the
    /// leader is establishing or leads.
    pub epoch: Epoch,
    pub packet: Packet,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Packet {
    // Phase 1, discovery.
    /// Follower → leader: "I follow you" (the paper's CEPOCH).
    FollowerInfo,
    /// Leader → follower: the new epoch (ZooKeeper's LEADERINFO).
    NewEpoch,
    /// Follower → leader: the new epoch is accepted; here is how recent my history is.
    AckEpoch {
        current_epoch: Epoch,
        last_zxid: Zxid,
    },

    // Phase 2, synchronization.
    /// Leader → follower: take my history, by the cheapest of [`Sync`]'s three ways.
    NewLeader(Sync),
    /// Follower → leader: your history is mine, up to `last_zxid`.
    AckNewLeader { last_zxid: Zxid },
    /// Leader → follower: established; `committed` and all before it are committed (the
    /// paper's COMMIT-LD). The follower moves to broadcast.
    UpToDate { committed: Zxid },

    // Phase 3, broadcast.
    /// Leader → follower: log this transaction.
    Propose(Txn),
    /// Follower → leader: logged everything up to `zxid`.
    Ack { zxid: Zxid },
    /// Leader → follower: everything up to `zxid` is committed.
    Commit { zxid: Zxid },
    /// Leader → follower: "I still lead"; `committed` as in COMMIT, so that a lost COMMIT is
    /// made up for. `round` numbers the leader's pings, so that it can tell which syncs an
    /// answer confirms.
    Ping { committed: Zxid, round: u64 },
    /// Follower → leader: "I still follow", with the last zxid logged — a cumulative ACK that
    /// also tells the leader which proposals to send again — and the ping's round.
    PingAck { last_zxid: Zxid, round: u64 },
    /// Follower → leader: a client asked for a sync, identified by `ctx`.
    Sync { ctx: u64 },
    /// Leader → follower: sync `ctx` is done once the follower delivered up to `zxid`.
    SyncReply { ctx: u64, zxid: Zxid },
}

/// How NEWLEADER brings a follower's history to the leader's. The leader picks one from the
/// follower's last zxid (see `History::sync_for`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Sync {
    /// The follower's history is a prefix of the leader's ending at `after`: append `txns`.
    Diff { after: Zxid, txns: Vec<Txn> },
    /// The follower holds transactions the leader does not: delete everything after `to`,
    /// then append `txns`.
    Trunc { to: Zxid, txns: Vec<Txn> },
    /// The follower's history diverged before anything the leader can name: replace it whole.
    Snap { txns: Vec<Txn> },
}

#[cfg(test)]
mod tests {
    use super::{Body, Link, Message, Notification, Packet, Sync, Vote};
    use crate::zab::core::status::Role;
    use crate::zab::core::zxid::{Txn, Zxid};

    #[test]
    fn messages_round_trip_through_json() {
        let messages = [
            Message {
                from: 1,
                to: 2,
                body: Body::Notification(Notification {
                    vote: Vote {
                        epoch: 3,
                        zxid: Zxid::new(3, 7),
                        leader: 1,
                    },
                    round: 4,
                    state: Role::Looking,
                }),
            },
            Message {
                from: 2,
                to: 1,
                body: Body::Link(Link {
                    id: u64::MAX,
                    epoch: 4,
                    packet: Packet::NewLeader(Sync::Trunc {
                        to: Zxid::new(3, 5),
                        txns: vec![Txn {
                            zxid: Zxid::new(4, 1),
                            payload: b"\x00set /a 1".to_vec(),
                        }],
                    }),
                }),
            },
        ];
        for msg in messages {
            let json = serde_json::to_string(&msg).expect("serializable");
            let back: Message = serde_json::from_str(&json).expect("deserializable");
            assert_eq!(back, msg, "{json}");
        }
    }
}
