//! The tokio shell: the accept loop, one task per connection, the expiry sweep and the
//! `everysec` fsync.
//!
//! ```text
//!  accept ──▶ connection task: read ──▶ RequestParser ──▶ Shared::execute ──▶ replies
//!                                          (lock the engine, run one command, append its
//!                                           effects to the AOF, unlock)
//!                               always: Aof::sync_to(position) before the replies go out
//!  sweep task (every 100 ms) ──▶ lock, Db::sweep(now), append the DELs, unlock
//!  fsync task (everysec, every 1 s) ──▶ Aof::sync_to(written)
//! ```
//!
//! One lock guards the keyspace and the Lua state, so every command — and every script — is
//! atomic, as in single-threaded Redis. A connection runs every complete request in its
//! buffer before it writes the replies (pipelining), flushing early when the replies pass
//! [`FLUSH_AT`] so a pipeline of large values cannot pile up replies in memory; it reads no
//! more until its replies are written, so a client that does not read its replies holds at
//! most one request's and one batch of replies' worth of memory.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use resp::{Frame, RequestParser};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::aof::Aof;
use super::command::{self, Engine, Session};
use super::ctx::{Appendonly, MAX_CLIENTS, Stats};
use super::expiry::Expiry;
use crate::clock::WallClock;
use crate::shell::{Error, Logger};

/// How often the active expiry sweep runs (Redis's `hz 10`).
pub const SWEEP_EVERY: Duration = Duration::from_millis(100);
/// The most keys one round of the sweep removes while holding the lock.
const SWEEP_BATCH: usize = 1_000;
/// Write the replies gathered so far once they pass this many bytes.
const FLUSH_AT: usize = 64 * 1024;
/// How much a connection reads at a time, at least.
const READ_CHUNK: usize = 16 * 1024;
/// The most a connection reserves ahead of a large argument's bytes.
const READ_AHEAD: usize = 1024 * 1024;
/// Buffers grown past this are given back once empty.
const KEEP_CAPACITY: usize = 1024 * 1024;

/// What every task shares.
pub(crate) struct Shared {
    engine: Mutex<Engine>,
    pub(crate) aof: Option<Aof>,
    appendonly: Appendonly,
    /// The wall clock, for `TIME`.
    clock: WallClock,
    /// The clock keys expire on.
    expiry: Expiry,
    pub(crate) stats: Stats,
    next_client: AtomicU64,
    /// Set to the reason when the node must stop (the AOF cannot be written).
    failure: watch::Sender<Option<String>>,
    log: Logger,
}

impl Shared {
    pub(crate) fn new(
        engine: Engine,
        aof: Option<Aof>,
        appendonly: Appendonly,
        clock: WallClock,
        expiry: Expiry,
        stats: Stats,
        log: Logger,
    ) -> Shared {
        Shared {
            engine: Mutex::new(engine),
            aof,
            appendonly,
            clock,
            expiry,
            stats,
            next_client: AtomicU64::new(1),
            failure: watch::channel(None).0,
            log,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Engine> {
        // A panic inside a command is a bug, but the keyspace is still whole (commands change
        // it in single steps): keep serving.
        self.engine.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn fail(&self, reason: String) {
        self.failure.send_if_modified(|failure| {
            if failure.is_none() {
                *failure = Some(reason);
                true
            } else {
                false
            }
        });
    }

    /// Appends what the engine changed to the AOF; the AOF's length after, which a reply under
    /// `always` must wait to see synced. `Err` if the file could not be written.
    fn persist(&self, engine: &mut Engine) -> Result<u64, String> {
        let Some(aof) = &self.aof else {
            return Ok(0);
        };
        let effects = engine.db.take_effects();
        if !effects.is_empty() {
            if let Err(e) = aof.append(&effects) {
                let reason = format!("cannot write {}: {e}", aof.path().display());
                self.fail(reason.clone());
                return Err(reason);
            }
        }
        Ok(aof.written())
    }

    /// Runs one request: its reply, and the AOF position to sync before sending it.
    fn execute(&self, session: &mut Session, args: &[Bytes]) -> (Frame, u64) {
        self.stats.total_commands.fetch_add(1, Ordering::Relaxed);
        let now_micros = self.clock.now_nanos().div_euclid(1000);
        let now = self.expiry.now_millis();
        let mut engine = self.lock();
        let reply = command::execute(&mut engine, &self.stats, session, args, now, now_micros);
        match self.persist(&mut engine) {
            Ok(position) => (reply, position),
            Err(reason) => (
                Frame::Error(format!("MISCONF Errors writing to the AOF file: {reason}")),
                0,
            ),
        }
    }

    /// One round of the active expiry sweep.
    async fn sweep(&self) {
        loop {
            let removed = {
                let now = self.expiry.now_millis();
                let mut engine = self.lock();
                let removed = engine.db.sweep(now, SWEEP_BATCH);
                let _ = self.persist(&mut engine);
                removed
            };
            if removed < SWEEP_BATCH {
                return;
            }
            tokio::task::yield_now().await;
        }
    }
}

/// Serves `listener` until `shutdown` completes or the node fails.
pub(crate) async fn run(
    listener: TcpListener,
    shared: Arc<Shared>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    let mut failed = shared.failure.subscribe();
    let mut background = JoinSet::new();
    let sweeper = shared.clone();
    background.spawn(async move {
        let mut every = tokio::time::interval(SWEEP_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            sweeper.sweep().await;
        }
    });
    if shared.appendonly == Appendonly::Everysec {
        let syncer = shared.clone();
        background.spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(1));
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                if let Some(aof) = &syncer.aof {
                    if let Err(e) = aof.sync_to(aof.written()).await {
                        syncer.fail(format!("cannot sync {}: {e}", aof.path().display()));
                    }
                }
            }
        });
    }

    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    let result = loop {
        tokio::select! {
            () = &mut shutdown => break Ok(()),
            _ = failed.changed() => {
                let reason = failed.borrow().clone().unwrap_or_default();
                break Err(Error(reason));
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, addr)) => {
                    connections.spawn(connection(stream, addr, shared.clone()));
                }
                Err(e) => {
                    // Out of descriptors, or a connection reset before it was accepted:
                    // wait a little rather than spin.
                    shared.log.line(format_args!("accept failed: {e}"));
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
        }
    };
    connections.shutdown().await;
    background.shutdown().await;
    if let Some(aof) = &shared.aof {
        if let Err(e) = aof.sync_now() {
            shared
                .log
                .line(format_args!("cannot sync the append-only file: {e}"));
        }
    }
    result
}

/// Counts a connection for as long as it lives.
struct Connected<'a>(&'a Stats);

impl<'a> Connected<'a> {
    fn new(stats: &'a Stats) -> Connected<'a> {
        stats.connected_clients.fetch_add(1, Ordering::Relaxed);
        stats.total_connections.fetch_add(1, Ordering::Relaxed);
        Connected(stats)
    }
}

impl Drop for Connected<'_> {
    fn drop(&mut self) {
        self.0.connected_clients.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn connection(mut stream: TcpStream, addr: SocketAddr, shared: Arc<Shared>) {
    let _counted = Connected::new(&shared.stats);
    if shared.stats.connected_clients.load(Ordering::Relaxed) > MAX_CLIENTS {
        let _ = stream
            .write_all(b"-ERR max number of clients reached\r\n")
            .await;
        return;
    }
    let _ = stream.set_nodelay(true);
    let id = shared.next_client.fetch_add(1, Ordering::Relaxed);
    let mut session = Session::new(id, addr.to_string());
    let mut parser = RequestParser::new();
    let mut input = BytesMut::with_capacity(READ_CHUNK);
    let mut output = BytesMut::with_capacity(READ_CHUNK);
    loop {
        // Run every complete request in the buffer (or until the replies are large).
        let mut close = false;
        let mut more = false;
        let mut position = 0;
        loop {
            match parser.next(&mut input) {
                Ok(Some(args)) => {
                    let (reply, at) = shared.execute(&mut session, &args);
                    position = position.max(at);
                    reply.encode(&mut output);
                    if session.quit {
                        close = true;
                        break;
                    }
                    if output.len() >= FLUSH_AT {
                        more = true;
                        break;
                    }
                }
                Ok(None) => break,
                Err(error) => {
                    if let Some(frame) = error.frame() {
                        frame.encode(&mut output);
                    }
                    close = true;
                    break;
                }
            }
        }
        if shared.appendonly == Appendonly::Always && position > 0 {
            if let Some(aof) = &shared.aof {
                if let Err(e) = aof.sync_to(position).await {
                    // The node is failing: the client learns nothing it could rely on.
                    shared.fail(format!("cannot sync {}: {e}", aof.path().display()));
                    return;
                }
            }
        }
        if !output.is_empty() {
            if stream.write_all(&output).await.is_err() {
                return;
            }
            output.clear();
            if output.capacity() > KEEP_CAPACITY {
                output = BytesMut::with_capacity(READ_CHUNK);
            }
        }
        if close {
            let _ = stream.shutdown().await;
            return;
        }
        if more {
            continue;
        }
        if input.is_empty() && input.capacity() > KEEP_CAPACITY {
            input = BytesMut::with_capacity(READ_CHUNK);
        }
        if input.capacity() - input.len() < READ_CHUNK / 2 {
            let ahead = parser.wanted(input.len()).clamp(READ_CHUNK, READ_AHEAD);
            input.reserve(ahead);
        }
        match stream.read_buf(&mut input).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}
