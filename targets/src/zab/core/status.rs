//! What a node says about itself: its role and how far it got, for a health endpoint and for
//! telling when an ensemble is ready ("a leader is established and every node is synced").

use serde::{Deserialize, Serialize};

use super::NodeId;
use super::zxid::{Epoch, Zxid};

/// ZooKeeper's server states.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    /// Electing a leader (phase 0).
    Looking,
    Following,
    Leading,
}

/// How far a follower or a leader got with its leader or followers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Phase {
    /// Looking: no phase.
    Election,
    Discovery,
    Synchronization,
    /// A leader that is established, a follower that its leader declared up to date.
    Broadcast,
}

/// A snapshot of a node's state, from [`Zab::status`](super::Zab::status).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub id: NodeId,
    pub role: Role,
    pub phase: Phase,
    /// The leader it follows or is; `None` while looking.
    pub leader: Option<NodeId>,
    pub accepted_epoch: Epoch,
    pub current_epoch: Epoch,
    /// The last zxid of its history.
    pub last_zxid: Zxid,
    /// The last zxid it knows committed: delivered by the next `Ready` at the latest.
    pub committed: Zxid,
}

impl Status {
    /// Whether the node serves: an established leader, or a follower in broadcast.
    pub fn synced(&self) -> bool {
        self.phase == Phase::Broadcast
    }
}
