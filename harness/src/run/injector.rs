//! The nemesis at work: applies the schedule's actions at their times, and records each in the
//! history as the nemesis process (an invocation, then an `info` completion, as Jepsen does), so
//! that reports can shade the faults.
//!
//! Actions on nodes, links and clocks become the cluster's primitive operations (a kill is a
//! SIGKILL to the node's process group, a partition the fabric's cut links or the hosts'
//! firewall rules, …); healing asks the cluster what
//! is still hurt and undoes it the same way. A client pause goes to the workload's clients, the
//! next of which to reach a pause point takes it (and records it, when it happens).

use std::sync::atomic::Ordering;

use checkers::Value;
use checkers::history::EventType;
use nemesis::{Action, Scheduled};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tokio::time::Instant;

use workloads::client_pauses::ClientPauses;
use workloads::history::{Record, Tally, nemesis};

use super::cluster::Cluster;
use super::recorder::Recorder;
use super::store::RunDir;

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
    let trouble = apply(cluster, action);
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
    for action in healing(cluster) {
        inject(cluster, recorder, dir, &action);
    }
}

/// Applies one action to the cluster; returns a note on anything that did not go as planned.
fn apply(cluster: &Cluster, action: &Action) -> Option<String> {
    let processes = cluster.processes.as_ref();
    let each = |nodes: &[String], f: &dyn Fn(&str) -> bool, verb: &str| {
        let missed: Vec<&str> = nodes.iter().map(String::as_str).filter(|n| !f(n)).collect();
        (!missed.is_empty()).then(|| format!("could not {verb} {}", missed.join(", ")))
    };
    match action {
        Action::StartPartition { grudge, .. } => cluster.partition(grudge).err(),
        Action::StopPartition => cluster.heal().err(),
        Action::Kill { nodes } => each(nodes, &|n| processes.kill(n), "kill"),
        Action::Start { nodes } => each(
            nodes,
            &|n| processes.is_running(n) || processes.restart(n).is_ok(),
            "restart",
        ),
        Action::Pause { nodes } => each(nodes, &|n| processes.pause(n), "pause"),
        Action::Resume { nodes } => each(nodes, &|n| processes.resume(n), "resume"),
        Action::Restart { nodes } => each(
            nodes,
            &|n| {
                processes.kill(n);
                processes.restart(n).is_ok()
            },
            "restart",
        ),
        Action::ClockBump { offsets_ms } => {
            let missed: Vec<&str> = offsets_ms
                .iter()
                .filter(|(n, ms)| !cluster.clocks.set(n, **ms))
                .map(|(n, _)| n.as_str())
                .collect();
            (!missed.is_empty())
                .then(|| format!("could not move the clock of {}", missed.join(", ")))
        }
        Action::ClockStrobe {
            nodes,
            ms,
            period_ms,
        } => {
            cluster.clocks.start_strobe(nodes, *ms, *period_ms);
            None
        }
        Action::ClockReset { nodes } => {
            cluster.clocks.stop_strobe();
            each(nodes, &|n| cluster.clocks.set(n, 0), "reset the clock of")
        }
        // Clients are the workload's: `Nemesis::run` hands this one to them.
        Action::PauseClient { .. } => Some("no client to pause".into()),
    }
}

/// The actions that undo every fault now in place: heal the network, resume paused nodes,
/// restart killed ones, reset skewed clocks.
fn healing(cluster: &Cluster) -> Vec<Action> {
    let mut out = Vec::new();
    if cluster.is_partitioned() {
        out.push(Action::StopPartition);
    }
    let nodes_that = |f: &dyn Fn(&str) -> bool| -> Vec<String> {
        cluster.nodes.iter().filter(|n| f(n)).cloned().collect()
    };
    let paused = nodes_that(&|n| cluster.processes.is_paused(n));
    if !paused.is_empty() {
        out.push(Action::Resume { nodes: paused });
    }
    let dead = nodes_that(&|n| !cluster.processes.is_running(n));
    if !dead.is_empty() {
        out.push(Action::Start { nodes: dead });
    }
    let skewed = cluster.clocks.skewed();
    if !skewed.is_empty() {
        out.push(Action::ClockReset { nodes: skewed });
    }
    out
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
