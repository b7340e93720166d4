//! The output of the state machine: everything it asks the shell to do, collected since the
//! last [`Zab::ready`](super::Zab::ready). The order of the fields is the order of the work;
//! the module docs of [`core`](super) state the contract in full.

use super::message::Message;
use super::storage::Epochs;
use super::zxid::{Txn, Zxid};

/// One batch of work for the shell.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ready {
    /// Delete every persisted transaction after the one with this zxid ([`Zxid::ZERO`]: all)…
    pub truncate_after: Option<Zxid>,
    /// …then append these to the persisted history, in order…
    pub append: Vec<Txn>,
    /// …then, if they changed, persist the epochs. All of it durable before any message goes.
    pub epochs: Option<Epochs>,
    /// Send these once the above is durable.
    pub messages: Vec<Message>,
    /// Deliver these to the data tree, in order, each exactly once.
    pub committed: Vec<Txn>,
    /// Syncs done: `(ctx, zxid)` may be answered once the data tree has applied up to `zxid` —
    /// which the `committed` of this or an earlier `Ready` already delivered.
    pub synced: Vec<(u64, Zxid)>,
    /// Contexts of syncs that will never be done: this node lost its leader. Answer them as
    /// definite failures (a sync changes nothing).
    pub failed_syncs: Vec<u64>,
}

impl Ready {
    /// Nothing to do.
    pub fn is_empty(&self) -> bool {
        *self == Ready::default()
    }
}
