//! The nemesis at work: applies the schedule's actions to the cluster at their times, and
//! records each in the history as the nemesis process (an invocation, then an `info`
//! completion, as Jepsen does), so that reports can shade the faults.

use std::sync::atomic::Ordering;

use checkers::Value;
use checkers::history::{EventType, Name, Process};
use checkers::synth::Rng;
use nemesis::{Action, Scheduled};
use tokio::time::Instant;

use super::cluster::Cluster;
use super::recorder::{Record, Recorder};
use super::store::RunDir;
use super::workers::Tally;

fn nemesis() -> Process {
    Process::Named(Name::from("nemesis"))
}

/// Applies one action and records it.
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

/// A partition drawn around the leader is placed now, around the leader of the moment.
async fn place(cluster: &Cluster, action: &Action, seed: u64) -> Action {
    match action {
        Action::StartPartition { shape, .. } if shape.needs_leader() => {
            let leader = cluster.leader().await;
            let mut rng = Rng::new(seed);
            Action::StartPartition {
                shape: *shape,
                grudge: shape.grudge(&cluster.nodes, leader.as_deref(), &mut rng),
            }
        }
        other => other.clone(),
    }
}

/// Runs the schedule (times relative to `start`) until `until`; `seed` draws the leader-shaped
/// partitions.
#[allow(clippy::too_many_arguments)]
pub async fn run_schedule(
    cluster: &Cluster,
    recorder: &Recorder,
    dir: &RunDir,
    tally: &Tally,
    schedule: &[Scheduled],
    seed: u64,
    start: Instant,
    until: Instant,
) {
    for s in schedule {
        let at = start + s.at;
        if at >= until {
            break;
        }
        tokio::time::sleep_until(at).await;
        let action = place(cluster, &s.action, seed ^ s.at.as_nanos() as u64).await;
        inject(cluster, recorder, dir, &action);
        if !matches!(
            s.action,
            Action::StopPartition | Action::Start { .. } | Action::Resume { .. }
        ) {
            tally.faults.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Undoes every fault still in place.
pub fn heal(cluster: &Cluster, recorder: &Recorder, dir: &RunDir) {
    for action in cluster.healing() {
        inject(cluster, recorder, dir, &action);
    }
}
