//! The ZAB consensus core behind the `zab` target: one node's protocol state machine, with no
//! I/O, no clock, no threads and no randomness but a seeded generator.
//!
//! It follows "Zab: High-performance broadcast for primary-backup systems" (Junqueira, Reed &
//! Serafini, DSN 2011) and ZooKeeper's implementation of it where the paper leaves a choice:
//! fast leader election (phase 0); discovery (phase 1), in which the elected leader gathers a
//! quorum and establishes a new epoch; synchronization (phase 2), in which it brings a quorum's
//! histories to its own (by DIFF, TRUNC or SNAP) before it commits anything; and broadcast
//! (phase 3), in which it proposes transactions — opaque payloads, each with a zxid `(epoch,
//! counter)` — and commits them in zxid order once a quorum logged them. Leaders ping their
//! followers: a follower that hears nothing from its leader, and a leader that hears from no
//! quorum, for an election timeout go back to electing. ZooKeeper's `sync`, made to wait for a
//! quorum's confirmation, gives clients linearizable reads.
//!
//! # Data flow
//!
//! Like the [`raft`](crate::raft) core, the protocol is a pure state machine, and everything
//! that touches the world lives in a shell around it.
//!
//! ```text
//!   timer ──tick()──▶ ┌───────┐ ──ready()──▶ Ready { truncate_after, append, epochs, ─▶ disk
//!   peers ──step()──▶ │  Zab  │                      messages,                      ─▶ peers
//! clients ─propose()─▶│       │                      committed,                     ─▶ data tree
//!         ──sync()───▶└───────┘                      synced, failed_syncs }         ─▶ clients
//! ```
//!
//! Inputs change the state and queue output; [`Zab::ready`] hands over everything queued since
//! the last call. Time is logical: [`Zab::tick`] is one tick, and the shell decides how many
//! milliseconds that is. Peer messages are [`Message`]s, serializable with serde, to be carried
//! over any transport that may lose, duplicate, delay or reorder them (see `message` for how
//! the core does without FIFO channels).
//!
//! # The shell's contract
//!
//! * **Start** a node with [`Zab::new`] from exactly what it persisted ([`Persisted`]; the
//!   default for a brand-new node) and a fresh [`Config::seed`]. Every node gets the same
//!   `voters`. It starts electing at once.
//! * **Feed it**: call [`Zab::tick`] at a fixed period, [`Zab::step`] for every message from a
//!   peer, [`Zab::propose`] and [`Zab::sync`] for clients. One thread owns the `Zab`.
//! * **Drain it**: after feeding it (after each input, or after a batch of them), call
//!   [`Zab::ready`] and handle the [`Ready`] completely, in this order, before the next one:
//!   1. **Persist, then fsync**: delete the persisted transactions after `truncate_after`, append
//!      `append`, then write `epochs` if present. The history goes first: a node that crashes
//!      between the two writes then understates how recent its history is, never overstates
//!      it (elections and discovery trust the current epoch).
//!   2. **Send** `messages`, only once step 1 is durable: an ACKEPOCH or an ACK sent and then
//!      forgotten in a crash can establish two leaders in one epoch or lose a committed
//!      transaction. Sending is best effort; the core repeats whatever matters.
//!   3. **Deliver** `committed` to the data tree in order, each exactly once.
//!   4. **Answer syncs**: each `(ctx, zxid)` in `synced` may be answered — the data tree has
//!      applied up to `zxid` in step 3 of this or an earlier `Ready`. Each context in
//!      `failed_syncs` will never be done: answer it as a definite failure.
//! * **A proposal's fate**: [`Zab::propose`] returns the [`Zxid`] its transaction took, or
//!   [`NotLeader`], a definite refusal (nothing was broadcast). Watch `committed` for the zxid:
//!   - a transaction with that zxid is delivered: it is the proposal (a zxid is given once);
//!   - a transaction with a higher zxid of a later epoch is delivered first: the proposal is
//!     definitely lost, now and forever (a new leader took a history without it);
//!   - until one of the two is observed the outcome is unknown: the node lost its leadership,
//!     crashed or is partitioned away, and a later leader may still commit the transaction.
//! * **Sync** ([`Zab::sync`]) is ZooKeeper's: it is done once this node delivered everything
//!   its leader had proposed when the sync reached it — and, unlike ZooKeeper's, once a quorum
//!   confirmed that leader still leads, so that a deposed leader cannot answer it (see
//!   `syncs`). A read served after its `synced` entry is therefore linearizable.
//! * **After a crash** the data tree is rebuilt by replaying: the commit point is volatile, so
//!   a restarted node relearns it from its leader and its `Ready`s deliver every committed
//!   transaction again from the first. A shell must therefore start with an empty data tree.
//! * **Readiness**: [`Zab::status`] tells the role, the phase, the epochs, the leader and the
//!   last delivered zxid; [`Status::synced`] is true for an established leader and a follower
//!   in broadcast.
//!
//! # Timing
//!
//! With the default [`Config`] (silence tolerated for 10..=20 ticks, heartbeats every 2) and
//! the shell's 10 ms tick:
//!
//! * a fresh ensemble needs no timer at all: nodes elect as soon as every vote agrees, and
//!   discovery and synchronization are three round trips — a few milliseconds on a LAN;
//! * a dead leader is replaced, and every node synced with the new one, within 22 ticks on
//!   five nodes in the tests (followers give up after 10..=20 silent ticks, and an election
//!   without every vote decides at the tick after a quorum agrees): about 220 ms;
//! * a leader cut off from its quorum stops within 20 ticks.
//!
//! # Bug switches
//!
//! [`Config::bug`] turns on one of two classic mistakes, for faultline to catch (and the tests
//! in `tests::bugs` and `tests::random` show its invariant checks do):
//! * [`Bug::BroadcastBeforeSync`]: a new leader commits its history and broadcasts as soon as a
//!   quorum acknowledged its epoch, without waiting for a quorum to take its history — it can
//!   deliver transactions that a later leader never sees;
//! * [`Bug::AcceptOlderEpoch`]: a follower acknowledges proposals and pings from a leader of an
//!   older epoch than the one it accepted — a deposed leader can still commit, and keeps
//!   leading beside the new one.
//!
//! # What is left out
//!
//! Membership changes, observers, snapshots of the data tree and log compaction (SNAP sends the
//! whole history), and flow control beyond a cap on the proposals sent again per ping.
//!
//! # Modules
//!
//! * [`node`](Zab): roles and the inputs every role shares — the state machine's hub.
//! * `election`: fast leader election's tally (phase 0).
//! * `leader`, `follower`: the two sides of discovery, synchronization and broadcast.
//! * `history`: the transaction log, its commit point, and the choice of DIFF, TRUNC or SNAP.
//! * `syncs`: syncs waiting for an answer or for delivery.
//! * `zxid`, `message`, `ready`, `storage`, `status`, `config`: the types crossing the boundary
//!   with the shell.

mod config;
mod election;
mod follower;
mod history;
mod leader;
mod message;
mod node;
mod ready;
mod status;
mod storage;
mod syncs;
mod zxid;

#[cfg(test)]
mod tests;

pub use config::{Bug, Config, StartError};
pub use message::{Body, Link, Message, Notification, Packet, Sync, Vote};
pub use node::{NotLeader, Zab};
pub use ready::Ready;
pub use status::{Phase, Role, Status};
pub use storage::{Epochs, Persisted};
pub use zxid::{Epoch, Txn, Zxid};

/// A node's identity; every node of an ensemble knows every other's.
pub type NodeId = u64;
