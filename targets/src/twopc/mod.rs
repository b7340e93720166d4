//! Two-phase commit (issue 11): a bank whose accounts are spread over participants, each
//! transaction run by a coordinator.
//!
//! * [`core`]: the sans-I/O protocol — presumed-abort 2PC, the coordinator's and the
//!   participants' state machines.
//! * [`node`]: `faultline node 2pc`, the process around either side (log, peers, HTTP).
//! * [`api`]: the client protocol's types, shared with the bank workload's client.

pub mod api;
pub mod core;
pub mod node;
