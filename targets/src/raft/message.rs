//! The messages nodes exchange. Each carries its sender's term, which orders everything (§5.1):
//! a node that sees a higher term adopts it, and a request from a lower term is answered with a
//! refusal carrying the current term, so that its sender learns it is stale.

use serde::{Deserialize, Serialize};

use super::log::Entry;
use super::{Index, NodeId, Term};

/// One message from node `from` to node `to`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub from: NodeId,
    pub to: NodeId,
    /// The sender's term — except in a pre-vote request, which carries the term the sender would
    /// campaign at, and a granted pre-vote, which echoes it.
    pub term: Term,
    pub body: Body,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Body {
    /// "Would you vote for me?" (thesis §9.6), asked without bumping the sender's term. The
    /// sender's log ends at `(last_index, last_term)`.
    PreVote {
        last_index: Index,
        last_term: Term,
    },
    PreVoteResp {
        granted: bool,
    },
    /// RequestVote (§5.2). The candidate's log ends at `(last_index, last_term)` (§5.4.1).
    Vote {
        last_index: Index,
        last_term: Term,
    },
    VoteResp {
        granted: bool,
    },
    /// AppendEntries (§5.3): `entries` follow the leader's entry `(prev_index, prev_term)`;
    /// `commit` is the leader's commit index.
    Append {
        prev_index: Index,
        prev_term: Term,
        entries: Vec<Entry>,
        commit: Index,
    },
    AppendResp(AppendResult),
    /// The leader's periodic "I still lead". `commit` is the leader's commit index, capped at
    /// what it knows the follower holds; `round` is the leader's read-confirmation round, echoed
    /// back so that the leader can tell which reads an answer confirms.
    Heartbeat {
        commit: Index,
        round: u64,
    },
    HeartbeatResp {
        round: u64,
    },
}

/// A follower's answer to [`Body::Append`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AppendResult {
    /// The follower's log now matches the leader's up to `index`.
    Accepted { index: Index },
    /// The follower has no entry `(prev_index, prev_term)`. `(hint_index, hint_term)` is its last
    /// entry at or below `prev_index` with a term at most `prev_term`: the leader can skip back
    /// past every entry above it at once (fast backtracking, §5.3).
    Rejected {
        prev_index: Index,
        hint_index: Index,
        hint_term: Term,
    },
}
