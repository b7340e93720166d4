//! `faultline node snowflake`: a Twitter-style snowflake ID server, as a real process, for the
//! unique-IDs workload. It serves the `http-ids` protocol (docs/protocols/http-ids.md); each
//! node is one worker, and its IDs are unique because each carries the worker's id, and within
//! a worker, the wall-clock millisecond and a sequence number — which is exactly why a wall
//! clock that moves backwards is dangerous, and why the harness's clock faults matter here.
//!
//! ```text
//!  POST /ids ──▶ ids_http (parse, answer) ──▶ Snowflake::issue(n)
//!                                               │ loop: lock ─▶ Generator::next_batch(WallClock now, rest)
//!                                               │   Ids ─▶ collect; all n? ─▶ 200
//!                                               │   Wait{ms} ─▶ unlock, sleep ms (monotonic), again
//!                                               │   Refuse ─▶ 503 clock-moved-backwards / 500 timestamp-exhausted
//! ```
//!
//! * [`layout`]: the bit layout (timestamp, worker, sequence) and the epoch; encode/decode.
//! * [`generator`]: the state machine that decides the next ID, or to wait, or to refuse.
//! * [`high_water`]: the mark on disk that keeps a restarted node above what it issued.
//!
//! # Command line
//!
//! ```text
//! snowflake --id n1 --port PORT [--worker N] [--data-dir DIR] [--clock-file PATH]
//!           [--bits timestamp=41,worker=10,sequence=12] [--epoch-ms 1577836800000]
//!           [--max-backwards-wait-ms 10] [--bug no-clock-guard|no-high-water]
//!           [--bind 127.0.0.1]
//! ```
//!
//! [`main`] takes the arguments after the word `snowflake` (a leading `snowflake` is
//! tolerated). `--worker` must fit the layout's worker field (0 to 1023 by default); when it is
//! left out, a name `n<k>` gives worker `k`, so the harness's `n1…nN` are workers 1…N. The data
//! directory keeps the high-water mark (see "Restarts"). Bad flags or an address that
//! cannot be bound: one line on stderr and exit code 3. SIGTERM and SIGINT stop the node
//! cleanly (exit 0).
//!
//! # Time
//!
//! The wall clock is read only through [`WallClock`] (`--clock-file` makes it follow the
//! harness's offset file); waits are slept on tokio's monotonic clock, which no clock fault
//! moves. When the wall clock reads earlier than the last millisecond used, the guard waits it
//! out if it is at most `--max-backwards-wait-ms` behind, and otherwise refuses with a definite
//! 503 until the clock has caught up (Twitter's snowflake refused too). A request never waits
//! more than [`MAX_REQUEST_WAIT`] in total; past that it is refused the same way.
//!
//! # The `no-clock-guard` bug (`--bug no-clock-guard`)
//!
//! The generator believes a clock that moved backwards: the earlier millisecond is treated as
//! a new one, the sequence starts again at 0, and as the clock re-passes the milliseconds it
//! already used, it issues the same IDs again — the classic snowflake bug that NTP steps and
//! VM migrations trigger.
//!
//! # Restarts
//!
//! The guard lives in memory, so on its own it would not survive a crash: a node restarted
//! while its clock is behind the last millisecond it used would start afresh and re-issue IDs.
//! With a data directory the node therefore keeps a high-water mark ([`high_water`]): before
//! it uses a millisecond past the mark, it moves the mark a second ahead and fsyncs it, and on
//! start it resumes from the mark, so its guard waits or refuses until the clock has passed
//! every millisecond the previous process could have used (up to a second of refusals after a
//! restart). `--bug no-high-water` keeps no mark — Twitter's original behaviour — and a crash
//! plus a backward clock step then duplicates IDs.

pub mod generator;
pub mod high_water;
pub mod layout;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::{Parser, ValueEnum};
use serde_json::{Value, json};

use crate::clock::WallClock;
use crate::ids_http::{self, Failure, Issuer};
use crate::shell::{self, Logger};
pub use crate::shell::{ArgsError, Error, Listener};
use generator::{Backwards, Batch, Generator, Refusal};
use high_water::HighWater;
use layout::{DEFAULT_EPOCH_MS, Layout};

/// The longest a request waits, in total, for its IDs (sequence roll-overs and small backward
/// steps of the clock) before it is refused.
pub const MAX_REQUEST_WAIT: Duration = Duration::from_secs(1);

/// Known bugs, switched on with `--bug`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Bug {
    /// Believe a wall clock that moved backwards (re-issues IDs).
    NoClockGuard,
    /// Keep no high-water mark: a node restarted while its clock is behind re-issues IDs.
    NoHighWater,
}

/// Everything a node is started with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The node's name (`n1`), for its log lines and `/health`.
    pub name: String,
    /// The address to listen on.
    pub addr: SocketAddr,
    /// Created if missing; keeps the high-water mark.
    pub data_dir: Option<PathBuf>,
    /// The harness's clock offset file for this node; `None`: the system clock.
    pub clock_file: Option<PathBuf>,
    /// This node's worker id, within the layout's worker field.
    pub worker: u64,
    pub layout: Layout,
    /// How far behind the last millisecond used the clock may be and be waited out.
    pub max_backwards_wait_ms: u64,
    pub bug: Option<Bug>,
}

#[derive(Debug, Parser)]
#[command(
    name = "snowflake",
    about = "A snowflake ID server node (64-bit time/worker/sequence IDs over HTTP/JSON)"
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
    /// The worker id (default: k, for a name nk).
    #[arg(long)]
    worker: Option<u64>,
    /// A data directory (created if missing; keeps the high-water mark).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// The clock offset file the harness skews this node's wall clock with.
    #[arg(long)]
    clock_file: Option<PathBuf>,
    /// The field widths, summing to 63.
    #[arg(long, default_value = "timestamp=41,worker=10,sequence=12")]
    bits: String,
    /// The epoch, in Unix milliseconds (default 2020-01-01T00:00:00Z).
    #[arg(long, default_value_t = DEFAULT_EPOCH_MS, allow_negative_numbers = true)]
    epoch_ms: i64,
    /// How far back (ms) the clock may step and be waited out; beyond, requests are refused.
    #[arg(long, default_value_t = 10)]
    max_backwards_wait_ms: u64,
    /// Switch on a known bug.
    #[arg(long, value_enum)]
    bug: Option<Bug>,
}

impl Config {
    /// Parses the arguments after `snowflake`.
    pub fn from_args(args: Vec<String>) -> Result<Config, ArgsError> {
        let cli: Cli = shell::parse_args("snowflake", args)?;
        shell::check_name(&cli.id)?;
        let invalid = |message: String| ArgsError::Invalid(message);
        let layout = cli
            .bits
            .parse::<Layout>()
            .and_then(|l| l.with_epoch(cli.epoch_ms))
            .map_err(|e| invalid(format!("--bits/--epoch-ms: {e}")))?;
        let worker = match cli.worker {
            Some(worker) => worker,
            None => cli
                .id
                .strip_prefix('n')
                .and_then(|k| k.parse().ok())
                .ok_or_else(|| {
                    invalid(format!(
                        "no --worker, and --id {:?} is not a name like n3 to take it from",
                        cli.id
                    ))
                })?,
        };
        let config = Config {
            name: cli.id,
            addr: SocketAddr::new(cli.bind, cli.port),
            data_dir: cli.data_dir,
            clock_file: cli.clock_file,
            worker,
            layout,
            max_backwards_wait_ms: cli.max_backwards_wait_ms,
            bug: cli.bug,
        };
        config
            .generator()
            .map_err(|e| invalid(format!("--worker: {e}")))?;
        Ok(config)
    }

    /// What the generator does when the clock steps back.
    pub fn backwards(&self) -> Backwards {
        match self.bug {
            Some(Bug::NoClockGuard) => Backwards::Ignore,
            Some(Bug::NoHighWater) | None => Backwards::Guard {
                max_wait_ms: self.max_backwards_wait_ms,
            },
        }
    }

    /// A fresh generator for this node.
    pub fn generator(&self) -> Result<Generator, String> {
        Generator::new(self.layout, self.worker, self.backwards())
    }
}

/// What the node's lock guards: the generator, and the mark that must cover what it issues.
struct Worker {
    generator: Generator,
    /// `None` without a data directory, or with `--bug no-high-water`.
    high_water: Option<HighWater>,
}

/// The node: its worker behind a lock, and the clock it reads.
struct Snowflake {
    name: String,
    worker: Mutex<Worker>,
    clock: WallClock,
    /// `--bug no-clock-guard`: the generator believes backward steps (logged here).
    unguarded: bool,
    log: Logger,
    /// Whether the last request was refused (to log only the changes).
    refusing: AtomicBool,
}

impl Snowflake {
    /// One step: a clock reading and the generator's answer for up to `n` IDs, once the
    /// high-water mark covers the reading (IDs carry at most the reading's millisecond). The
    /// lock is held only for the step, never across a wait.
    fn step(&self, n: usize) -> Result<Batch, Failure> {
        let mut worker = self.worker.lock().unwrap_or_else(|e| e.into_inner());
        let now = self.clock.now_millis();
        if let Some(last) = worker
            .generator
            .last_ms()
            .filter(|&last| self.unguarded && now < last)
        {
            self.log.line(format_args!(
                "the clock moved back {} ms; believing it (bug no-clock-guard)",
                last - now
            ));
        }
        if let Some(mark) = &mut worker.high_water
            && let Err(e) = mark.cover(now)
        {
            self.log
                .line(format_args!("cannot move the high-water mark: {e}"));
            return Err(Failure::Unavailable(format!(
                "cannot keep the high-water mark: {e}"
            )));
        }
        Ok(worker.generator.next_batch(now, n))
    }

    /// The failure for `refusal`, logged when refusals start.
    fn refused(&self, refusal: Refusal) -> Failure {
        let failure = match refusal {
            Refusal::ClockMovedBackwards { behind_ms } => {
                Failure::ClockMovedBackwards { behind_ms }
            }
            Refusal::TimestampExhausted { now_ms } => Failure::TimestampExhausted { now_ms },
        };
        if !self.refusing.swap(true, Ordering::Relaxed) {
            self.log.line(format_args!("refusing: {failure:?}"));
        }
        failure
    }
}

impl Issuer for Snowflake {
    async fn issue(&self, count: usize) -> Result<Vec<String>, Failure> {
        let mut ids = Vec::with_capacity(count);
        let mut waited = Duration::ZERO;
        while ids.len() < count {
            match self.step(count - ids.len())? {
                Batch::Ids(batch) => ids.extend(batch),
                Batch::Wait { ms } => {
                    let wait = Duration::from_millis(ms);
                    if waited + wait > MAX_REQUEST_WAIT {
                        // Only a clock that keeps stepping back makes a request wait this long.
                        return Err(self.refused(Refusal::ClockMovedBackwards {
                            behind_ms: ms.saturating_sub(1),
                        }));
                    }
                    waited += wait;
                    tokio::time::sleep(wait).await;
                }
                // The IDs collected so far are dropped, never handed out: the answer stays
                // definite, and dropping IDs costs nothing but the IDs.
                Batch::Refuse(refusal) => return Err(self.refused(refusal)),
            }
        }
        if self.refusing.swap(false, Ordering::Relaxed) {
            self.log.line(format_args!("issuing IDs again"));
        }
        Ok(ids.into_iter().map(|id| id.to_string()).collect())
    }

    fn health(&self) -> Value {
        let worker = self.worker.lock().unwrap_or_else(|e| e.into_inner());
        let generator = &worker.generator;
        let layout = generator.layout();
        json!({
            "node": self.name,
            "worker": generator.worker(),
            "bits": layout.to_string(),
            "epoch_ms": layout.epoch_ms(),
        })
    }
}

/// Runs a node until `shutdown` completes: binds its address, then [`serve_on`] it.
pub async fn serve(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
    let listener = Listener::bind(config.addr).await?;
    serve_on(config, listener, shutdown).await
}

/// Runs a node on a socket already bound, until `shutdown` completes. Fails at start if the
/// data directory cannot be created or the worker does not fit the layout.
pub async fn serve_on(
    config: Config,
    listener: Listener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    let log = Logger::new(&config.name);
    if let Some(dir) = &config.data_dir {
        shell::create_data_dir(dir)?;
    }
    let mut generator = config.generator().map_err(Error)?;
    let clock = WallClock::for_node(config.clock_file.as_deref());
    let guard = match config.backwards() {
        Backwards::Guard { max_wait_ms } => format!("waits out {max_wait_ms} ms back"),
        Backwards::Ignore => "bug no-clock-guard".to_string(),
    };
    let high_water = match (&config.data_dir, config.bug) {
        (Some(dir), bug) if bug != Some(Bug::NoHighWater) => {
            let mark = HighWater::open(dir).map_err(Error)?;
            if let Some(ms) = mark.mark_ms() {
                generator.resume(ms);
                log.line(format_args!(
                    "resuming above the high-water mark {ms} (the clock reads {})",
                    clock.now_millis()
                ));
            }
            Some(mark)
        }
        _ => None,
    };
    log.line(format_args!(
        "serving http-ids on {}: worker {}, bits {}, epoch {} ms, clock offset {} ms, {guard}",
        listener.local_addr()?,
        config.worker,
        config.layout,
        config.layout.epoch_ms(),
        clock.offset_nanos() / 1_000_000,
    ));
    if !config.layout.covers(clock.now_millis()) {
        log.line(format_args!(
            "the clock is outside the layout's range: every request will be refused"
        ));
    }
    let node = std::sync::Arc::new(Snowflake {
        name: config.name.clone(),
        worker: Mutex::new(Worker {
            generator,
            high_water,
        }),
        clock,
        unguarded: config.bug == Some(Bug::NoClockGuard),
        log: log.clone(),
        refusing: AtomicBool::new(false),
    });
    log.ended(ids_http::serve_http(listener, node, shutdown).await)
}

/// `faultline node snowflake ARGS…`: runs a node until SIGTERM or SIGINT. `args` are the
/// arguments after `snowflake`. Exit code 0 after a clean stop, 3 on any error.
pub fn main(args: Vec<String>) -> ExitCode {
    shell::main(
        "snowflake",
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
            "--id n3 --port 7001 --data-dir /tmp/d --clock-file /tmp/c",
        ))
        .unwrap();
        assert_eq!(
            config,
            Config {
                name: "n3".into(),
                addr: "127.0.0.1:7001".parse().unwrap(),
                data_dir: Some("/tmp/d".into()),
                clock_file: Some("/tmp/c".into()),
                worker: 3,
                layout: Layout::default(),
                max_backwards_wait_ms: 10,
                bug: None,
            }
        );
        assert_eq!(config.backwards(), Backwards::Guard { max_wait_ms: 10 });
        let config = Config::from_args(args(
            "snowflake --id node-a --worker 17 --port 7002 --bits timestamp=45,worker=6,sequence=12 \
             --epoch-ms 0 --max-backwards-wait-ms 50 --bug no-clock-guard --bind 0.0.0.0",
        ))
        .unwrap();
        assert_eq!(config.worker, 17);
        assert_eq!(config.layout, Layout::new(45, 6, 12, 0).unwrap());
        assert_eq!(config.max_backwards_wait_ms, 50);
        assert_eq!(config.bug, Some(Bug::NoClockGuard));
        assert_eq!(config.backwards(), Backwards::Ignore);
        assert_eq!(config.addr, "0.0.0.0:7002".parse().unwrap());
        assert_eq!(config.data_dir, None);
    }

    #[test]
    fn bad_command_lines_are_one_line_errors() {
        assert_usage_errors(
            Config::from_args,
            &[
                "--port 7001",
                "--id n1",
                "--id n1 --port 70000",
                "--id node --port 7001",
                "--id n1 --port 7001 --worker 1024",
                "--id n1 --port 7001 --worker -1",
                "--id n1 --port 7001 --bits timestamp=41,worker=10,sequence=11",
                "--id n1 --port 7001 --bits timestamp=41,worker=2,sequence=20 --worker 4",
                "--id n1 --port 7001 --epoch-ms -5",
                "--id n1 --port 7001 --bug sometimes",
                "--id n1 --port 7001 --unknown",
            ],
        );
    }
}
