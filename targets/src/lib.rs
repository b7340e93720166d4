//! faultline's bundled reference systems. Each system keeps its protocol logic in a sans-I/O
//! core — messages in, messages and state out, time passed in as ticks — unit-tested on an
//! in-memory network, and a thin shell for sockets, disk and timers. Targets never import
//! harness code: the harness reaches them over TCP, exactly like an external system.
//!
//! * [`clock`]: the skewable wall clock bundled nodes read.
//! * [`descriptor`]: how the harness starts, probes and hurts each target.
//! * [`raft`]: the Raft consensus core (tick / step / ready); `membership`: the checks every
//!   consensus core's configuration passes.
//! * [`kv`]: the key-value state machine the `raft-kv` target replicates with it.
//! * [`raft_kv`]: the `raft-kv` node process — the tokio shell (disk, peers, HTTP) around both.
//! * [`redis_lock`]: the `redis-lock` node process — a Redis-compatible (RESP2) server with
//!   wall-clock expiry, Lua scripts and an optional append-only file, for the `lock` workload.
//! * [`snowflake`]: the `snowflake` node process — 64-bit time/worker/sequence IDs, with a
//!   guard against a wall clock that moves backwards (and a bug switch that removes it).
//! * [`segment`]: the `segment` node process — Leaf-style segment IDs: ranges of integers
//!   claimed by a read-then-cas on a key of the `raft-kv` store, handed out from a double
//!   buffer (and a bug switch that claims them without the cas).
//! * [`uuid_ids`]: the `uuid` node process — random (v4) or time-ordered (v7) UUIDs.
//! * [`zab`]: the ZooKeeper-like `zab` system: its ZAB consensus core (tick / step / ready),
//!   and the data tree, sessions and transactions it replicates, served over ZooKeeper's own
//!   client protocol (the `jute` crate).
//! * [`zookeeper`]: the `zookeeper` target's launcher — writes a node's `zoo.cfg` and `myid`,
//!   then becomes Debian's Apache ZooKeeper (`QuorumPeerMain`).
//! * [`etcd`]: the `etcd` target's launcher — runs Debian's etcd with a canonical peer URL per
//!   member and a SOCKS5 router that sends each peer connection through this node's link.
//! * [`twopc`]: the `2pc` bank: the two-phase commit core (coordinator and participants),
//!   its node process, and the client protocol the bank workload speaks.
//! * [`threepc`]: the `3pc` bank: the three-phase commit core (Skeen, with its termination
//!   protocol) of the same bank, and its node process.
//! * `txn_core`: the logic the 2PC and 3PC cores share (lock table, routing, a participant's
//!   part, transaction ids), and the in-memory bank both cores' tests run on.
//! * [`txn_node`]: the node process both transaction targets share — command line, log, peers,
//!   HTTP, event loops — generic over the protocol's cores.
//! * [`ids_http`]: the `http-ids` protocol the ID servers speak, and their shared serving code.
//! * `peers`: the peer transport of `raft-kv`, `zab`, `2pc` and `3pc` (one-way TCP links, JSON
//!   frames).
//! * `record_log`: the checksummed record framing of the nodes' logs, and the log file of
//!   serde records the `2pc` and `3pc` nodes keep.
//! * [`shell`]: what every node process shares: `main`, the command line's errors, the log,
//!   listeners, the HTTP server's stop.

pub mod clock;
pub mod descriptor;
pub mod etcd;
pub mod ids_http;
pub mod kv;
pub(crate) mod membership;
mod peers;
pub mod raft;
pub mod raft_kv;
mod record_log;
pub mod redis_lock;
pub mod segment;
pub mod shell;
pub mod snowflake;
#[cfg(test)]
mod test_links;
pub mod threepc;
pub mod twopc;
mod txn_core;
pub mod txn_node;
pub mod uuid_ids;
pub mod zab;
pub mod zookeeper;
