//! The log records each side persists — everything it is rebuilt from after a crash. The
//! shell appends each [`Ready`](super::Ready)'s records and fsyncs them (one fsync for all of
//! them: group commit) before it sends the `Ready`'s messages.

use serde::{Deserialize, Serialize};

use super::NodeId;
use super::message::{Account, Reads, TxnId};

/// A participant's share of one transaction, worked out at prepare, under its locks, from
/// its committed balances.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    /// Accounts locked exclusively (written)…
    pub exclusive: Vec<Account>,
    /// …and shared (read).
    pub shared: Vec<Account>,
    /// Each written account's balance after a commit: absolute, so applying twice is harmless.
    pub writes: Vec<(Account, i64)>,
    /// The balances read, sent with the yes vote.
    pub reads: Reads,
}

/// A participant's log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ParticipantRecord {
    /// Written before a yes vote. After a crash it restores the part's locks and makes the
    /// transaction in doubt.
    Prepared { txn: TxnId, part: Part },
    /// Written before the commit is acknowledged and applied.
    Committed { txn: TxnId },
    /// Written on a no vote or an abort decision, so that a late duplicate of the prepare is
    /// refused again rather than prepared.
    Aborted { txn: TxnId },
}

/// A coordinator's log. Under presumed abort nothing is logged for an abort: no record of a
/// transaction means it aborted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CoordinatorRecord {
    /// Written at every start: transaction ids are drawn from this incarnation on.
    Started { incarnation: u64 },
    /// The commit decision, written before any participant hears it.
    Commit {
        txn: TxnId,
        participants: Vec<NodeId>,
    },
    /// Every participant acknowledged the commit: the transaction may be forgotten.
    Ended { txn: TxnId },
}
