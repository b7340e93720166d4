//! An Elle-style transactional isolation checker (Kingsbury & Alvaro, "Elle: Inferring
//! Isolation Anomalies from Experimental Observations", VLDB 2020).
//!
//! Clients run transactions — lists of micro-ops `[f, k, v]` — against a database. From what
//! the reads returned, the checker infers how the transactions must have been ordered, and
//! looks for orders that contradict themselves: cycles in the dependency graph, in Adya's
//! sense, and a few anomalies that need no cycle at all.
//!
//! ```text
//! operations ──(txn.rs)──▶ transactions: interned keys and values, micro-ops
//!   ├─(list_append.rs | rw_register.rs)─▶ ww / wr / rw edges + anomalies seen directly
//!   ├─(order.rs)─▶ process and realtime edges, when the consistency model needs them
//!   └─(graph.rs)─▶ the graph ─(scc.rs)─▶ strongly connected components
//!                               └─(cycles.rs)─▶ the strongest cycle in each
//! anomalies ──(consistency.rs: does it count?)──(report.rs)──▶ Report
//! ```
//!
//! [`synth`] simulates valid list-append histories, for tests and the benchmark.
//!
//! **Workloads.** *list-append*: `["append", k, v]` appends `v` to the list at `k`,
//! `["r", k, [..]]` reads the whole list. Every read reveals a prefix of the key's version
//! order, so the order of appends is known wherever a read shows it. *rw-register*:
//! `["w", k, v]` writes, `["r", k, v]` reads; versions are the written values (each written
//! once per key), and their order is only partly known: the initial state (nil) comes first,
//! and a transaction that read `a` and then wrote `b` to a key put `b` after `a`.
//!
//! **Which operations.** An `ok` transaction's reads are its completion's value; a `fail`ed
//! one never committed (reading its writes is G1a); an `info` one (or one that never
//! completed) may or may not have committed, so its writes — taken from the invocation — may
//! be read, but its reads are unknown.
//!
//! **Consistency models** and the anomalies each prohibits (Elle's table, after Adya and
//! Cerone et al.). `internal`, `duplicate-elements`, `incompatible-order`, `future-read` and
//! `dirty-update` count under every model. The `-process` and `-realtime` variants (a cycle
//! that needs process or real-time order) are searched for only under strict-serializable, the
//! one model here that needs them, and count there.
//!
//! | model | G0 | G1a, G1b, G1c | G-single, G-nonadjacent | G2-item | realtime/process |
//! |---|---|---|---|---|---|
//! | read-uncommitted | ✗ | | | | |
//! | read-committed | ✗ | ✗ | | | |
//! | repeatable-read | ✗ | ✗ | ✗ | ✗ | |
//! | snapshot-isolation | ✗ | ✗ | ✗ | | |
//! | serializable | ✗ | ✗ | ✗ | ✗ | |
//! | strict-serializable | ✗ | ✗ | ✗ | ✗ | ✗ |
//!
//! **Cycle classes** (searched strongest first; one cycle is reported, and counted, per
//! strongly connected component that has one): G0, only ww edges; G1c, ww and wr with at
//! least one wr; G-single, exactly one rw; G-nonadjacent, several rw edges, no two adjacent;
//! G2-item, rw edges of which two are adjacent. The verdict is invalid iff some anomaly
//! counts, unknown if the cycle search ran out of budget before it could rule out a class that
//! would count, valid otherwise.

mod consistency;
mod cycles;
mod graph;
mod list_append;
mod order;
mod report;
mod rw_register;
mod scc;
pub mod synth;
mod txn;
mod view;

pub use report::{Anomaly, MAX_PER_KIND, Rel, Report, Step, TxnRef};

use serde::{Deserialize, Serialize};

use crate::error::InputError;
use crate::history::{History, Operation};

use graph::Graph;
use report::Collector;
use view::View;

/// Which kind of transactions the history holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Workload {
    ListAppend,
    RwRegister,
}

impl Workload {
    pub fn name(self) -> &'static str {
        match self {
            Workload::ListAppend => "list-append",
            Workload::RwRegister => "rw-register",
        }
    }
}

/// The isolation level the history is expected to satisfy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Consistency {
    #[default]
    StrictSerializable,
    Serializable,
    SnapshotIsolation,
    RepeatableRead,
    ReadCommitted,
    ReadUncommitted,
}

impl Consistency {
    /// Every model, roughly strongest first (snapshot isolation and repeatable read are
    /// incomparable).
    pub const ALL: [Consistency; 6] = [
        Consistency::StrictSerializable,
        Consistency::Serializable,
        Consistency::SnapshotIsolation,
        Consistency::RepeatableRead,
        Consistency::ReadCommitted,
        Consistency::ReadUncommitted,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Consistency::StrictSerializable => "strict-serializable",
            Consistency::Serializable => "serializable",
            Consistency::SnapshotIsolation => "snapshot-isolation",
            Consistency::RepeatableRead => "repeatable-read",
            Consistency::ReadCommitted => "read-committed",
            Consistency::ReadUncommitted => "read-uncommitted",
        }
    }

    pub fn parse(s: &str) -> Option<Consistency> {
        Consistency::ALL.into_iter().find(|c| c.name() == s)
    }
}

/// What the checker is told.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub consistency: Consistency,
}

/// Checks the transactions `ops` (the client operations of `history`) of `workload` against
/// `options.consistency`.
///
/// Fails, naming the line, on an operation whose value is not a list of micro-ops
/// `[f, k, v]` with an `f` the workload knows, on a list-append read that is not a list or
/// nil, and on a value written twice to the same key (the checker tells versions apart by
/// their values).
pub fn check(
    workload: Workload,
    history: &History,
    ops: &[Operation],
    options: &Options,
) -> Result<Report, InputError> {
    let consistency = options.consistency;
    let parsed = txn::parse(workload, history, ops)?;
    let view = View {
        history,
        ops,
        parsed: &parsed,
    };
    let mut found = Collector::new(consistency);
    let mut edges = Vec::new();
    let explain: Box<dyn graph::Explain + '_> = match workload {
        Workload::ListAppend => Box::new(list_append::analyze(&view, &mut edges, &mut found)?),
        Workload::RwRegister => Box::new(rw_register::analyze(&view, &mut edges, &mut found)?),
    };
    let order = consistency::order_edges(consistency);
    if order != 0 {
        order::process_edges(ops, &parsed.txns, &mut edges);
        order::realtime_edges(ops, &parsed.txns, &mut edges);
    }
    let graph = Graph::new(parsed.txns.len(), edges);
    let incomplete = cycles::find(&graph, order, &view, &*explain, &mut found);
    Ok(found.into_report(workload, &parsed, incomplete))
}
