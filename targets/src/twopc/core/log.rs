//! The log records each side persists — everything it is rebuilt from after a crash. The
//! shell appends each [`Ready`](super::Ready)'s records and fsyncs them (one fsync for all of
//! them: group commit) before it sends the `Ready`'s messages.

use serde::{Deserialize, Serialize};

use super::NodeId;
use super::message::{Account, Reads, TxnId};

/// A participant's log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ParticipantRecord {
    /// Written before a yes vote: the transaction's locks, its writes (each account's balance
    /// after a commit, computed under the locks) and what it read. After a crash it restores
    /// the locks and makes the transaction in doubt.
    Prepared {
        txn: TxnId,
        /// Accounts locked exclusively (written) and shared (read).
        exclusive: Vec<Account>,
        shared: Vec<Account>,
        writes: Vec<(Account, i64)>,
        reads: Reads,
    },
    /// Written before the commit is acknowledged and applied.
    Committed { txn: TxnId },
    /// Written on a no vote or an abort decision, so that a late duplicate of the prepare is
    /// refused again rather than prepared.
    Aborted { txn: TxnId },
}

impl ParticipantRecord {
    pub fn txn(&self) -> TxnId {
        match self {
            ParticipantRecord::Prepared { txn, .. }
            | ParticipantRecord::Committed { txn }
            | ParticipantRecord::Aborted { txn } => *txn,
        }
    }
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
