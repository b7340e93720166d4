//! The network the harness controls: every client→node and node→node byte goes through a
//! proxy it owns, so partitions, latency and loss need no privileges.
//!
//! * [`proxy`]: one directed link (open, blackhole, reset; latency; loss).
//! * [`fabric`]: all the links of a cluster, and grudges applied to them.

pub mod fabric;
pub mod proxy;

pub use fabric::{CLIENT, Endpoint, Fabric};
pub use proxy::{LinkState, Mode, Proxy};
