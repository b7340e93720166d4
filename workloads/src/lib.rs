//! faultline's workloads. A workload is {generator, client, checker}: a pure generator of
//! operations, an async client that performs them against a system and records what came
//! back, and the checker the resulting history must pass.
//!
//! * [`ids`]: unique IDs from independent ID servers, over `http-ids`.
//! * [`lock`]: mutual exclusion with leases (single instance, watchdog, Redlock) and a
//!   protected resource, over RESP.
//! * [`register`]: a linearizable read/write/cas register per key, over `http-kv`.

pub mod ids;
pub mod lock;
pub mod register;

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
