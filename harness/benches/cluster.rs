//! `cargo bench -p faultline`: what the harness itself costs. Prints figures; times assert
//! nothing (the machine is shared and noisy), and each figure comes with its baseline measured
//! in the same run.
//!
//! 1. One proxy hop: round trips to an echo server, direct and through a proxy.
//! 2. Readiness: a 5-node raft-kv cluster started until every node knows the leader.
//! 3. Throughput: register operations per second, 10 clients against 3 raft-kv nodes, with
//!    every link proxied and with none, in alternating pairs (the median pair is reported: on a
//!    shared 2-core machine single runs swing by several percent).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use checkers::history::EventType;
use faultline::net::{CLIENT, LinkState, Mode, Proxy};
use faultline::run::cluster::{Cluster, Place, Setup};
use faultline::run::store::RunDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use workloads::register::client::{Client, Node};
use workloads::register::generator::{Invocation, Op};

async fn echo() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let _ = s.set_nodelay(true);
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

/// Sorted round-trip times of `n` 64-byte messages over one connection to `addr`.
async fn round_trips(addr: SocketAddr, n: usize) -> Vec<Duration> {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.set_nodelay(true).unwrap();
    let msg = [7u8; 64];
    let mut back = [0u8; 64];
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        s.write_all(&msg).await.unwrap();
        s.read_exact(&mut back).await.unwrap();
        times.push(t.elapsed());
    }
    times.sort();
    times
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

async fn proxy_hop() {
    println!("== 1. one proxy hop (64-byte round trips to an echo server) ==");
    let server = echo().await;
    let proxy = Proxy::start(server).await.unwrap();
    // Warm up both paths, then interleave the measurements.
    round_trips(server, 1000).await;
    round_trips(proxy.addr(), 1000).await;
    let direct = round_trips(server, 20_000).await;
    let proxied = round_trips(proxy.addr(), 20_000).await;
    let q = |t: &[Duration], p: f64| t[((t.len() - 1) as f64 * p) as usize];
    for (label, p) in [("p50", 0.5), ("p99", 0.99)] {
        let (d, x) = (q(&direct, p), q(&proxied, p));
        println!(
            "{label}: direct {:.1} µs, through the proxy {:.1} µs — {:.1} µs per hop",
            us(d),
            us(x),
            (us(x) - us(d)) / 2.0
        );
    }
    println!("(a round trip crosses the proxy twice; target: p50 per hop < 100 µs)");
    proxy.set(LinkState {
        mode: Mode::Open,
        ..LinkState::default()
    });
    println!();
}

fn run_dir(tag: &str) -> (PathBuf, RunDir) {
    let root = std::env::temp_dir().join(format!("faultline-bench-{tag}-{}", std::process::id()));
    let dir = RunDir::create(&root, "bench").unwrap();
    (root, dir)
}

async fn start(nodes: usize, proxied: bool, dir: &RunDir) -> Cluster {
    Cluster::start(Setup {
        descriptor: &targets::descriptor::RAFT_KV,
        nodes,
        bugs: &[],
        cut: Mode::Blackhole,
        link: LinkState::default(),
        dir,
        options: &[],
        workload_args: &[],
        clients: &[CLIENT.to_string()],
        ready_timeout: Duration::from_secs(15),
        proxied,
        faultline: PathBuf::from(env!("CARGO_BIN_EXE_faultline")),
        place: Place::Here,
        fetch_data: false,
    })
    .await
    .expect("the cluster starts")
}

async fn readiness() {
    println!("== 2. a 5-node raft-kv cluster, started until every node knows the leader ==");
    let mut times = Vec::new();
    for _ in 0..5 {
        let (root, dir) = run_dir("ready");
        let t = Instant::now();
        let cluster = start(5, true, &dir).await;
        times.push(t.elapsed());
        cluster.shutdown();
        drop(cluster);
        let _ = std::fs::remove_dir_all(root);
    }
    times.sort();
    println!(
        "ready in: min {:.0} ms, median {:.0} ms, max {:.0} ms over 5 starts (target < 1 s; etcd ≈ 2.5 s)\n",
        times[0].as_secs_f64() * 1e3,
        times[2].as_secs_f64() * 1e3,
        times[4].as_secs_f64() * 1e3
    );
}

/// CPU seconds (user + system) a process has used, from /proc.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(") ").next().unwrap_or("").split(' ').collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of stat; here 0-based after the command name.
    (ticks(11) + ticks(12)) / 100.0
}

/// One throughput measurement.
struct Throughput {
    ops_per_second: f64,
    /// CPU microseconds per ok operation: this process (clients and proxies), and the nodes.
    harness_us: f64,
    nodes_us: f64,
}

/// Ok operations per second, `clients` clients back to back for `secs` seconds.
async fn ops_per_second(proxied: bool, clients: usize, secs: u64) -> Throughput {
    let (root, dir) = run_dir(if proxied { "proxied" } else { "direct" });
    let cluster = start(3, proxied, &dir).await;
    let nodes: Vec<Node> = cluster.serving_nodes();
    let client = Arc::new(Client::new(nodes, Duration::from_secs(1)));
    let ok = Arc::new(AtomicU64::new(0));
    let pids: Vec<u32> = cluster
        .nodes
        .iter()
        .filter_map(|n| cluster.processes.pid(n))
        .collect();
    let me = std::process::id();
    let nodes_cpu = || pids.iter().map(|p| cpu_seconds(*p)).sum::<f64>();
    let (harness_before, nodes_before) = (cpu_seconds(me), nodes_cpu());
    let until = tokio::time::Instant::now() + Duration::from_secs(secs);
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..clients {
        let (client, ok) = (client.clone(), ok.clone());
        tasks.spawn(async move {
            let mut preferred = 0;
            let mut seq = 0;
            while tokio::time::Instant::now() < until {
                seq += 1;
                let op = if seq % 2 == 0 {
                    Op::Read
                } else {
                    Op::Write(seq as i64 % 5)
                };
                let inv = Invocation { key: c as u64, op };
                if client.invoke(c as u64, seq, &mut preferred, inv).await.kind == EventType::Ok {
                    ok.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    let (harness_cpu, nodes_cpu) = (cpu_seconds(me) - harness_before, nodes_cpu() - nodes_before);
    cluster.shutdown();
    drop(cluster);
    let _ = std::fs::remove_dir_all(root);
    let ops = ok.load(Ordering::Relaxed) as f64;
    Throughput {
        ops_per_second: ops / secs as f64,
        harness_us: harness_cpu / ops * 1e6,
        nodes_us: nodes_cpu / ops * 1e6,
    }
}

async fn throughput() {
    println!(
        "== 3. register ops/s, 10 clients, 3 raft-kv nodes: 5 pairs of 4 s runs, direct then proxied =="
    );
    let mut ratios = Vec::new();
    let (mut direct_total, mut proxied_total) = (0.0, 0.0);
    for pair in 1..=5 {
        let direct = ops_per_second(false, 10, 4).await;
        let proxied = ops_per_second(true, 10, 4).await;
        let (d, p) = (direct.ops_per_second, proxied.ops_per_second);
        println!(
            "pair {pair}: direct {d:.0} ops/s, proxied {p:.0} ops/s, cost {:.1}% — CPU µs per op: harness {:.0} → {:.0}, nodes {:.0} → {:.0}",
            (1.0 - p / d) * 100.0,
            direct.harness_us,
            proxied.harness_us,
            direct.nodes_us,
            proxied.nodes_us
        );
        ratios.push(p / d);
        direct_total += d;
        proxied_total += p;
    }
    ratios.sort_by(|a, b| a.total_cmp(b));
    println!(
        "median cost of the proxies: {:.1}% (mean throughput direct {:.0}, proxied {:.0} ops/s; target ≤ 15%)\n",
        (1.0 - ratios[2]) * 100.0,
        direct_total / 5.0,
        proxied_total / 5.0
    );
}

fn main() {
    let quick = std::env::args().any(|a| a == "quick");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        proxy_hop().await;
        if !quick {
            readiness().await;
            throughput().await;
        }
    });
}
