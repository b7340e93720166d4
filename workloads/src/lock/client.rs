//! The lock algorithms (docs/workloads/lock.md): single instance, Redisson-style watchdog
//! renewal, and Redlock over independent instances — each an async client over RESP, so the
//! same code drives the bundled server and real Redis.
//!
//! Every call reports an outcome the history can record honestly: `Held`/`Done` (it happened),
//! `Denied` (it definitely did not: the lock was taken, or every instance that could have
//! granted it was released again), `Unknown` (a reply that never came).

use std::time::Duration;

use resp::Frame;
use targets::descriptor::Protocol;
use tokio::time::Instant;

use super::resp::{Conn, Failure};

/// Which algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// `SET NX PX` on one instance; fencing token from `INCR` on the same instance.
    Single,
    /// As `Single`, renewing the lease while held, as Redisson's watchdog does.
    Watchdog,
    /// Redlock over every instance; no fencing token.
    Redlock,
    /// ZooKeeper's recipe: ephemeral sequential znodes; the fencing token is the znode's
    /// czxid ([`super::zookeeper`]).
    Zookeeper,
    /// etcd's lock service on a lease kept alive while held; the fencing token is the lock
    /// key's create revision ([`super::etcd`]).
    Etcd,
}

impl Algorithm {
    pub fn parse(name: &str) -> Option<Algorithm> {
        Some(match name {
            "single" => Algorithm::Single,
            "watchdog" => Algorithm::Watchdog,
            "redlock" => Algorithm::Redlock,
            "zookeeper" => Algorithm::Zookeeper,
            "etcd" => Algorithm::Etcd,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Single => "single",
            Algorithm::Watchdog => "watchdog",
            Algorithm::Redlock => "redlock",
            Algorithm::Zookeeper => "zookeeper",
            Algorithm::Etcd => "etcd",
        }
    }

    /// The protocol the algorithm speaks.
    pub fn protocol(self) -> Protocol {
        match self {
            Algorithm::Zookeeper => Protocol::Zookeeper,
            Algorithm::Etcd => Protocol::Etcd,
            _ => Protocol::Resp,
        }
    }
}

/// How a client locks.
#[derive(Clone, Debug)]
pub struct Config {
    pub algorithm: Algorithm,
    /// The lease the instances are asked for.
    pub ttl: Duration,
    /// Take a fencing token with the lock (`single` and `watchdog` only).
    pub fencing: bool,
    /// How long to wait for one instance.
    pub instance_timeout: Duration,
}

/// The key of the lock and of the fencing counter.
pub const LOCK_KEY: &[u8] = b"faultline:lock";
pub const FENCE_KEY: &[u8] = b"faultline:fence";

/// The error of an acquire the lock's holder, someone else, kept from us: the system's answer.
pub const HELD: &str = "held by another";

/// Sets the lock if it is free and, only then, takes the next fencing token — atomically, so a
/// holder paused between the two cannot end up with a newer token than the holder after it.
const ACQUIRE_FENCED: &str = "if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then \
     return redis.call('incr', KEYS[2]) else return false end";
/// Deletes the lock only if it is still ours.
const RELEASE: &str = "if redis.call('get', KEYS[1]) == ARGV[1] then \
     return redis.call('del', KEYS[1]) else return 0 end";
/// Extends the lease only if the lock is still ours.
const RENEW: &str = "if redis.call('get', KEYS[1]) == ARGV[1] then \
     return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";

/// The lock, held.
#[derive(Clone, Debug, PartialEq)]
pub struct Held {
    pub token: Option<i64>,
    /// How long the client may believe it holds the lock, from the moment the call returned.
    pub validity: Duration,
    /// The instances that granted it.
    pub nodes: Vec<String>,
}

/// How a call ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome<T> {
    Done(T),
    /// Definitely not done.
    Denied {
        nodes: Vec<String>,
        error: String,
    },
    /// May or may not have been done.
    Unknown {
        error: String,
    },
}

/// A client of one or more instances.
#[derive(Debug)]
pub struct LockClient {
    config: Config,
    /// (node name, connection), in the order Redlock tries them.
    instances: Vec<(String, Conn)>,
}

/// Redis's clock drift allowance for Redlock: 1% of the TTL plus 2 ms.
fn drift(ttl: Duration) -> Duration {
    ttl / 100 + Duration::from_millis(2)
}

impl LockClient {
    /// A client of `instances` (name, address), connecting from `from` if given; `single`
    /// and `watchdog` use the first.
    pub fn new(
        config: Config,
        instances: Vec<(String, std::net::SocketAddr)>,
        from: Option<std::net::IpAddr>,
    ) -> LockClient {
        LockClient {
            config,
            instances: instances
                .into_iter()
                .map(|(name, addr)| (name, Conn::new(addr).from(from)))
                .collect(),
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    fn ttl_ms(&self) -> Vec<u8> {
        self.config.ttl.as_millis().to_string().into_bytes()
    }

    /// Acquires the lock as `id` (a value unique to this holding).
    pub async fn acquire(&mut self, id: &str) -> Outcome<Held> {
        match self.config.algorithm {
            Algorithm::Redlock => self.acquire_redlock(id).await,
            _ => self.acquire_one(id).await,
        }
    }

    async fn acquire_one(&mut self, id: &str) -> Outcome<Held> {
        let (ttl, timeout, fencing) = (
            self.ttl_ms(),
            self.config.instance_timeout,
            self.config.fencing,
        );
        let started = Instant::now();
        let (name, conn) = &mut self.instances[0];
        let reply = if fencing {
            conn.command(
                &[
                    b"EVAL",
                    ACQUIRE_FENCED.as_bytes(),
                    b"2",
                    LOCK_KEY,
                    FENCE_KEY,
                    id.as_bytes(),
                    &ttl,
                ],
                timeout,
            )
            .await
        } else {
            conn.command(
                &[b"SET", LOCK_KEY, id.as_bytes(), b"NX", b"PX", &ttl],
                timeout,
            )
            .await
        };
        let token = match reply {
            Ok(Frame::Integer(t)) if fencing => Some(t),
            Ok(Frame::Simple(ok)) if !fencing && ok == "OK" => None,
            Ok(Frame::Null) => {
                return Outcome::Denied {
                    nodes: Vec::new(),
                    error: HELD.into(),
                };
            }
            Ok(Frame::Error(e)) => {
                return Outcome::Denied {
                    nodes: Vec::new(),
                    error: e,
                };
            }
            Ok(other) => {
                return Outcome::Unknown {
                    error: format!("unexpected reply {other:?}"),
                };
            }
            Err(Failure::Refused) => {
                return Outcome::Denied {
                    nodes: Vec::new(),
                    error: "connection refused".into(),
                };
            }
            Err(Failure::Unknown(error)) => return Outcome::Unknown { error },
        };
        let validity = self
            .config
            .ttl
            .saturating_sub(started.elapsed() + drift(self.config.ttl));
        Outcome::Done(Held {
            token,
            validity,
            nodes: vec![name.clone()],
        })
    }

    async fn acquire_redlock(&mut self, id: &str) -> Outcome<Held> {
        let (ttl, timeout) = (self.ttl_ms(), self.config.instance_timeout);
        let started = Instant::now();
        let mut granted = Vec::new();
        let mut held = false;
        for (name, conn) in &mut self.instances {
            let reply = conn
                .command(
                    &[b"SET", LOCK_KEY, id.as_bytes(), b"NX", b"PX", &ttl],
                    timeout,
                )
                .await;
            match reply {
                Ok(Frame::Simple(ref ok)) if ok == "OK" => granted.push(name.clone()),
                Ok(Frame::Null) => held = true,
                _ => {}
            }
        }
        let quorum = self.instances.len() / 2 + 1;
        let elapsed = started.elapsed();
        let validity = self
            .config
            .ttl
            .checked_sub(elapsed + drift(self.config.ttl));
        match validity {
            Some(validity) if granted.len() >= quorum && !validity.is_zero() => {
                Outcome::Done(Held {
                    token: None,
                    validity,
                    nodes: granted,
                })
            }
            _ => {
                // Not enough, or too late: give back whatever was granted (and try the
                // instances that did not answer, in case they granted it after all).
                self.release_all(id).await;
                Outcome::Denied {
                    // An instance that says the key is set answers that someone holds the
                    // lock; without one, too few instances answered at all.
                    error: if granted.len() < quorum && held {
                        HELD.into()
                    } else if granted.len() < quorum {
                        format!(
                            "{} of {} instances granted it",
                            granted.len(),
                            self.instances.len()
                        )
                    } else {
                        "granted too late to be valid".into()
                    },
                    nodes: granted,
                }
            }
        }
    }

    /// Extends the lease (watchdog).
    pub async fn renew(&mut self, id: &str) -> Outcome<Duration> {
        let (ttl, timeout) = (self.ttl_ms(), self.config.instance_timeout);
        let started = Instant::now();
        let (_, conn) = &mut self.instances[0];
        let reply = conn
            .command(
                &[
                    b"EVAL",
                    RENEW.as_bytes(),
                    b"1",
                    LOCK_KEY,
                    id.as_bytes(),
                    &ttl,
                ],
                timeout,
            )
            .await;
        match reply {
            Ok(Frame::Integer(1)) => Outcome::Done(
                self.config
                    .ttl
                    .saturating_sub(started.elapsed() + drift(self.config.ttl)),
            ),
            Ok(Frame::Integer(_)) => Outcome::Denied {
                nodes: Vec::new(),
                error: "the lock was lost".into(),
            },
            Ok(other) => Outcome::Unknown {
                error: format!("unexpected reply {other:?}"),
            },
            Err(Failure::Refused) => Outcome::Denied {
                nodes: Vec::new(),
                error: "connection refused".into(),
            },
            Err(Failure::Unknown(error)) => Outcome::Unknown { error },
        }
    }

    /// Releases the lock on every instance it may hold; the nodes that answered.
    pub async fn release(&mut self, id: &str) -> Outcome<Vec<String>> {
        let answered = self.release_all(id).await;
        if answered.is_empty() {
            Outcome::Unknown {
                error: "no instance answered".into(),
            }
        } else {
            Outcome::Done(answered)
        }
    }

    async fn release_all(&mut self, id: &str) -> Vec<String> {
        let timeout = self.config.instance_timeout;
        let count = match self.config.algorithm {
            Algorithm::Redlock => self.instances.len(),
            _ => 1,
        };
        let mut answered = Vec::new();
        for (name, conn) in self.instances.iter_mut().take(count) {
            let reply = conn
                .command(
                    &[b"EVAL", RELEASE.as_bytes(), b"1", LOCK_KEY, id.as_bytes()],
                    timeout,
                )
                .await;
            if matches!(reply, Ok(Frame::Integer(_))) {
                answered.push(name.clone());
            }
        }
        answered
    }
}
