//! The client protocol of the transaction targets (`2pc`, `3pc`), as types both sides share: the
//! node serves them, the bank workload's client sends and reads them. JSON over HTTP
//! (docs/protocols/txn-http.md):
//!
//! | request | on | answer |
//! |---|---|---|
//! | `POST /transfer` [`TransferRequest`] | coordinator | 200 [`Answer`] committed · 409 [`Answer`] aborted · 400 [`Refusal`] |
//! | `POST /read` | coordinator | 200 [`Answer`] with every balance · 409 [`Answer`] aborted |
//! | `GET /decisions` | participant | 200 [`Decisions`] |
//! | `GET /health` | any | 200 |
//!
//! A 409 is definite: the transaction aborted and nothing of it was applied anywhere. A 400 is
//! a request refused before any transaction began (malformed, or an account nobody owns).
//! No answer (a dropped connection, a timeout) is unknown: the transaction may still commit.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::core::Account;

/// `POST /transfer`: move `amount` from `from` to `to`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    pub from: Account,
    pub to: Account,
    pub amount: i64,
}

/// The outcome of a transaction the coordinator began.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// Its id, `incarnation.seq`.
    pub txn: String,
    pub committed: bool,
    /// For a committed read: every account's balance (accounts as strings, as JSON maps need).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balances: Option<BTreeMap<String, i64>>,
}

/// A request refused before any transaction began.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub error: String,
}

/// `GET /decisions`: what a participant knows of every transaction it was asked about, for
/// the atomicity and blocking checkers. Times are ages — microseconds before the answer was
/// written, on the participant's monotonic clock — so that the asker can place them on its
/// own clock whatever the participant's wall clock says; `None` when not known (decided
/// before the participant's last start: its log keeps no times).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Decisions {
    /// The coordinator's node name.
    pub coordinator: String,
    /// This participant's accounts and their opening balances.
    pub initial: BTreeMap<String, i64>,
    /// Its committed balances now.
    pub balances: BTreeMap<String, i64>,
    /// Prepares voted no on because a lock was held, since its last start.
    pub refused_on_locks: u64,
    pub txns: Vec<TxnReport>,
}

/// One transaction, as a participant saw it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct TxnReport {
    pub txn: String,
    /// `{"from","to","amount"}`, `"read"`, or null when only the log told of it.
    pub op: serde_json::Value,
    /// `yes`, `no`, or `None` (an abort arrived before any prepare).
    pub vote: Option<String>,
    /// Since when it has been prepared (voted yes) — its restart, for a transaction in doubt
    /// across a restart.
    pub prepared_ago_us: Option<u64>,
    /// 3PC: since when it has been pre-committed (told everyone voted yes); always `None` in
    /// 2PC, and absent from older answers.
    #[serde(default)]
    pub precommitted_ago_us: Option<u64>,
    /// `commit`, `abort`, or `None`: still in doubt.
    pub decision: Option<String>,
    pub decided_ago_us: Option<u64>,
}
