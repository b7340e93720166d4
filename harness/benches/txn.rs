//! `cargo bench -p faultline --bench txn`: committed transfers per second through the bundled
//! transaction targets, at 1 and at 32 clients. Each bank is started as a `faultline run`
//! would start it (a coordinator and 3 participants, processes, every log record fsync'd
//! before the message it allows — on disk, not tmpfs), then clients send transfers between
//! accounts of different participants straight to the coordinator (no proxies) for a few
//! seconds. The bank has many accounts so that concurrent transfers rarely meet a held lock:
//! what is measured is the protocol and its fsyncs, not contention. With group commit, the
//! transactions in flight together share each fsync, so throughput grows with the clients;
//! the figure to read is the 32-client rate against the 1-client rate, measured in the same
//! run.
//!
//! Prints figures; asserts nothing (the machine is shared and noisy).

mod support;

use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use targets::twopc::api::Answer;

const NODES: usize = 4;
const ACCOUNTS: u32 = 3000;
const SECONDS: u64 = 4;

/// What one run of clients did.
struct Figures {
    committed: usize,
    aborted: usize,
    failed: usize,
    latencies: Vec<Duration>,
    elapsed: Duration,
}

impl Figures {
    fn rate(&self) -> f64 {
        self.committed as f64 / self.elapsed.as_secs_f64()
    }
}

/// `clients` clients sending transfers to the coordinator at `coordinator` for `SECONDS`.
async fn measure(coordinator: std::net::SocketAddr, clients: usize) -> Figures {
    let http = reqwest::Client::builder()
        .tcp_nodelay(true)
        .build()
        .unwrap();
    let participants = (NODES - 1) as u32;
    let deadline = Instant::now() + Duration::from_secs(SECONDS);
    let began = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..clients {
        let http = http.clone();
        tasks.spawn(async move {
            let mut rng = ChaCha8Rng::seed_from_u64(c as u64);
            let (mut latencies, mut aborted, mut failed) = (Vec::new(), 0, 0);
            while Instant::now() < deadline {
                let from = rng.random_range(0..ACCOUNTS);
                // The next participant's share: always a distributed transaction.
                let to =
                    (from + 1 + participants * rng.random_range(0..ACCOUNTS / participants - 1))
                        % ACCOUNTS;
                let t = Instant::now();
                let answer = http
                    .post(format!("http://{coordinator}/transfer"))
                    .json(&serde_json::json!({"from": from, "to": to, "amount": 1}))
                    .send()
                    .await;
                let answer = match answer {
                    Ok(r) => r.json::<Answer>().await.ok(),
                    Err(_) => None,
                };
                match answer {
                    Some(a) if a.committed => latencies.push(t.elapsed()),
                    Some(_) => aborted += 1,
                    None => failed += 1,
                }
            }
            (latencies, aborted, failed)
        });
    }
    let mut f = Figures {
        committed: 0,
        aborted: 0,
        failed: 0,
        latencies: Vec::new(),
        elapsed: Duration::ZERO,
    };
    while let Some(done) = tasks.join_next().await {
        let (latencies, aborted, failed) = done.unwrap();
        f.committed += latencies.len();
        f.aborted += aborted;
        f.failed += failed;
        f.latencies.extend(latencies);
    }
    f.elapsed = began.elapsed();
    f
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let args: Vec<String> = ["--accounts", &ACCOUNTS.to_string(), "--total", "3000000"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    println!(
        "committed transfers, {NODES} nodes (a coordinator, {} participants), {ACCOUNTS} accounts, {SECONDS} s each, fsync on",
        NODES - 1
    );
    for d in support::installed(&["2pc", "3pc"]) {
        let (cluster, root, ready) = runtime.block_on(support::start(d, NODES, &args));
        let coordinator = cluster.client_addr("n1").unwrap();
        let mut one = None;
        for clients in [1, 32] {
            let f = runtime.block_on(measure(coordinator, clients));
            let ratio = one.map_or(String::new(), |base: f64| {
                format!("; {:.1}× the 1-client throughput", f.rate() / base)
            });
            one.get_or_insert(f.rate());
            println!(
                "{:>4}: {clients:>2} clients: {:.0} committed/s ({} committed, {} aborted, {} failed); latency p50 {:.1} ms, p99 {:.1} ms{ratio} (ready in {:.2} s)",
                d.name,
                f.rate(),
                f.committed,
                f.aborted,
                f.failed,
                support::percentile(&f.latencies, 0.5).as_secs_f64() * 1e3,
                support::percentile(&f.latencies, 0.99).as_secs_f64() * 1e3,
                ready.as_secs_f64(),
            );
        }
        support::shut(cluster, root);
    }
}
