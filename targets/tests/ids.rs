//! End-to-end tests of the two ID servers, `snowflake` and `uuid`: real nodes, each on its own
//! thread and tokio runtime, driven over loopback through the `http-ids` protocol
//! (docs/protocols/http-ids.md) with an HTTP client. Clock faults are made the harness's way:
//! by writing the node's clock offset file, which its `WallClock` follows within a
//! millisecond. Every node is stopped and joined, and its directory removed, when its [`Node`]
//! is dropped — even after a failed assertion.

mod support;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use support::{NodeThread, temp_dir};
use targets::clock::write_offset;
use targets::ids_http::{Error, Listener};
use targets::snowflake::layout::Layout;
use targets::uuid_ids::uuid::Uuid;
use targets::{snowflake, uuid_ids};

#[derive(Clone, Copy, Debug)]
enum System {
    Snowflake,
    Uuid,
}

/// A node running on its own thread, with its own directory and clock offset file.
struct Node {
    system: System,
    /// The command line, but for the port.
    args: String,
    addr: SocketAddr,
    dir: PathBuf,
    clock_file: PathBuf,
    http: reqwest::Client,
    node: NodeThread<Error>,
}

impl Node {
    /// Starts `system` as node `name`, with the descriptor's flags plus `extra`.
    fn start(system: System, name: &str, extra: &str) -> Node {
        Node::start_with_offset(system, name, extra, 0)
    }

    /// The same, with the node's clock `offset_ms` from the system's from the start.
    fn start_with_offset(system: System, name: &str, extra: &str, offset_ms: i64) -> Node {
        let dir = temp_dir("ids-test");
        let clock_file = dir.join("clock");
        write_offset(&clock_file, offset_ms * 1_000_000).expect("a clock file");
        let args = format!(
            "--id {name} --data-dir {} --clock-file {} {extra}",
            dir.join("data").display(),
            clock_file.display()
        );
        let (addr, node) = launch(system, &args);
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        Node {
            system,
            args,
            addr,
            dir,
            clock_file,
            http,
            node,
        }
    }

    /// Stops the node and starts it again on the same data directory and clock file (on a new
    /// port).
    fn restart(&mut self) {
        self.node.stop();
        (self.addr, self.node) = launch(self.system, &self.args);
    }

    /// Moves the node's wall clock to `offset_ms` from the system's, and gives it time to see.
    async fn set_clock_offset_ms(&self, offset_ms: i64) {
        write_offset(&self.clock_file, offset_ms * 1_000_000).unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .http
            .get(format!("http://{}{path}", self.addr))
            .send()
            .await
            .expect("an answer");
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON body"))
    }

    /// `POST /ids` with `body` as it is.
    async fn post(&self, body: &str) -> (u16, Value) {
        let response = self
            .http
            .post(format!("http://{}/ids", self.addr))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("an answer");
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON body"))
    }

    /// `count` IDs, which must come.
    async fn ids(&self, count: usize) -> Vec<String> {
        let (status, body) = self.post(&json!({ "count": count }).to_string()).await;
        assert_eq!(status, 200, "{body}");
        let ids: Vec<String> = serde_json::from_value(body["ids"].clone()).expect("a list of IDs");
        assert_eq!(ids.len(), count);
        ids
    }

    /// `count` snowflake IDs, as numbers.
    async fn snowflakes(&self, count: usize) -> Vec<u64> {
        let ids = self.ids(count).await;
        ids.iter()
            .map(|id| id.parse().expect("a decimal ID"))
            .collect()
    }
}

/// Starts `system` with `args` and a free port, on its own thread.
fn launch(system: System, args: &str) -> (SocketAddr, NodeThread<Error>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let addr = listener.local_addr().unwrap();
    let args: Vec<String> = format!("--port {} {args}", addr.port())
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let node = match system {
        System::Snowflake => {
            let config = snowflake::Config::from_args(args).expect("a valid command line");
            NodeThread::spawn(1, move |stopped| async move {
                let listener = Listener::from_std(listener)?;
                snowflake::serve_on(config, listener, stopped).await
            })
        }
        System::Uuid => {
            let config = uuid_ids::Config::from_args(args).expect("a valid command line");
            NodeThread::spawn(1, move |stopped| async move {
                let listener = Listener::from_std(listener)?;
                uuid_ids::serve_on(config, listener, stopped).await
            })
        }
    };
    (addr, node)
}

impl Drop for Node {
    fn drop(&mut self) {
        // It must stop cleanly, unless the test already failed.
        match std::thread::panicking() {
            true => self.node.halt(),
            false => self.node.stop(),
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn strictly_increasing<T: Ord>(items: &[T]) -> bool {
    items.windows(2).all(|w| w[0] < w[1])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snowflake_ids_are_unique_increasing_per_worker_and_decode() {
    let nodes: Vec<Node> = (1..=3)
        .map(|i| Node::start(System::Snowflake, &format!("n{i}"), ""))
        .collect();
    let (status, health) = nodes[1].get("/health").await;
    assert_eq!(status, 200);
    assert_eq!(
        health,
        json!({"node": "n2", "worker": 2, "bits": "timestamp=41,worker=10,sequence=12",
               "epoch_ms": 1_577_836_800_000_i64})
    );

    // Two clients per node, each asking four times for 900: 21,600 IDs.
    let start = now_ms();
    let mut clients = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        for _ in 0..2 {
            clients.push(async move {
                let mut ids = Vec::new();
                for _ in 0..4 {
                    ids.extend(node.snowflakes(900).await);
                }
                (i as u64 + 1, ids)
            });
        }
    }
    let results = futures_join_all(clients).await;
    let end = now_ms();

    let layout = Layout::default();
    let mut all = HashSet::new();
    for (worker, ids) in &results {
        // What one client saw from one worker, in order: strictly increasing.
        assert!(strictly_increasing(ids), "worker {worker}");
        for &id in ids {
            assert!(all.insert(id), "{id} issued twice");
            assert!(id < 1 << 63);
            let parts = layout.decode(id);
            assert_eq!(parts.worker, *worker);
            assert!(parts.sequence < 4096);
            assert!(
                (start..=end).contains(&parts.timestamp_ms),
                "{parts:?} outside {start}..={end}"
            );
        }
    }
    assert_eq!(all.len(), 6 * 4 * 900);
}

/// Polls all the futures to completion, concurrently, in order (no extra dependency).
async fn futures_join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut pinned: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in pinned.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        match pending {
            true => std::task::Poll::Pending,
            false => std::task::Poll::Ready(()),
        }
    })
    .await;
    outputs.into_iter().map(|o| o.expect("done")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uuids_are_unique_and_well_formed() {
    let v4 = Node::start(System::Uuid, "n1", "");
    let v7 = Node::start(System::Uuid, "n2", "--version 7");
    assert_eq!(
        v4.get("/health").await,
        (200, json!({"node": "n1", "version": 4}))
    );
    assert_eq!(
        v7.get("/health").await,
        (200, json!({"node": "n2", "version": 7}))
    );

    let start = now_ms();
    let mut clients = Vec::new();
    for (version, node) in [(4, &v4), (7, &v7)] {
        for _ in 0..2 {
            clients.push(async move {
                let mut ids = Vec::new();
                for _ in 0..5 {
                    ids.extend(node.ids(1000).await);
                }
                (version, ids)
            });
        }
    }
    let results = futures_join_all(clients).await;
    let end = now_ms();

    let mut all = HashSet::new();
    for (version, ids) in &results {
        let uuids: Vec<Uuid> = ids.iter().map(|id| id.parse().expect("a UUID")).collect();
        for (text, uuid) in ids.iter().zip(&uuids) {
            assert!(all.insert(*uuid), "{text} issued twice");
            assert_eq!(uuid.to_string(), *text, "canonical, lowercase");
            assert_eq!(uuid.version(), *version);
            assert!(uuid.is_rfc_variant());
        }
        if *version == 7 {
            // One client's v7 UUIDs from one node increase, as text too, and carry the clock
            // (a counter overflow may borrow a millisecond or two ahead).
            assert!(strictly_increasing(&uuids) && strictly_increasing(ids));
            for uuid in &uuids {
                let ms = uuid.timestamp_ms().unwrap() as i64;
                assert!(
                    (start..=end + 5).contains(&ms),
                    "{ms} outside {start}..={end}"
                );
            }
        }
    }
    assert_eq!(all.len(), 20_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_definite_400s() {
    for node in [
        Node::start(System::Snowflake, "n1", ""),
        Node::start(System::Uuid, "n1", ""),
    ] {
        for body in [
            r#"{"count": 0}"#,
            r#"{"count": 1001}"#,
            r#"{"count": -3}"#,
            r#"{"count": 2.5}"#,
            r#"{"count": "3"}"#,
            r#"{"count": 3"#,
            r#"[{"count": 3}]"#,
            "count=3",
            "",
        ] {
            let (status, answer) = node.post(body).await;
            assert_eq!(status, 400, "{body}: {answer}");
            assert_eq!(answer["error"], "bad-request", "{body}");
            assert_eq!(answer["definite"], true, "{body}");
            assert!(answer["message"].as_str().is_some_and(|m| !m.is_empty()));
        }
        // The limits themselves, and the default.
        assert_eq!(node.ids(1000).await.len(), 1000);
        let (status, answer) = node.post("{}").await;
        assert_eq!(status, 200);
        assert_eq!(answer["ids"].as_array().map(Vec::len), Some(1));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_guard_a_large_backward_step_is_refused() {
    let node = Node::start(System::Snowflake, "n1", "");
    let before = node.snowflakes(10).await;
    node.set_clock_offset_ms(-2000).await;
    for _ in 0..3 {
        let (status, answer) = node.post(r#"{"count": 5}"#).await;
        assert_eq!(status, 503, "{answer}");
        assert_eq!(answer["error"], "clock-moved-backwards");
        assert_eq!(answer["definite"], true);
        let behind = answer["behind_ms"].as_u64().expect("behind_ms");
        assert!((1500..=2000).contains(&behind), "{behind}");
    }
    // Once the clock is back, IDs go on from where they were.
    node.set_clock_offset_ms(0).await;
    let after = node.snowflakes(10).await;
    assert!(after[0] > *before.last().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_guard_small_backward_steps_are_waited_out() {
    let node = Node::start(System::Snowflake, "n1", "--max-backwards-wait-ms 10");
    let mut ids = node.snowflakes(20).await;
    // Three steps of 8 ms back, each under the 10 ms the guard waits out, amid requests.
    for step in 1..=3 {
        write_offset(&node.clock_file, -8_000_000 * step).unwrap();
        let until = Instant::now() + Duration::from_millis(30);
        while Instant::now() < until {
            ids.extend(node.snowflakes(20).await);
        }
    }
    assert!(
        strictly_increasing(&ids),
        "no error, no repeat, no step back"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_guard_a_backward_step_reissues_ids() {
    let node = Node::start(System::Snowflake, "n1", "--bug no-clock-guard");
    let mut seen = HashSet::new();
    let until = Instant::now() + Duration::from_millis(100);
    while Instant::now() < until {
        for id in node.snowflakes(20).await {
            assert!(seen.insert(id), "a duplicate before the clock moved");
        }
    }
    // 200 ms back: the next 200 ms of the clock are milliseconds already used, and the first
    // request in each of them gets the same sequence numbers as before. A duplicate needs a
    // request in the same millisecond before and after; on a busy machine a round might miss,
    // so the clock steps back again (by 200 ms more) up to five times.
    let mut duplicates = 0;
    for round in 1..=5 {
        write_offset(&node.clock_file, -200_000_000 * round).unwrap();
        let until = Instant::now() + Duration::from_millis(300);
        while Instant::now() < until {
            for id in node.snowflakes(20).await {
                duplicates += usize::from(!seen.insert(id));
            }
        }
        if duplicates > 0 {
            break;
        }
    }
    assert!(duplicates > 0, "the bug re-issued no ID");
}

/// IDs for `ms` milliseconds, added to `seen`; how many were already there.
async fn collect_for(node: &Node, ms: u64, seen: &mut HashSet<u64>) -> usize {
    let until = Instant::now() + Duration::from_millis(ms);
    let mut repeats = 0;
    while Instant::now() < until {
        for id in node.snowflakes(20).await {
            repeats += usize::from(!seen.insert(id));
        }
    }
    repeats
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_behind_the_clock_resumes_above_the_high_water_mark() {
    let mut node = Node::start(System::Snowflake, "n1", "");
    let mut seen = HashSet::new();
    collect_for(&node, 200, &mut seen).await;
    let last = *seen.iter().max().unwrap();
    // Restarted with its clock 2 s behind: the guard is back, in a new process, from the mark.
    node.set_clock_offset_ms(-2000).await;
    node.restart();
    let (status, answer) = node.post(r#"{"count": 5}"#).await;
    assert_eq!(status, 503, "{answer}");
    assert_eq!(answer["error"], "clock-moved-backwards");
    // With the clock right again it waits out the rest of the mark's lease (up to a second),
    // then goes on above everything issued before.
    node.set_clock_offset_ms(0).await;
    let until = Instant::now() + Duration::from_secs(3);
    let first = loop {
        let (status, answer) = node.post(r#"{"count": 5}"#).await;
        if status == 200 {
            break answer["ids"][0].as_str().unwrap().parse::<u64>().unwrap();
        }
        assert_eq!(answer["error"], "clock-moved-backwards", "{answer}");
        assert!(Instant::now() < until, "still refusing after 3 s: {answer}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(first > last, "{first} after {last}");
    assert_eq!(collect_for(&node, 100, &mut seen).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_high_water_mark_a_restart_behind_the_clock_reissues_ids() {
    let mut node = Node::start(System::Snowflake, "n1", "--bug no-high-water");
    let mut seen = HashSet::new();
    collect_for(&node, 300, &mut seen).await;
    // Restarted 300 ms behind, the new process re-passes milliseconds the old one used, and
    // the first request in each gets the same sequence numbers. A duplicate needs a request in
    // the same millisecond before and after; a busy machine might miss, so up to five rounds.
    let mut repeats = 0;
    for round in 1..=5 {
        node.set_clock_offset_ms(-300 * round).await;
        node.restart();
        repeats += collect_for(&node, 300, &mut seen).await;
        if repeats > 0 {
            break;
        }
    }
    assert!(repeats > 0, "no ID was issued twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clock_outside_the_timestamps_range_is_a_definite_500() {
    let tomorrow = now_ms() + 86_400_000;
    for extra in [
        format!("--epoch-ms {tomorrow}"),
        // 2^20 ms (17 minutes) after 1970.
        "--epoch-ms 0 --bits timestamp=20,worker=10,sequence=33".to_string(),
    ] {
        let node = Node::start(System::Snowflake, "n1", &extra);
        let (status, answer) = node.post(r#"{"count": 2}"#).await;
        assert_eq!(status, 500, "{extra}: {answer}");
        assert_eq!(answer["error"], "timestamp-exhausted");
        assert_eq!(answer["definite"], true);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v7_uuids_keep_increasing_across_a_backward_step() {
    let node = Node::start(System::Uuid, "n1", "--version 7");
    let before: Vec<Uuid> = node
        .ids(50)
        .await
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    node.set_clock_offset_ms(-2000).await;
    let after: Vec<Uuid> = node
        .ids(50)
        .await
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    assert!(strictly_increasing(&[before, after].concat()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_seeded_rngs_started_in_the_same_second_collide() {
    // Both clocks read the middle of a second when the nodes start, so they seed alike —
    // unless starting them took half a second (a busy machine): then the pair is started again,
    // a few times at most. Without the bug no pair ever shares a stream.
    let mut attempts = 0;
    let (x, offset_ms) = loop {
        attempts += 1;
        let offset_ms = 500 - now_ms().rem_euclid(1000);
        let buggy =
            |name| Node::start_with_offset(System::Uuid, name, "--bug time-seeded-rng", offset_ms);
        let (a, b) = (buggy("n1"), buggy("n2"));
        let x = a.ids(100).await;
        if x == b.ids(100).await {
            break (x, offset_ms);
        }
        assert!(attempts < 5, "{attempts} pairs never shared a stream");
    };
    let c = Node::start_with_offset(System::Uuid, "n3", "", offset_ms);
    let z = c.ids(100).await;
    assert!(
        z.iter().all(|id| !x.contains(id)),
        "seeded by the OS: no collision"
    );
}
