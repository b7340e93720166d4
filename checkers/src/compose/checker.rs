//! The checkers by name: what each is called in results.json, whether it is informational,
//! and how it runs on a history.

use crate::atomicity;
use crate::bank;
use crate::blocking;
use crate::elle;
use crate::error::InputError;
use crate::history::{History, Operation};
use crate::linear;
use crate::lock;
use crate::unique_ids::{self, SnowflakeLayout};
use crate::value::Value;
use crate::verdict::Validity;

use super::result::{Analysis, CheckerResult};

/// A checker a history can be given to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checker {
    /// Linearizability against the named model: `register`, `cas-register`, `kv` or `mutex`
    /// (`linear::by_name`).
    Linearizable(&'static str),
    /// Every acknowledged ID distinct.
    UniqueIds,
    /// Each worker's snowflake IDs increase in real time: informational, and run only when
    /// the IDs have a layout ([`Options::snowflake`]).
    Monotonic,
    /// Belief windows never overlap, the protected resource never sees two holders or a
    /// fencing token go backwards.
    LockSafety,
    /// A lock history's acquire/release operations as a linearizable mutex: informational.
    Mutex,
    /// Jepsen's bank: every read sees each account, the total, and no negative balance.
    Bank,
    /// Distributed transactions (2PC, 3PC) all or nothing, as the participants' decisions
    /// show: run only when the history records them.
    Atomicity,
    /// How long participants were in doubt, and during the coordinator's downtime:
    /// informational, run only when the history records the participants' decisions.
    Blocking,
    /// Transactions (list-append or rw-register) against a consistency model, as Elle
    /// checks them: dependency cycles and the anomalies that need none.
    Isolation(elle::Workload),
}

/// What the checkers need besides the history.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The linearizability search's threads and budget.
    pub linear: linear::Options,
    /// A register's initial value (nil when `None`).
    pub initial: Option<Value>,
    /// How IDs are laid out, when they are snowflakes: duplicates are decoded, and the
    /// per-worker order is checked.
    pub snowflake: Option<SnowflakeLayout>,
    /// The bank's total and accounts (inferred when not given), and whether balances may go
    /// below zero.
    pub bank: bank::Options,
    /// The consistency model transactions are checked against (strict-serializable unless
    /// given).
    pub isolation: elle::Options,
}

impl Checker {
    /// Its name in results.json.
    pub fn name(self) -> &'static str {
        match self {
            Checker::Linearizable(_) => "linearizable",
            Checker::UniqueIds => "unique-ids",
            Checker::Monotonic => "monotonic",
            Checker::LockSafety => "lock-safety",
            Checker::Mutex => "mutex",
            Checker::Bank => "bank",
            Checker::Atomicity => "atomicity",
            Checker::Blocking => "blocking",
            Checker::Isolation(_) => "isolation",
        }
    }

    /// Whether its verdict is information only, left out of the merge (see the module
    /// documentation of `compose`).
    pub fn informational(self) -> bool {
        matches!(
            self,
            Checker::Monotonic | Checker::Mutex | Checker::Blocking
        )
    }

    /// Runs it on `ops`, the client operations of `history`; `None` when it does not apply
    /// (the per-worker order without a layout; atomicity and blocking without any decisions
    /// event, as in a Jepsen bank history).
    pub fn check(
        self,
        history: &History,
        ops: &[Operation],
        options: &Options,
    ) -> Result<Option<CheckerResult>, InputError> {
        let (valid, analysis) = match self {
            Checker::Linearizable(name) => {
                let model = linear::by_name(name, options.initial.clone()).ok_or_else(|| {
                    InputError::new(&history.source, 0, format!("no model called `{name}`"))
                })?;
                let report = linear::check(&*model, history, ops, &options.linear)?;
                (report.valid, Analysis::Linearizable(report))
            }
            Checker::UniqueIds => {
                let ids = unique_ids::Options {
                    snowflake: options.snowflake,
                };
                let report = unique_ids::check_with(history, ops, &ids)?;
                (report.valid, Analysis::UniqueIds(report))
            }
            Checker::Monotonic => {
                let Some(layout) = options.snowflake else {
                    return Ok(None);
                };
                let report = unique_ids::monotonicity(history, ops, layout)?;
                let valid = if report.regressed == 0 {
                    Validity::Valid
                } else {
                    Validity::Invalid
                };
                (valid, Analysis::Monotonic(report))
            }
            Checker::LockSafety => {
                let report = lock::check(history, ops)?;
                (report.valid, Analysis::LockSafety(report))
            }
            Checker::Mutex => {
                let report = lock::mutex(history, ops)?;
                (report.valid, Analysis::Mutex(report))
            }
            Checker::Bank => {
                let report = bank::check(history, ops, &options.bank)?;
                (report.valid, Analysis::Bank(report))
            }
            Checker::Atomicity => {
                let Some(report) = atomicity::check(history, ops)? else {
                    return Ok(None);
                };
                (report.valid, Analysis::Atomicity(report))
            }
            Checker::Blocking => {
                let Some(report) = blocking::check(history)? else {
                    return Ok(None);
                };
                (report.valid, Analysis::Blocking(report))
            }
            Checker::Isolation(workload) => {
                let report = elle::check(workload, history, ops, &options.isolation)?;
                (report.valid, Analysis::Isolation(report))
            }
        };
        Ok(Some(CheckerResult {
            valid,
            informational: self.informational(),
            analysis,
        }))
    }
}
