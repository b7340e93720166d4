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

/// Whether `action` starts a fault on the node called [`LEADER`].
fn strikes_leader(action: &Action) -> bool {
    match action {
        Action::Kill { nodes }
        | Action::Restart { nodes }
        | Action::Pause { nodes }
        | Action::ClockStrobe { nodes, .. } => nodes.iter().any(|n| n == LEADER),
        Action::ClockBump { offsets_ms } => offsets_ms.contains_key(LEADER),
        _ => false,
    }
}

/// `action` with the node called [`LEADER`] renamed `node`.
fn rename_leader(action: &Action, node: &str) -> Action {
    let rename = |nodes: &[String]| -> Vec<String> {
        nodes
            .iter()
            .map(|n| {
                if n == LEADER {
                    node.to_string()
                } else {
                    n.clone()
                }
            })
            .collect()
    };
    match action {
        Action::Kill { nodes } => Action::Kill {
            nodes: rename(nodes),
        },
        Action::Start { nodes } => Action::Start {
            nodes: rename(nodes),
        },
        Action::Restart { nodes } => Action::Restart {
            nodes: rename(nodes),
        },
        Action::Pause { nodes } => Action::Pause {
            nodes: rename(nodes),
        },
        Action::Resume { nodes } => Action::Resume {
            nodes: rename(nodes),
        },
        Action::ClockReset { nodes } => Action::ClockReset {
            nodes: rename(nodes),
        },
        Action::ClockStrobe {
            nodes,
            ms,
            period_ms,
        } => Action::ClockStrobe {
            nodes: rename(nodes),
            ms: *ms,
            period_ms: *period_ms,
        },
        Action::ClockBump { offsets_ms } => Action::ClockBump {
            offsets_ms: offsets_ms
                .iter()
                .map(|(n, ms)| (if n == LEADER { node } else { n }.to_string(), *ms))
                .collect(),
        },
        other => other.clone(),
    }
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

/// The name a scenario's `fault-nodes` gives the leader of the moment.
pub const LEADER: &str = "leader";

impl Nemesis<'_> {
    /// The action as it strikes now: a partition drawn around the leader is placed around the
    /// leader of the moment; a fault on the node named [`LEADER`] strikes the node leading now
    /// (any node, from the seed, when none is known), and the action that ends it ends it on
    /// that same node (`victim` remembers it).
    async fn place(&self, action: &Action, seed: u64, victim: &mut Option<String>) -> Action {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        match action {
            Action::StartPartition { shape, .. } if shape.needs_leader() => {
                let leader = self.cluster.leader().await;
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
            start if strikes_leader(start) => {
                let leader = self.leader_or_any(&mut rng).await;
                *victim = Some(leader.clone());
                rename_leader(action, &leader)
            }
            Action::Start { .. } | Action::Resume { .. } | Action::ClockReset { .. } => {
                match victim.as_deref() {
                    Some(v) => rename_leader(action, v),
                    None => action.clone(),
                }
            }
            other => other.clone(),
        }
    }

    /// The node leading now, or any node (drawn from `rng`) when none is known.
    async fn leader_or_any(&self, rng: &mut ChaCha8Rng) -> String {
        match self.cluster.leader().await {
            Some(leader) => leader,
            None => {
                let nodes = &self.cluster.nodes;
                nodes[rand::Rng::random_range(rng, ..nodes.len())].clone()
            }
        }
    }

    /// Runs the schedule (times relative to `start`) until `until`.
    pub async fn run(&self, schedule: &[Scheduled], start: Instant, until: Instant) {
        let mut victim = None;
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
                    let seed = self.seed ^ s.at.as_nanos() as u64;
                    let placed = self.place(action, seed, &mut victim).await;
                    inject(self.cluster, self.recorder, self.dir, &placed);
                }
            }
            if s.action.is_fault() {
                self.tally.faults.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_leader_is_renamed_in_every_action_on_nodes_and_only_there() {
        let nodes = || vec![LEADER.to_string(), "n1".to_string()];
        let renamed = vec!["n3".to_string(), "n1".to_string()];
        for (action, want) in [
            (
                Action::Pause { nodes: nodes() },
                Action::Pause {
                    nodes: renamed.clone(),
                },
            ),
            (
                Action::Resume { nodes: nodes() },
                Action::Resume {
                    nodes: renamed.clone(),
                },
            ),
            (
                Action::Kill { nodes: nodes() },
                Action::Kill {
                    nodes: renamed.clone(),
                },
            ),
            (
                Action::Start { nodes: nodes() },
                Action::Start {
                    nodes: renamed.clone(),
                },
            ),
            (
                Action::ClockBump {
                    offsets_ms: [(LEADER.to_string(), 5)].into(),
                },
                Action::ClockBump {
                    offsets_ms: [("n3".to_string(), 5)].into(),
                },
            ),
            (Action::StopPartition, Action::StopPartition),
        ] {
            assert_eq!(rename_leader(&action, "n3"), want);
        }
    }
}
