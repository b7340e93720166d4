//! One test, end to end (DESIGN.md, "The flow of one test"):
//!
//! ```text
//! validate → results folder → cluster (proxies, nodes, readiness) → recorder
//!   → the workload's clients ∥ the nemesis schedule, until the time limit
//!   → heal everything → recovery → what the workload does after healing (the register's
//!     final reads) → stop the cluster → check the history → results.json, summary
//! ```
//!
//! The runner knows the workload and the target only through their registries
//! (`workloads::registry`, `targets::descriptor`): it gives the workload a [`Run`] — the
//! nodes at the addresses of each client's links, the recorder, the counts — and awaits it.
//!
//! Everything the run starts is owned by values dropped on every path out of [`run`] — an
//! error, a panic, or the future being dropped on Ctrl-C — and dropping them kills the nodes
//! and closes the proxies.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use checkers::import::Format;
use indicatif::{ProgressBar, ProgressStyle};
use nemesis::Action;
use nemesis::{FaultKind, Plan, Shape};
use targets::descriptor::{self, Descriptor, Switch};
use tokio::time::Instant;
use workloads::client_pauses::ClientPauses;
use workloads::history::Tally;
use workloads::worker::Context;
use workloads::{Links, Node, Run, Workload, registry};

use crate::hosts::inventory::Inventory;

use super::cluster::{Cluster, Place, Setup};
use super::injector;
use super::recorder::Recorder;
use super::store::RunDir;
use crate::check::{check_one, run_options};
use crate::net::{CLIENT, LinkState, Mode};
use crate::results::{RunResults, VERSION, faults_by_kind};
use crate::scenario::Scenario;

/// The workloads that have a client for `d`'s protocol.
pub fn workloads_of(d: &Descriptor) -> Vec<&'static str> {
    registry::ALL
        .iter()
        .filter(|w| w.protocols().contains(&d.protocol))
        .map(|w| w.name())
        .collect()
}

/// Checks a scenario against what faultline knows before anything starts: the target and the
/// workload it names, and the settings of both.
pub fn validate(s: &Scenario) -> Result<(&'static Descriptor, &'static dyn Workload), String> {
    let d = descriptor::find(&s.target).ok_or_else(|| {
        let known: Vec<&str> = descriptor::ALL.iter().map(|d| d.name).collect();
        format!(
            "unknown target `{}` (known: {})",
            s.target,
            known.join(", ")
        )
    })?;
    let w = registry::find(&s.workload).ok_or_else(|| {
        format!(
            "unknown workload `{}` (known: {})",
            s.workload,
            registry::names().join(", ")
        )
    })?;
    if !w.protocols().contains(&d.protocol) {
        return Err(format!(
            "workload {} has no client for target {}'s protocol {} (workloads for {}: {})",
            w.name(),
            d.name,
            d.protocol.name(),
            d.name,
            workloads_of(d).join(", ")
        ));
    }
    w.check(&s.settings, d.protocol)?;
    match s.net.as_deref() {
        None | Some("proxy") => {}
        Some("netns") if s.hosts.is_some() => {
            return Err(
                "--net netns runs nodes on this machine, --hosts on other ones: pick one".into(),
            );
        }
        Some("netns") => {}
        Some(other) => return Err(format!("unknown net `{other}` (known: proxy, netns)")),
    }
    for fault in &s.nemesis {
        if let (Some(FaultKind::Clock | FaultKind::ClockStrobe), Some(why)) =
            (FaultKind::parse(fault), d.clock.refusal())
        {
            return Err(format!(
                "target {} refuses the `{fault}` fault: {why}",
                d.name
            ));
        }
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
    if let Some(bug) = s.bugs.iter().find(|b| d.bug_args(b).is_none()) {
        return Err(unknown_switch(d, "bug", bug, d.bugs));
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
    if let Some(option) = s.options.iter().find(|o| d.option_args(o).is_none()) {
        return Err(unknown_switch(d, "option", option, d.options));
    }
    if let Some(shape) = &s.standing_partition
        && Shape::parse(shape).is_none()
    {
        return Err(format!("unknown standing partition `{shape}`"));
    }
    if s.standing_partition.is_some() && s.nemesis.iter().any(|f| f == "partition") {
        // A nemesis partition replaces the grudge in force and its healing opens every link:
        // the standing partition would silently end at the first one.
        return Err(
            "standing-partition cannot be combined with the partition nemesis (its first \
             partition would replace the standing one); use one or the other"
                .into(),
        );
    }
    let mut names: Vec<String> = (1..=s.nodes).map(|i| format!("n{i}")).collect();
    if let Some(store) = d.store {
        names.extend((1..=store.nodes).map(|i| format!("s{i}")));
    }
    if let Some(n) = s
        .fault_nodes
        .iter()
        .find(|n| !names.contains(n) && *n != injector::LEADER)
    {
        return Err(format!(
            "fault node `{n}` is not one of {}, nor `{}` (the leader when the fault strikes)",
            names.join(", "),
            injector::LEADER
        ));
    }
    // Last, as the one check that looks outside faultline: everything else about the
    // scenario is right, and only the program is missing.
    let programs = std::iter::once(d).chain(d.store.map(|s| s.descriptor));
    if let Some(missing) = programs.filter_map(|d| d.program.missing()).next() {
        return Err(format!("target {}: {missing}", d.name));
    }
    Ok((d, w))
}

/// "target T has no bug `x` (known: a, b)".
fn unknown_switch(d: &Descriptor, what: &str, name: &str, known: &[Switch]) -> String {
    let known: Vec<&str> = known.iter().map(|k| k.0).collect();
    format!(
        "target {} has no {what} `{name}` (known: {})",
        d.name,
        if known.is_empty() {
            "none".into()
        } else {
            known.join(", ")
        }
    )
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

/// The clients a workload's links are made for: one shared name, or one per worker.
fn client_names(w: &dyn Workload, concurrency: usize) -> Vec<String> {
    match w.links() {
        Links::PerClient => (1..=concurrency).map(|i| format!("c{i}")).collect(),
        Links::Shared => vec![CLIENT.to_string()],
    }
}

/// Whether `scenario` ever cuts or shapes a link, and so needs the fabric's proxies on this
/// machine. A run that never does talks to its nodes straight: a proxy that only forwards
/// doubles every message's system calls, and cost a third of the throughput.
fn links_fault(scenario: &Scenario) -> bool {
    scenario
        .nemesis
        .iter()
        .any(|k| k == FaultKind::Partition.name())
        || scenario.standing_partition.is_some()
        || scenario.latency_ms > 0.0
        || scenario.loss > 0.0
}

/// Runs `scenario`, storing it under `root`.
pub async fn run(
    scenario: Scenario,
    root: &Path,
    show_progress: bool,
) -> Result<RunResults, String> {
    let (d, workload) = validate(&scenario)?;
    let dir = RunDir::create(root, &scenario.name).map_err(|e| {
        format!(
            "cannot create a results folder under {}: {e}",
            root.display()
        )
    })?;
    dir.write("scenario.toml", &scenario.to_toml())
        .map_err(|e| format!("cannot write scenario.toml: {e}"))?;
    let stored = dir.path.join("scenario.toml");
    dir.log(&format!(
        "run {}: {}",
        scenario.name,
        scenario.command(&stored)
    ));
    let started = Instant::now();
    let clients = client_names(workload, scenario.concurrency);
    let inventory = match &scenario.hosts {
        Some(path) => Some(Inventory::load(Path::new(path))?),
        None => None,
    };
    let netns = scenario.net.as_deref() == Some("netns");
    if inventory.is_some() || netns {
        crate::hosts::fits(inventory.as_ref(), d, &scenario, &clients)?;
    }
    let workload_args = workload.node_args(&scenario.settings, d.protocol)?;

    let proxied = links_fault(&scenario);
    if inventory.is_none() && !netns {
        dir.log(if proxied {
            "links: through the fabric's proxies"
        } else {
            "links: straight to the nodes (no fault cuts or shapes them)"
        });
    }
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
        options: &scenario.options,
        workload_args: &workload_args,
        clients: &clients,
        ready_timeout: super::cluster::READY_TIMEOUT,
        proxied,
        faultline: std::env::current_exe()
            .map_err(|e| format!("cannot find the faultline binary: {e}"))?,
        place: match &inventory {
            Some(inventory) => Place::Hosts(inventory),
            None if netns => Place::Netns,
            None => Place::Here,
        },
        fetch_data: scenario.fetch_data,
    })
    .await?;
    let ready_s = started.elapsed().as_secs_f64();
    dir.log(&format!(
        "{} nodes ready after {ready_s:.2} s",
        scenario.nodes
    ));

    let recorder = Recorder::create(&dir.history())
        .map_err(|e| format!("cannot create {}: {e}", dir.history().display()))?;
    let tally = Arc::new(Tally::default());
    let pauses = Arc::new(ClientPauses::default());
    if let Some(shape) = scenario
        .standing_partition
        .as_deref()
        .and_then(Shape::parse)
    {
        let mut rng: rand_chacha::ChaCha8Rng = rand::SeedableRng::seed_from_u64(scenario.seed);
        let grudge = shape.grudge(&cluster.nodes, &clients, None, &mut rng);
        injector::inject(
            &cluster,
            &recorder,
            &dir,
            &Action::StartPartition { shape, grudge },
        );
    }
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
        targets: scenario.fault_nodes.clone(),
        clock_ms: scenario.clock_ms,
        client_pause_ms: scenario.client_pause_ms,
    };
    let schedule = nemesis::schedule(
        &plan,
        &cluster.nodes,
        &clients,
        scenario.time_limit(),
        scenario.seed,
    );

    let bar = progress_bar(show_progress, &scenario);
    let start = Instant::now();
    let until = start + scenario.time_limit();
    let ticker = {
        let (bar, tally) = (bar.clone(), tally.clone());
        tokio::spawn(async move {
            loop {
                bar.set_position(start.elapsed().as_millis() as u64);
                bar.set_message(format!(
                    "ok {} fail {} info {} · faults {}",
                    tally.ok.load(Ordering::Relaxed),
                    tally.fail.load(Ordering::Relaxed),
                    tally.info.load(Ordering::Relaxed),
                    tally.faults.load(Ordering::Relaxed)
                ));
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };
    let nemesis = injector::Nemesis {
        cluster: &cluster,
        recorder: &recorder,
        dir: &dir,
        tally: &tally,
        pauses: &pauses,
        clients: &clients,
        seed: scenario.seed,
    };
    let running = workload.start(
        &scenario.settings,
        Run {
            protocol: d.protocol,
            options: scenario.options.clone(),
            concurrency: scenario.concurrency,
            rate: scenario.rate,
            seed: scenario.seed,
            op_timeout: scenario.op_timeout(),
            nodes: client_nodes(&cluster, &clients, scenario.concurrency),
            ctx: Context {
                history: Arc::new(recorder.clone()),
                tally: tally.clone(),
                pauses: pauses.clone(),
            },
            until,
        },
    )?;
    let (_, finish) = tokio::join!(nemesis.run(&schedule, start, until), running);
    ticker.abort();
    bar.finish_and_clear();

    dir.log("time limit reached: healing");
    // Nodes the nemesis killed were reaped when it killed them: any exit seen here is the node's
    // own doing, and worth knowing about (the healing restarts it).
    for (node, status) in cluster.processes.exits() {
        dir.log(&format!(
            "node {node} exited by itself ({status}); see nodes/{node}.log"
        ));
    }
    injector::heal(&cluster, &recorder, &dir);
    tokio::time::sleep(scenario.recovery()).await;
    if let Some(finish) = finish {
        dir.log("after healing: the workload's last operations");
        finish.await;
    }
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
    let checked = check_one(
        &history,
        Format::Jsonl,
        Some(workload.checkers()),
        workload.answers(),
        &run_options(Some(d)),
    )
    .map_err(|e| format!("checking the history: {e}"))?;
    let results = RunResults {
        version: VERSION,
        valid: checked.valid,
        command: scenario.command(&dir.path.join("scenario.toml")),
        scenario,
        dir: dir.path.clone(),
        duration_s: started.elapsed().as_secs_f64(),
        ready_s: Some(ready_s),
        faults: tally.faults.load(Ordering::Relaxed),
        faults_by_kind: faults_by_kind(&history),
        history: checked,
    };
    let json = serde_json::to_string_pretty(&results).unwrap_or_default();
    dir.write("results.json", &json)
        .map_err(|e| format!("cannot write results.json: {e}"))?;
    // The report is a view of what is stored: a failure to draw it costs the run nothing.
    match crate::report::write(&dir.path, &history, &results) {
        Ok(_) => dir.log("report.html written"),
        Err(e) => dir.log(&format!("report.html not written: {e}")),
    }
    dir.log(&format!("verdict: {}", results.valid.word()));
    Ok(results)
}

/// For each of `concurrency` clients, the nodes it talks to, at the addresses of its links
/// (`clients`: one name per client, or one shared by all).
fn client_nodes(cluster: &Cluster, clients: &[String], concurrency: usize) -> Vec<Vec<Node>> {
    (0..concurrency)
        .map(|i| {
            let link = &clients[i % clients.len().max(1)];
            cluster
                .serving
                .iter()
                .filter_map(|n| cluster.client_node(link, n))
                .collect()
        })
        .collect()
}
