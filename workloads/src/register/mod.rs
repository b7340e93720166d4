//! The register workload: reads, writes and compare-and-sets on keys that rotate, checked for
//! linearizability against a cas-register per key.
//!
//! * [`generator`]: what to do next (pure, seeded);
//! * [`client`]: doing it over `http-kv`, recording the outcome honestly;
//! * [`workload`]: the workers, paced, and the final reads after healing;
//! * the checker: [`MODEL`], split by key.

pub mod client;
pub mod generator;
mod workload;

pub use workload::{Register, RegisterSettings};

/// The model a register history is checked against (one register per key).
pub const MODEL: &str = "cas-register";
