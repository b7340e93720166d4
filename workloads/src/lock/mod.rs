//! The lock workload (docs/workloads/lock.md): clients acquire a lock, write to a protected
//! resource while they believe they hold it, and release it; the lock-safety checker reads the
//! history.
//!
//! * [`resp`]: a connection to one Redis instance, framed by the `resp` codec;
//! * [`client`]: the Redis algorithms — single instance, watchdog renewal, Redlock;
//! * [`zookeeper`]: ZooKeeper's recipe — ephemeral sequential znodes, each client's session
//!   on a thread of its own so that a client pause stops its pings;
//! * [`etcd`]: etcd's lock service on a lease, kept alive by the holder's watchdog; the
//!   fencing token is the lock key's create revision;
//! * [`resource`]: the protected resource, fenced or not;
//! * [`workload`]: each client's acquire → hold → release loop.

pub mod client;
pub mod etcd;
pub mod resource;
pub mod resp;
mod workload;
pub mod zookeeper;

pub use workload::{Lock, LockSettings};

use checkers::compose::Checker;

/// The checkers a lock history goes to: lock safety, which decides, and the acquires and
/// releases as a linearizable mutex, information only (an expired lease frees the lock
/// without a release).
pub const CHECKERS: &[Checker] = &[Checker::LockSafety, Checker::Mutex];
