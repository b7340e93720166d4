//! The parameters of a coordinator and of a participant, and the bug switch.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::NodeId;
use super::message::Account;

/// A deliberate protocol bug, for showing that faultline (and the core's invariant tests)
/// catch what it breaks. `None` is presumed-abort 2PC as specified.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Bug {
    #[default]
    None,
    /// A participant that voted yes and has heard no decision for
    /// [`ParticipantConfig::heuristic_ticks`] aborts on its own, as an XA resource manager's
    /// "heuristic" decision does — and the coordinator may have committed meanwhile.
    HeuristicAbort,
}

/// A coordinator's parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoordinatorConfig {
    pub id: NodeId,
    /// Which accounts each participant owns: how the coordinator routes a transaction.
    pub shards: BTreeMap<NodeId, Vec<Account>>,
    /// A transaction still missing votes after this many ticks is aborted — a lost prepare or
    /// vote, or a dead participant, costs one timeout.
    pub vote_timeout_ticks: u32,
    /// A logged commit is sent again to the participants that have not acknowledged it every
    /// this many ticks (0 counts as 1).
    pub retry_ticks: u32,
}

/// A participant's parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParticipantConfig {
    pub id: NodeId,
    pub coordinator: NodeId,
    /// The accounts this participant owns and their balances before any transaction.
    pub accounts: BTreeMap<Account, i64>,
    /// An in-doubt participant asks the coordinator for the decision every this many ticks
    /// (0 counts as 1).
    pub inquire_ticks: u32,
    /// With [`Bug::HeuristicAbort`]: how long it waits in doubt before aborting on its own.
    pub heuristic_ticks: u32,
    /// Debits may take a balance below zero (otherwise such a transfer is voted down).
    pub allow_negative: bool,
    pub bug: Bug,
}
