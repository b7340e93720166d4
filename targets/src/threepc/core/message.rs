//! What crosses the wire in 3PC. Every message may be lost, duplicated, delayed or
//! reordered; each handler is idempotent, and whoever waits for an answer asks again.

use serde::{Deserialize, Serialize};

use crate::twopc::core::{Envelope, NodeId, Op, Reads, TxnId};

/// Who speaks for a transaction, and since when: the coordinator is round `n = 0`; a backup
/// coordinator elected by the termination protocol picks a round above every one it has seen,
/// tagged with its own id so that two backups never share one. A participant that has
/// answered round `r` refuses a `PreCommit` of any lower round: an older authority, which may
/// not know what the newer one was told, can no longer move it.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Round {
    pub n: u64,
    pub by: NodeId,
}

/// What a participant knows of one transaction — its state in Skeen's automaton.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TxnState {
    /// Voted yes and logged its part: *uncertain*, it does not know whether all voted yes.
    Prepared,
    /// Told (and logged) that all voted yes: it knows no one aborted on its own.
    PreCommitted,
    Committed,
    Aborted,
}

impl TxnState {
    /// Whether the state is a final decision.
    pub fn is_decided(self) -> bool {
        matches!(self, TxnState::Committed | TxnState::Aborted)
    }
}

/// One message between the coordinator and a participant, or between two participants.
pub type Message = Envelope<Body>;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Body {
    /// Coordinator → participant, phase one: take the locks for `op` and vote.
    CanCommit { txn: TxnId, op: Op },
    /// Participant → coordinator: yes (prepared and logged, with what it read) or no.
    Vote { txn: TxnId, yes: bool, reads: Reads },
    /// Coordinator or backup → participant, phase two: everyone voted yes; log it and ack.
    PreCommit { txn: TxnId, round: Round },
    /// Participant → whoever sent the `PreCommit` of `round`: logged.
    PreCommitAck { txn: TxnId, round: Round },
    /// Coordinator or backup → participant, phase three: commit.
    DoCommit { txn: TxnId },
    /// Coordinator or backup → participant: abort.
    Abort { txn: TxnId },
    /// Participant → coordinator (or backup): the commit is logged here.
    Ack { txn: TxnId },
    /// Backup (or a participant looking for one, or the coordinator) → anyone: "what is your
    /// state for `txn`?" A participant joins `round` if it is newer than its own.
    StateReq { txn: TxnId, round: Round },
    /// The answer to a `StateReq` (echoing its round) — also how a participant that has
    /// decided answers a `PreCommit` it can no longer follow, and how a backup tells the
    /// coordinator what it decided.
    StateReply {
        txn: TxnId,
        round: Round,
        state: TxnState,
    },
}
