//! `faultline agent`: the supervisor a run starts on each host over SSH.
//!
//! * [`protocol`]: the JSON lines the control machine and the agent exchange.

pub mod link;
pub mod protocol;
