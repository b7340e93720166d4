//! The parameters of a coordinator and of a participant. There is no bug switch: 3PC's
//! weakness — atomicity lost under a partition — is the protocol's own.

use std::collections::BTreeMap;

use crate::twopc::core::{Account, NodeId};

/// Every timeout and retry period, in ticks. One value for both sides, so that they are
/// chosen together: a participant's `timeout_ticks` must exceed the coordinator's
/// `vote_timeout_ticks` and `retry_ticks`, or participants start terminating transactions a
/// live coordinator is still driving.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Coordinator: a transaction still missing votes after this many ticks is aborted.
    pub vote_timeout_ticks: u32,
    /// Coordinator: for this many ticks after its `PreCommit` it resends it to the
    /// participants that have not acknowledged; afterwards it only asks their states (they are
    /// presumably running the termination protocol, which is now in charge).
    pub ack_timeout_ticks: u32,
    /// Both: what is unanswered is sent again every this many ticks (0 counts as 1).
    pub retry_ticks: u32,
    /// Participant: an undecided participant (uncertain or pre-committed) that has heard
    /// nothing about the transaction for this many ticks starts the termination protocol.
    pub timeout_ticks: u32,
    /// Participant: how long one attempt of the termination protocol lasts — a backup
    /// coordinator's collection of states (or of pre-commit acknowledgements), or a
    /// follower's wait for its candidate.
    pub termination_ticks: u32,
}

impl Config {
    pub(super) fn retry(&self) -> u32 {
        self.retry_ticks.max(1)
    }
}

/// A coordinator's parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoordinatorConfig {
    pub id: NodeId,
    /// Which accounts each participant owns: how the coordinator routes a transaction.
    pub shards: BTreeMap<NodeId, Vec<Account>>,
    pub ticks: Config,
}

/// A participant's parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParticipantConfig {
    pub id: NodeId,
    pub coordinator: NodeId,
    /// The shard map (the same as the coordinator's): which participants a transaction
    /// involves, and so whom the termination protocol asks.
    pub participants: BTreeMap<NodeId, Vec<Account>>,
    /// The accounts this participant owns and their balances before any transaction.
    pub accounts: BTreeMap<Account, i64>,
    /// Debits may take a balance below zero (otherwise such a transfer is voted down).
    pub allow_negative: bool,
    pub ticks: Config,
}
