//! What the cluster benchmarks share: starting a target's cluster as a run would (processes,
//! durable), straight to the nodes (no proxies: the servers are measured, not the harness),
//! stopping it, latency percentiles, and which of the targets asked for can run here. A
//! benchmark includes it with `mod support;` and uses the parts it needs; the rest is dead code
//! there, hence the `allow`.

#![allow(dead_code)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use faultline::net::{CLIENT, LinkState, Mode};
use faultline::run::cluster::{Cluster, Place, Setup};
use faultline::run::store::RunDir;
use targets::descriptor::{self, Descriptor};

/// The targets of `names` that this build has and whose program is installed; a line for each
/// one skipped, saying why.
pub fn installed(names: &[&str]) -> Vec<&'static Descriptor> {
    names
        .iter()
        .filter_map(|n| match descriptor::find(n) {
            Some(d) => match d.program.missing() {
                None => Some(d),
                Some(why) => {
                    println!("{n}: skipped: {why}");
                    None
                }
            },
            None => {
                println!("{n}: skipped: no such target in this build");
                None
            }
        })
        .collect()
}

/// A cluster of `nodes` of `d` (with the workload's `workload_args`) in a folder under the
/// build's own temporary directory — on disk, so that fsyncs cost what they cost — and how
/// long it took to be ready.
pub async fn start(
    d: &'static Descriptor,
    nodes: usize,
    workload_args: &[String],
) -> (Cluster, PathBuf, Duration) {
    start_at(d, nodes, workload_args, Place::Here, false).await
}

/// [`start`], with the nodes at `place`, and the clients' traffic through the proxies when
/// `proxied` (a run's way; benchmarks of the servers go straight to the nodes).
pub async fn start_at(
    d: &'static Descriptor,
    nodes: usize,
    workload_args: &[String],
    place: Place<'_>,
    proxied: bool,
) -> (Cluster, PathBuf, Duration) {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "bench-{}-{nodes}-{}",
        d.name,
        std::process::id()
    ));
    let dir = RunDir::create(&root, "bench").unwrap();
    let started = Instant::now();
    let cluster = Cluster::start(Setup {
        descriptor: d,
        nodes,
        bugs: &[],
        cut: Mode::Blackhole,
        link: LinkState::default(),
        dir: &dir,
        options: &[],
        workload_args,
        clients: &[CLIENT.to_string()],
        ready_timeout: Duration::from_secs(30),
        proxied,
        faultline: PathBuf::from(env!("CARGO_BIN_EXE_faultline")),
        place,
        fetch_data: false,
    })
    .await
    .expect("the cluster starts");
    let ready = started.elapsed();
    (cluster, root, ready)
}

/// Stops `cluster` and deletes its folder, `root`.
pub fn shut(cluster: Cluster, root: PathBuf) {
    cluster.shutdown();
    drop(cluster);
    let _ = std::fs::remove_dir_all(root);
}

/// The `p`-th quantile (0 to 1) of `latencies`.
pub fn percentile(latencies: &[Duration], p: f64) -> Duration {
    let mut sorted = latencies.to_vec();
    sorted.sort();
    sorted
        .get(((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1)))
        .copied()
        .unwrap_or_default()
}
