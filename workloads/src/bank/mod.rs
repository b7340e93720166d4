//! The bank workload (docs/workloads/bank.md), Jepsen's bank test over the transaction
//! targets (`2pc`): a fixed total of money in accounts spread over participants; clients
//! transfer between accounts owned by different participants and read every balance, each
//! through the target's commit protocol; after healing, a final read, then each participant's
//! decisions are collected into the history.
//!
//! ```text
//! workload ─▶ Teller (per worker: pacer, seeded draws) ─▶ TxnHttp ─▶ coordinator (n1)
//!   after healing ─▶ finish: settle ─▶ final read ─▶ GET /decisions at n2.. ─▶ "decisions" events
//! ```
//!
//! * `workload`: its settings, the generator and the worker.
//! * `client`: the `txn-http` client, and how each answer is recorded.
//! * `finish`: what happens after healing.

mod client;
mod finish;
mod workload;

pub use workload::{Bank, BankSettings};

use checkers::compose::Checker;

/// The bank's checkers: the balances every read saw; every transaction decided alike at every
/// participant, and applied as its client was told; and, for information, how long
/// participants sat in doubt.
const CHECKERS: &[Checker] = &[Checker::Bank, Checker::Atomicity, Checker::Blocking];
