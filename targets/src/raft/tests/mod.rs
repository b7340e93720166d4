//! Tests of the Raft core, one module per part of the paper, named after the property or the
//! scenario they show. Most run whole clusters on the in-memory [`network`], which checks
//! Raft's safety properties ([`invariants`]) after every event of every test; a few drive one
//! node by hand to pin down a single rule.

mod invariants;
mod network;

mod client;
mod disruption;
mod election;
mod persistence;
mod random;
mod replication;
mod safety;

use crate::raft::{Body, HardState, Message, NodeId, Persisted, Raft, Term};

/// A node with no network around it, for tests that feed it messages by hand.
fn lone(id: NodeId, n: u64, disk: Persisted) -> Raft {
    Raft::new(network::config(id, n, 0), disk).expect("a valid start")
}

fn msg(from: NodeId, to: NodeId, term: Term, body: Body) -> Message {
    Message {
        from,
        to,
        term,
        body,
    }
}

/// A disk holding the term and vote, and one entry per term in `log` (see [`network::entry`]).
fn disk(term: Term, vote: Option<NodeId>, log: &[Term]) -> Persisted {
    let entries = log
        .iter()
        .enumerate()
        .map(|(k, &t)| network::entry(k as u64 + 1, t))
        .collect();
    Persisted {
        hard_state: HardState { term, vote },
        entries,
    }
}
