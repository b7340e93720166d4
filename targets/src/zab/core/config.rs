//! A node's fixed parameters, the bug switch, and the check that a node can start with them.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::NodeId;

/// A deliberate protocol bug, for showing that faultline (and the core's own invariant tests)
/// catch what it breaks. `None` is ZAB as specified.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Bug {
    #[default]
    None,
    /// A new leader considers itself established as soon as a quorum acknowledged its epoch:
    /// it commits its initial history and starts broadcasting without waiting for a quorum to
    /// acknowledge NEWLEADER — so it may deliver transactions no quorum holds.
    BroadcastBeforeSync,
    /// A follower acknowledges PROPOSE and PING from a leader of an epoch older than the one it
    /// accepted — so a deposed leader can still gather quorums: it keeps leading, committing
    /// and confirming syncs beside the new leader.
    AcceptOlderEpoch,
}

/// What one node needs to know before it starts; the same on every node but for `id` and
/// `seed`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// This node.
    pub id: NodeId,
    /// Every voting member of the ensemble, this node included.
    pub voters: Vec<NodeId>,
    /// How long silence may last, as a range of ticks: a node waits a number of ticks drawn
    /// uniformly from `min..=max` — for an election to decide before it starts a new round, for
    /// its leader before a follower gives up on it, for a quorum of followers before a leader
    /// gives up on leading (ZooKeeper's `initLimit` and `syncLimit` in one).
    pub election_ticks: (u32, u32),
    /// A leader pings its followers, and an undecided node resends its vote, every this many
    /// ticks; must be well below `election_ticks.0`.
    pub heartbeat_ticks: u32,
    /// Seeds the generator behind timeouts and link ids. Give every start of a node a fresh
    /// seed (the shell draws one from the OS): a restarted node must not reuse the link ids of
    /// its previous life, or a reply still in flight to the old link could be taken for a reply
    /// to the new one. Tests pass chosen seeds, so that a run is reproducible.
    pub seed: u64,
    pub bug: Bug,
}

impl Config {
    /// A configuration with the defaults the bundled target uses: silence tolerated for
    /// 10..=20 ticks, heartbeats every 2, no bug, seed 0. With the shell's 10 ms tick an
    /// ensemble elects and synchronizes a leader well within a second (see the timing test).
    pub fn new(id: NodeId, voters: Vec<NodeId>) -> Config {
        Config {
            id,
            voters,
            election_ticks: (10, 20),
            heartbeat_ticks: 2,
            seed: 0,
            bug: Bug::None,
        }
    }

    /// Checks that a node can run with this configuration.
    pub fn validate(&self) -> Result<(), StartError> {
        crate::membership::check(
            self.id,
            &self.voters,
            self.election_ticks,
            self.heartbeat_ticks,
        )
        .map_err(StartError)
    }
}

/// Why [`Zab::new`](super::Zab::new) refused to start a node: a configuration or a persisted
/// state it cannot run with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StartError(pub String);

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot start the zab node: {}", self.0)
    }
}

impl std::error::Error for StartError {}
