//! `zab`: a bundled ZooKeeper-like system. Clients speak ZooKeeper's own protocol (the `jute`
//! crate); writes go through the leader, which turns each request into a transaction and
//! replicates it with ZAB, the ZooKeeper Atomic Broadcast protocol; every server applies the
//! committed transactions, in zxid order, to its copy of the data tree.
//!
//! ```text
//!  request ──(leader) prep::Preparer::prepare──▶ txn::Txn ──ZAB──▶ tree::DataTree::apply (every server)
//!                                                                      │ Outcome ──▶ reply (the client's server)
//!                                                                      └ triggers ──watches::Watches::fire──▶ notifications
//!  reads ──watches::serve_read──▶ the local tree (and a watch)
//!  connect / ping / expiry ──sessions::SessionTracker (leader)──▶ CreateSession / CloseSession txns
//! ```
//!
//! * [`core`]: ZAB itself — sans-I/O, like the [`raft`](crate::raft) core: leader election,
//!   discovery, synchronization and broadcast of opaque transactions, delivered to the shell
//!   in one total order;
//! * [`txn`]: the transactions ZAB replicates, as opaque bytes;
//! * [`prep`]: the leader's step from request to transaction, against the tree plus the
//!   changes it has proposed but not yet applied;
//! * [`tree`]: the replicated data tree — znodes, Stats, ephemerals, sessions;
//! * [`watches`]: one-shot watches, local to each server, and reads that set them;
//! * [`sessions`]: the leader's session table: ids, passwords, timeouts, expiry;
//! * [`node`]: the `zab` server process — the tokio shell (disk, peers, client connections)
//!   that glues them together.

pub mod core;
pub mod node;
pub mod prep;
pub mod sessions;
pub mod tree;
pub mod txn;
pub mod watches;
