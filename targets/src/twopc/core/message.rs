//! What crosses the wire: transactions, their ids, and the five messages of presumed-abort
//! two-phase commit. Every message may be lost, duplicated, delayed or reordered; each handler
//! is idempotent, and the side that waits for an answer asks again (the coordinator resends a
//! commit until it is acknowledged; an in-doubt participant inquires until it is told).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::NodeId;

/// An account of the bank; each belongs to exactly one participant.
pub type Account = u32;

/// A transaction's id: the coordinator's incarnation and a counter within it. The incarnation
/// is logged at every start, so that a restarted coordinator never hands out an id again — a
/// participant may still hold a decision about the old one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TxnId {
    pub incarnation: u64,
    pub seq: u64,
}

impl fmt::Display for TxnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.incarnation, self.seq)
    }
}

/// What a client asks for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// Moves `amount` from `from` to `to`. Refused (voted no) if `from` would go negative.
    Transfer {
        from: Account,
        to: Account,
        amount: i64,
    },
    /// Reads every balance, at every participant, through the same protocol — so that the
    /// read is one atomic snapshot and shows the total conserved.
    ReadAll,
}

/// The balances a participant read for a transaction (empty for a transfer).
pub type Reads = Vec<(Account, i64)>;

/// One message of a transaction protocol, addressed: `B` is what it says — 2PC's [`Body`],
/// or 3PC's, whose messages travel in the same envelope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope<B> {
    pub from: NodeId,
    pub to: NodeId,
    pub body: B,
}

/// One message between the coordinator and a participant.
pub type Message = Envelope<Body>;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Body {
    /// Coordinator → participant, phase one: take the locks for `op` and vote. The participant
    /// works out its own part of `op` from the accounts it owns.
    Prepare { txn: TxnId, op: Op },
    /// Participant → coordinator: yes (prepared and logged, with what it read) or no.
    Vote { txn: TxnId, yes: bool, reads: Reads },
    /// Coordinator → participant, phase two — also the answer to an inquiry.
    Decision { txn: TxnId, commit: bool },
    /// Participant → coordinator: the commit is logged here. Aborts are not acknowledged:
    /// under presumed abort the coordinator keeps no record of them to clean up.
    Ack { txn: TxnId },
    /// Participant → coordinator: "I am in doubt about `txn`; what was decided?"
    Inquire { txn: TxnId },
}
