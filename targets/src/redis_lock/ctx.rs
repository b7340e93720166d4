//! What every part of the command path shares, and the layer the others build on: the
//! context a command runs in ([`Ctx`]: the keyspace at one instant, the server's counters),
//! the way back into the dispatcher for scripts ([`Dispatch`]), and the texts and settings
//! that both the commands and the scripts report.
//!
//! ```text
//!  server ──▶ command ──▶ lua
//!     │          │         │
//!     └──────────┴────┬────┘
//!                     ▼
//!                    ctx ──▶ db
//! ```
//!
//! Dependencies point one way, down this picture. A script's `redis.call` must run a command,
//! yet `lua` does not import `command`: `command` hands the scripts its dispatcher as a
//! [`Dispatch`] each time it runs one.

use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::time::Instant;

use bytes::Bytes;
use clap::ValueEnum;
use resp::Frame;

use super::db::Db;

/// The version this server reports in `INFO` and `HELLO`: the Redis it imitates.
pub const REDIS_VERSION: &str = "7.0.0";

/// The most clients connected at once (Redis's `maxclients` default): the server refuses more,
/// and `CONFIG GET` / `INFO` report it.
pub const MAX_CLIENTS: usize = 10_000;

/// The error for an argument that should be an integer and is not, from a command or from
/// `EVAL`'s key count alike.
pub const NOT_AN_INTEGER: &str = "ERR value is not an integer or out of range";

/// How the append-only file is kept (Redis's `appendonly` + `appendfsync`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Appendonly {
    /// No file: a restarted node starts empty.
    #[default]
    No,
    /// Fsync before any reply that could reveal a change.
    Always,
    /// Fsync once a second.
    Everysec,
}

/// What `INFO`, `CONFIG GET` and `CLIENT` report about the server; shared by every
/// connection and updated without the engine's lock.
#[derive(Debug)]
pub struct Stats {
    pub name: String,
    pub port: u16,
    pub appendonly: Appendonly,
    pub data_dir: String,
    pub started: Instant,
    pub connected_clients: AtomicUsize,
    pub total_connections: AtomicU64,
    pub total_commands: AtomicU64,
}

impl Stats {
    pub fn new(name: &str, port: u16, appendonly: Appendonly, data_dir: String) -> Stats {
        Stats {
            name: name.into(),
            port,
            appendonly,
            data_dir,
            started: Instant::now(),
            connected_clients: AtomicUsize::new(0),
            total_connections: AtomicU64::new(0),
            total_commands: AtomicU64::new(0),
        }
    }
}

/// What a command runs against: the keyspace at one instant. Scripts get the instant their
/// script started at, as in Redis 7, so a key cannot expire halfway through a script.
pub struct Ctx<'a> {
    pub db: &'a mut Db,
    pub stats: &'a Stats,
    /// Wall-clock milliseconds since the epoch (the node's skewable clock), or
    /// [`LOADING`](super::db::LOADING) while replaying the append-only file.
    pub now: i64,
    /// Wall-clock microseconds, for `TIME`.
    pub now_micros: i64,
}

/// How a script's `redis.call` runs a command: the dispatcher, handed down by `command` so
/// that `lua` need not import it.
pub type Dispatch = fn(&mut Ctx<'_>, &[Bytes]) -> Frame;
