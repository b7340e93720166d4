//! The Raft consensus core behind the `raft-kv` target: one node's protocol state machine, with
//! no I/O, no clock, no threads and no randomness but a seeded generator.
//!
//! It follows the Raft paper (Ongaro & Ousterhout, 2014; section numbers below are the paper's)
//! and two refinements from Ongaro's thesis: **pre-vote** (§9.6: a node asks whether it could
//! win before it bumps its term, so a node healed from a partition does not depose a healthy
//! leader) and **check-quorum** (a leader that has not heard from a majority for an election
//! timeout steps down, so clients stop talking to a leader that can no longer commit). Reads are
//! linearizable through **read index** (thesis §6.4): the leader confirms it still leads with a
//! heartbeat round instead of writing the read to the log.
//!
//! # Data flow
//!
//! The design is tikv/raft-rs's: the protocol is a pure state machine, and everything that
//! touches the world lives in a shell around it.
//!
//! ```text
//!   timer ──tick()──▶ ┌────────┐ ──ready()──▶ Ready { hard_state, truncate_from, entries,   ─▶ disk
//!   peers ──step()──▶ │  Raft  │                      messages,                          ─▶ peers
//! clients ─propose()─▶│        │                      committed,                         ─▶ state machine
//!         ─read_index()▶└──────┘                      read_states, failed_reads }        ─▶ clients
//! ```
//!
//! Inputs change the state and queue output; [`Raft::ready`] hands over everything queued since
//! the last call. Time is logical: [`Raft::tick`] is one tick, and the shell decides how many
//! milliseconds that is. Peer messages are [`Message`]s, serializable with serde, to be carried
//! over any transport that may lose, duplicate, delay or reorder them.
//!
//! # The shell's contract
//!
//! * **Start** a node with [`Raft::new`] from exactly what it persisted ([`Persisted`]; the
//!   default for a brand-new node). Every node gets the same `voters`.
//! * **Feed it**: call [`Raft::tick`] at a fixed period, [`Raft::step`] for every message from a
//!   peer, [`Raft::propose`] and [`Raft::read_index`] for clients. One thread owns the `Raft`.
//! * **Drain it**: after feeding it (after each input, or after a batch of them), call
//!   [`Raft::ready`] and handle the [`Ready`] completely, in this order, before the next one:
//!   1. **Persist, then fsync**: write `hard_state` if present (before the entries: a log holding
//!      an entry of a term newer than the persisted term is refused at start), then delete the
//!      persisted entries from `truncate_from` on, then append `entries`.
//!   2. **Send** `messages`, only once step 1 is durable: a vote or an acknowledgement that is
//!      sent and then forgotten in a crash can elect two leaders in one term or lose a committed
//!      entry. Sending is best effort; the core retries whatever matters.
//!   3. **Apply** `committed` to the state machine in order, each entry exactly once. Entries
//!      with empty `data` are leaders' no-ops: they take an index but change nothing.
//!   4. **Answer reads**: each [`ReadState`] may be served from the state machine once it has
//!      applied up to `index` — which step 3 has already done, since `index` never exceeds what
//!      this or an earlier `Ready` committed. Each context in `failed_reads` will never be
//!      confirmed: answer it as a definite failure (a read that was not served changed nothing).
//! * **A proposal's fate**: [`Raft::propose`] returns the `(index, term)` its entry took, or
//!   [`NotLeader`], a definite refusal (nothing was appended). Watch `committed` for `index`:
//!   - an entry at `index` with the same `term` is committed: the proposal is applied there;
//!   - an entry at `index` with another `term` is committed: the proposal was overwritten and is
//!     definitely not applied, now or ever (log matching: an entry is identified by index and
//!     term);
//!   - until one of the two is observed — the node lost leadership, crashed, or is partitioned
//!     away — the outcome is unknown: the entry may still commit under a later leader. Keep
//!     watching (a follower keeps receiving committed entries), and answer "unknown" on timeout.
//! * **After a crash** the state machine is rebuilt by replaying: the commit index is volatile,
//!   so a restarted node relearns it from the leader and its `Ready`s deliver every committed
//!   entry again from index 1. A shell must therefore start with an empty state machine.
//!
//! # What is left out
//!
//! Membership changes, snapshots and log compaction, leadership transfer, and flow control
//! beyond a cap on the entries per append: the bundled target runs a fixed cluster for the
//! length of one test.
//!
//! # Modules
//!
//! * [`node`](Raft): roles, elections, replication, commit, read index — the state machine.
//! * `log`: one node's copy of the replicated log, and what the shell has not yet persisted.
//! * `progress`: the leader's view of each follower's log.
//! * `reads`: read-index requests waiting for a quorum's confirmation.
//! * `message`, `ready`, `storage`, `config`: the types crossing the boundary with the shell.
//! * `rng`: the seeded generator behind randomized election timeouts.

mod config;
mod log;
mod message;
mod node;
mod progress;
mod reads;
mod ready;
pub(crate) mod rng;
mod storage;

#[cfg(test)]
mod tests;

pub use config::{Config, StartError};
pub use log::Entry;
pub use message::{AppendResult, Body, Message};
pub use node::{NotLeader, Raft, Role};
pub use ready::{ReadState, Ready};
pub use storage::{HardState, Persisted};

/// A node's identity; every node of a cluster knows every other's.
pub type NodeId = u64;
/// A Raft term (§5.1): a logical clock that orders leaderships. Term 0 precedes every election.
pub type Term = u64;
/// A position in the replicated log. The first entry is at 1; 0 means "before the first entry".
pub type Index = u64;
