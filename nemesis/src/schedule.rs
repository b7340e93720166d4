//! The nemesis schedule: a seeded, pure plan of which fault starts and stops when.
//!
//! Faults alternate with quiet periods: after one interval a random fault among those enabled
//! starts, one interval later it stops, one interval later the next starts, and so on until the
//! time limit. Restarts and client pauses are instants, not periods: enabled beside faults that
//! last (partitions, clock faults), they strike halfway through each partition or clock window
//! — so that a crash meets a partition or a clock step, as Jepsen's combined nemeses make it —
//! and only alone do they take slots of their own. (Not inside kills and pauses: a node there
//! is down or stopped already.) Targets are drawn from the seed: partitions take a shape from the plan's list,
//! kills and pauses hit a random minority of nodes. Shapes drawn around the leader
//! ([`Shape::needs_leader`]) can only be placed when they start, so the injector redraws them
//! then. The runner heals whatever is left at the end
//! regardless of the schedule. The same plan, nodes and seed always give the same schedule.

use std::collections::BTreeMap;
use std::time::Duration;

use rand::Rng;
use rand::SeedableRng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::grudge::{Grudge, Shape};

/// The kinds of fault a nemesis can inject.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// Cut links (a grudge), then heal them.
    Partition,
    /// SIGKILL nodes, then start them again on their data.
    Kill,
    /// SIGSTOP nodes, then SIGCONT them.
    Pause,
    /// SIGKILL nodes and start them again at once (a crash that a node without persistence
    /// forgets everything in).
    Restart,
    /// Jump nodes' wall clocks, then reset them.
    Clock,
    /// Flip nodes' wall clocks back and forth, then reset them.
    ClockStrobe,
    /// A stop-the-world pause of a client holding the lock, between checking its validity and
    /// writing (a GC pause).
    ClientPause,
}

impl FaultKind {
    /// A fault with no period: it happens, and is over.
    pub fn is_instant(self) -> bool {
        matches!(self, FaultKind::Restart | FaultKind::ClientPause)
    }

    pub const ALL: [FaultKind; 7] = [
        FaultKind::Partition,
        FaultKind::Kill,
        FaultKind::Pause,
        FaultKind::Restart,
        FaultKind::Clock,
        FaultKind::ClockStrobe,
        FaultKind::ClientPause,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Partition => "partition",
            FaultKind::Kill => "kill",
            FaultKind::Pause => "pause",
            FaultKind::Restart => "restart",
            FaultKind::Clock => "clock",
            FaultKind::ClockStrobe => "clock-strobe",
            FaultKind::ClientPause => "client-pause",
        }
    }

    pub fn parse(name: &str) -> Option<FaultKind> {
        FaultKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The fault that an action named `f` (its [`Action::f`], as the history records it)
    /// starts; `None` for the actions that end one (`stop-partition`, `start`, `resume`,
    /// `clock-reset`) and for names no action has.
    pub fn started_by(f: &str) -> Option<FaultKind> {
        Some(match f {
            "start-partition" => FaultKind::Partition,
            "kill" => FaultKind::Kill,
            "pause" => FaultKind::Pause,
            "restart" => FaultKind::Restart,
            "clock-bump" => FaultKind::Clock,
            "clock-strobe" => FaultKind::ClockStrobe,
            "pause-client" => FaultKind::ClientPause,
            _ => return None,
        })
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
    /// Kill nodes and start them again at once.
    Restart {
        nodes: Vec<String>,
    },
    Pause {
        nodes: Vec<String>,
    },
    Resume {
        nodes: Vec<String>,
    },
    /// Set these nodes' clock offsets (milliseconds; other nodes keep theirs).
    ClockBump {
        offsets_ms: BTreeMap<String, i64>,
    },
    /// Flip these nodes' clocks between `+ms` and 0 every `period_ms` until reset.
    ClockStrobe {
        nodes: Vec<String>,
        ms: i64,
        period_ms: u64,
    },
    /// Set these nodes' clock offsets back to 0 (and stop any strobe).
    ClockReset {
        nodes: Vec<String>,
    },
    /// Pause the client that holds the lock for `ms`, before its next write.
    PauseClient {
        ms: u64,
    },
}

impl Action {
    /// The operation name recorded in the history (Jepsen's, where Jepsen has one).
    pub fn f(&self) -> &'static str {
        match self {
            Action::StartPartition { .. } => "start-partition",
            Action::StopPartition => "stop-partition",
            Action::Kill { .. } => "kill",
            Action::Start { .. } => "start",
            Action::Restart { .. } => "restart",
            Action::Pause { .. } => "pause",
            Action::Resume { .. } => "resume",
            Action::ClockBump { .. } => "clock-bump",
            Action::ClockStrobe { .. } => "clock-strobe",
            Action::ClockReset { .. } => "clock-reset",
            Action::PauseClient { .. } => "pause-client",
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
            | Action::Restart { nodes }
            | Action::Pause { nodes }
            | Action::Resume { nodes }
            | Action::ClockReset { nodes } => serde_json::json!(nodes),
            Action::ClockBump { offsets_ms } => serde_json::json!({ "offsets_ms": offsets_ms }),
            Action::ClockStrobe {
                nodes,
                ms,
                period_ms,
            } => serde_json::json!({ "nodes": nodes, "ms": ms, "period_ms": period_ms }),
            Action::PauseClient { ms } => serde_json::json!({ "ms": ms }),
        }
    }

    /// Whether the action starts a fault (rather than ending one).
    pub fn is_fault(&self) -> bool {
        !matches!(
            self,
            Action::StopPartition
                | Action::Start { .. }
                | Action::Resume { .. }
                | Action::ClockReset { .. }
        )
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
    /// The nodes that kills, pauses, restarts and clock faults hit (a random minority — one
    /// node for clocks — if empty).
    pub targets: Vec<String>,
    /// How far a clock fault moves a clock, in milliseconds (negative: backwards).
    pub clock_ms: i64,
    /// How long a client pause lasts, in milliseconds.
    pub client_pause_ms: u64,
}

impl Default for Plan {
    fn default() -> Plan {
        Plan {
            faults: Vec::new(),
            shapes: Vec::new(),
            interval: Duration::from_secs(5),
            targets: Vec::new(),
            clock_ms: 10_000,
            client_pause_ms: 2_000,
        }
    }
}

/// The schedule of `plan` over `nodes` (and `clients`, for shapes that cut clients off) for a
/// test of `time_limit`, drawn from `seed`.
pub fn schedule(
    plan: &Plan,
    nodes: &[String],
    clients: &[String],
    time_limit: Duration,
    seed: u64,
) -> Vec<Scheduled> {
    // Mixed with "nemesis!": a standing partition drawn from the bare seed does not repeat the
    // schedule's first draws.
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6e65_6d65_7369_7321);
    let mut out = Vec::new();
    if plan.faults.is_empty() || nodes.is_empty() || plan.interval.is_zero() {
        return out;
    }
    let shapes = if plan.shapes.is_empty() {
        Shape::BETWEEN_NODES.to_vec()
    } else {
        plan.shapes.clone()
    };
    let victims = |rng: &mut ChaCha8Rng, one: bool| -> Vec<String> {
        if !plan.targets.is_empty() {
            plan.targets.clone()
        } else if one {
            vec![nodes[rng.random_range(..nodes.len())].clone()]
        } else {
            minority(nodes, rng)
        }
    };
    let (instants, periods): (Vec<FaultKind>, Vec<FaultKind>) =
        plan.faults.iter().partition(|k| k.is_instant());
    // Instants strike inside windows when there are windows they may strike in.
    let hosts = |k: &FaultKind| !matches!(k, FaultKind::Kill | FaultKind::Pause);
    let (slots, inside) = if periods.iter().any(hosts) && !instants.is_empty() {
        (periods, instants)
    } else {
        (plan.faults.clone(), Vec::new())
    };
    let mut at = plan.interval;
    while at + plan.interval <= time_limit {
        let kind = slots[rng.random_range(..slots.len())];
        let (start, stop) = action(kind, plan, nodes, clients, &shapes, &victims, &mut rng);
        out.push(Scheduled { at, action: start });
        if hosts(&kind) && !inside.is_empty() {
            let instant = inside[rng.random_range(..inside.len())];
            let (action, _) = action(instant, plan, nodes, clients, &shapes, &victims, &mut rng);
            out.push(Scheduled {
                at: at + plan.interval / 2,
                action,
            });
        }
        if let Some(stop) = stop {
            out.push(Scheduled {
                at: at + plan.interval,
                action: stop,
            });
        }
        at += plan.interval * 2;
    }
    out
}

/// The action that starts a fault of `kind`, and the one that ends it (none for an instant).
fn action(
    kind: FaultKind,
    plan: &Plan,
    nodes: &[String],
    clients: &[String],
    shapes: &[Shape],
    victims: &dyn Fn(&mut ChaCha8Rng, bool) -> Vec<String>,
    rng: &mut ChaCha8Rng,
) -> (Action, Option<Action>) {
    match kind {
        FaultKind::Partition => {
            let shape = shapes[rng.random_range(..shapes.len())];
            // Leader shapes are drawn again when they start, around the leader of the
            // moment; this is what they would be with no leader known.
            let grudge = shape.grudge(nodes, clients, None, rng);
            (
                Action::StartPartition { shape, grudge },
                Some(Action::StopPartition),
            )
        }
        FaultKind::Kill => {
            let v = victims(rng, false);
            (
                Action::Kill { nodes: v.clone() },
                Some(Action::Start { nodes: v }),
            )
        }
        FaultKind::Pause => {
            let v = victims(rng, false);
            (
                Action::Pause { nodes: v.clone() },
                Some(Action::Resume { nodes: v }),
            )
        }
        FaultKind::Restart => (
            Action::Restart {
                nodes: victims(rng, false),
            },
            None,
        ),
        FaultKind::Clock => {
            let v = victims(rng, true);
            let offsets_ms = v.iter().map(|n| (n.clone(), plan.clock_ms)).collect();
            (
                Action::ClockBump { offsets_ms },
                Some(Action::ClockReset { nodes: v }),
            )
        }
        FaultKind::ClockStrobe => {
            let v = victims(rng, true);
            (
                Action::ClockStrobe {
                    nodes: v.clone(),
                    ms: plan.clock_ms,
                    period_ms: 50,
                },
                Some(Action::ClockReset { nodes: v }),
            )
        }
        FaultKind::ClientPause => (
            Action::PauseClient {
                ms: plan.client_pause_ms,
            },
            None,
        ),
    }
}

/// A random non-empty minority of the nodes (one node when there are one or two).
fn minority(nodes: &[String], rng: &mut ChaCha8Rng) -> Vec<String> {
    let most = ((nodes.len() - 1) / 2).max(1);
    let count = rng.random_range(1..=most);
    let mut picked: Vec<String> = nodes.choose_multiple(rng, count).cloned().collect();
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
            ..Plan::default()
        }
    }

    #[test]
    fn the_history_name_of_each_action_says_which_fault_it_starts() {
        let s = schedule(
            &plan(&FaultKind::ALL),
            &nodes(5),
            &[],
            Duration::from_secs(600),
            7,
        );
        let mut started = std::collections::BTreeSet::new();
        for a in s.iter().map(|s| &s.action) {
            let kind = FaultKind::started_by(a.f());
            assert_eq!(kind.is_some(), a.is_fault(), "{a:?}");
            started.extend(kind.map(FaultKind::name));
        }
        assert_eq!(
            started.len(),
            FaultKind::ALL.len(),
            "every kind was drawn: {started:?}"
        );
        assert_eq!(FaultKind::started_by("stop-partition"), None);
    }

    #[test]
    fn faults_alternate_start_and_stop_within_the_time_limit() {
        let s = schedule(
            &plan(&[FaultKind::Partition, FaultKind::Kill, FaultKind::Pause]),
            &nodes(5),
            &[],
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
    fn restarts_beside_clock_faults_strike_halfway_through_each_window() {
        let plan = Plan {
            faults: vec![FaultKind::Clock, FaultKind::Restart],
            targets: vec!["n1".into()],
            clock_ms: -2000,
            interval: Duration::from_secs(2),
            ..Plan::default()
        };
        let s = schedule(&plan, &nodes(3), &[], Duration::from_secs(10), 3);
        // Windows at 2 s and 6 s of the 10 s (one at 10 s would end past it), a restart halfway.
        let secs = |x: &Scheduled| x.at.as_secs_f64();
        let shape: Vec<(f64, &str)> = s.iter().map(|x| (secs(x), x.action.f())).collect();
        assert_eq!(
            shape,
            [
                (2.0, "clock-bump"),
                (3.0, "restart"),
                (4.0, "clock-reset"),
                (6.0, "clock-bump"),
                (7.0, "restart"),
                (8.0, "clock-reset"),
            ]
        );
        assert!(s.iter().all(|x| match &x.action {
            Action::Restart { nodes } => nodes == &["n1".to_string()],
            _ => true,
        }));
        // Alone, restarts take slots of their own; beside kills only, too.
        for faults in [
            vec![FaultKind::Restart],
            vec![FaultKind::Kill, FaultKind::Restart],
        ] {
            let s = schedule(
                &Plan {
                    faults,
                    ..plan.clone()
                },
                &nodes(3),
                &[],
                Duration::from_secs(10),
                3,
            );
            assert!(
                s.iter()
                    .all(|x| x.at.subsec_nanos() == 0 && x.at.as_secs() % 2 == 0),
                "{s:?}"
            );
        }
    }

    #[test]
    fn kills_and_pauses_hit_a_minority() {
        let ns = nodes(5);
        let (mut kills, mut pauses) = (0, 0);
        for seed in 0..50 {
            for x in schedule(
                &plan(&[FaultKind::Kill, FaultKind::Pause]),
                &ns,
                &[],
                Duration::from_secs(30),
                seed,
            ) {
                if let Action::Kill { nodes } | Action::Pause { nodes } = &x.action {
                    assert!((1..=2).contains(&nodes.len()), "{nodes:?}");
                    assert!(nodes.iter().all(|n| ns.contains(n)), "{nodes:?}");
                }
                match x.action {
                    Action::Kill { .. } => kills += 1,
                    Action::Pause { .. } => pauses += 1,
                    _ => {}
                }
            }
        }
        // The assertions above held over faults that did strike, of both kinds.
        assert!(kills > 50 && pauses > 50, "{kills} kills, {pauses} pauses");
    }

    #[test]
    fn the_seed_decides_everything() {
        let ns = nodes(5);
        let p = plan(&FaultKind::ALL);
        let a = schedule(&p, &ns, &[], Duration::from_secs(120), 1);
        assert_eq!(a, schedule(&p, &ns, &[], Duration::from_secs(120), 1));
        assert_ne!(a, schedule(&p, &ns, &[], Duration::from_secs(120), 2));
    }

    #[test]
    fn no_faults_no_schedule() {
        assert!(schedule(&plan(&[]), &nodes(3), &[], Duration::from_secs(60), 1).is_empty());
    }

    #[test]
    fn clock_faults_bump_the_targets_and_reset_them_and_one_shots_have_no_stop() {
        let p = Plan {
            faults: vec![FaultKind::Clock],
            targets: vec!["n3".into()],
            clock_ms: 15_000,
            ..Plan::default()
        };
        let s = schedule(&p, &nodes(5), &[], Duration::from_secs(20), 1);
        assert_eq!(s.len(), 4);
        assert_eq!(
            s[0].action.value(),
            serde_json::json!({"offsets_ms": {"n3": 15000}})
        );
        assert_eq!(
            s[1].action,
            Action::ClockReset {
                nodes: vec!["n3".into()]
            }
        );
        assert!(s[0].action.is_fault() && !s[1].action.is_fault());
        let one_shots = Plan {
            faults: vec![FaultKind::Restart, FaultKind::ClientPause],
            ..Plan::default()
        };
        let s = schedule(&one_shots, &nodes(5), &[], Duration::from_secs(30), 4);
        assert_eq!(s.len(), 3, "{s:?}");
        assert!(s.iter().all(|x| x.action.is_fault()));
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
