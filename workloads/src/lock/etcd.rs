//! The lock workload's client for etcd: etcd's own lock service (`v3lock`, the
//! `concurrency.Mutex` behind `etcdctl lock`) over the v3 JSON gateway, on a lease.
//!
//! * **Acquire**: grant a lease of the lock's TTL (`lease/grant`; etcd rounds it up to whole
//!   seconds and to its minimum, and says what it granted), then `lock/lock` on the lock's name
//!   with that lease: etcd puts a key `faultline-lock/<lease>` and answers once every key of the
//!   lock created before ours is gone — the holder is the oldest key. While it waits, the lease
//!   is kept alive. The fencing token is our key's `create_revision` (read back with a range):
//!   etcd's revision grows with every write, and a later holder's key is created after ours.
//! * **Belief**: the lease is the lock. The leader expires a lease its TTL after the last
//!   keepalive it answered (and deletes our key with it), so a holder may believe it holds the
//!   lock until `TTL − round trip − drift` after each keepalive it sent. The **watchdog** is the
//!   holder's own loop: while it holds, every third of the TTL it sends `lease/keepalive`; a
//!   client pause — a stop-the-world pause between the check and the write — stops it, as it
//!   stops a Go client's keepalive goroutine, and the lease runs out under the paused holder.
//! * **Release**: revoke the lease, which deletes our key (a lease already gone counts as
//!   released).
//!
//! Each client talks to one member, its home node, which forwards lease and lock requests to
//! the leader. Outcomes follow the history's rules: a call refused before anything was sent is
//! `fail`; one that may have been applied is `info`.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use super::client::{Held, Outcome};
use crate::etcd::{Etcd, Failure, b64, number};
use crate::workload::Node;

/// The lock's name: its keys are `faultline-lock/<lease id in hex>`.
pub const LOCK_NAME: &str = "faultline-lock";

/// How long an acquire waits in line before it gives up (and revokes its lease).
const MAX_WAIT: Duration = Duration::from_secs(5);

/// Redis's clock drift allowance, applied to the lease: 1% plus 2 ms.
fn drift(ttl: Duration) -> Duration {
    ttl / 100 + Duration::from_millis(2)
}

/// The lease we hold the lock on (or wait in line with).
struct Mine {
    /// The lease's ID, as etcd wrote it (a decimal string).
    lease: Value,
}

/// One lock client, at its home member.
pub struct EtcdLock {
    node: String,
    /// Calls bounded by the operation timeout.
    etcd: Etcd,
    /// `lock/lock`, which waits in line: bounded by [`MAX_WAIT`].
    waiting: Etcd,
    /// The lease asked for.
    ttl: Duration,
    mine: Option<Mine>,
}

fn denied(error: impl Into<String>) -> Outcome<Held> {
    Outcome::Denied {
        nodes: Vec::new(),
        error: error.into(),
    }
}

/// A failed call's outcome: denied if it certainly did nothing.
fn failed<T>(failure: Failure) -> Outcome<T> {
    if failure.definite {
        Outcome::Denied {
            nodes: Vec::new(),
            error: failure.error,
        }
    } else {
        Outcome::Unknown {
            error: failure.error,
        }
    }
}

/// A lease's TTL as an answer gives it (`TTL`, whole seconds as a string; absent or 0: the
/// lease is gone).
fn ttl_of(answer: &Value) -> Duration {
    Duration::from_secs(number(&answer["TTL"]).max(0) as u64)
}

impl EtcdLock {
    /// A client of `home`, asking for leases of `ttl`, its calls waiting at most
    /// `op_timeout` each (an acquire waits in line longer).
    pub fn new(home: Node, ttl: Duration, op_timeout: Duration) -> EtcdLock {
        EtcdLock {
            etcd: Etcd::new(home.addr, op_timeout),
            waiting: Etcd::new(home.addr, MAX_WAIT),
            node: home.name,
            ttl,
            mine: None,
        }
    }

    /// What a holder may believe after a keepalive (or grant) sent at `sent` and answered
    /// with `ttl` left.
    fn validity(&self, ttl: Duration, sent: Instant) -> Duration {
        ttl.saturating_sub(sent.elapsed() + drift(ttl))
    }

    /// `lease/keepalive`: the TTL the lease has again (zero: it is gone).
    async fn keepalive(&self, lease: &Value) -> Result<Duration, Failure> {
        let answer = self
            .etcd
            .call("lease/keepalive", &json!({ "ID": lease }))
            .await?;
        Ok(ttl_of(&answer["result"]))
    }

    /// Revokes the lease (deleting our key, if any): whether it is certainly gone.
    async fn revoke(&mut self, lease: &Value) -> bool {
        self.mine = None;
        match self
            .etcd
            .call("lease/revoke", &json!({ "ID": lease }))
            .await
        {
            Ok(_) => true,
            Err(f) => f.error.contains("lease not found"),
        }
    }

    pub async fn acquire(&mut self) -> Outcome<Held> {
        let seconds = self.ttl.as_millis().div_ceil(1000).max(1) as u64;
        let mut kept = Instant::now();
        let granted = match self
            .etcd
            .call("lease/grant", &json!({ "TTL": seconds }))
            .await
        {
            Ok(answer) => answer,
            Err(failure) => return failed(failure),
        };
        let lease = granted["ID"].clone();
        let mut ttl = ttl_of(&granted);
        if lease.is_null() || ttl.is_zero() {
            return Outcome::Unknown {
                error: format!("lease/grant answered {granted}"),
            };
        }
        self.mine = Some(Mine {
            lease: lease.clone(),
        });
        // Wait in line, keeping the lease alive meanwhile.
        let request = json!({ "name": b64(LOCK_NAME), "lease": lease });
        let locked = {
            let lock = self.waiting.call("lock/lock", &request);
            tokio::pin!(lock);
            loop {
                tokio::select! {
                    answer = &mut lock => break answer,
                    () = tokio::time::sleep(self.ttl / 3) => {
                        let sent = Instant::now();
                        if let Ok(left) = self.keepalive(&lease).await && !left.is_zero() {
                            (kept, ttl) = (sent, left);
                        }
                    }
                }
            }
        };
        let key = match locked {
            Ok(answer) => answer["key"].clone(),
            Err(failure) => {
                // Leave the line: with the lease revoked our key is gone, whatever the lock
                // call did.
                let gone = self.revoke(&lease).await;
                return if gone || failure.definite {
                    denied(failure.error)
                } else {
                    failed(failure)
                };
            }
        };
        // The token: our key's create revision.
        let token = match self.etcd.call("kv/range", &json!({ "key": key })).await {
            Ok(answer) => match answer["kvs"].as_array().and_then(|kvs| kvs.first()) {
                Some(kv) => number(&kv["create_revision"]),
                None => {
                    self.mine = None;
                    return denied("the lease expired while waiting");
                }
            },
            Err(failure) => {
                // We may hold it, without a token: give it up.
                self.revoke(&lease).await;
                return Outcome::Unknown {
                    error: failure.error,
                };
            }
        };
        Outcome::Done(Held {
            token: Some(token),
            validity: self.validity(ttl, kept),
            nodes: vec![self.node.clone()],
        })
    }

    /// The watchdog's keepalive: the lease again for its TTL, or the lock is lost.
    pub async fn renew(&mut self) -> Outcome<Duration> {
        let Some(mine) = &self.mine else {
            return failed(Failure {
                error: "the lock was lost".into(),
                definite: true,
            });
        };
        let lease = mine.lease.clone();
        let sent = Instant::now();
        match self.keepalive(&lease).await {
            Ok(ttl) if !ttl.is_zero() => Outcome::Done(self.validity(ttl, sent)),
            Ok(_) => {
                self.mine = None;
                failed(Failure {
                    error: "the lease expired: the lock was lost".into(),
                    definite: true,
                })
            }
            Err(failure) => {
                // Whatever the lease does now, the holder stops believing in it.
                self.mine = None;
                Outcome::Unknown {
                    error: failure.error,
                }
            }
        }
    }

    pub async fn release(&mut self) -> Outcome<Vec<String>> {
        let Some(mine) = self.mine.take() else {
            // Nothing to revoke: the lease that held it is gone or given up.
            return Outcome::Done(Vec::new());
        };
        match self
            .etcd
            .call("lease/revoke", &json!({ "ID": mine.lease }))
            .await
        {
            Ok(_) => Outcome::Done(vec![self.node.clone()]),
            Err(f) if f.error.contains("lease not found") => Outcome::Done(Vec::new()),
            Err(failure) => failed(failure),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leases_ttl_is_read_from_its_answer_and_absent_means_gone() {
        assert_eq!(
            ttl_of(&json!({"ID": "7674030662411234055", "TTL": "2"})),
            Duration::from_secs(2)
        );
        assert_eq!(
            ttl_of(&json!({"ID": "7674030662411234055"})),
            Duration::ZERO
        );
        assert_eq!(drift(Duration::from_secs(1)), Duration::from_millis(12));
    }
}
