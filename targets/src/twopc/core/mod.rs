//! The two-phase commit core behind the (coming) `twopc` target: a coordinator and the
//! participants that each own a shard of a bank's accounts, as sans-I/O state machines — no
//! I/O, no clock, no threads, no randomness.
//!
//! It is presumed-abort 2PC (Mohan, Lindsay & Obermarck, "Transaction management in the R*
//! distributed database management system", TODS 1986) with strict two-phase locking at the
//! participants. A transaction is a transfer between two accounts or a read of every balance;
//! the coordinator sends `Prepare` to every participant it touches; each takes its locks,
//! computes its writes from its own balances, logs `Prepared` and votes yes — or votes no.
//! All yes: the coordinator logs `Commit`, then sends the decision until every participant
//! acknowledged (then logs `Ended`). Any no, or a vote missing for too long: it aborts, logging
//! nothing. A participant logs the decision, applies it, releases its locks, and acknowledges
//! a commit.
//!
//! # Data flow
//!
//! ```text
//!  clients ──begin()──▶ ┌─────────────┐ ──ready()──▶ Ready { log,      ─▶ disk (one fsync)
//!    timer ──tick()───▶ │ Coordinator │                      messages, ─▶ participants
//!     peers ──step()──▶ └─────────────┘                      outcomes } ─▶ clients
//!
//!    timer ──tick()───▶ ┌─────────────┐ ──ready()──▶ Ready { log,      ─▶ disk (one fsync)
//!     peers ──step()──▶ │ Participant │                      messages } ─▶ coordinator
//!                       └─────────────┘
//! ```
//!
//! # The shell's contract
//!
//! * **Start** each side with `new` from every record its shell persisted (none for a new
//!   node). A participant takes its initial balances from its config and replays its log; the
//!   coordinator takes a new incarnation (logged in its first `Ready`).
//! * **Feed it**: `tick` at a fixed period, `step` for every message, `begin` for clients.
//! * **Drain it** after feeding it: call `ready` and handle the [`Ready`] completely, in order:
//!   1. **Append `log` and fsync.** One fsync covers every record of the batch, however many
//!      transactions they belong to: group commit is draining after a batch of inputs.
//!   2. **Send `messages`**, only once the log is durable — a yes vote, an acknowledgement or a
//!      commit sent and then forgotten in a crash breaks atomicity. Best effort: the cores
//!      retry whatever matters.
//!   3. **Answer `outcomes`** (the coordinator's): a commit is reported once it is logged, with
//!      the balances read; an abort is definite. A transaction whose outcome never came (the
//!      coordinator crashed) is aborted unless its commit was logged.
//!
//! # Design
//!
//! * **Locks** (the lock table of `txn_core`, shared with 3PC): a transfer locks its accounts
//!   exclusively, a read-all locks every account shared — so reads go through the protocol, see one atomic snapshot (the total is
//!   conserved in every committed read), and do not block one another. A prepare that
//!   conflicts with a held lock votes no at once: no waiting, hence no deadlock and no waiter
//!   stuck behind an in-doubt transaction; the client retries.
//! * **Blocking**: a participant in doubt (voted yes, no decision) holds its locks and asks the
//!   coordinator every `inquire_ticks` until it is told — across its own restarts too. While
//!   the coordinator is down it blocks: that is 2PC's price, which 3PC is meant to lift.
//! * **Presumed abort**: see `coordinator`.
//!
//! # Bug switch
//!
//! [`Bug::HeuristicAbort`]: a participant in doubt for `heuristic_ticks` aborts on its own.
//! When the coordinator had committed, the transaction commits at one participant and aborts
//! at another; the atomicity checks of `tests` catch it.
//!
//! # Modules
//!
//! * [`Coordinator`], [`Participant`]: the two state machines.
//! * `message`, `log`, `ready`, `config`: the types crossing the boundary with the shell.

mod config;
mod coordinator;
mod log;
mod message;
mod participant;
mod ready;

#[cfg(test)]
mod tests;

pub use config::{Bug, CoordinatorConfig, ParticipantConfig};
pub use coordinator::{Coordinator, UnknownAccount};
pub use log::{CoordinatorRecord, Part, ParticipantRecord};
pub use message::{Account, Body, Envelope, Message, Op, Reads, TxnId};
pub use participant::{Participant, TxnState};
pub use ready::{Outcome, Ready};

/// A node's identity: the coordinator's and each participant's are distinct.
pub type NodeId = u64;
