//! `faultline node segment`: a Meituan-Leaf-style "segment mode" ID server, as a real process,
//! for the unique-IDs workload. It serves the `http-ids` protocol
//! (docs/protocols/http-ids.md). Its IDs are plain increasing integers, handed out from an
//! in-memory *segment* — a range `(lo, hi]` of `--step` IDs — that the server claims by moving
//! a maximum kept in a store: the bundled `raft-kv` cluster, spoken to over `http-kv`
//! (docs/protocols/http-kv.md). Servers share nothing but that one key, so its updates are
//! what keeps IDs unique — which is why the harness's faults on the store, and the
//! `non-atomic-segment` bug, matter here.
//!
//! ```text
//!  POST /ids ──▶ ids_http ─────▶ Segments::issue(n)
//!                                  │ loop: lock ─▶ Buffer::take(rest) ─▶ ids; need_fetch? ─▶ wake the fetcher
//!                                  │   all n? ─▶ 200
//!                                  │   short ─▶ wait for the next install (until the deadline) ─▶ again
//!                                  │   deadline ─▶ 503 store-unavailable (the IDs taken are dropped)
//!  fetcher task (one) ◀─ wake ─┘
//!     Advance::begin ─▶ Send ─▶ store::call (one http-kv request) ─▶ Outcome ─▶ Advance::on_outcome
//!       … ─▶ Done(segment) ─▶ lock ─▶ Buffer::install ─▶ tell waiting requests (watch)
//!  GET /health ──▶ node, step, segment {lo, hi, next}, next_segment, fetching, stalls, …
//! ```
//!
//! * [`buffer`]: the double buffer — which IDs a request gets, and when to fetch (pure).
//! * [`advance`]: the read-then-cas conversation with the store, its retries and routing (pure).
//! * [`store`]: one `http-kv` request over TCP, classified as definite or unknown.
//!
//! # Command line
//!
//! ```text
//! segment --id n1 --port PORT --store n1=127.0.0.1:A,n2=127.0.0.1:B,n3=127.0.0.1:C
//!         [--bind 127.0.0.1] [--worker N] [--data-dir DIR] [--clock-file PATH]
//!         [--key 0] [--step 1000] [--prefetch 0.1] [--no-double-buffer]
//!         [--bug non-atomic-segment] [--race-window-ms 30]
//! ```
//!
//! [`main`] takes the arguments after the word `segment` (a leading `segment` is tolerated).
//! `--store` lists the store's nodes as `NAME=IP:PORT`, in the order to try them; the names
//! are matched against raft-kv's `leader` hints (by name, or else by the number they end in).
//! `--key` is the store key (an integer, `/kv/{key}`) holding the maximum ID handed out; absent
//! (`null`) counts as 0, so the first IDs are 1, 2, …. `--worker` (by default `k` for a name
//! `nk`, else 0) only goes into the store client's id. `--data-dir` is only created and
//! `--clock-file` is accepted and ignored: the server keeps nothing and reads no clock. Bad
//! flags or an address that cannot be bound: one line on stderr and exit code 3. SIGTERM and
//! SIGINT stop the node cleanly (exit 0).
//!
//! # Fetching segments
//!
//! One fetcher task fetches segments, one at a time ([`advance`] describes the conversation):
//! the first right at start (the server answers `/health` at once and never waits for the
//! store to start), then whenever the [`buffer`] says so. With the double buffer (the default)
//! that is when the current segment is `--prefetch` (10%) used, so the next one is normally
//! ready before the current one runs out and no request waits for the store. With
//! `--no-double-buffer` it is only when a request finds the segment used up: that request waits
//! a store round trip (its latency shows at every segment boundary). A fetch runs on its own
//! task rather than inside the request that asked for it, so a request giving up at its
//! deadline never abandons a cas half-way; the fetcher keeps retrying (with backoff) until it
//! has a segment. `/health`'s `stalls` counts the requests that had to wait for a fetch.
//!
//! # Failures, gaps, never duplicates
//!
//! A request waits at most [`MAX_REQUEST_WAIT`] in total for segments. Past that it is refused
//! with a definite 503 `store-unavailable`: the server answers all the IDs asked for or none.
//! The IDs it had already taken from a segment (a batch spanning into a segment that never
//! came) are dropped and never handed out again — nothing was handed to the client, so the
//! answer is still definite. Segments are likewise lost with a restart. So IDs have gaps, and
//! are not ordered across servers; they are never handed out twice, as long as the store's
//! cas is linearizable.
//!
//! # The store client's identity
//!
//! Its client id is `2^63 | (worker mod 2^15) << 48 | 48 random bits`, drawn afresh by each
//! process, and its `seq` starts at 1. A restarted server must not reuse the old id: raft-kv
//! remembers each client's last `(seq, answer)` and would answer the new process's `seq` 1 with
//! the old one's answer, or refuse it as superseded.
//!
//! # The `non-atomic-segment` bug (`--bug non-atomic-segment`)
//!
//! The maximum is read, then *written* as `max + step`, without a cas: two servers that read
//! the same maximum both take the same segment, and hand out the same IDs. Between the read and
//! the write the server waits `--race-window-ms` (30 ms): the round trip to a slow or distant
//! database that leaves this window open in real deployments, widened so a test run hits it.

pub mod advance;
pub mod buffer;
pub mod store;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::{Parser, ValueEnum};
use serde_json::{Value, json};
use tokio::sync::{Notify, watch};

use crate::ids_http::{self, Failure, Issuer};
use crate::shell::{self, Logger};
pub use crate::shell::{ArgsError, Error, Listener};
use advance::{Action, Advance, Mode, Outcome};
use buffer::{Buffer, Segment};

/// The longest a request waits, in total, for segments before it is refused.
pub const MAX_REQUEST_WAIT: Duration = Duration::from_secs(1);

/// How long the fetcher waits after an advance failed outright (a value in the store that is
/// not an ID, a store that does not follow the protocol) before it starts another.
const FAILED_ADVANCE_WAIT: Duration = Duration::from_secs(1);

/// Known bugs, switched on with `--bug`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Bug {
    /// Read the maximum, then write max+step without a cas (duplicate segments).
    NonAtomicSegment,
}

/// Everything a node is started with.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// The node's name (`n1`), for its log lines and `/health`.
    pub name: String,
    /// The address to listen on.
    pub addr: SocketAddr,
    /// Goes into the store client's id.
    pub worker: u64,
    /// Created if missing; nothing is kept in it.
    pub data_dir: Option<PathBuf>,
    /// Accepted for the harness's sake; no clock is read.
    pub clock_file: Option<PathBuf>,
    /// The store's nodes: name and address, in the order to try them.
    pub store: Vec<(String, SocketAddr)>,
    /// The store key holding the maximum ID handed out.
    pub key: u64,
    /// IDs per segment.
    pub step: u64,
    /// The fraction of a segment used that starts the next fetch (double buffer only).
    pub prefetch: f64,
    pub double_buffer: bool,
    pub bug: Option<Bug>,
    /// `--bug non-atomic-segment`'s wait between the read and the write.
    pub race_window: Duration,
}

#[derive(Debug, Parser)]
#[command(
    name = "segment",
    about = "A Leaf-style segment ID server node: IDs from ranges claimed in a raft-kv store"
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
    /// Goes into the store client's id (default: k, for a name nk; else 0).
    #[arg(long)]
    worker: Option<u64>,
    /// A data directory (created if missing; nothing is kept in it).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Accepted and ignored: the server reads no clock.
    #[arg(long)]
    clock_file: Option<PathBuf>,
    /// The store's nodes, as `n1=IP:PORT,n2=IP:PORT,…`.
    #[arg(long)]
    store: String,
    /// The store key holding the maximum ID handed out.
    #[arg(long, default_value_t = 0)]
    key: u64,
    /// IDs per segment (given twice, the last wins: a harness option can override the
    /// target's own).
    #[arg(long, default_value_t = 1000, overrides_with = "step")]
    step: u64,
    /// The fraction of a segment used (0 to 1) that starts fetching the next one.
    #[arg(long, default_value_t = 0.1)]
    prefetch: f64,
    /// Fetch a segment only when a request finds the current one used up.
    #[arg(long)]
    no_double_buffer: bool,
    /// Switch on a known bug.
    #[arg(long, value_enum)]
    bug: Option<Bug>,
    /// With --bug non-atomic-segment: milliseconds between reading the maximum and writing it.
    #[arg(long, default_value_t = 30)]
    race_window_ms: u64,
}

impl Config {
    /// Parses the arguments after `segment`.
    pub fn from_args(args: Vec<String>) -> Result<Config, ArgsError> {
        let cli: Cli = shell::parse_args("segment", args)?;
        shell::check_name(&cli.id)?;
        let invalid = |message: String| ArgsError::Invalid(message);
        let store = parse_store(&cli.store).map_err(|e| invalid(format!("--store: {e}")))?;
        if cli.step == 0 {
            return Err(invalid("--step must be at least 1".into()));
        }
        if !(0.0..=1.0).contains(&cli.prefetch) {
            return Err(invalid(format!(
                "--prefetch {} is not a fraction from 0 to 1",
                cli.prefetch
            )));
        }
        if cli.race_window_ms > 60_000 {
            return Err(invalid("--race-window-ms is at most 60000".into()));
        }
        let worker = cli.worker.unwrap_or_else(|| {
            cli.id
                .strip_prefix('n')
                .and_then(|k| k.parse().ok())
                .unwrap_or(0)
        });
        Ok(Config {
            name: cli.id,
            addr: SocketAddr::new(cli.bind, cli.port),
            worker,
            data_dir: cli.data_dir,
            clock_file: cli.clock_file,
            store,
            key: cli.key,
            step: cli.step,
            prefetch: cli.prefetch,
            double_buffer: !cli.no_double_buffer,
            bug: cli.bug,
            race_window: Duration::from_millis(cli.race_window_ms),
        })
    }

    /// How the maximum is moved.
    pub fn mode(&self) -> Mode {
        match self.bug {
            Some(Bug::NonAtomicSegment) => Mode::NonAtomic {
                race_window: self.race_window,
            },
            None => Mode::Cas,
        }
    }
}

/// `n1=127.0.0.1:7001,n2=…` → names and addresses.
fn parse_store(list: &str) -> Result<Vec<(String, SocketAddr)>, String> {
    let mut nodes: Vec<(String, SocketAddr)> = Vec::new();
    for item in list.split(',').filter(|s| !s.trim().is_empty()) {
        let (name, addr) = item
            .split_once('=')
            .ok_or_else(|| format!("{item:?} is not NAME=IP:PORT"))?;
        let name = name.trim();
        if name.is_empty() || name.chars().any(char::is_whitespace) {
            return Err(format!("{name:?} is not a node name"));
        }
        let addr: SocketAddr = addr.trim().parse().map_err(|e| format!("{addr:?}: {e}"))?;
        if nodes.iter().any(|(n, _)| n == name) {
            return Err(format!("{name} appears twice"));
        }
        nodes.push((name.to_string(), addr));
    }
    if nodes.is_empty() {
        return Err("no store nodes".into());
    }
    Ok(nodes)
}

/// A fresh store client id: the top bit, 15 bits of worker, 48 random bits.
fn client_id(worker: u64) -> u64 {
    let mut bytes = [0u8; 8];
    let random = match getrandom::fill(&mut bytes) {
        Ok(()) => u64::from_le_bytes(bytes),
        // No randomness from the OS: the process id and the time still differ between runs.
        Err(_) => {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            (u64::from(std::process::id()) << 24) ^ nanos
        }
    };
    (1 << 63) | ((worker & 0x7fff) << 48) | (random & 0xffff_ffff_ffff)
}

/// Why a request got no IDs: no segment came within its deadline.
fn store_unavailable() -> Failure {
    Failure::StoreUnavailable {
        waited_ms: MAX_REQUEST_WAIT.as_millis() as u64,
    }
}

/// The node: its buffer behind a lock, and the fetcher's signals.
struct Segments {
    name: String,
    worker: u64,
    client: u64,
    step: u64,
    key: u64,
    prefetch: f64,
    double_buffer: bool,
    bug: Option<Bug>,
    buffer: Mutex<Buffer>,
    /// Wakes the fetcher: one permit per fetch the buffer decided on.
    wanted: Notify,
    /// Counts installs; requests waiting for IDs watch it.
    installed: watch::Sender<u64>,
    /// Requests that had to wait for a fetch.
    stalls: AtomicU64,
    /// What went wrong with the store lately, until the next segment.
    store_error: Mutex<Option<String>>,
    log: Logger,
    /// Whether the last request was refused (to log only the changes).
    refusing: AtomicBool,
}

impl Segments {
    fn buffer(&self) -> std::sync::MutexGuard<'_, Buffer> {
        self.buffer.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set_store_error(&self, error: Option<String>) {
        *self.store_error.lock().unwrap_or_else(|e| e.into_inner()) = error;
    }
}

impl Issuer for Segments {
    /// Exactly `count` IDs, or a refusal once [`MAX_REQUEST_WAIT`] has passed without them.
    async fn issue(&self, count: usize) -> Result<Vec<String>, Failure> {
        let deadline = tokio::time::Instant::now() + MAX_REQUEST_WAIT;
        let mut ids = Vec::with_capacity(count);
        let mut stalled = false;
        loop {
            // Subscribed before taking: an install after the take wakes the wait below.
            let mut installs = self.installed.subscribe();
            let take = self.buffer().take(count - ids.len());
            if take.need_fetch {
                self.wanted.notify_one();
            }
            ids.extend(take.ids);
            if ids.len() == count {
                break;
            }
            if !stalled {
                stalled = true;
                self.stalls.fetch_add(1, Ordering::Relaxed);
            }
            match tokio::time::timeout_at(deadline, installs.changed()).await {
                Ok(Ok(())) => {}
                // The IDs taken so far are dropped, never handed out: the answer stays
                // definite, and dropping IDs costs nothing but the IDs.
                Ok(Err(_)) | Err(_) => {
                    if !self.refusing.swap(true, Ordering::Relaxed) {
                        self.log.line(format_args!(
                            "refusing: no segment from the store within {} ms",
                            MAX_REQUEST_WAIT.as_millis()
                        ));
                    }
                    return Err(store_unavailable());
                }
            }
        }
        if self.refusing.swap(false, Ordering::Relaxed) {
            self.log.line(format_args!("issuing IDs again"));
        }
        Ok(ids.iter().map(u64::to_string).collect())
    }

    fn health(&self) -> Value {
        let (current, next, fetching, segments) = {
            let buffer = self.buffer();
            (
                buffer.current(),
                buffer.next(),
                buffer.fetching(),
                buffer.installed(),
            )
        };
        let store_error = self
            .store_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        json!({
            "node": self.name,
            "worker": self.worker,
            "client": self.client,
            "step": self.step,
            "key": self.key,
            "double_buffer": self.double_buffer,
            "prefetch": self.prefetch,
            "bug": self.bug.map(|_| "non-atomic-segment"),
            "segment": current.map(|c| {
                json!({"lo": c.segment.lo, "hi": c.segment.hi, "next": c.next})
            }),
            "next_segment": next.map(|s| json!({"lo": s.lo, "hi": s.hi})),
            "fetching": fetching,
            "segments": segments,
            "stalls": self.stalls.load(Ordering::Relaxed),
            "store_error": store_error,
        })
    }
}

/// The fetcher: waits to be woken, fetches a segment, installs it, and again.
struct Fetcher {
    node: Arc<Segments>,
    advance: Advance,
    store: Vec<(String, SocketAddr)>,
    key: u64,
    client: u64,
}

impl Fetcher {
    async fn run(mut self) {
        loop {
            self.node.wanted.notified().await;
            loop {
                let segment = self.obtain().await;
                let again = self.node.buffer().install(segment);
                self.node.installed.send_modify(|n| *n += 1);
                if !again {
                    break;
                }
            }
        }
    }

    /// A segment of this server's own, however long the store takes.
    async fn obtain(&mut self) -> Segment {
        let log = self.node.log.clone();
        let sweep = self.store.len() as u32;
        let mut misses = 0u32;
        let mut action = self.advance.begin();
        loop {
            action = match action {
                Action::Send {
                    node,
                    request,
                    after,
                } => {
                    if !after.is_zero() {
                        tokio::time::sleep(after).await;
                    }
                    let (name, addr) = &self.store[node];
                    let outcome = store::call(*addr, self.key, self.client, &request).await;
                    match &outcome {
                        Outcome::Value(_) | Outcome::CasMismatch => misses = 0,
                        other => {
                            misses += 1;
                            // Once a whole sweep over the nodes went nowhere, say so (once).
                            if misses == sweep {
                                let error = format!("{name} at {addr}: {other:?}");
                                log.line(format_args!("the store is not answering: {error}"));
                                self.node.set_store_error(Some(error));
                            }
                        }
                    }
                    self.advance.on_outcome(outcome)
                }
                Action::Done(segment) => {
                    let installed = self.node.buffer().installed();
                    let recovered = self
                        .node
                        .store_error
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .is_some();
                    if installed == 0 || recovered {
                        log.line(format_args!(
                            "segment ({}, {}] from the store{}",
                            segment.lo,
                            segment.hi,
                            if recovered {
                                ": the store answers again"
                            } else {
                                ""
                            }
                        ));
                        self.node.set_store_error(None);
                    }
                    return segment;
                }
                Action::Fail(why) => {
                    log.line(format_args!("cannot advance the maximum ID: {why}"));
                    self.node.set_store_error(Some(why));
                    tokio::time::sleep(FAILED_ADVANCE_WAIT).await;
                    self.advance.begin()
                }
            };
        }
    }
}

/// Runs a node until `shutdown` completes: binds its address, then [`serve_on`] it.
pub async fn serve(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
    let listener = Listener::bind(config.addr).await?;
    serve_on(config, listener, shutdown).await
}

/// Runs a node on a socket already bound, until `shutdown` completes. Fails at start if the
/// data directory cannot be created. The store is not needed to start.
pub async fn serve_on(
    config: Config,
    listener: Listener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    let log = Logger::new(&config.name);
    if let Some(dir) = &config.data_dir {
        shell::create_data_dir(dir)?;
    }
    let client = client_id(config.worker);
    let store_list = config
        .store
        .iter()
        .map(|(name, addr)| format!("{name}={addr}"))
        .collect::<Vec<_>>()
        .join(",");
    let buffering = match config.double_buffer {
        true => format!("double buffer, prefetch at {}", config.prefetch),
        false => "single buffer".to_string(),
    };
    let mode = match config.mode() {
        Mode::Cas => "cas".to_string(),
        Mode::NonAtomic { race_window } => format!(
            "bug non-atomic-segment (race window {} ms)",
            race_window.as_millis()
        ),
    };
    log.line(format_args!(
        "serving http-ids on {}: store {store_list}, key {}, step {}, {buffering}, {mode}, client {client}",
        listener.local_addr()?,
        config.key,
        config.step,
    ));
    let node = Arc::new(Segments {
        name: config.name.clone(),
        worker: config.worker,
        client,
        step: config.step,
        key: config.key,
        prefetch: config.prefetch,
        double_buffer: config.double_buffer,
        bug: config.bug,
        buffer: Mutex::new(Buffer::new(config.double_buffer, config.prefetch)),
        wanted: Notify::new(),
        installed: watch::Sender::new(0),
        stalls: AtomicU64::new(0),
        store_error: Mutex::new(None),
        log: log.clone(),
        refusing: AtomicBool::new(false),
    });
    let names = config.store.iter().map(|(name, _)| name.clone()).collect();
    let fetcher = Fetcher {
        node: node.clone(),
        advance: Advance::new(names, config.step, config.mode(), 1),
        store: config.store.clone(),
        key: config.key,
        client,
    };
    let fetcher = tokio::spawn(fetcher.run());
    // The first segment is fetched right away, in the background.
    if node.buffer().start() {
        node.wanted.notify_one();
    }
    let result = ids_http::serve_http(listener, node, shutdown).await;
    fetcher.abort();
    log.ended(result)
}

/// `faultline node segment ARGS…`: runs a node until SIGTERM or SIGINT. `args` are the
/// arguments after `segment`. Exit code 0 after a clean stop, 3 on any error.
pub fn main(args: Vec<String>) -> ExitCode {
    shell::main(
        "segment",
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
        // The descriptor passes --step 100; --option step-1000 appends another, which wins.
        let step = |line: &str| Config::from_args(args(line)).unwrap().step;
        let base = "--id n1 --port 1 --store s1=127.0.0.1:9001";
        assert_eq!(step(&format!("{base} --step 100")), 100);
        assert_eq!(step(&format!("{base} --step 100 --step 1000")), 1000);
        let config = Config::from_args(args(
            "--id n3 --port 7001 --data-dir /tmp/d --clock-file /tmp/c \
             --store n1=127.0.0.1:9001,n2=127.0.0.1:9002,n3=127.0.0.1:9003",
        ))
        .unwrap();
        assert_eq!(
            config,
            Config {
                name: "n3".into(),
                addr: "127.0.0.1:7001".parse().unwrap(),
                worker: 3,
                data_dir: Some("/tmp/d".into()),
                clock_file: Some("/tmp/c".into()),
                store: vec![
                    ("n1".into(), "127.0.0.1:9001".parse().unwrap()),
                    ("n2".into(), "127.0.0.1:9002".parse().unwrap()),
                    ("n3".into(), "127.0.0.1:9003".parse().unwrap()),
                ],
                key: 0,
                step: 1000,
                prefetch: 0.1,
                double_buffer: true,
                bug: None,
                race_window: Duration::from_millis(30),
            }
        );
        assert_eq!(config.mode(), Mode::Cas);
        let config = Config::from_args(args(
            "segment --id a --worker 9 --port 7002 --bind 0.0.0.0 --store s1=10.0.0.1:1 \
             --key 42 --step 10 --prefetch 0.5 --no-double-buffer --bug non-atomic-segment \
             --race-window-ms 5",
        ))
        .unwrap();
        assert_eq!(config.worker, 9);
        assert_eq!(config.addr, "0.0.0.0:7002".parse().unwrap());
        assert_eq!(
            config.store,
            vec![("s1".into(), "10.0.0.1:1".parse().unwrap())]
        );
        assert_eq!((config.key, config.step, config.prefetch), (42, 10, 0.5));
        assert!(!config.double_buffer);
        assert_eq!(
            config.mode(),
            Mode::NonAtomic {
                race_window: Duration::from_millis(5)
            }
        );
        let config = Config::from_args(args("--id x --port 1 --store n1=127.0.0.1:2")).unwrap();
        assert_eq!(config.worker, 0, "no number in the name");
    }

    #[test]
    fn bad_command_lines_are_one_line_errors() {
        let store = "--store n1=127.0.0.1:9001";
        assert_usage_errors(
            Config::from_args,
            &[
                format!("--port 7001 {store}"),
                format!("--id n1 {store}"),
                "--id n1 --port 7001".to_string(),
                "--id n1 --port 7001 --store".to_string(),
                "--id n1 --port 7001 --store ,".to_string(),
                "--id n1 --port 7001 --store n1".to_string(),
                "--id n1 --port 7001 --store n1=localhost".to_string(),
                "--id n1 --port 7001 --store n1=127.0.0.1:1,n1=127.0.0.1:2".to_string(),
                "--id n1 --port 7001 --store =127.0.0.1:1".to_string(),
                format!("--id n1 --port 70000 {store}"),
                format!("--id n1 --port 7001 {store} --step 0"),
                format!("--id n1 --port 7001 {store} --step -1"),
                format!("--id n1 --port 7001 {store} --prefetch 1.5"),
                format!("--id n1 --port 7001 {store} --prefetch -0.1"),
                format!("--id n1 --port 7001 {store} --prefetch NaN"),
                format!("--id n1 --port 7001 {store} --key -1"),
                format!("--id n1 --port 7001 {store} --bug sometimes"),
                format!("--id n1 --port 7001 {store} --race-window-ms 100000"),
                format!("--id n1 --port 7001 {store} --unknown"),
                format!("--id n1 --port 7001 {store} --no-double-buffer yes"),
            ],
        );
    }

    #[test]
    fn client_ids_carry_the_worker_and_differ_between_processes() {
        let a = client_id(5);
        let b = client_id(5);
        assert_ne!(a, b, "48 random bits");
        assert_eq!(a >> 63, 1);
        assert_eq!((a >> 48) & 0x7fff, 5);
    }

    #[test]
    fn store_unavailable_is_a_definite_503() {
        use axum::http::StatusCode;
        let (code, body) = ids_http::failure_answer(&store_unavailable());
        assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["error"], "store-unavailable");
        assert_eq!(body["definite"], true);
        assert_eq!(body["waited_ms"], MAX_REQUEST_WAIT.as_millis() as u64);
        let (code, body) = ids_http::failure_answer(&Failure::BadRequest("x".into()));
        assert_eq!(code, StatusCode::BAD_REQUEST);
        assert_eq!(body["definite"], true);
    }
}
