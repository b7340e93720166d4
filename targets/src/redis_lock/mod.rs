//! `faultline node redis-lock`: a Redis-compatible server, as a real process, for the `lock`
//! workload (docs/workloads/lock.md). It speaks RESP2 over TCP, so the same client code
//! drives it and a real redis-server; its expiry follows the node's skewable wall clock, so
//! clock faults hit its leases exactly as they hit Redis's.
//!
//! ```text
//!  TCP ──▶ server (tokio: one task per connection)
//!            │ bytes ──▶ resp::RequestParser ──▶ args
//!            ▼
//!          lock(Engine) ──▶ command::execute(args, now = WallClock) ──▶ reply Frame
//!            │                 ├─▶ db::Db (keys, values, expiry times; pure)
//!            │                 └─▶ lua::Scripts (EVAL: redis.call ──▶ command again)
//!            └─▶ effects ──▶ aof::Aof (append; fsync per --appendonly) ──▶ replies go out
//!  sweep task (100 ms) ──▶ Db::sweep(now): expired keys removed without being touched
//! ```
//!
//! * the `resp` crate: RESP2 frames and the request parser, free of I/O (shared with the lock
//!   workload's client).
//! * [`db`]: the keyspace with wall-clock expiry; time passed in.
//! * [`ctx`]: what the command path shares — a command's context, the server's counters,
//!   the dispatcher handed to scripts — so that `server` → `command` → `lua` → `ctx` → `db`
//!   depend one way, with no cycle.
//! * [`command`]: dispatch, the commands, Redis's error texts.
//! * [`lua`]: `EVAL`/`EVALSHA`/`SCRIPT`, `redis.call` and friends, the sandbox.
//! * `g17`: a Lua number as the text Redis makes of it (`%.17g`).
//! * `aof`: the append-only file and its replay.
//! * `server`: the tokio shell.
//!
//! # Command line
//!
//! ```text
//! redis-lock --id n1 --port PORT --data-dir DIR [--appendonly no|always|everysec]
//!            [--clock-file PATH] [--expiry-clock wall|monotonic] [--bind 127.0.0.1]
//! ```
//!
//! [`main`] takes the arguments after the word `redis-lock` (a leading `redis-lock` is
//! tolerated). Bad flags, an unusable data directory or append-only file, or an address that
//! cannot be bound: one line on stderr and exit code 3, as is a failure to write the
//! append-only file later. SIGTERM and SIGINT stop the node cleanly (exit 0).
//!
//! # Commands
//!
//! `GET`, `SET key value [NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL]`, `DEL key…`,
//! `INCR`, `EXISTS key…`, `PEXPIRE key ms [NX|XX|GT|LT]`, `PEXPIREAT`, `EXPIRE`, `PTTL`,
//! `TTL`, `EVAL`, `EVALSHA`, `SCRIPT LOAD|EXISTS|FLUSH|KILL`, and the housekeeping clients and
//! tools send: `PING`, `ECHO`, `INFO`, `TIME`, `DBSIZE`, `FLUSHALL`, `FLUSHDB`, `SELECT 0`,
//! `COMMAND [COUNT|INFO|LIST|DOCS]`, `CLIENT SETNAME|GETNAME|ID|INFO|SETINFO`,
//! `CONFIG GET`, `HELLO [2]`, `QUIT`. Values are strings only. Replies and errors are
//! Redis 7.0's; the integration test compares them with a real redis-server.
//!
//! # Time
//!
//! Expiry times are absolute wall-clock milliseconds, read only through
//! [`WallClock`](crate::clock::WallClock) (`--clock-file` makes it follow the harness's offset
//! file). A key is gone once the clock is past its time: lazily, when a command touches it,
//! and actively, when the 100 ms sweep finds it. So a forward jump of the clock makes leases
//! expire early, and a backward jump makes them last longer — the point of the clock faults.
//! `--expiry-clock monotonic` (`expiry.rs`) takes the wall clock away from leases: it is read
//! once at start and advanced by the monotonic clock, so a jump moves no key's expiry (the
//! `monotonic-expiry` option, Redlock's clock-jump twin). Otherwise monotonic time is used
//! only for the script time limit and uptime.
//!
//! # Persistence
//!
//! `--appendonly no` (the default) keeps nothing: a node killed and restarted has forgotten
//! every key, every lock. `always` appends each change to `DIR/appendonly.aof` and fsyncs it
//! before any reply that could reveal the change; `everysec` fsyncs once a second, so a
//! crash loses at most about a second of acknowledged writes. On start the file is replayed
//! (with `no`, it is ignored). See `aof`.
//!
//! # Differences from Redis 7.0
//!
//! Strings only (no lists, hashes, …; so no `WRONGTYPE`); one database (`SELECT` of any other
//! index is out of range); RESP2 only (`HELLO 3` is refused); no `MULTI`/`EXEC`, pub/sub,
//! `WATCH`, replication, `AUTH`, RDB snapshots or AOF rewrite; `CONFIG SET` changes nothing;
//! `COMMAND DOCS` is empty. `CLIENT SETINFO` (Redis 7.2) is accepted. A script that runs past
//! 5 s is aborted rather than left to `SCRIPT KILL` (see [`lua`]), and the Lua libraries
//! `cjson`, `bit`, `struct`, `cmsgpack` are missing. The active expiry removes exactly the
//! expired keys (Redis samples). Memory is not capped (`maxmemory` is 0, as Redis's default).

mod aof;
pub mod command;
pub mod ctx;
pub mod db;
mod expiry;
mod g17;
pub mod lua;
mod server;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;

use crate::clock::WallClock;
use crate::shell::{self, Logger};
pub use crate::shell::{ArgsError, Error, Listener};
use command::Engine;
pub use ctx::Appendonly;
use ctx::Stats;
use db::Db;
use expiry::Expiry;
pub use expiry::ExpiryClock;
use lua::Scripts;

/// Everything a node is started with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The node's name (`n1`), for its log lines and `INFO`.
    pub name: String,
    /// The address to listen on.
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    pub appendonly: Appendonly,
    /// The harness's clock offset file for this node; `None`: the system clock.
    pub clock_file: Option<PathBuf>,
    /// The clock keys expire on.
    pub expiry_clock: ExpiryClock,
}

#[derive(Debug, Parser)]
#[command(
    name = "redis-lock",
    about = "A Redis-compatible lock server node (RESP2, wall-clock expiry, Lua scripts)"
)]
struct Cli {
    /// This node's name, e.g. n1.
    #[arg(long)]
    id: String,
    /// The TCP port to serve RESP on.
    #[arg(long)]
    port: u16,
    /// The address to listen on.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    bind: IpAddr,
    /// Where the append-only file is kept (created if missing).
    #[arg(long)]
    data_dir: PathBuf,
    /// Whether and how to keep an append-only file.
    #[arg(long, value_enum, default_value_t = Appendonly::No)]
    appendonly: Appendonly,
    /// The clock offset file the harness skews this node's wall clock with.
    #[arg(long)]
    clock_file: Option<PathBuf>,
    /// The clock keys expire on: the wall clock, as Redis, or the wall clock read at start and
    /// advanced by the monotonic clock, which wall-clock jumps do not move.
    #[arg(long, value_enum, default_value_t = ExpiryClock::Wall)]
    expiry_clock: ExpiryClock,
}

impl Config {
    /// Parses the arguments after `redis-lock`.
    pub fn from_args(args: Vec<String>) -> Result<Config, ArgsError> {
        let cli: Cli = shell::parse_args("redis-lock", args)?;
        shell::check_name(&cli.id)?;
        Ok(Config {
            name: cli.id,
            addr: SocketAddr::new(cli.bind, cli.port),
            data_dir: cli.data_dir,
            appendonly: cli.appendonly,
            clock_file: cli.clock_file,
            expiry_clock: cli.expiry_clock,
        })
    }
}

/// Runs a node until `shutdown` completes: binds its address, then [`serve_on`] it.
pub async fn serve(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
    let listener = Listener::bind(config.addr).await?;
    serve_on(config, listener, shutdown).await
}

/// Runs a node on a socket already bound, until `shutdown` completes. Fails at start (bad
/// data directory, unreadable append-only file) or later if the file cannot be written.
pub async fn serve_on(
    config: Config,
    listener: Listener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    let log = Logger::new(&config.name);
    shell::create_data_dir(&config.data_dir)?;
    let clock = WallClock::for_node(config.clock_file.as_deref());
    let mut engine = Engine {
        db: Db::new(),
        scripts: Scripts::new().map_err(Error)?,
    };
    let port = listener.local_addr()?.port();
    let stats = Stats::new(
        &config.name,
        port,
        config.appendonly,
        config.data_dir.display().to_string(),
    );
    let aof = match config.appendonly {
        Appendonly::No => None,
        Appendonly::Always | Appendonly::Everysec => {
            let (aof, loaded) = aof::Aof::open(&config.data_dir).map_err(Error)?;
            if let Some(truncated) = &loaded.truncated {
                log.line(format_args!("{truncated}"));
            }
            for args in &loaded.commands {
                command::replay(&mut engine.db, &stats, args)
                    .map_err(|e| Error(format!("cannot replay {}: {e}", aof.path().display())))?;
            }
            log.line(format_args!(
                "replayed {} commands from {}: {} keys",
                loaded.commands.len(),
                aof.path().display(),
                engine.db.len()
            ));
            engine.db.record_effects(true);
            Some(aof)
        }
    };
    log.line(format_args!(
        "serving RESP on {}, appendonly {:?}, clock offset {} ms, keys expire on the {:?} clock",
        listener.local_addr()?,
        config.appendonly,
        clock.offset_nanos() / 1_000_000,
        config.expiry_clock
    ));
    let expiry = Expiry::new(config.expiry_clock, clock.clone());
    let shared = Arc::new(server::Shared::new(
        engine,
        aof,
        config.appendonly,
        clock,
        expiry,
        stats,
        log.clone(),
    ));
    log.ended(server::run(listener.0, shared, shutdown).await)
}

/// `faultline node redis-lock ARGS…`: runs a node until SIGTERM or SIGINT. `args` are the
/// arguments after `redis-lock`. Exit code 0 after a clean stop, 3 on any error.
pub fn main(args: Vec<String>) -> ExitCode {
    shell::main(
        "redis-lock",
        Config::from_args(args),
        |config| config.name.clone(),
        serve,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::{args, assert_usage_errors};

    #[test]
    fn the_descriptors_command_line_parses() {
        let config = Config::from_args(args("--id n1 --port 7001 --data-dir /tmp/d")).unwrap();
        assert_eq!(
            config,
            Config {
                name: "n1".into(),
                addr: "127.0.0.1:7001".parse().unwrap(),
                data_dir: "/tmp/d".into(),
                appendonly: Appendonly::No,
                clock_file: None,
                expiry_clock: ExpiryClock::Wall,
            }
        );
        let config = Config::from_args(args(
            "redis-lock --id n2 --port 7002 --data-dir /tmp/d --appendonly always \
             --clock-file /tmp/c --bind 0.0.0.0",
        ))
        .unwrap();
        assert_eq!(config.appendonly, Appendonly::Always);
        assert_eq!(config.clock_file, Some("/tmp/c".into()));
        assert_eq!(config.addr, "0.0.0.0:7002".parse().unwrap());
        let config =
            Config::from_args(args("--id n3 --port 1 --data-dir d --appendonly everysec")).unwrap();
        assert_eq!(config.appendonly, Appendonly::Everysec);
    }

    #[test]
    fn bad_command_lines_are_one_line_errors() {
        assert_usage_errors(
            Config::from_args,
            &[
                "--port 7001 --data-dir /tmp/d",
                "--id n1 --data-dir /tmp/d",
                "--id n1 --port 7001",
                "--id n1 --port 70000 --data-dir /tmp/d",
                "--id n1 --port 7001 --data-dir /tmp/d --appendonly sometimes",
                "--id n1 --port 7001 --data-dir /tmp/d --unknown",
                "--id n1 --port 7001 --data-dir /tmp/d --bind nowhere",
            ],
        );
        let mut blank = args("--port 1 --data-dir d --id");
        blank.push(" ".into());
        assert!(matches!(
            Config::from_args(blank),
            Err(ArgsError::Invalid(_))
        ));
    }
}
