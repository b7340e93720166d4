//! The lock workload's clients (docs/workloads/lock.md): each loops acquire → hold (writes to
//! the protected resource) → release, as a state machine the worker loop steps through.
//!
//! While holding, before each write, a client checks that it still believes it holds the lock
//! (its validity has not run out), then writes. A client pause — the nemesis's stand-in for a
//! garbage-collection pause — strikes exactly between the two ([`Step::MayPause`]), which is
//! where it hurts: the client wakes up and writes on the strength of a check made before it
//! slept. Watchdog renewals are made by the client itself between writes, so a pause stops
//! them too, as a stop-the-world pause would.

use std::sync::Arc;
use std::time::Duration;

use checkers::compose::Checker;
use checkers::history::EventType;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use targets::descriptor::Protocol;
use tokio::time::Instant;

use super::client::{Algorithm, Config, HELD, Held, LockClient, Outcome};
use super::etcd::EtcdLock;
use super::resource::{Resource, Write};
use super::zookeeper::ZkLock;
use crate::history::value;
use crate::settings::Settings;
use crate::worker::{self, Client, Completion, Step};
use crate::workload::{Links, Run, Running, TypedWorkload};

/// The lock workload.
pub struct Lock;

/// Its scenario fields.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "kebab-case", default)]
pub struct LockSettings {
    /// `single`, `watchdog` or `redlock` (Redis), `zookeeper` or `etcd`.
    pub lock_algorithm: String,
    /// The lease, in milliseconds (ZooKeeper: the session timeout asked for).
    pub lock_ttl_ms: u64,
    /// The resource rejects tokens older than one it accepted.
    pub fencing: bool,
    /// Writes each holder makes.
    pub writes_per_hold: u32,
    /// How long a holder keeps the lock, its writes spread evenly over it; unset: half the
    /// lease. Longer than the lease is how a ZooKeeper lock is used (the session's pings and
    /// the renewals keep it), and a lease without renewals (`single`, `redlock`) then expires
    /// under its holder.
    pub hold_ms: Option<u64>,
}

impl Default for LockSettings {
    fn default() -> Self {
        LockSettings {
            lock_algorithm: Algorithm::Single.name().into(),
            lock_ttl_ms: 1000,
            fencing: false,
            writes_per_hold: 3,
            hold_ms: None,
        }
    }
}

impl Settings for LockSettings {
    fn check(&self, protocol: Protocol) -> Result<(), String> {
        let Some(algorithm) = Algorithm::parse(&self.lock_algorithm) else {
            return Err(format!(
                "unknown lock algorithm `{}` (known: single, watchdog, redlock, zookeeper, etcd)",
                self.lock_algorithm
            ));
        };
        if algorithm.protocol() != protocol {
            return Err(format!(
                "lock algorithm {} needs a target speaking {}, not {}",
                algorithm.name(),
                algorithm.protocol().name(),
                protocol.name()
            ));
        }
        if self.lock_ttl_ms == 0 || self.writes_per_hold == 0 || self.hold_ms == Some(0) {
            return Err("lock-ttl-ms, writes-per-hold and hold-ms must be positive".into());
        }
        Ok(())
    }
}

impl TypedWorkload for Lock {
    type Settings = LockSettings;
    const NAME: &'static str = "lock";
    const SUMMARY: &'static str = "acquire, write to a protected resource, release (single, watchdog, redlock, zookeeper, etcd); lock safety";
    const PROTOCOLS: &'static [Protocol] = &[Protocol::Resp, Protocol::Zookeeper, Protocol::Etcd];
    const LINKS: Links = Links::PerClient;
    const CHECKERS: &'static [Checker] = super::CHECKERS;
    /// An acquire while another holds the lock; a renewal or release of a lock already lost;
    /// a write the fenced resource turned down.
    const ANSWERS: &'static [&'static str] = &[
        HELD,
        "the lock was lost",
        "the lease expired: the lock was lost",
        "stale token",
    ];
    const FLAGS: &'static [&'static str] = &["lock-algorithm", "lock-ttl-ms", "fencing"];

    fn run(&self, settings: LockSettings, run: Run) -> Running {
        let config = Config {
            algorithm: Algorithm::parse(&settings.lock_algorithm).unwrap_or(Algorithm::Single),
            ttl: Duration::from_millis(settings.lock_ttl_ms),
            fencing: settings.fencing,
            instance_timeout: Duration::from_millis(50),
        };
        let resource = Arc::new(Resource::new(settings.fencing));
        // A hold takes half the lease unless the scenario says how long.
        let hold = settings
            .hold_ms
            .map_or(config.ttl / 2, Duration::from_millis);
        let gap = hold / settings.writes_per_hold.max(1);
        let workers = run
            .nodes
            .iter()
            .enumerate()
            .map(|(index, nodes)| {
                let instances: Vec<(String, std::net::SocketAddr)> =
                    nodes.iter().map(|n| (n.name.clone(), n.addr)).collect();
                Holder {
                    client: match config.algorithm {
                        Algorithm::Zookeeper => Locker::Zookeeper {
                            // Clients spread over the nodes, one home node each.
                            lock: ZkLock::new(
                                instances[index % instances.len()].clone(),
                                config.ttl,
                                run.op_timeout,
                            ),
                            ttl: config.ttl,
                        },
                        Algorithm::Etcd => Locker::Etcd {
                            lock: EtcdLock::new(
                                nodes[index % nodes.len()].clone(),
                                config.ttl,
                                run.op_timeout,
                            ),
                            ttl: config.ttl,
                        },
                        _ => Locker::Redis(LockClient::new(
                            config.clone(),
                            instances,
                            nodes.first().and_then(|n| n.from),
                        )),
                    },
                    resource: resource.clone(),
                    rng: ChaCha8Rng::seed_from_u64(
                        run.seed ^ (index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15),
                    ),
                    writes_per_hold: settings.writes_per_hold,
                    gap,
                    holdings: 0,
                    phase: Phase::Idle,
                }
            })
            .collect();
        Box::pin(async move {
            worker::drive_all(workers, 0, &run.ctx, run.until).await;
            None
        })
    }
}

/// The lock service a holder uses.
enum Locker {
    /// Redis instances, through one of the Redis algorithms.
    Redis(LockClient),
    /// A ZooKeeper ensemble, through the recipe; `ttl` is the session timeout asked for.
    Zookeeper { lock: ZkLock, ttl: Duration },
    /// An etcd cluster, through its lock service; `ttl` is the lease asked for.
    Etcd { lock: EtcdLock, ttl: Duration },
}

impl Locker {
    async fn acquire(&mut self, id: &str) -> Outcome<Held> {
        match self {
            Locker::Redis(client) => client.acquire(id).await,
            Locker::Zookeeper { lock, .. } => lock.acquire(id).await,
            Locker::Etcd { lock, .. } => lock.acquire().await,
        }
    }

    async fn renew(&mut self, id: &str) -> Outcome<Duration> {
        match self {
            Locker::Redis(client) => client.renew(id).await,
            Locker::Zookeeper { lock, .. } => lock.renew().await,
            Locker::Etcd { lock, .. } => lock.renew().await,
        }
    }

    async fn release(&mut self, id: &str) -> Outcome<Vec<String>> {
        match self {
            Locker::Redis(client) => client.release(id).await,
            Locker::Zookeeper { lock, .. } => lock.release().await,
            Locker::Etcd { lock, .. } => lock.release().await,
        }
    }

    /// Whether a holder renews its belief while it holds: Redisson's watchdog extends the
    /// lease; a ZooKeeper client confirms its znode is still there; an etcd holder keeps its
    /// lease alive.
    fn renews(&self) -> bool {
        match self {
            Locker::Redis(client) => client.config().algorithm == Algorithm::Watchdog,
            Locker::Zookeeper { .. } | Locker::Etcd { .. } => true,
        }
    }

    /// Stops the holder's world for `length` (a ZooKeeper client's session with it).
    async fn pause(&mut self, length: Duration) {
        match self {
            // etcd's keepalives are the holder's own (its watchdog steps): the pause stops them.
            Locker::Redis(_) | Locker::Etcd { .. } => tokio::time::sleep(length).await,
            Locker::Zookeeper { lock, .. } => lock.pause(length).await,
        }
    }

    /// The lease, or the session timeout: a holder renews every third of it.
    fn ttl(&self) -> Duration {
        match self {
            Locker::Redis(client) => client.config().ttl,
            Locker::Zookeeper { ttl, .. } | Locker::Etcd { ttl, .. } => *ttl,
        }
    }
}

/// One lock client.
struct Holder {
    client: Locker,
    resource: Arc<Resource>,
    rng: ChaCha8Rng,
    writes_per_hold: u32,
    /// The pause after each write.
    gap: Duration,
    /// Holdings attempted so far (each gets its own lock value).
    holdings: u64,
    phase: Phase,
}

/// Where a client is in its loop.
enum Phase {
    /// About to try for the lock.
    Idle,
    /// Refused: waiting a moment before trying again.
    Refused,
    Holding(Holding),
    /// Done holding (or the lock is lost): about to release.
    Releasing {
        id: String,
    },
}

/// The lock, held.
struct Holding {
    id: String,
    token: Option<i64>,
    /// Until when the client believes it holds the lock.
    valid_until: Instant,
    /// When a watchdog renews the lease next.
    renew_at: Instant,
    /// Writes made.
    written: u32,
    /// Where in one write's turn the client is.
    turn: Turn,
}

/// One write's turn: check the lock (renewing it first if a watchdog is due), take any pause,
/// write, wait.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Turn {
    Check,
    Write,
    Gap,
}

/// What a lock client does.
enum LockOp {
    Acquire { id: String },
    Renew { id: String },
    Write { token: Option<i64>, seq: u32 },
    Release { id: String },
}

/// `d` in milliseconds, to the microsecond (so the history reads 987.813, not 987.8127519…).
fn millis(d: Duration) -> f64 {
    d.as_micros() as f64 / 1e3
}

/// The completion of a lock call: `ok` with `done`'s value; `fail` (definitely not done) with
/// what was asked, or the nodes that refused when nothing was; `info` with what was asked.
fn completion<T>(
    outcome: &Outcome<T>,
    done: serde_json::Value,
    asked: serde_json::Value,
) -> Completion {
    let (kind, v, error) = match outcome {
        Outcome::Done(_) => (EventType::Ok, done, None),
        Outcome::Denied { nodes, error } => {
            let v = if asked.is_null() {
                json!({ "nodes": nodes })
            } else {
                asked
            };
            (EventType::Fail, v, Some(error.clone()))
        }
        Outcome::Unknown { error } => (EventType::Info, asked, Some(error.clone())),
    };
    Completion {
        kind,
        value: value(v),
        node: None,
        error,
    }
}

impl Client for Holder {
    type Op = LockOp;

    fn next(&mut self, process: u64, until: Instant) -> Step<LockOp> {
        let renews = self.client.renews();
        let now = Instant::now();
        match &mut self.phase {
            Phase::Idle if now >= until => Step::Done,
            Phase::Idle => {
                self.holdings += 1;
                Step::Invoke(LockOp::Acquire {
                    id: format!("p{process}-{}", self.holdings),
                })
            }
            Phase::Refused => {
                // Somebody else holds it: try again shortly.
                self.phase = Phase::Idle;
                Step::Sleep(Duration::from_millis(5 + self.rng.random_range(0..20)))
            }
            Phase::Releasing { id } => Step::Invoke(LockOp::Release { id: id.clone() }),
            Phase::Holding(h) => match h.turn {
                Turn::Check if h.written >= self.writes_per_hold => {
                    let id = std::mem::take(&mut h.id);
                    self.phase = Phase::Releasing { id };
                    self.next(process, until)
                }
                Turn::Check if renews && now >= h.renew_at => {
                    Step::Invoke(LockOp::Renew { id: h.id.clone() })
                }
                // The client's own check: does it still hold the lock?
                Turn::Check if now >= h.valid_until => {
                    let id = std::mem::take(&mut h.id);
                    self.phase = Phase::Releasing { id };
                    self.next(process, until)
                }
                Turn::Check => {
                    // Stop the world, if asked, right after the check.
                    h.turn = Turn::Write;
                    Step::MayPause
                }
                Turn::Write => Step::Invoke(LockOp::Write {
                    token: h.token,
                    seq: h.written + 1,
                }),
                Turn::Gap => {
                    h.turn = Turn::Check;
                    Step::Sleep(self.gap)
                }
            },
        }
    }

    fn invocation(&self, op: &LockOp) -> worker::Invocation {
        let (f, v) = match op {
            LockOp::Acquire { .. } => ("acquire", json!(null)),
            LockOp::Renew { id } => ("renew", json!({ "lock": id })),
            LockOp::Write { token, seq } => ("write", json!({ "token": token, "seq": seq })),
            LockOp::Release { id } => ("release", json!({ "lock": id })),
        };
        worker::Invocation {
            f,
            key: None,
            value: value(v),
        }
    }

    async fn pause(&mut self, length: Duration) {
        self.client.pause(length).await
    }

    async fn invoke(&mut self, _process: u64, op: LockOp) -> Completion {
        match op {
            LockOp::Acquire { id } => {
                let outcome = self.client.acquire(&id).await;
                let at = Instant::now();
                let done = match &outcome {
                    Outcome::Done(Held {
                        token,
                        validity,
                        nodes,
                    }) => {
                        self.phase = Phase::Holding(Holding {
                            id: id.clone(),
                            token: *token,
                            valid_until: at + *validity,
                            renew_at: at + self.client.ttl() / 3,
                            written: 0,
                            turn: Turn::Check,
                        });
                        json!({
                            "lock": id, "token": token, "validity_ms": millis(*validity), "nodes": nodes,
                        })
                    }
                    Outcome::Denied { .. } => {
                        self.phase = Phase::Refused;
                        json!(null)
                    }
                    // It may hold the lock or not: the process is crashed; a fresh one goes
                    // on (and the lease, if any, expires by itself).
                    Outcome::Unknown { .. } => {
                        self.phase = Phase::Idle;
                        json!(null)
                    }
                };
                completion(&outcome, done, json!(null))
            }
            LockOp::Renew { id } => {
                let renewed = self.client.renew(&id).await;
                let at = Instant::now();
                let ttl = self.client.ttl();
                let done = match (&renewed, &mut self.phase) {
                    (Outcome::Done(v), Phase::Holding(h)) => {
                        h.valid_until = at + *v;
                        h.renew_at = at + ttl / 3;
                        json!({ "lock": id, "validity_ms": millis(*v) })
                    }
                    // The lock is lost (or may be): stop writing.
                    _ => {
                        self.phase = Phase::Releasing { id: id.clone() };
                        json!(null)
                    }
                };
                completion(&renewed, done, json!({ "lock": id }))
            }
            LockOp::Write { token, seq } => {
                if let Phase::Holding(h) = &mut self.phase {
                    h.written = seq;
                    h.turn = Turn::Gap;
                }
                let asked = json!({ "token": token, "seq": seq });
                match self.resource.write(token) {
                    Write::Accepted { order } => Completion {
                        kind: EventType::Ok,
                        value: value(json!({ "token": token, "seq": seq, "order": order })),
                        node: None,
                        error: None,
                    },
                    Write::Stale => Completion {
                        kind: EventType::Fail,
                        value: value(asked),
                        node: None,
                        error: Some("stale token".into()),
                    },
                }
            }
            LockOp::Release { id } => {
                let released = self.client.release(&id).await;
                self.phase = Phase::Idle;
                let nodes = match &released {
                    Outcome::Done(nodes) => nodes.clone(),
                    _ => Vec::new(),
                };
                completion(
                    &released,
                    json!({ "lock": id, "nodes": nodes }),
                    json!({ "lock": id }),
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_refuse_empty_holds_and_a_lock_on_the_wrong_protocol() {
        let zk = |hold_ms| LockSettings {
            lock_algorithm: "zookeeper".into(),
            hold_ms,
            ..LockSettings::default()
        };
        assert!(zk(None).check(Protocol::Zookeeper).is_ok());
        assert!(zk(Some(2000)).check(Protocol::Zookeeper).is_ok());
        let e = zk(Some(0)).check(Protocol::Zookeeper).unwrap_err();
        assert!(e.contains("hold-ms"), "{e}");
        assert!(zk(None).check(Protocol::Resp).is_err());
    }
}
