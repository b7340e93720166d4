//! The register workload: reads, writes and compare-and-sets on keys that rotate, checked for
//! linearizability against a cas-register per key.
//!
//! * [`generator`]: what to do next (pure, seeded);
//! * [`client`]: doing it over `http-kv`, recording the outcome honestly;
//! * [`zookeeper`]: doing it over ZooKeeper, on znode data, reads after a `sync`;
//! * [`etcd`]: doing it over etcd's v3 JSON gateway: range, put, and a txn for cas;
//! * [`workload`]: the workers, paced, and the final reads after healing;
//! * the checker: [`CHECKERS`], split by key.

pub mod client;
pub mod etcd;
pub mod generator;
mod workload;
pub mod zookeeper;

pub use workload::{Register, RegisterSettings};

use checkers::compose::Checker;

/// The checker a register history goes to: linearizability against a cas-register per key.
pub const CHECKERS: &[Checker] = &[Checker::Linearizable("cas-register")];
