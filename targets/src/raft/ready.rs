//! The output of the state machine: everything it asks the shell to do, collected since the
//! last [`Raft::ready`](super::Raft::ready). The order of the fields is the order of the work;
//! the module docs of [`raft`](super) state the contract in full.

use super::Index;
use super::log::Entry;
use super::message::Message;
use super::storage::HardState;

/// A linearizable read the leader has confirmed: serve `ctx` from the state machine once it
/// has applied up to `index`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadState {
    /// The context passed to [`Raft::read_index`](super::Raft::read_index).
    pub ctx: u64,
    /// The leader's commit index when the read arrived.
    pub index: Index,
}

/// One batch of work for the shell.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ready {
    /// The term or vote changed: persist it first.
    pub hard_state: Option<HardState>,
    /// Delete the persisted entries from this index on (a leader overwrote them)…
    pub truncate_from: Option<Index>,
    /// …then append these, contiguous, to the persisted log. Durable before any message goes.
    pub entries: Vec<Entry>,
    /// Send these once the above is durable.
    pub messages: Vec<Message>,
    /// Apply these to the state machine, in order, each exactly once.
    pub committed: Vec<Entry>,
    /// Reads confirmed.
    pub read_states: Vec<ReadState>,
    /// Contexts of reads that will never be confirmed: this node stopped leading.
    pub failed_reads: Vec<u64>,
}

impl Ready {
    /// Nothing to do.
    pub fn is_empty(&self) -> bool {
        *self == Ready::default()
    }
}
