//! faultline: one binary that runs a cluster, hurts it, records what clients saw, and checks it.
//!
//! For now it checks stored histories (`faultline check`); the runner, the nemesis and the
//! bundled systems arrive with later issues (DESIGN.md describes the whole flow).

pub mod bytes;
pub mod check;
pub mod cli;
pub mod exit;
