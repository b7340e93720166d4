//! The transactional workloads, Elle's `list-append` and `rw-register`: transactions of reads
//! and appends (or writes) over a few rotating keys, for a checker that infers the
//! dependencies between transactions and looks for cycles (strict serializability).
//!
//! * [`generator`]: which transaction next (pure, seeded): active keys, unique values,
//!   retirement;
//! * [`client`]: performing one over `http-kv`'s `POST /txn`, recording the outcome honestly;
//! * [`etcd`]: performing one on etcd, as a read Txn and a commit Txn guarded by the keys'
//!   revisions;
//! * [`workload`]: the settings, and the workers, paced, each starting at its home node.
//!
//! History (docs/workloads/list-append.md): `f` is `txn`, the value the micro-ops —
//! `{"type":"invoke","f":"txn","value":[["append",3,1],["r",4,null]]}`, then `ok` with the
//! reads filled in (`["r",4,[1,2]]`), or `fail` / `info` with the invocation's value.

pub mod client;
pub mod etcd;
pub mod generator;
mod workload;

pub use workload::{ListAppend, RwRegister, TxnSettings};
