//! The nemesis at work: applies the schedule's actions at their times, and records each in the
//! history as the nemesis process (an invocation, then an `info` completion, as Jepsen does), so
//! that reports can shade the faults.
//!
//! Actions on nodes and links go to the cluster; a client pause goes to the lock workload's
//! clients, which take it at their next write (and record it themselves, when it happens).

use std::sync::atomic::Ordering;

use checkers::Value;
use checkers::history::{EventType, Name, Process};
use nemesis::{Action, Scheduled};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tokio::time::Instant;

use super::cluster::Cluster;
use super::lock_workers::ClientPauses;
use super::recorder::{Record, Recorder};
use super::store::RunDir;
use super::workers::Tally;

fn nemesis() -> Process {
    Process::Named(Name::from("nemesis"))
}

/// Applies one action to the cluster and records it.
pub fn inject(cluster: &Cluster, recorder: &Recorder, dir: &RunDir, action: &Action) {
    let value: Value = serde_json::from_value(action.value()).unwrap_or_default();
    recorder.record(Record {
        process: nemesis(),
        kind: EventType::Invoke,
        f: action.f(),
        key: None,
        value: value.clone(),
        node: None,
        error: None,
    });
    let trouble = cluster.apply(action);
    dir.log(&format!(
        "nemesis {} {}{}",
        action.f(),
        action.value(),
        trouble
            .as_deref()
            .map_or_else(String::new, |t| format!(" ({t})"))
    ));
    recorder.record(Record {
        process: nemesis(),
        kind: EventType::Info,
        f: action.f(),
        key: None,
        value,
        node: None,
        error: trouble,
    });
}

/// Undoes every fault still in place.
pub fn heal(cluster: &Cluster, recorder: &Recorder, dir: &RunDir) {
    for action in cluster.healing() {
        inject(cluster, recorder, dir, &action);
    }
}

/// What the nemesis acts on.
pub struct Nemesis<'a> {
    pub cluster: &'a Cluster,
    pub recorder: &'a Recorder,
    pub dir: &'a RunDir,
    pub tally: &'a Tally,
    pub pauses: &'a ClientPauses,
    /// The clients with links of their own (for partitions that cut clients off).
    pub clients: &'a [String],
    /// Draws the partitions placed around the leader.
    pub seed: u64,
}

impl Nemesis<'_> {
    /// A partition drawn around the leader is placed now, around the leader of the moment.
    async fn place(&self, action: &Action, seed: u64) -> Action {
        match action {
            Action::StartPartition { shape, .. } if shape.needs_leader() => {
                let leader = self.cluster.leader().await;
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                Action::StartPartition {
                    shape: *shape,
                    grudge: shape.grudge(
                        &self.cluster.nodes,
                        self.clients,
                        leader.as_deref(),
                        &mut rng,
                    ),
                }
            }
            other => other.clone(),
        }
    }

    /// Runs the schedule (times relative to `start`) until `until`.
    pub async fn run(&self, schedule: &[Scheduled], start: Instant, until: Instant) {
        for s in schedule {
            let at = start + s.at;
            if at >= until {
                break;
            }
            tokio::time::sleep_until(at).await;
            match &s.action {
                Action::PauseClient { ms } => {
                    self.pauses.request(*ms);
                    self.dir
                        .log(&format!("nemesis pause-client {ms} ms requested"));
                }
                action => {
                    let placed = self.place(action, self.seed ^ s.at.as_nanos() as u64).await;
                    inject(self.cluster, self.recorder, self.dir, &placed);
                }
            }
            if s.action.is_fault() {
                self.tally.faults.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}
