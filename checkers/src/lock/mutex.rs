//! A lock history's acquire and release operations alone, checked as a linearizable mutex:
//! the mutex checker of the lock workload, composed beside lock safety.
//!
//! It is information only. A lease that expires frees the lock without a release, which a
//! mutex cannot express, so this check is expected to be invalid whenever a lease expires
//! while lock safety holds; and lock safety reads writes and belief windows that a mutex
//! knows nothing of. It runs on a budget of its own ([`MUTEX_BUDGET`]) so that it never holds
//! up the verdict.

use std::time::Duration;

use crate::error::InputError;
use crate::history::{History, Operation};
use crate::linear::{self, Report};

/// One thread, 10 s and 1 GiB: information must not cost the verdict its time.
pub const MUTEX_BUDGET: linear::Options = linear::Options {
    threads: 1,
    timeout: Some(Duration::from_secs(10)),
    max_memory: 1 << 30,
    all_keys: false,
    split: true,
};

/// Checks the `acquire` and `release` operations among `ops` as a linearizable mutex (model
/// `mutex`); the lock's other operations (`renew`, `write`) are left out.
pub fn mutex(history: &History, ops: &[Operation]) -> Result<Report, InputError> {
    let held: Vec<Operation> = ops
        .iter()
        .filter(|o| matches!(&*o.f, "acquire" | "release"))
        .cloned()
        .collect();
    linear::check(&linear::model::Mutex, history, &held, &MUTEX_BUDGET)
}
