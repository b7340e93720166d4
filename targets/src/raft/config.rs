//! A node's fixed parameters, and the check that a node can start with them.

use std::fmt;

use super::NodeId;

/// What one node needs to know before it starts; the same on every node but for `id` (and
/// `seed`, which may differ or not: the node mixes its id into it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// This node.
    pub id: NodeId,
    /// Every voting member of the cluster, this node included.
    pub voters: Vec<NodeId>,
    /// A follower or candidate that hears from no leader for a number of ticks drawn uniformly
    /// from `min..=max` starts an election (§5.2). The spread makes split votes rare. `min` is
    /// also a leader's check-quorum period and the length of a follower's leader lease.
    pub election_ticks: (u32, u32),
    /// A leader sends heartbeats every this many ticks; must be well below `election_ticks.0`.
    pub heartbeat_ticks: u32,
    /// Ask for pre-votes before starting an election (thesis §9.6).
    pub pre_vote: bool,
    /// A leader steps down when a majority has not answered it for `election_ticks.0` ticks, and
    /// a follower that heard from its leader within that time ignores vote requests.
    pub check_quorum: bool,
    /// Seeds the election-timeout generator, so that a run is reproducible.
    pub seed: u64,
}

impl Config {
    /// A configuration with the defaults the bundled target uses: elections after 10..=20 ticks
    /// of silence, heartbeats every 3, pre-vote and check-quorum on, seed 0.
    pub fn new(id: NodeId, voters: Vec<NodeId>) -> Config {
        Config {
            id,
            voters,
            election_ticks: (10, 20),
            heartbeat_ticks: 3,
            pre_vote: true,
            check_quorum: true,
            seed: 0,
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

/// Why [`Raft::new`](super::Raft::new) refused to start a node: a configuration or a persisted
/// state it cannot run with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StartError(pub String);

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot start the raft node: {}", self.0)
    }
}

impl std::error::Error for StartError {}
