//! `cargo bench -p faultline --bench throughput`: how many operations per second the harness
//! records, against the ceiling of the same clients without it.
//!
//! * **harness**: `faultline run --target uuid --nemesis none --rate 100000 --concurrency 32
//!   --time-limit 10`, the real command as a user types it (a child process: cluster, pacing,
//!   recording, checking), read back from its results: operations recorded per second of the
//!   time limit.
//! * **bare loop**: the same `http-ids` client (`IdClient`, batches of 10, 32 clients, each on
//!   its home node), back to back against 3 uuid nodes started as that run starts them, for
//!   the same 10 s; nothing recorded, paced or checked.
//!
//! The two alternate, three pairs; the medians are printed with the harness's share of the
//! cost: 1 − harness / bare. Figures only, no assertion: the machine is shared and noisy, and
//! the whole stack (nodes and clients) shares its two cores.

mod support;

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use checkers::history::EventType;
use workloads::ids::client::IdClient;

const PAIRS: usize = 3;
const SECONDS: u64 = 10;
const CLIENTS: usize = 32;
const NODES: usize = 3;
/// The uuid target's default batch (its scenario's `batch-size`).
const BATCH: u32 = 10;

/// Ok operations per second of `CLIENTS` clients asking back to back, with no harness.
async fn bare_loop() -> f64 {
    let (cluster, root, _) = support::start(&targets::descriptor::UUID, NODES, &[]).await;
    let client = Arc::new(IdClient::new(
        cluster.serving_nodes(),
        Duration::from_secs(2),
    ));
    let ok = Arc::new(AtomicU64::new(0));
    let until = tokio::time::Instant::now() + Duration::from_secs(SECONDS);
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..CLIENTS {
        let (client, ok) = (client.clone(), ok.clone());
        tasks.spawn(async move {
            while tokio::time::Instant::now() < until {
                if client.generate(c, BATCH).await.kind == EventType::Ok {
                    ok.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    support::shut(cluster, root);
    ok.load(Ordering::Relaxed) as f64 / SECONDS as f64
}

/// What one `faultline run` gave.
struct Recorded {
    ops_per_second: f64,
    valid: bool,
    /// history.jsonl's bytes per line, and of those the `value` field's (the IDs handed out).
    bytes_per_event: f64,
    value_bytes_per_event: f64,
}

/// Operations per second of the time limit that `faultline run` recorded, its verdict, and the
/// size of its history.
fn harness() -> Recorded {
    let results = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("bench-throughput-{}", std::process::id()));
    let output = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(["run", "--target", "uuid", "--nemesis", "none", "--quiet"])
        .args(["--rate", "100000", "--concurrency", &CLIENTS.to_string()])
        .args(["--nodes", &NODES.to_string()])
        .args(["--time-limit", &SECONDS.to_string()])
        .arg("--results")
        .arg(&results)
        .output()
        .expect("faultline runs");
    assert!(
        output.status.success(),
        "faultline run failed ({}): {}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let json = std::fs::read_to_string(results.join("latest").join("results.json"))
        .expect("the run wrote results.json");
    let history = std::fs::read_to_string(results.join("latest").join("history.jsonl"))
        .expect("the run wrote history.jsonl");
    let _ = std::fs::remove_dir_all(&results);
    let results: serde_json::Value = serde_json::from_str(&json).expect("results.json parses");
    let ops = results["history"]["stats"]["ops"]
        .as_f64()
        .expect("results.json has history.stats.ops");
    let events = history.lines().count().max(1) as f64;
    let value_bytes: usize = history
        .lines()
        .map(|line| {
            let event: serde_json::Value = serde_json::from_str(line).expect("a history line");
            event["value"].to_string().len()
        })
        .sum();
    Recorded {
        ops_per_second: ops / SECONDS as f64,
        valid: results["valid"] == true,
        bytes_per_event: history.len() as f64 / events,
        value_bytes_per_event: value_bytes as f64 / events,
    }
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!(
        "== recorded ops/s: uuid, {NODES} nodes, {CLIENTS} clients, batches of {BATCH}, \
         {SECONDS} s runs, {PAIRS} pairs ==\n"
    );
    let (mut bare, mut recorded) = (Vec::new(), Vec::new());
    let mut last = None;
    for pair in 1..=PAIRS {
        let b = runtime.block_on(bare_loop());
        let run = harness();
        let h = run.ops_per_second;
        println!(
            "pair {pair}: bare loop {b:>8.0} ops/s   faultline run {h:>8.0} ops/s ({}) \
             = {:.0}% of the ceiling",
            if run.valid { "valid" } else { "NOT VALID" },
            h / b * 100.0
        );
        bare.push(b);
        recorded.push(h);
        last = Some(run);
    }
    let (b, h) = (median(bare), median(recorded));
    println!(
        "\nmedian: bare loop {b:.0} ops/s, faultline run {h:.0} recorded ops/s \
         (target ≥ 20000); the harness's share of the cost {:.0}%",
        (1.0 - h / b) * 100.0
    );
    if let Some(run) = last {
        println!(
            "history: {:.0} bytes per event, {:.0} of them the values (the IDs)",
            run.bytes_per_event, run.value_bytes_per_event
        );
    }
}
