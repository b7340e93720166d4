//! The log records each side persists — everything it is rebuilt from after a crash. The
//! shell appends each [`Ready`](crate::twopc::core::Ready)'s records and fsyncs them before
//! it sends the `Ready`'s messages.

use serde::{Deserialize, Serialize};

use crate::twopc::core::{NodeId, Part, TxnId};

/// A participant's log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ParticipantRecord {
    /// Written before a yes vote: the part (its locks and writes), and the transaction's
    /// participants — whom the termination protocol must ask, after a crash too.
    Prepared {
        txn: TxnId,
        part: Part,
        participants: Vec<NodeId>,
    },
    /// Written before a `PreCommit` is acknowledged (or a backup sends its own).
    PreCommitted { txn: TxnId },
    /// Written before the commit is acknowledged and applied.
    Committed { txn: TxnId },
    /// Written on a no vote or an abort, so that a late `CanCommit` is refused.
    Aborted { txn: TxnId },
}

/// A coordinator's log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CoordinatorRecord {
    /// Written at every start: transaction ids are drawn from this incarnation on.
    Started { incarnation: u64 },
    /// All voted yes; written before the first `PreCommit` is sent. From here on an abort is
    /// no longer presumed: participants may commit by termination.
    PreCommit {
        txn: TxnId,
        participants: Vec<NodeId>,
    },
    /// Every participant acknowledged the `PreCommit` (or one reported a commit): written
    /// before the first `DoCommit`.
    Commit {
        txn: TxnId,
        participants: Vec<NodeId>,
    },
    /// A transaction past `PreCommit` learned aborted (a participant's termination aborted
    /// it): so that a restart neither resumes it nor mistakes it for a commit.
    Abort { txn: TxnId },
    /// Every participant acknowledged the commit: nothing more to send.
    Ended { txn: TxnId },
}
