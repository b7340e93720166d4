//! One test, end to end (DESIGN.md, "The flow of one test"):
//!
//! ```text
//! validate → results folder → cluster (proxies, nodes, readiness) → recorder
//!   → workers ∥ nemesis schedule, until the time limit
//!   → heal everything → recovery → final reads → stop the cluster
//!   → check the history → results.json, summary
//! ```
//!
//! Everything the run starts is owned by values dropped on every path out of [`run`] — an
//! error, a panic, or the future being dropped on Ctrl-C — and dropping them kills the nodes
//! and closes the proxies.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use checkers::Validity;
use checkers::import::Format;
use checkers::linear::Options;
use indicatif::{ProgressBar, ProgressStyle};
use nemesis::{FaultKind, Plan, Shape};
use serde::Serialize;
use targets::descriptor::{self, Descriptor};
use tokio::time::Instant;
use workloads::register::client::{Client, Node};
use workloads::register::generator::{self, Generator};

use super::cluster::{Cluster, Setup};
use super::injector;
use super::recorder::Recorder;
use super::scenario::Scenario;
use super::store::RunDir;
use super::workers::{Shared, Tally, Worker, final_reads};
use crate::check::{HistoryResult, check_one};
use crate::net::{LinkState, Mode};

/// How long the checker may take on a run's history.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(120);

/// results.json for a run.
#[derive(Debug, Serialize)]
pub struct RunResults {
    pub valid: Validity,
    pub scenario: Scenario,
    /// The command that repeats this run.
    pub command: String,
    pub dir: PathBuf,
    pub duration_s: f64,
    pub faults: u64,
    pub history: HistoryResult,
}

/// Checks a scenario against what faultline knows before anything starts.
pub fn validate(s: &Scenario) -> Result<&'static Descriptor, String> {
    let d = descriptor::find(&s.target).ok_or_else(|| {
        let known: Vec<&str> = descriptor::ALL.iter().map(|d| d.name).collect();
        format!(
            "unknown target `{}` (known: {})",
            s.target,
            known.join(", ")
        )
    })?;
    if !d.workloads.contains(&s.workload.as_str()) {
        return Err(format!(
            "target {} does not serve workload `{}` (it serves: {})",
            d.name,
            s.workload,
            d.workloads.join(", ")
        ));
    }
    for fault in &s.nemesis {
        if FaultKind::parse(fault).is_none() || !d.faults.contains(&fault.as_str()) {
            return Err(format!(
                "unknown nemesis `{fault}` for target {} (known: {})",
                d.name,
                d.faults.join(", ")
            ));
        }
    }
    for shape in &s.partition_shapes {
        if Shape::parse(shape).is_none() {
            let known: Vec<&str> = Shape::ALL.iter().map(|s| s.name()).collect();
            return Err(format!(
                "unknown partition shape `{shape}` (known: {})",
                known.join(", ")
            ));
        }
    }
    if !["blackhole", "reset"].contains(&s.partition_mode.as_str()) {
        return Err(format!(
            "unknown partition mode `{}` (known: blackhole, reset)",
            s.partition_mode
        ));
    }
    for bug in &s.bugs {
        if d.bug_args(bug).is_none() {
            let known: Vec<&str> = d.bugs.iter().map(|b| b.0).collect();
            return Err(format!(
                "target {} has no bug `{bug}` (known: {})",
                d.name,
                if known.is_empty() {
                    "none".into()
                } else {
                    known.join(", ")
                }
            ));
        }
    }
    let positive = [
        ("nodes", s.nodes as f64),
        ("concurrency", s.concurrency as f64),
        ("rate", s.rate),
        ("time-limit", s.time_limit),
        ("op-timeout", s.op_timeout),
    ];
    // NaN is not positive either.
    if let Some((name, _)) = positive
        .iter()
        .find(|(_, v)| v.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater))
    {
        return Err(format!("{name} must be positive"));
    }
    if s.nodes > 25 {
        return Err(format!("nodes must be at most 25, found {}", s.nodes));
    }
    if !(0.0..=1.0).contains(&s.loss) {
        return Err(format!("loss must be a probability, found {}", s.loss));
    }
    Ok(d)
}

fn progress_bar(show: bool, scenario: &Scenario) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new((scenario.time_limit * 1000.0) as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {elapsed:>4} [{bar:30}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar
}

/// Runs `scenario`, storing it under `root`.
pub async fn run(
    scenario: Scenario,
    root: &Path,
    show_progress: bool,
) -> Result<RunResults, String> {
    let d = validate(&scenario)?;
    let dir = RunDir::create(root, &scenario.name).map_err(|e| {
        format!(
            "cannot create a results folder under {}: {e}",
            root.display()
        )
    })?;
    dir.write("scenario.toml", &scenario.to_toml())
        .map_err(|e| format!("cannot write scenario.toml: {e}"))?;
    dir.log(&format!("run {}: {}", scenario.name, scenario.command()));
    let started = Instant::now();

    let cluster = Cluster::start(Setup {
        descriptor: d,
        nodes: scenario.nodes,
        bugs: &scenario.bugs,
        cut: if scenario.partition_mode == "reset" {
            Mode::Reset
        } else {
            Mode::Blackhole
        },
        link: LinkState {
            mode: Mode::Open,
            latency: Duration::from_secs_f64(scenario.latency_ms / 1000.0),
            loss: scenario.loss,
        },
        dir: &dir,
        ready_timeout: super::cluster::READY_TIMEOUT,
        proxied: true,
        faultline: std::env::current_exe()
            .map_err(|e| format!("cannot find the faultline binary: {e}"))?,
    })
    .await?;
    dir.log(&format!(
        "{} nodes ready after {:.2} s",
        scenario.nodes,
        started.elapsed().as_secs_f64()
    ));

    let recorder = Recorder::create(&dir.history())
        .map_err(|e| format!("cannot create {}: {e}", dir.history().display()))?;
    let nodes: Vec<Node> = cluster
        .nodes
        .iter()
        .filter_map(|n| {
            Some(Node {
                name: n.clone(),
                addr: cluster.client_addr(n)?,
            })
        })
        .collect();
    let shared = Arc::new(Shared {
        generator: std::sync::Mutex::new(Generator::new(generator::Config {
            seed: scenario.seed,
            ops_per_key: scenario.ops_per_key,
            ..generator::Config::default()
        })),
        client: Client::new(nodes, scenario.op_timeout()),
        recorder: recorder.clone(),
        tally: Tally::default(),
    });

    let plan = Plan {
        faults: scenario
            .nemesis
            .iter()
            .filter_map(|f| FaultKind::parse(f))
            .collect(),
        shapes: scenario
            .partition_shapes
            .iter()
            .filter_map(|s| Shape::parse(s))
            .collect(),
        interval: scenario.interval(),
    };
    let schedule = nemesis::schedule(&plan, &cluster.nodes, scenario.time_limit(), scenario.seed);

    let bar = progress_bar(show_progress, &scenario);
    let start = Instant::now();
    let until = start + scenario.time_limit();
    let pace = Duration::from_secs_f64(scenario.concurrency as f64 / scenario.rate);
    let mut workers = tokio::task::JoinSet::new();
    for index in 0..scenario.concurrency {
        let worker = Worker {
            index,
            concurrency: scenario.concurrency,
            pace,
            seed: scenario.seed,
        };
        workers.spawn(worker.run(shared.clone(), until));
    }
    let ticker = {
        let (bar, shared) = (bar.clone(), shared.clone());
        tokio::spawn(async move {
            loop {
                let t = &shared.tally;
                bar.set_position(start.elapsed().as_millis() as u64);
                bar.set_message(format!(
                    "ok {} fail {} info {} · faults {}",
                    t.ok.load(Ordering::Relaxed),
                    t.fail.load(Ordering::Relaxed),
                    t.info.load(Ordering::Relaxed),
                    t.faults.load(Ordering::Relaxed)
                ));
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };
    injector::run_schedule(
        &cluster,
        &recorder,
        &dir,
        &shared.tally,
        &schedule,
        scenario.seed,
        start,
        until,
    )
    .await;
    let mut last_process = 0;
    while let Some(done) = workers.join_next().await {
        last_process = last_process.max(done.unwrap_or(0));
    }
    ticker.abort();
    bar.finish_and_clear();

    dir.log("time limit reached: healing");
    // Nodes the nemesis killed were reaped when it killed them: any exit seen here is the node's
    // own doing, and worth knowing about (the healing restarts it).
    for (node, status) in cluster.supervisor.exits() {
        dir.log(&format!(
            "node {node} exited by itself ({status}); see nodes/{node}.log"
        ));
    }
    injector::heal(&cluster, &recorder, &dir);
    tokio::time::sleep(scenario.recovery()).await;
    dir.log("final reads");
    final_reads(
        shared.clone(),
        scenario.concurrency,
        last_process + scenario.concurrency as u64,
    )
    .await;
    cluster.shutdown();
    drop(cluster);
    dir.log("cluster stopped; checking");

    let (history, write_error) = recorder.history(&dir.history().display().to_string());
    if let Some(e) = write_error {
        return Err(format!(
            "the history could not be written to {}: {e}",
            dir.history().display()
        ));
    }
    let options = Options {
        timeout: Some(CHECK_TIMEOUT),
        ..Options::default()
    };
    let checked = check_one(
        &history,
        Format::Jsonl,
        Some(workloads::register::MODEL),
        None,
        &options,
    )
    .map_err(|e| format!("checking the history: {e}"))?;
    let results = RunResults {
        valid: checked.valid,
        command: scenario.command(),
        scenario,
        dir: dir.path.clone(),
        duration_s: started.elapsed().as_secs_f64(),
        faults: shared.tally.faults.load(Ordering::Relaxed),
        history: checked,
    };
    let json = serde_json::to_string_pretty(&results).unwrap_or_default();
    dir.write("results.json", &json)
        .map_err(|e| format!("cannot write results.json: {e}"))?;
    dir.log(&format!("verdict: {}", results.valid.word()));
    Ok(results)
}
