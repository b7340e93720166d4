//! The lock workload (docs/workloads/lock.md): clients acquire a lock, write to a protected
//! resource while they believe they hold it, and release it; the lock-safety checker reads the
//! history.
//!
//! * [`resp`]: a connection to one Redis instance, framed by the `resp` codec;
//! * [`client`]: the algorithms — single instance, watchdog renewal, Redlock;
//! * [`resource`]: the protected resource, fenced or not.

pub mod client;
pub mod resource;
pub mod resp;
