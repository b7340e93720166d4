//! The transactions of the replicated log: what a write request becomes once the leader has
//! checked it (see [`prep`](super::prep)), and what every server applies to its
//! [`DataTree`](super::tree::DataTree), in zxid order.
//!
//! A transaction is final: sequential names are resolved, versions computed, checks done — an
//! [`TxnOp::Error`] is itself a transaction, so the failed request is answered in its turn,
//! after the writes before it (ZooKeeper's `ErrorTxn`). The time in the header is the
//! leader's clock, so every replica gives a znode the same ctime and mtime. ZAB carries a
//! transaction as opaque bytes: [`Txn::to_bytes`] and [`Txn::from_bytes`].

use serde::{Deserialize, Serialize};

/// Who asked and when: the server the client is connected to answers `(session, xid)` with
/// the outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxnHeader {
    /// The session of the request (for an expiry, the session that expired).
    pub session: i64,
    /// The request's xid, echoed in the reply.
    pub xid: i32,
    /// The leader's wall clock when it prepared the transaction, ms since the epoch.
    pub time_ms: i64,
}

/// One change to the replicated state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TxnOp {
    /// A session begins, with its negotiated timeout.
    CreateSession {
        session: i64,
        timeout_ms: i32,
    },
    /// A session ends — closed by its client or expired — and its ephemerals with it.
    CloseSession {
        session: i64,
    },
    /// A znode is created at `path` (its sequence suffix already appended).
    Create {
        path: String,
        data: Vec<u8>,
        /// The owning session of an ephemeral node, 0 for a persistent one.
        ephemeral_owner: i64,
        /// The parent's cversion after this create (ZooKeeper's `parentCVersion`): applying
        /// it is idempotent, unlike "add one".
        parent_cversion: i32,
    },
    Delete {
        path: String,
    },
    /// `version` is the node's new version.
    SetData {
        path: String,
        data: Vec<u8>,
        version: i32,
    },
    /// The request failed its checks: answer this error code (a `jute::ErrorCode` number).
    Error {
        code: i32,
    },
}

/// A transaction as ZAB replicates it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Txn {
    pub header: TxnHeader,
    pub op: TxnOp,
}

impl Txn {
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a transaction is plain data and always serializes")
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Txn, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    /// Whether the transaction changes the tree or the sessions (an error does not).
    pub fn is_change(&self) -> bool {
        !matches!(self.op, TxnOp::Error { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transactions_survive_their_bytes() {
        let header = TxnHeader {
            session: 0x0100_0000_0000_0001,
            xid: 7,
            time_ms: 1_700_000_000_000,
        };
        let ops = [
            TxnOp::CreateSession {
                session: 1,
                timeout_ms: 4000,
            },
            TxnOp::CloseSession { session: 1 },
            TxnOp::Create {
                path: "/a/b0000000003".into(),
                data: vec![0, 255],
                ephemeral_owner: 1,
                parent_cversion: 4,
            },
            TxnOp::Delete { path: "/a".into() },
            TxnOp::SetData {
                path: "/a".into(),
                data: vec![],
                version: 2,
            },
            TxnOp::Error { code: -101 },
        ];
        for op in ops {
            let txn = Txn { header, op };
            assert_eq!(Txn::from_bytes(&txn.to_bytes()).unwrap(), txn);
        }
        assert!(Txn::from_bytes(b"{").is_err());
    }
}
