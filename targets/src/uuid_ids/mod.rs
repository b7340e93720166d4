//! `faultline node uuid`: a UUID server, as a real process, for the unique-IDs workload — the
//! coordination-free counterpart of [`snowflake`](crate::snowflake). It serves the same
//! `http-ids` protocol (docs/protocols/http-ids.md), with IDs in the canonical UUID text form:
//! random version 4 (the default) or time-ordered version 7 (RFC 9562).
//!
//! ```text
//!  POST /ids ──▶ ids_http (parse, answer) ──▶ UuidNode::issue(n)
//!                                               lock ─▶ Generator::next_batch(WallClock now, n)
//!                                                 Ok(uuids) ─▶ 200 · Err ─▶ 500 timestamp-exhausted
//! ```
//!
//! * [`uuid`]: the 128-bit layout, versions and text form.
//! * [`generator`]: the seeded random number generator and the v7 counter.
//!
//! # Command line
//!
//! ```text
//! uuid --id n1 --port PORT [--version 4|7] [--data-dir DIR] [--clock-file PATH]
//!      [--bug time-seeded-rng] [--bind 127.0.0.1]
//! ```
//!
//! [`main`] takes the arguments after the word `uuid` (a leading `uuid` is tolerated). The data
//! directory is only created. Bad flags or an address that cannot be bound: one line on stderr
//! and exit code 3. SIGTERM and SIGINT stop the node cleanly (exit 0).
//!
//! # Time
//!
//! Only v7 reads the wall clock, and only through [`WallClock`] (`--clock-file`). No clock
//! fault can make it repeat a UUID — 74 random bits per millisecond see to that — and it keeps
//! its own UUIDs increasing across a backward step (see [`generator`]); what a backward step
//! does cost is the order *between* nodes. The only clock error is a clock outside the 48-bit
//! millisecond range (500 `timestamp-exhausted`).
//!
//! # The `time-seeded-rng` bug (`--bug time-seeded-rng`)
//!
//! The random number generator is seeded with the wall clock's Unix seconds at start instead
//! of 256 bits from the operating system — the `srand(time(NULL))` mistake. Nodes started in
//! the same second draw the same stream, and so issue the same v4 UUIDs; a node restarted
//! with its clock set back to an earlier start's second repeats its own. (With v7 the streams
//! also coincide, but a duplicate needs the same millisecond as well.)

pub mod generator;
pub mod uuid;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use clap::{Parser, ValueEnum};
use serde_json::{Value, json};

use crate::clock::WallClock;
use crate::ids_http::{self, Failure, Issuer};
use crate::shell::{self, Logger};
pub use crate::shell::{ArgsError, Error, Listener};
pub use generator::Version;
use generator::{Generator, Rng};

/// Known bugs, switched on with `--bug`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Bug {
    /// Seed the random number generator with the clock's seconds, not the OS.
    TimeSeededRng,
}

/// `--version`'s values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum VersionArg {
    #[value(name = "4")]
    V4,
    #[value(name = "7")]
    V7,
}

/// Everything a node is started with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The node's name (`n1`), for its log lines and `/health`.
    pub name: String,
    /// The address to listen on.
    pub addr: SocketAddr,
    /// Created if missing; nothing is kept in it.
    pub data_dir: Option<PathBuf>,
    /// The harness's clock offset file for this node; `None`: the system clock.
    pub clock_file: Option<PathBuf>,
    pub version: Version,
    pub bug: Option<Bug>,
}

#[derive(Debug, Parser)]
#[command(
    name = "uuid",
    about = "A UUID server node (random v4 or time-ordered v7 UUIDs over HTTP/JSON)"
)]
struct Cli {
    /// This node's name, e.g. n1.
    #[arg(long)]
    id: String,
    /// The TCP port to serve the http-ids protocol on.
    #[arg(long)]
    port: u16,
    /// The address to listen on.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    bind: IpAddr,
    /// The UUID version to issue.
    #[arg(long = "version", value_enum, default_value = "4")]
    uuid_version: VersionArg,
    /// A data directory (created if missing; nothing is kept in it).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// The clock offset file the harness skews this node's wall clock with.
    #[arg(long)]
    clock_file: Option<PathBuf>,
    /// Switch on a known bug.
    #[arg(long, value_enum)]
    bug: Option<Bug>,
}

impl Config {
    /// Parses the arguments after `uuid`.
    pub fn from_args(args: Vec<String>) -> Result<Config, ArgsError> {
        let cli: Cli = shell::parse_args("uuid", args)?;
        shell::check_name(&cli.id)?;
        Ok(Config {
            name: cli.id,
            addr: SocketAddr::new(cli.bind, cli.port),
            data_dir: cli.data_dir,
            clock_file: cli.clock_file,
            version: match cli.uuid_version {
                VersionArg::V4 => Version::V4,
                VersionArg::V7 => Version::V7,
            },
            bug: cli.bug,
        })
    }
}

/// The node: its generator behind a lock, and the clock it reads.
struct UuidNode {
    name: String,
    version: Version,
    generator: Mutex<Generator>,
    clock: WallClock,
}

impl Issuer for UuidNode {
    async fn issue(&self, count: usize) -> Result<Vec<String>, Failure> {
        let mut generator = self.generator.lock().unwrap_or_else(|e| e.into_inner());
        let now_ms = match self.version {
            Version::V4 => 0,
            Version::V7 => self.clock.now_millis(),
        };
        match generator.next_batch(now_ms, count) {
            Ok(uuids) => Ok(uuids.iter().map(ToString::to_string).collect()),
            Err(e) => Err(Failure::TimestampExhausted { now_ms: e.now_ms }),
        }
    }

    fn health(&self) -> Value {
        json!({"node": self.name, "version": self.version.number()})
    }
}

/// Runs a node until `shutdown` completes: binds its address, then [`serve_on`] it.
pub async fn serve(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
    let listener = Listener::bind(config.addr).await?;
    serve_on(config, listener, shutdown).await
}

/// Runs a node on a socket already bound, until `shutdown` completes. Fails at start if the
/// data directory cannot be created or the OS gives no randomness.
pub async fn serve_on(
    config: Config,
    listener: Listener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    let log = Logger::new(&config.name);
    if let Some(dir) = &config.data_dir {
        shell::create_data_dir(dir)?;
    }
    let clock = WallClock::for_node(config.clock_file.as_deref());
    let (rng, seeded) = match config.bug {
        Some(Bug::TimeSeededRng) => {
            let seconds = clock.now_millis().div_euclid(1000);
            (
                Rng::from_seed(seconds as u64),
                format!("seeded with the clock's second {seconds} (bug time-seeded-rng)"),
            )
        }
        None => (Rng::from_os().map_err(Error)?, "seeded by the OS".into()),
    };
    log.line(format_args!(
        "serving http-ids on {}: UUID v{}, {seeded}, clock offset {} ms",
        listener.local_addr()?,
        config.version.number(),
        clock.offset_nanos() / 1_000_000,
    ));
    let node = Arc::new(UuidNode {
        name: config.name.clone(),
        version: config.version,
        generator: Mutex::new(Generator::new(config.version, rng)),
        clock,
    });
    log.ended(ids_http::serve_http(listener, node, shutdown).await)
}

/// `faultline node uuid ARGS…`: runs a node until SIGTERM or SIGINT. `args` are the arguments
/// after `uuid`. Exit code 0 after a clean stop, 3 on any error.
pub fn main(args: Vec<String>) -> ExitCode {
    shell::main(
        "uuid",
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
        let config = Config::from_args(args(
            "--id n2 --port 7001 --data-dir /tmp/d --clock-file /tmp/c",
        ))
        .unwrap();
        assert_eq!(
            config,
            Config {
                name: "n2".into(),
                addr: "127.0.0.1:7001".parse().unwrap(),
                data_dir: Some("/tmp/d".into()),
                clock_file: Some("/tmp/c".into()),
                version: Version::V4,
                bug: None,
            }
        );
        let config = Config::from_args(args(
            "uuid --id n1 --port 7002 --version 7 --bug time-seeded-rng --bind 0.0.0.0",
        ))
        .unwrap();
        assert_eq!(config.version, Version::V7);
        assert_eq!(config.bug, Some(Bug::TimeSeededRng));
        assert_eq!(config.addr, "0.0.0.0:7002".parse().unwrap());
        let config = Config::from_args(args("--id n1 --port 1 --version 4")).unwrap();
        assert_eq!(config.version, Version::V4);
    }

    #[test]
    fn bad_command_lines_are_one_line_errors() {
        assert_usage_errors(
            Config::from_args,
            &[
                "--port 7001",
                "--id n1",
                "--id n1 --port 7001 --version 5",
                "--id n1 --port 7001 --version",
                "--id n1 --port 7001 --bug nope",
                "--id n1 --port 7001 --worker 3",
            ],
        );
    }
}
