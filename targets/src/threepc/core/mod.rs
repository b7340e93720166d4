//! The three-phase commit core behind the `3pc` target: a coordinator and the
//! participants that each own a shard of a bank's accounts, as sans-I/O state machines — no
//! I/O, no clock, no threads, no randomness. Same bank, same transactions, same locks and the
//! same shell contract as the [2PC core](crate::twopc::core), whose shared types it reuses, so
//! that one node shell can drive either.
//!
//! It is Skeen's nonblocking commit protocol ("Nonblocking commit protocols", SIGMOD 1981;
//! the termination protocol as in Bernstein, Hadzilacos & Goodman, *Concurrency Control and
//! Recovery in Database Systems*, ch. 7). 2PC blocks a participant that voted yes for as long
//! as its coordinator is down; 3PC inserts a phase — `PreCommit`: "everyone voted yes" — so
//! that no participant can commit while another is still uncertain, and the participants can
//! then decide among themselves without the coordinator. The price: under a partition both
//! sides decide, and may decide differently.
//!
//! # Messages
//!
//! | message                        | from → to                     | when                                   |
//! |--------------------------------|-------------------------------|----------------------------------------|
//! | `CanCommit{txn, op}`           | coordinator → participants    | `begin`                                |
//! | `Vote{txn, yes, reads}`        | participant → coordinator     | after logging `Prepared` (yes) / `Aborted` (no) |
//! | `PreCommit{txn, round}`        | coordinator / backup → participant | all voted yes (`PreCommit` logged) / Skeen's rule |
//! | `PreCommitAck{txn, round}`     | participant → its sender      | after logging `PreCommitted`           |
//! | `DoCommit{txn}`                | coordinator / backup → participant | all pre-committed (`Commit` logged)  |
//! | `Abort{txn}`                   | coordinator / backup → participant | a no, a vote timeout, Skeen's rule   |
//! | `Ack{txn}`                     | participant → its sender      | after logging `Committed`              |
//! | `StateReq{txn, round}`         | participant → peers, coordinator; coordinator → participant | termination; a missing ack |
//! | `StateReply{txn, round, state}`| anyone → the asker            | the answer; also a backup's decision to the coordinator |
//!
//! Rounds order authorities: the coordinator is round 0, each backup takes a new one; a
//! participant that answered round `r` refuses `PreCommit`s of older rounds (see
//! `participant`).
//!
//! # Termination rules
//!
//! An undecided participant that hears nothing for `timeout_ticks` (or restarts undecided)
//! follows the lowest participant of the transaction it does not suspect — or, being that one,
//! becomes the backup coordinator: it collects states for `termination_ticks`, then
//!
//! * any committed → commit; any aborted → abort;
//! * any pre-committed → `PreCommit` to the uncertain ones that answered, commit on their acks;
//! * all uncertain → abort.
//!
//! A participant that reaches no one so decides alone: uncertain → abort, pre-committed →
//! commit. Safe when the silent ones crashed (they learn the decision on recovery); not under
//! a partition, where a pre-committed side commits while an uncertain side aborts — the split
//! the `3pc-partition` scenario shows, and `tests::scenarios` asserts.
//!
//! # Data flow
//!
//! ```text
//!  clients ──begin()──▶ ┌─────────────┐ ──ready()──▶ Ready { log,      ─▶ disk (one fsync)
//!    timer ──tick()───▶ │ Coordinator │                      messages, ─▶ participants
//!     peers ──step()──▶ └─────────────┘                      outcomes } ─▶ clients
//!
//!    timer ──tick()───▶ ┌─────────────┐ ──ready()──▶ Ready { log,      ─▶ disk (one fsync)
//!     peers ──step()──▶ │ Participant │                      messages } ─▶ coordinator, peers
//!                       └─────────────┘
//! ```
//!
//! # The shell's contract
//!
//! Exactly the 2PC core's: start each side with `new(config, restored_records)`; feed it with
//! `tick`, `step` and (coordinator) `begin`; after feeding it, handle `ready()` in order —
//! append `log` and fsync, then send `messages`, then answer `outcomes`. A commit is reported
//! once its `Commit` record is logged, with every participant's reads; an abort is definite. A
//! transaction begun but never reported (the coordinator crashed) has an outcome unknown to the
//! client: unlike in 2PC it may have committed by termination even if the coordinator never
//! logged its commit.
//!
//! # Modules
//!
//! * [`Coordinator`], [`Participant`]: the two state machines (their docs: the coordinator's
//!   choice on a missing pre-commit ack; the termination protocol in detail).
//! * `message`, `log`, `config`: the types crossing the boundary with the shell; the rest
//!   ([`Ready`] — generic over the message — [`Outcome`], [`Op`], [`TxnId`], [`Part`]) is
//!   2PC's; the logic both cores run alike (the lock table, routing, a participant's part,
//!   transaction ids) is `txn_core`'s.

mod config;
mod coordinator;
mod log;
mod message;
mod participant;

#[cfg(test)]
mod tests;

pub use config::{Config, CoordinatorConfig, ParticipantConfig};
pub use coordinator::Coordinator;
pub use log::{CoordinatorRecord, ParticipantRecord};
pub use message::{Body, Message, Round, TxnState};
pub use participant::Participant;

pub use crate::twopc::core::{
    Account, NodeId, Op, Outcome, Part, Reads, Ready, TxnId, UnknownAccount,
};
