//! The lock workload's clients (docs/workloads/lock.md): each loops acquire → hold (writes to
//! the protected resource) → release, every step recorded.
//!
//! While holding, before each write, a client checks that it still believes it holds the lock
//! (its validity has not run out), then writes. A client pause — the nemesis's stand-in for a
//! garbage-collection pause — strikes exactly between the two, which is where it hurts: the
//! client wakes up and writes on the strength of a check made before it slept. Watchdog
//! renewals are made by the client itself between writes, so a pause stops them too, as a
//! stop-the-world pause would.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::time::Duration;

use checkers::Value;
use checkers::history::{EventType, Name, Process};
use checkers::synth::Rng;
use serde_json::json;
use tokio::time::Instant;
use workloads::lock::client::{Algorithm, Held, LockClient, Outcome};
use workloads::lock::resource::{Resource, Write};

use super::recorder::{Record, Recorder};
use super::workers::Tally;

/// Pauses the nemesis has asked for, taken by the next client that is about to write.
#[derive(Debug, Default)]
pub struct ClientPauses {
    pending: Mutex<Vec<u64>>,
    holders: Mutex<BTreeSet<u64>>,
}

impl ClientPauses {
    /// Asks the next holder about to write to pause for `ms`.
    pub fn request(&self, ms: u64) {
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(ms);
    }

    fn take(&self) -> Option<u64> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).pop()
    }

    fn holding(&self, process: u64, yes: bool) {
        let mut h = self.holders.lock().unwrap_or_else(|e| e.into_inner());
        if yes {
            h.insert(process);
        } else {
            h.remove(&process);
        }
    }
}

/// What the lock clients share.
pub struct LockShared {
    pub recorder: Recorder,
    pub resource: Resource,
    pub tally: std::sync::Arc<Tally>,
    pub pauses: std::sync::Arc<ClientPauses>,
    /// Writes each holder makes.
    pub writes_per_hold: u32,
}

fn value(v: serde_json::Value) -> Value {
    serde_json::from_value(v).unwrap_or_default()
}

fn nemesis() -> Process {
    Process::Named(Name::from("nemesis"))
}

impl LockShared {
    fn record(
        &self,
        process: Process,
        kind: EventType,
        f: &'static str,
        v: serde_json::Value,
        error: Option<String>,
    ) {
        self.recorder.record(Record {
            process,
            kind,
            f,
            key: None,
            value: value(v),
            node: None,
            error,
        });
    }

    fn count(&self, kind: EventType) {
        let c = match kind {
            EventType::Ok => &self.tally.ok,
            EventType::Fail => &self.tally.fail,
            _ => &self.tally.info,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// Records the end of an operation of `process`.
    fn complete<T>(
        &self,
        process: u64,
        f: &'static str,
        outcome: &Outcome<T>,
        ok: serde_json::Value,
        asked: serde_json::Value,
    ) -> EventType {
        let (kind, v, error) = match outcome {
            Outcome::Done(_) => (EventType::Ok, ok, None),
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
        self.record(Process::Client(process), kind, f, v, error);
        self.count(kind);
        kind
    }
}

/// One lock client.
pub struct LockWorker {
    pub index: usize,
    pub concurrency: usize,
    pub client: LockClient,
    pub seed: u64,
}

impl LockWorker {
    /// Loops until `until`.
    pub async fn run(mut self, shared: std::sync::Arc<LockShared>, until: Instant) {
        let mut process = self.index as u64;
        let mut rng =
            Rng::new(self.seed ^ (self.index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut holding = 0u64;
        let config = self.client.config().clone();
        // A normal hold takes about half the lease.
        let gap = config.ttl / (2 * shared.writes_per_hold.max(1));
        while Instant::now() < until {
            holding += 1;
            let id = format!("p{process}-{holding}");
            shared.record(
                Process::Client(process),
                EventType::Invoke,
                "acquire",
                json!(null),
                None,
            );
            let outcome = self.client.acquire(&id).await;
            let acquired_at = Instant::now();
            let ok = match &outcome {
                Outcome::Done(Held {
                    token,
                    validity,
                    nodes,
                }) => json!({
                    "lock": id, "token": token, "validity_ms": millis(*validity), "nodes": nodes,
                }),
                _ => json!(null),
            };
            match shared.complete(process, "acquire", &outcome, ok, json!(null)) {
                EventType::Ok => {}
                EventType::Fail => {
                    // Somebody else holds it: try again shortly.
                    tokio::time::sleep(Duration::from_millis(5 + rng.below(20))).await;
                    continue;
                }
                _ => {
                    // It may hold the lock or not: the process is crashed; a fresh one goes on
                    // (and the lease, if any, expires by itself).
                    process += self.concurrency as u64;
                    continue;
                }
            }
            let Outcome::Done(held) = outcome else {
                continue;
            };
            shared.pauses.holding(process, true);
            self.hold(&shared, process, &id, &held, acquired_at, gap)
                .await;
            shared.pauses.holding(process, false);
            shared.record(
                Process::Client(process),
                EventType::Invoke,
                "release",
                json!({ "lock": id }),
                None,
            );
            let released = self.client.release(&id).await;
            let nodes = match &released {
                Outcome::Done(nodes) => nodes.clone(),
                _ => Vec::new(),
            };
            let kind = shared.complete(
                process,
                "release",
                &released,
                json!({ "lock": id, "nodes": nodes }),
                json!({ "lock": id }),
            );
            if kind == EventType::Info {
                process += self.concurrency as u64;
            }
        }
    }

    /// Writes while the client believes it holds the lock; renews it if it is a watchdog.
    async fn hold(
        &mut self,
        shared: &LockShared,
        process: u64,
        id: &str,
        held: &Held,
        since: Instant,
        gap: Duration,
    ) {
        let watchdog = self.client.config().algorithm == Algorithm::Watchdog;
        let ttl = self.client.config().ttl;
        let mut valid_until = since + held.validity;
        let mut renew_at = since + ttl / 3;
        for seq in 1..=shared.writes_per_hold {
            if watchdog && Instant::now() >= renew_at {
                shared.record(
                    Process::Client(process),
                    EventType::Invoke,
                    "renew",
                    json!({ "lock": id }),
                    None,
                );
                let renewed = self.client.renew(id).await;
                let at = Instant::now();
                let ok = match &renewed {
                    Outcome::Done(v) => json!({ "lock": id, "validity_ms": millis(*v) }),
                    _ => json!(null),
                };
                match shared.complete(process, "renew", &renewed, ok, json!({ "lock": id })) {
                    EventType::Ok => {
                        if let Outcome::Done(v) = renewed {
                            valid_until = at + v;
                        }
                        renew_at = at + ttl / 3;
                    }
                    // The lock is lost (or may be): stop writing.
                    _ => return,
                }
            }
            // The client's own check: does it still hold the lock?
            if Instant::now() >= valid_until {
                return;
            }
            if let Some(ms) = shared.pauses.take() {
                // Stop the world, right after the check.
                let v = json!({ "process": process, "ms": ms });
                shared.record(
                    nemesis(),
                    EventType::Invoke,
                    "pause-client",
                    v.clone(),
                    None,
                );
                shared.record(nemesis(), EventType::Info, "pause-client", v.clone(), None);
                tokio::time::sleep(Duration::from_millis(ms)).await;
                shared.record(
                    nemesis(),
                    EventType::Invoke,
                    "resume-client",
                    v.clone(),
                    None,
                );
                shared.record(nemesis(), EventType::Info, "resume-client", v, None);
            }
            let asked = json!({ "token": held.token, "seq": seq });
            shared.record(
                Process::Client(process),
                EventType::Invoke,
                "write",
                asked.clone(),
                None,
            );
            match shared.resource.write(held.token) {
                Write::Accepted { order } => {
                    shared.record(
                        Process::Client(process),
                        EventType::Ok,
                        "write",
                        json!({ "token": held.token, "seq": seq, "order": order }),
                        None,
                    );
                    shared.count(EventType::Ok);
                }
                Write::Stale => {
                    shared.record(
                        Process::Client(process),
                        EventType::Fail,
                        "write",
                        asked,
                        Some("stale token".into()),
                    );
                    shared.count(EventType::Fail);
                }
            }
            tokio::time::sleep(gap).await;
        }
    }
}

/// `d` in milliseconds, to the microsecond (so the history reads 987.813, not 987.8127519…).
fn millis(d: Duration) -> f64 {
    d.as_micros() as f64 / 1e3
}
