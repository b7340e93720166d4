//! faultline: one binary that runs a cluster, hurts it, records what clients saw, and checks it.
//!
//! `faultline run` runs a test end to end (module [`run`]); `faultline check` checks stored
//! histories; `faultline node` runs one node of a bundled system (the runner starts nodes as
//! `faultline node <system> …`). DESIGN.md describes the whole flow.

pub mod agent;
pub mod bytes;
pub mod check;
pub mod civil;
pub mod cli;
pub mod clock_shim;
pub mod exit;
pub mod hosts;
pub mod list;
pub mod net;
pub mod report;
pub mod results;
pub mod run;
pub mod scenario;
pub mod serve;
pub mod suite;
pub mod supervisor;
pub mod sweep;
