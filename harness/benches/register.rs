//! `cargo bench -p faultline --bench register`: the register workload's operations per
//! second, Debian's etcd 3.4 against the bundled `raft-kv`, side by side in one run. Each
//! cluster is started as a `faultline run` would start it (3 nodes, processes, durable: both
//! fsync their log before acknowledging a write — raft-kv always does, etcd by default), then
//! clients run a mix of reads, writes and compare-and-sets on a few keys for a few seconds,
//! straight to the nodes (no proxies: the servers are measured, not the harness), through the
//! register workload's own clients: `workloads::register::client` (raft-kv's `http-kv`, which
//! follows the leader) and `workloads::register::etcd` (etcd's v3 JSON gateway, each client
//! bound to its home member, which forwards to the leader; reads linearizable). The figures:
//! time to "cluster ready", operations per second, each operation's latency, and raft-kv's
//! throughput against etcd's, measured in the same run.
//!
//! An operation counts when the system answered it: `ok`, or a cas that compared false
//! (`cas-mismatch`, a definite answer). Anything else (timeouts, refusals) is counted apart.
//!
//! Then raft-kv alone by where its nodes run: straight to processes here (the baseline),
//! through the harness's proxies, in network namespaces (`--net netns`) and on a local bed of
//! SSH hosts (`--hosts`, docs/hosts.md), each against the baseline in the same run.
//!
//! Prints figures; asserts nothing (the machine is shared and noisy).

mod support;

use std::time::{Duration, Instant};

use checkers::history::EventType;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::PathBuf;

use faultline::run::cluster::Place;
use targets::descriptor::Descriptor;
use workloads::register::client::{Client, Node, Outcome};
use workloads::register::etcd::EtcdRegister;
use workloads::register::generator::{Invocation, Op};

const NODES: usize = 3;
/// Registers the clients share.
const KEYS: u64 = 4;
/// Values written are drawn from `0..VALUES`, so that some cas operations match.
const VALUES: i64 = 5;
/// Relative weights of read, write and cas.
const MIX: [u32; 3] = [2, 1, 1];
/// Client counts measured, on the same cluster one after the other.
const CLIENTS: &[usize] = &[8, 32];
/// Seconds of operations per client count.
const SECONDS: u64 = 4;
/// One operation's time limit, all attempts together.
const OP_TIMEOUT: Duration = Duration::from_secs(2);

/// What one target did at one client count.
struct Figures {
    ops: usize,
    failed: usize,
    latencies: Vec<Duration>,
    elapsed: Duration,
}

impl Figures {
    fn rate(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> Duration {
        support::percentile(&self.latencies, p)
    }
}

/// The next operation of a client drawing from `rng`.
fn invocation(rng: &mut ChaCha8Rng) -> Invocation {
    let key = rng.random_range(0..KEYS);
    let pick = rng.random_range(0..MIX.iter().sum::<u32>());
    let op = if pick < MIX[0] {
        Op::Read
    } else if pick < MIX[0] + MIX[1] {
        Op::Write(rng.random_range(0..VALUES))
    } else {
        Op::Cas {
            from: rng.random_range(0..VALUES),
            to: rng.random_range(0..VALUES),
        }
    };
    Invocation { key, op }
}

/// Whether the system answered: done, or a cas that definitely compared false.
fn answered(outcome: &Outcome) -> bool {
    outcome.kind == EventType::Ok
        || (outcome.kind == EventType::Fail && outcome.error.as_deref() == Some("cas-mismatch"))
}

/// One client's register connection, whichever the system.
enum Register {
    HttpKv {
        client: Client,
        id: u64,
        seq: u64,
        preferred: usize,
    },
    Etcd(EtcdRegister),
}

impl Register {
    async fn invoke(&mut self, inv: Invocation) -> Outcome {
        match self {
            Register::HttpKv {
                client,
                id,
                seq,
                preferred,
            } => {
                *seq += 1;
                client.invoke(*id, *seq, preferred, inv).await
            }
            Register::Etcd(etcd) => etcd.invoke(inv).await,
        }
    }
}

/// `clients` clients of `d`'s `nodes`, each starting at (etcd: bound to) its home node, the
/// nodes taken in turn. `round` keeps client ids apart across client counts.
fn registers(d: &Descriptor, nodes: &[Node], clients: usize, round: usize) -> Vec<Register> {
    (0..clients)
        .map(|c| {
            let home = c % nodes.len();
            if d.name == "etcd" {
                Register::Etcd(EtcdRegister::new(nodes[home].clone(), OP_TIMEOUT, false))
            } else {
                Register::HttpKv {
                    client: Client::new(nodes.to_vec(), OP_TIMEOUT),
                    id: (round * 1000 + c) as u64,
                    seq: 0,
                    preferred: home,
                }
            }
        })
        .collect()
}

/// The `registers` doing operations for `SECONDS`.
async fn measure(registers: Vec<Register>) -> Figures {
    let deadline = Instant::now() + Duration::from_secs(SECONDS);
    let began = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (c, mut register) in registers.into_iter().enumerate() {
        tasks.spawn(async move {
            let mut rng = ChaCha8Rng::seed_from_u64(c as u64);
            let (mut latencies, mut failed) = (Vec::new(), 0);
            while Instant::now() < deadline {
                let inv = invocation(&mut rng);
                let t = Instant::now();
                let outcome = register.invoke(inv).await;
                if answered(&outcome) {
                    latencies.push(t.elapsed());
                } else {
                    failed += 1;
                }
            }
            (latencies, failed)
        });
    }
    let mut figures = Figures {
        ops: 0,
        failed: 0,
        latencies: Vec::new(),
        elapsed: Duration::ZERO,
    };
    while let Some(done) = tasks.join_next().await {
        let (latencies, failed) = done.unwrap();
        figures.ops += latencies.len();
        figures.failed += failed;
        figures.latencies.extend(latencies);
    }
    figures.elapsed = began.elapsed();
    figures
}

/// Starts `d`'s cluster and measures it at each client count: how long it took to be ready,
/// and the figures.
async fn run(d: &'static Descriptor) -> (Duration, Vec<Figures>) {
    let (cluster, root, ready) = support::start(d, NODES, &[]).await;
    let nodes: Vec<Node> = cluster.serving_nodes();
    // A short warm-up: the leader settled, connections open, the keys written once.
    let _ = warm_up(d, &nodes).await;
    let mut all = Vec::new();
    for (round, &clients) in CLIENTS.iter().enumerate() {
        all.push(measure(registers(d, &nodes, clients, round + 1)).await);
    }
    support::shut(cluster, root);
    (ready, all)
}

/// Writes every key once through one client, retrying until the cluster answers (up to 10 s).
async fn warm_up(d: &Descriptor, nodes: &[Node]) -> bool {
    let mut register = registers(d, nodes, 1, 0).pop().unwrap();
    let until = Instant::now() + Duration::from_secs(10);
    for key in 0..KEYS {
        loop {
            let outcome = register
                .invoke(Invocation {
                    key,
                    op: Op::Write(0),
                })
                .await;
            if outcome.kind == EventType::Ok {
                break;
            }
            if Instant::now() > until {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    true
}

/// Rounds of the placement comparison: each round measures every placement once, in turn,
/// so that the machine's drift over the run hits them alike; the median round is reported.
const ROUNDS: usize = 5;
/// Clients in the placement comparison.
const PLACEMENT_CLIENTS: usize = 32;

/// raft-kv's figures wherever its nodes can run here: straight to processes on this machine
/// (the baseline), through the proxies (a default run), in namespaces (`--net netns`), and
/// on the local bed's hosts over SSH (`--hosts`); each against the baseline, in one run.
fn placements(runtime: &tokio::runtime::Runtime) {
    let d = &targets::descriptor::RAFT_KV;
    let bed = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("bench-bed-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&bed);
    let inventory = match faultline::hosts::bed::up(&bed, NODES) {
        // The hosts keep their runs beside the other clusters' (a disk's fsyncs cost differ
        // from folder to folder, and raft-kv fsyncs every write).
        Ok(mut inventory) => {
            for host in &mut inventory.hosts {
                host.dir = bed.join("on-hosts");
            }
            Some(inventory)
        }
        Err(e) => {
            println!("netns and ssh hosts: skipped: {e}");
            None
        }
    };
    let mut places = vec![("direct", Place::Here, false), ("proxy", Place::Here, true)];
    if let Some(inventory) = &inventory {
        places.push(("netns", Place::Netns, false));
        places.push(("ssh hosts", Place::Hosts(inventory), false));
    }
    // Every cluster up at once (idle Raft nodes cost little), then measured in turn.
    let mut clusters = Vec::new();
    for &(name, place, proxied) in &places {
        let (cluster, root, ready) =
            runtime.block_on(support::start_at(d, NODES, &[], place, proxied));
        let nodes: Vec<Node> = cluster.serving_nodes();
        let _ = runtime.block_on(warm_up(d, &nodes));
        clusters.push((name, cluster, root, ready, nodes, Vec::new()));
    }
    for round in 0..ROUNDS {
        for (_, _, _, _, nodes, figures) in clusters.iter_mut() {
            let registers = registers(d, nodes, PLACEMENT_CLIENTS, round + 10);
            figures.push(runtime.block_on(measure(registers)));
        }
    }
    println!(
        "raft-kv, {NODES} nodes, {PLACEMENT_CLIENTS} clients, by where the nodes run (median of {ROUNDS} interleaved rounds of {SECONDS} s):"
    );
    let median = |figures: &mut Vec<Figures>| {
        figures.sort_by(|a, b| a.rate().total_cmp(&b.rate()));
        figures.swap_remove(figures.len() / 2)
    };
    let mut base = None;
    for (name, cluster, root, ready, _, mut figures) in clusters {
        let f = median(&mut figures);
        let b = *base.get_or_insert(f.rate());
        println!(
            "{name:>9}: ready in {:.2} s; {:.0} ops/s ({:+.1}% against direct); p50 {:.2} ms, p99 {:.2} ms",
            ready.as_secs_f64(),
            f.rate(),
            (f.rate() / b - 1.0) * 100.0,
            f.percentile(0.5).as_secs_f64() * 1e3,
            f.percentile(0.99).as_secs_f64() * 1e3,
        );
        support::shut(cluster, root);
    }
    if inventory.is_some() {
        let _ = faultline::hosts::bed::down(&bed);
    }
    let _ = std::fs::remove_dir_all(&bed);
}

fn main() {
    let targets = support::installed(&["etcd", "raft-kv"]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    placements(&runtime);
    println!(
        "register operations (read:write:cas {}:{}:{}, {KEYS} keys), {NODES} nodes, fsync on, {SECONDS} s per client count",
        MIX[0], MIX[1], MIX[2]
    );
    let mut rates: Vec<(&str, Vec<f64>)> = Vec::new();
    for d in targets {
        let name = d.name;
        let (ready, all) = runtime.block_on(run(d));
        println!("{name:>8}: 3 nodes ready in {:.2} s", ready.as_secs_f64());
        for (f, clients) in all.iter().zip(CLIENTS) {
            println!(
                "{name:>8}: {clients:>2} clients: {:.0} ops/s ({} ops, {} failed); p50 {:.1} ms, p99 {:.1} ms",
                f.rate(),
                f.ops,
                f.failed,
                f.percentile(0.5).as_secs_f64() * 1e3,
                f.percentile(0.99).as_secs_f64() * 1e3,
            );
        }
        rates.push((name, all.iter().map(Figures::rate).collect()));
    }
    if let [(base, base_rates), (other, other_rates)] = &rates[..] {
        for ((b, o), clients) in base_rates.iter().zip(other_rates).zip(CLIENTS) {
            println!(
                "{other}/{base} at {clients} clients: {:.2}× throughput",
                o / b
            );
        }
    }
}
