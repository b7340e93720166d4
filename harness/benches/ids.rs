//! `cargo bench -p faultline --bench ids`: ID servers through the harness. Each target is
//! started as a `faultline run` would start it (processes, every link proxied), then 8 clients
//! ask for one ID per request as fast as they can for a few seconds; the figures are IDs per
//! second per node and request latency. For the segment target, requests that opened a new
//! segment (their ID is the first of a range: `id % step == 1`) are timed apart from the
//! others, with the double buffer and without it: prefetching should keep the boundary's p99
//! near everyone else's, and fetching inside the request should not.
//!
//! Prints figures; asserts nothing (the machine is shared and noisy).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use checkers::history::EventType;
use faultline::net::{CLIENT, LinkState, Mode};
use faultline::run::cluster::{Cluster, Place, Setup};
use faultline::run::store::RunDir;
use targets::descriptor::Descriptor;
use workloads::ids::client::IdClient;
use workloads::register::client::Node;

/// Clients, all asking at once.
const CLIENTS: usize = 8;
/// Seconds of asking per case.
const SECONDS: u64 = 4;
/// The segment servers' range size here (`--option step-1000`): Leaf's usual order of
/// magnitude, so that a range lasts long enough (≈ 0.2 s at these rates) for a prefetch started
/// at 10% to arrive in time. (The target's default, 100, makes tests cross many boundaries.)
const STEP: u64 = 1000;

struct Case {
    label: &'static str,
    descriptor: &'static Descriptor,
    options: &'static [&'static str],
}

/// Per request: how long it took, whether it was ok, and the ID it got when the ID is a number.
type Sample = (Duration, bool, Option<u64>);

async fn measure(case: &Case) -> (usize, Vec<Sample>, f64) {
    let root = std::env::temp_dir().join(format!("faultline-bench-ids-{}", std::process::id()));
    let dir = RunDir::create(&root, "bench").unwrap();
    let options: Vec<String> = case.options.iter().map(|s| s.to_string()).collect();
    let nodes = 3;
    let cluster = Cluster::start(Setup {
        descriptor: case.descriptor,
        nodes,
        bugs: &[],
        cut: Mode::Blackhole,
        link: LinkState::default(),
        dir: &dir,
        options: &options,
        workload_args: &[],
        clients: &[CLIENT.to_string()],
        ready_timeout: Duration::from_secs(15),
        proxied: true,
        faultline: PathBuf::from(env!("CARGO_BIN_EXE_faultline")),
        place: Place::Here,
        fetch_data: false,
    })
    .await
    .expect("the cluster starts");
    let targets: Vec<Node> = cluster.serving_nodes();
    let client = Arc::new(IdClient::new(targets, Duration::from_secs(2)));
    // Warm up: the first segments, connections.
    for i in 0..nodes * 20 {
        client.generate(i, 1).await;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..CLIENTS {
        let (client, stop) = (client.clone(), stop.clone());
        tasks.spawn(async move {
            let mut samples = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let out = client.generate(c, 1).await;
                let ok = out.kind == EventType::Ok;
                let id = ok
                    .then(|| out.value[0].as_str()?.parse::<u64>().ok())
                    .flatten();
                samples.push((t.elapsed(), ok, id));
            }
            samples
        });
    }
    tokio::time::sleep(Duration::from_secs(SECONDS)).await;
    stop.store(true, Ordering::Relaxed);
    let mut samples = Vec::new();
    while let Some(s) = tasks.join_next().await {
        samples.extend(s.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    cluster.shutdown();
    drop(cluster);
    let _ = std::fs::remove_dir_all(root);
    (nodes, samples, elapsed)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let cases = [
        Case {
            label: "snowflake",
            descriptor: &targets::descriptor::SNOWFLAKE,
            options: &[],
        },
        Case {
            label: "uuid v4",
            descriptor: &targets::descriptor::UUID,
            options: &[],
        },
        Case {
            label: "segment, double buffer",
            descriptor: &targets::descriptor::SEGMENT,
            options: &["step-1000"],
        },
        Case {
            label: "segment, no double buffer",
            descriptor: &targets::descriptor::SEGMENT,
            options: &["step-1000", "no-double-buffer"],
        },
    ];
    println!(
        "== IDs through the harness: 3 nodes, {CLIENTS} clients, one ID per request, {SECONDS} s per case ==\n"
    );
    println!(
        "{:<28} {:>12} {:>10} {:>10} {:>10} {:>16} {:>16}",
        "target", "IDs/s/node", "failed", "p50 ms", "p99 ms", "boundary p99 ms", "elsewhere p99 ms"
    );
    for case in &cases {
        let (nodes, samples, elapsed) = runtime.block_on(measure(case));
        let ok = samples.iter().filter(|(_, ok, _)| *ok).count();
        let mut all: Vec<Duration> = samples.iter().map(|(d, _, _)| *d).collect();
        all.sort();
        let (mut boundary, mut elsewhere): (Vec<Duration>, Vec<Duration>) = (vec![], vec![]);
        if case.descriptor.name == "segment" {
            for (d, _, id) in &samples {
                match id {
                    Some(id) if id % STEP == 1 => boundary.push(*d),
                    Some(_) => elsewhere.push(*d),
                    None => {}
                }
            }
        }
        boundary.sort();
        elsewhere.sort();
        let boundary_p99 = if boundary.is_empty() {
            "—".to_string()
        } else {
            format!("{:.2} (n={})", percentile(&boundary, 0.99), boundary.len())
        };
        let elsewhere_p99 = if elsewhere.is_empty() {
            "—".to_string()
        } else {
            format!("{:.2}", percentile(&elsewhere, 0.99))
        };
        println!(
            "{:<28} {:>12.0} {:>10} {:>10.2} {:>10.2} {:>16} {:>16}",
            case.label,
            ok as f64 / elapsed / nodes as f64,
            samples.len() - ok,
            percentile(&all, 0.5),
            percentile(&all, 0.99),
            boundary_p99,
            elsewhere_p99
        );
    }
}
