//! Three-phase commit (Skeen): the same bank as [`twopc`](crate::twopc), with a phase and a
//! termination protocol added so that participants need not block on a crashed coordinator.
//!
//! * [`core`]: the sans-I/O protocol — the coordinator's and the participants' state
//!   machines, behind the same shell contract as 2PC's.
//! * [`node`]: `faultline node 3pc`, the transaction node shell ([`crate::txn_node`]) running
//!   that core. The client protocol is 2PC's ([`crate::twopc::api`]).

pub mod core;
pub mod node;
