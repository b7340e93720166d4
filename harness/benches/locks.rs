//! `cargo bench -p faultline --bench locks`: ZooKeeper-style lock throughput, Apache ZooKeeper
//! against the bundled `zab`. Each ensemble is started as a `faultline run` would start it (3
//! nodes, processes, durable: both fsync their transaction log before acknowledging), then
//! clients run the lock workload's own recipe (`workloads::lock::zookeeper`) — acquire,
//! release, again — on one lock for a few seconds, straight to the nodes (no proxies: the
//! servers are measured, not the harness). The figures: time to "cluster ready" (ZooKeeper's
//! JVM start-up included), acquire/release cycles per second, and each cycle's latency; with
//! more than one target, each target's throughput against the first's, measured in the same
//! run.
//!
//! Prints figures; asserts nothing (the machine is shared and noisy).

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use targets::descriptor::Descriptor;
use workloads::lock::client::Outcome;
use workloads::lock::zookeeper::ZkLock;

/// Clients, each in its own session, all after the one lock.
const CLIENTS: usize = 4;
/// Seconds of locking per target.
const SECONDS: u64 = 5;
const NODES: usize = 3;

/// What one target did.
struct Figures {
    ready: Duration,
    cycles: usize,
    failed: usize,
    latencies: Vec<Duration>,
    elapsed: Duration,
}

impl Figures {
    fn rate(&self) -> f64 {
        self.cycles as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> Duration {
        support::percentile(&self.latencies, p)
    }
}

async fn measure(d: &'static Descriptor) -> Figures {
    let (cluster, root, ready) = support::start(d, NODES, &[]).await;
    let nodes: Vec<(String, std::net::SocketAddr)> = cluster
        .serving
        .iter()
        .map(|n| (n.clone(), cluster.client_addr(n).unwrap()))
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..CLIENTS {
        // Spread over the nodes, one home node each, as the lock workload's clients are.
        let lock = ZkLock::new(
            nodes[c % nodes.len()].clone(),
            Duration::from_secs(2),
            Duration::from_secs(2),
        );
        let stop = stop.clone();
        tasks.spawn(async move {
            let (mut latencies, mut failed) = (Vec::new(), 0);
            let mut holding = 0;
            while !stop.load(Ordering::Relaxed) {
                holding += 1;
                let t = Instant::now();
                let acquired = lock.acquire(&format!("c{c}-{holding}")).await;
                let released = lock.release().await;
                match (acquired, released) {
                    (Outcome::Done(_), Outcome::Done(_)) => latencies.push(t.elapsed()),
                    _ => failed += 1,
                }
            }
            (latencies, failed)
        });
    }
    let began = Instant::now();
    tokio::time::sleep(Duration::from_secs(SECONDS)).await;
    stop.store(true, Ordering::Relaxed);
    let mut figures = Figures {
        ready,
        cycles: 0,
        failed: 0,
        latencies: Vec::new(),
        elapsed: Duration::ZERO,
    };
    while let Some(done) = tasks.join_next().await {
        let (latencies, failed) = done.unwrap();
        figures.cycles += latencies.len();
        figures.failed += failed;
        figures.latencies.extend(latencies);
    }
    figures.elapsed = began.elapsed();
    support::shut(cluster, root);
    figures
}

fn main() {
    let targets = support::installed(&["zookeeper", "zab"]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for d in &targets {
        let name = d.name;
        let (cluster, root, ready) = runtime.block_on(support::start(d, 5, &[]));
        support::shut(cluster, root);
        println!(
            "{name:>10}: 5 nodes ready (every one answering srvr with a mode) in {:.2} s",
            ready.as_secs_f64()
        );
    }
    println!(
        "lock acquire/release cycles, {NODES} nodes, {CLIENTS} clients on one lock, {SECONDS} s"
    );
    let mut first: Option<(&str, f64)> = None;
    for d in targets {
        let name = d.name;
        let f = runtime.block_on(measure(d));
        let rate = f.rate();
        let ratio = first.map_or(String::new(), |(base, base_rate)| {
            format!("; {:.2}× {base}'s throughput", rate / base_rate)
        });
        first.get_or_insert((name, rate));
        println!(
            "{name:>10}: ready in {:.2} s; {:.0} cycles/s ({} cycles, {} failed); cycle p50 {:.1} ms, p99 {:.1} ms{ratio}",
            f.ready.as_secs_f64(),
            rate,
            f.cycles,
            f.failed,
            f.percentile(0.5).as_secs_f64() * 1e3,
            f.percentile(0.99).as_secs_f64() * 1e3,
        );
    }
}
