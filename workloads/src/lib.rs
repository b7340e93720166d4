//! faultline's workloads. A workload is {generator, client, checker}: a pure generator of
//! operations, an async client that performs them against a system, and the checker the
//! resulting history must pass. The harness knows them only through [`Workload`] and the
//! [`registry`].
//!
//! ```text
//! registry ─▶ Workload::start(settings, Run) ─▶ one Client per worker
//!   ─▶ worker::drive (pace, invoke, record through history::Sink, tally) ─▶ history
//! ```
//!
//! * [`workload`]: the trait, typed ([`TypedWorkload`]) and as the harness sees it;
//! * [`registry`]: every workload; [`settings`]: a workload's own scenario fields;
//! * [`worker`]: the one worker loop; [`pacer`]: paced workers; [`client_pauses`]: the
//!   nemesis's client pauses; [`history`]: where events go;
//! * the workloads: [`register`] (a linearizable register per key, over `http-kv` or znode
//!   data), [`lock`] (leases — single instance, watchdog, Redlock over RESP, ZooKeeper's
//!   recipe — and a protected resource), [`ids`] (unique IDs from independent ID servers, over
//!   `http-ids`), [`bank`] (Jepsen's bank over the transaction targets, `txn-http`), [`txn`]
//!   (Elle's list-append and rw-register, transactions over `http-kv`);
//! * [`zookeeper`]: sessions and failures, for the workloads' ZooKeeper clients;
//! * [`etcd`]: calls to etcd's v3 JSON gateway and their failures, for the etcd clients.

pub mod bank;
pub mod client_pauses;
pub mod etcd;
pub mod history;
pub mod ids;
pub mod lock;
pub mod pacer;
pub mod register;
pub mod registry;
pub mod settings;
pub mod txn;
pub mod worker;
pub mod workload;
pub mod zookeeper;

pub use workload::{Links, Node, Run, TypedWorkload, Workload};

/// The HTTP client the `http-kv` and `http-ids` clients share a configuration of: no Nagle
/// delay, and idle connections kept (reqwest's default), so that each concurrent client reuses
/// one — a connection opened per request costs an accept and an upstream connect in every
/// proxy on its way.
fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .tcp_nodelay(true)
        .build()
        .unwrap_or_default()
}
