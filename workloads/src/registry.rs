//! Every workload faultline knows: the one list the harness reads (`faultline list`, `run`,
//! the scenario fields, the suite and the reports). Adding a workload is
//! adding its module and one line here.

use crate::workload::Workload;

/// Every workload, the default first.
pub const ALL: &[&dyn Workload] = &[
    &crate::register::Register,
    &crate::lock::Lock,
    &crate::ids::UniqueIds,
    &crate::bank::Bank,
    &crate::txn::ListAppend,
    &crate::txn::RwRegister,
];

/// The workload called `name`.
pub fn find(name: &str) -> Option<&'static dyn Workload> {
    ALL.iter().copied().find(|w| w.name() == name)
}

/// The workload a scenario runs when it names none.
pub fn default() -> &'static dyn Workload {
    ALL[0]
}

/// Every workload's name, for messages.
pub fn names() -> Vec<&'static str> {
    ALL.iter().map(|w| w.name()).collect()
}

/// Every workload's answers ([`Workload::answers`]), for histories checked without knowing
/// which workload wrote them.
pub fn answers() -> Vec<&'static str> {
    let mut all: Vec<&str> = ALL.iter().flat_map(|w| w.answers()).copied().collect();
    all.sort_unstable();
    all.dedup();
    all
}

/// The workload whose fields include `field`.
pub fn owner(field: &str) -> Option<&'static dyn Workload> {
    ALL.iter().copied().find(|w| w.fields().contains(&field))
}
