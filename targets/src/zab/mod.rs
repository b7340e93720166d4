//! The `zab` target: a ZooKeeper-like coordination service replicated with ZAB, the ZooKeeper
//! Atomic Broadcast protocol. [`core`] is the protocol itself — sans-I/O, like the
//! [`raft`](crate::raft) core: leader election, discovery, synchronization and broadcast of
//! opaque transactions, delivered to the shell in one total order.

pub mod core;
