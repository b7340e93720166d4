//! What one checker says about a history, as results.json writes it and every reader (the
//! report, the suite, the sweep, `faultline serve`) reads it back:
//!
//! ```json
//! {"valid": false, "informational": false, "name": "lock-safety", "analysis": {…}}
//! ```
//!
//! `name` says which checker it is, and so what `analysis` holds: the checker's own report
//! type, the same one it returned.

use serde::{Deserialize, Serialize};

use crate::atomicity;
use crate::bank;
use crate::blocking;
use crate::elle;
use crate::linear;
use crate::lock;
use crate::unique_ids::{self, Monotonicity};
use crate::verdict::Validity;

/// One checker's verdict and analysis.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CheckerResult {
    pub valid: Validity,
    /// Information only: reported, but left out of the history's verdict.
    pub informational: bool,
    /// The checker's name and its report.
    #[serde(flatten)]
    pub analysis: Analysis,
}

/// A checker's report, by checker.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "name", content = "analysis", rename_all = "kebab-case")]
pub enum Analysis {
    Linearizable(linear::Report),
    UniqueIds(unique_ids::Report),
    Monotonic(Monotonicity),
    LockSafety(lock::Report),
    Mutex(linear::Report),
    Bank(bank::Report),
    Atomicity(atomicity::Report),
    Blocking(blocking::Report),
    Isolation(elle::Report),
}

impl CheckerResult {
    /// The checker's name, as `Checker::name` says it.
    pub fn name(&self) -> &'static str {
        match self.analysis {
            Analysis::Linearizable(_) => "linearizable",
            Analysis::UniqueIds(_) => "unique-ids",
            Analysis::Monotonic(_) => "monotonic",
            Analysis::LockSafety(_) => "lock-safety",
            Analysis::Mutex(_) => "mutex",
            Analysis::Bank(_) => "bank",
            Analysis::Atomicity(_) => "atomicity",
            Analysis::Blocking(_) => "blocking",
            Analysis::Isolation(_) => "isolation",
        }
    }
}
