//! The nemesis schedule: a seeded, pure plan of which fault starts and stops when.
//!
//! Faults alternate with quiet periods: after one interval a random fault among those enabled
//! starts, one interval later it stops, one interval later the next starts, and so on until the
//! time limit. Targets are drawn from the seed: partitions take a shape from the plan's list,
//! kills and pauses hit a random minority of nodes. Shapes drawn around the leader
//! ([`Shape::needs_leader`]) can only be placed when they start, so the injector redraws them
//! then. The runner heals whatever is left at the end
//! regardless of the schedule. The same plan, nodes and seed always give the same schedule.

use std::time::Duration;

use checkers::synth::Rng;
use serde::Serialize;

use crate::grudge::{Grudge, Shape};

/// The kinds of fault a nemesis can inject.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    Partition,
    Kill,
    Pause,
}

impl FaultKind {
    pub const ALL: [FaultKind; 3] = [FaultKind::Partition, FaultKind::Kill, FaultKind::Pause];

    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Partition => "partition",
            FaultKind::Kill => "kill",
            FaultKind::Pause => "pause",
        }
    }

    pub fn parse(name: &str) -> Option<FaultKind> {
        FaultKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// One thing the nemesis does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "f", rename_all = "kebab-case")]
pub enum Action {
    StartPartition {
        shape: Shape,
        grudge: Grudge,
    },
    StopPartition,
    Kill {
        nodes: Vec<String>,
    },
    /// Restart killed nodes on their data.
    Start {
        nodes: Vec<String>,
    },
    Pause {
        nodes: Vec<String>,
    },
    Resume {
        nodes: Vec<String>,
    },
}

impl Action {
    /// The operation name recorded in the history (Jepsen's).
    pub fn f(&self) -> &'static str {
        match self {
            Action::StartPartition { .. } => "start-partition",
            Action::StopPartition => "stop-partition",
            Action::Kill { .. } => "kill",
            Action::Start { .. } => "start",
            Action::Pause { .. } => "pause",
            Action::Resume { .. } => "resume",
        }
    }

    /// The value recorded in the history.
    pub fn value(&self) -> serde_json::Value {
        match self {
            Action::StartPartition { shape, grudge } => {
                serde_json::json!({ "shape": shape.name(), "grudge": grudge })
            }
            Action::StopPartition => serde_json::Value::Null,
            Action::Kill { nodes }
            | Action::Start { nodes }
            | Action::Pause { nodes }
            | Action::Resume { nodes } => serde_json::json!(nodes),
        }
    }
}

/// An action at a time since the start of the test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scheduled {
    pub at: Duration,
    pub action: Action,
}

/// What the nemesis may do, and how often.
#[derive(Clone, Debug)]
pub struct Plan {
    pub faults: Vec<FaultKind>,
    /// Partition shapes to draw from (all of them if empty).
    pub shapes: Vec<Shape>,
    /// Length of each fault and of each quiet period between faults.
    pub interval: Duration,
}

/// The schedule of `plan` over `nodes` for a test of `time_limit`, drawn from `seed`.
pub fn schedule(plan: &Plan, nodes: &[String], time_limit: Duration, seed: u64) -> Vec<Scheduled> {
    let mut rng = Rng::new(seed ^ 0x6e65_6d65_7369_7321);
    let mut out = Vec::new();
    if plan.faults.is_empty() || nodes.is_empty() || plan.interval.is_zero() {
        return out;
    }
    let shapes = if plan.shapes.is_empty() {
        Shape::ALL.to_vec()
    } else {
        plan.shapes.clone()
    };
    let mut at = plan.interval;
    while at + plan.interval <= time_limit {
        let kind = plan.faults[rng.below(plan.faults.len() as u64) as usize];
        let (start, stop) = match kind {
            FaultKind::Partition => {
                let shape = shapes[rng.below(shapes.len() as u64) as usize];
                // Leader shapes are drawn again when they start, around the leader of the
                // moment; this is what they would be with no leader known.
                let grudge = shape.grudge(nodes, None, &mut rng);
                (
                    Action::StartPartition { shape, grudge },
                    Action::StopPartition,
                )
            }
            FaultKind::Kill => {
                let victims = minority(nodes, &mut rng);
                (
                    Action::Kill {
                        nodes: victims.clone(),
                    },
                    Action::Start { nodes: victims },
                )
            }
            FaultKind::Pause => {
                let victims = minority(nodes, &mut rng);
                (
                    Action::Pause {
                        nodes: victims.clone(),
                    },
                    Action::Resume { nodes: victims },
                )
            }
        };
        out.push(Scheduled { at, action: start });
        out.push(Scheduled {
            at: at + plan.interval,
            action: stop,
        });
        at += plan.interval * 2;
    }
    out
}

/// A random non-empty minority of the nodes (one node when there are one or two).
fn minority(nodes: &[String], rng: &mut Rng) -> Vec<String> {
    let most = ((nodes.len() - 1) / 2).max(1);
    let count = 1 + rng.below(most as u64) as usize;
    let mut pool = nodes.to_vec();
    let mut picked = Vec::with_capacity(count);
    for _ in 0..count {
        let i = rng.below(pool.len() as u64) as usize;
        picked.push(pool.swap_remove(i));
    }
    picked.sort();
    picked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("n{i}")).collect()
    }

    fn plan(faults: &[FaultKind]) -> Plan {
        Plan {
            faults: faults.to_vec(),
            shapes: Vec::new(),
            interval: Duration::from_secs(5),
        }
    }

    #[test]
    fn faults_alternate_start_and_stop_within_the_time_limit() {
        let s = schedule(
            &plan(&FaultKind::ALL),
            &nodes(5),
            Duration::from_secs(60),
            7,
        );
        // Faults start at 5, 15, …, 55 s and each stops 5 s later.
        assert_eq!(s.len(), 12, "{s:?}");
        for pair in s.chunks(2) {
            assert_eq!(pair[1].at - pair[0].at, Duration::from_secs(5));
            let matched = matches!(
                (&pair[0].action, &pair[1].action),
                (Action::StartPartition { .. }, Action::StopPartition)
            ) || matches!((&pair[0].action, &pair[1].action),
                (Action::Kill { nodes: a }, Action::Start { nodes: b }) if a == b)
                || matches!((&pair[0].action, &pair[1].action),
                (Action::Pause { nodes: a }, Action::Resume { nodes: b }) if a == b);
            assert!(matched, "{pair:?}");
        }
        assert!(s.iter().all(|x| x.at <= Duration::from_secs(60)));
    }

    #[test]
    fn kills_and_pauses_hit_a_minority() {
        let ns = nodes(5);
        for seed in 0..50 {
            for x in schedule(
                &plan(&[FaultKind::Kill, FaultKind::Pause]),
                &ns,
                Duration::from_secs(30),
                seed,
            ) {
                if let Action::Kill { nodes } | Action::Pause { nodes } = &x.action {
                    assert!((1..=2).contains(&nodes.len()), "{nodes:?}");
                }
            }
        }
    }

    #[test]
    fn the_seed_decides_everything() {
        let ns = nodes(5);
        let p = plan(&FaultKind::ALL);
        let a = schedule(&p, &ns, Duration::from_secs(120), 1);
        assert_eq!(a, schedule(&p, &ns, Duration::from_secs(120), 1));
        assert_ne!(a, schedule(&p, &ns, Duration::from_secs(120), 2));
    }

    #[test]
    fn no_faults_no_schedule() {
        assert!(schedule(&plan(&[]), &nodes(3), Duration::from_secs(60), 1).is_empty());
    }

    #[test]
    fn actions_record_jepsen_names_and_values() {
        let a = Action::Kill {
            nodes: vec!["n2".into()],
        };
        assert_eq!(a.f(), "kill");
        assert_eq!(a.value(), serde_json::json!(["n2"]));
        assert_eq!(Action::StopPartition.f(), "stop-partition");
    }
}
