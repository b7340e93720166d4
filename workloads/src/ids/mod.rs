//! The `unique-ids` workload: clients ask ID servers for batches of IDs at the scenario's
//! rate, and the history records every ID handed out; the checkers ([`CHECKERS`]) say whether
//! any ID was handed out twice, and whether each worker's IDs increased.
//!
//! Each client is bound to a home node (ID servers are independent: there is no leader to
//! follow) and asks it `POST /ids {"count": n}` (docs/protocols/http-ids.md). IDs travel as
//! strings — decimal for 64-bit snowflake IDs — so that no JSON reader rounds them.
//!
//! History: `generate`, invoked with the batch size; `ok` with the list of IDs; `fail` with
//! the server's definite error (`clock-moved-backwards`, `bad-request`, …); `info` when the
//! request may have been served without the answer arriving (a timeout after sending).

pub mod client;
mod workload;

use checkers::compose::Checker;

pub use workload::{IdSettings, UniqueIds};

/// The most IDs one request may ask for (the protocol's limit).
pub const MAX_BATCH: u32 = 1000;

/// The checkers an ID history goes to: uniqueness, which decides, and each worker's order,
/// information only, when the target's IDs have a layout to read the worker from.
pub const CHECKERS: &[Checker] = &[Checker::UniqueIds, Checker::Monotonic];
