//! End-to-end tests of the `segment` ID server: a real three-node `raft-kv` store and real
//! segment servers, each node on its own thread and tokio runtime, over loopback — the servers
//! claim segments from the store through `http-kv`, and the test asks them for IDs through
//! `http-ids` (docs/protocols/). Every node is stopped and joined, and every directory
//! removed, when its owner is dropped, even after a failed assertion.

mod support;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::raft_cluster::{self, Node as StoreNode, listener};
use support::{NodeThread, temp_dir};
use targets::segment;

/// How long a test waits for a store to elect a leader, or to come back.
const SETTLE: Duration = Duration::from_secs(10);

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// A raft-kv cluster `n1..=nN`, peers talking directly.
struct Store {
    nodes: Vec<StoreNode>,
    dir: PathBuf,
    http: reqwest::Client,
}

impl Store {
    fn start(size: usize) -> Store {
        let dir = temp_dir("segment-test-store");
        let sockets = raft_cluster::sockets(size);
        let peer_addrs = raft_cluster::peer_addrs(&sockets);
        let nodes = raft_cluster::start_nodes(sockets, &dir, None, |_, j| peer_addrs[j]);
        Store {
            nodes,
            dir,
            http: http(),
        }
    }

    /// `--store`'s value: `n1=127.0.0.1:A,…`.
    fn list(&self) -> String {
        self.nodes
            .iter()
            .map(|n| format!("{}={}", n.config.name, n.config.client))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Waits until some node says it leads.
    async fn wait_for_leader(&self) {
        let deadline = Instant::now() + SETTLE;
        loop {
            for node in &self.nodes {
                let url = format!("http://{}/health", node.config.client);
                if let Ok(response) = self.http.get(url).send().await {
                    let body: Value = response.json().await.unwrap_or(Value::Null);
                    if body["role"] == "leader" {
                        return;
                    }
                }
            }
            assert!(Instant::now() < deadline, "no leader within {SETTLE:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The value of `key`, read linearizably from whichever node leads.
    async fn read(&self, key: u64) -> Value {
        let deadline = Instant::now() + SETTLE;
        loop {
            for node in &self.nodes {
                let url = format!("http://{}/kv/{key}", node.config.client);
                let body = json!({"op": "read", "client": 1, "seq": 0});
                if let Ok(response) = self.http.post(url).json(&body).send().await {
                    if response.status() == 200 {
                        let body: Value = response.json().await.unwrap();
                        return body["value"].clone();
                    }
                }
            }
            assert!(Instant::now() < deadline, "no read within {SETTLE:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn stop_all(&mut self) {
        for node in &mut self.nodes {
            node.halt();
        }
    }

    /// Starts every node again, on its old addresses and data directory.
    fn restart_all(&mut self) {
        for node in &mut self.nodes {
            node.restart(SETTLE);
        }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.stop_all();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A segment server running on its own thread.
struct Server {
    addr: SocketAddr,
    dir: PathBuf,
    http: reqwest::Client,
    node: NodeThread<segment::Error>,
}

impl Server {
    /// Starts node `name` against the store `store` (a `--store` list), with the descriptor's
    /// flags plus `extra`.
    fn start(name: &str, store: &str, extra: &str) -> Server {
        let dir = temp_dir(&format!("segment-test-{name}"));
        let listener = listener();
        let addr = listener.local_addr().unwrap();
        let args: Vec<String> = format!(
            "--id {name} --port {} --data-dir {} --clock-file {} --store {store} {extra}",
            addr.port(),
            dir.join("data").display(),
            dir.join("clock").display(),
        )
        .split_whitespace()
        .map(str::to_string)
        .collect();
        let config = segment::Config::from_args(args).expect("a valid command line");
        let node = NodeThread::spawn(1, move |stopped| async move {
            let listener = segment::Listener::from_std(listener)?;
            segment::serve_on(config, listener, stopped).await
        });
        Server {
            addr,
            dir,
            http: http(),
            node,
        }
    }

    async fn post_ids(&self, count: usize) -> (u16, Value) {
        let url = format!("http://{}/ids", self.addr);
        let response = self
            .http
            .post(url)
            .json(&json!({ "count": count }))
            .send()
            .await
            .expect("the server answers");
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON body"))
    }

    /// Exactly `count` IDs, which must be granted.
    async fn ids(&self, count: usize) -> Vec<u64> {
        let (status, body) = self.post_ids(count).await;
        assert_eq!(status, 200, "{body}");
        let ids = parse_ids(&body);
        assert_eq!(ids.len(), count, "{body}");
        ids
    }

    /// `/health`, once no fetch is in flight (every segment claimed is installed).
    async fn settled_health(&self) -> Value {
        let deadline = Instant::now() + SETTLE;
        loop {
            let health = self.health().await;
            if health["fetching"] == false {
                return health;
            }
            assert!(Instant::now() < deadline, "still fetching: {health}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn health(&self) -> Value {
        let url = format!("http://{}/health", self.addr);
        let response = self.http.get(url).send().await.expect("health answers");
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.node.halt();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn parse_ids(body: &Value) -> Vec<u64> {
    body["ids"]
        .as_array()
        .expect("an ids list")
        .iter()
        .map(|id| {
            id.as_str()
                .expect("a string")
                .parse()
                .expect("a decimal ID")
        })
        .collect()
}

/// The IDs seen more than once in `ids`.
fn duplicates(ids: &[u64]) -> Vec<u64> {
    let mut seen = HashSet::new();
    let mut dups: Vec<u64> = ids.iter().copied().filter(|&id| !seen.insert(id)).collect();
    dups.sort_unstable();
    dups.dedup();
    dups
}

/// `requests` requests of `count` IDs from each of `clients` concurrent clients per server;
/// the IDs of every 200, and how many answers were not 200.
async fn hammer(
    servers: &[&Server],
    clients: usize,
    requests: usize,
    count: usize,
) -> (Vec<u64>, usize) {
    let mut tasks = tokio::task::JoinSet::new();
    for server in servers {
        for _ in 0..clients {
            let (http, addr) = (server.http.clone(), server.addr);
            tasks.spawn(async move {
                let mut ids = Vec::new();
                let mut refused = 0;
                for _ in 0..requests {
                    let response = http
                        .post(format!("http://{addr}/ids"))
                        .json(&json!({ "count": count }))
                        .send()
                        .await
                        .expect("the server answers");
                    let status = response.status().as_u16();
                    let body: Value = response.json().await.unwrap();
                    if status == 200 {
                        ids.extend(parse_ids(&body));
                    } else {
                        assert_eq!(body["definite"], true, "{body}");
                        refused += 1;
                    }
                }
                (ids, refused)
            });
        }
    }
    let mut all = Vec::new();
    let mut refused = 0;
    while let Some(result) = tasks.join_next().await {
        let (ids, r) = result.unwrap();
        all.extend(ids);
        refused += r;
    }
    (all, refused)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_hand_out_distinct_ids_across_many_segments() {
    let store = Store::start(3);
    store.wait_for_leader().await;
    let a = Server::start("n1", &store.list(), "--step 100");
    let b = Server::start("n2", &store.list(), "--step 100");
    let (ids, refused) = hammer(&[&a, &b], 4, 25, 25).await;
    assert_eq!(
        refused, 0,
        "a healthy store never leaves a request waiting 1 s"
    );
    assert_eq!(ids.len(), 5000);
    assert_eq!(duplicates(&ids), Vec::<u64>::new());
    let (ha, hb) = (a.settled_health().await, b.settled_health().await);
    // Every ID lies in a segment the store handed out.
    let max = store.read(0).await.as_u64().expect("the maximum is set");
    assert!(ids.iter().all(|&id| (1..=max).contains(&id)), "max {max}");
    assert_eq!(max % 100, 0, "the maximum moves a step at a time");
    let segments = ha["segments"].as_u64().unwrap() + hb["segments"].as_u64().unwrap();
    assert!(segments >= 50, "{segments} segments for 5000 IDs");
    assert_eq!(max / 100, segments, "every segment claimed was installed");
    for (health, name) in [(&ha, "n1"), (&hb, "n2")] {
        assert_eq!(health["node"], name);
        assert_eq!(health["step"], 100);
        assert_eq!(health["bug"], Value::Null);
        let segment = &health["segment"];
        let (lo, hi, next) = (
            segment["lo"].as_u64().unwrap(),
            segment["hi"].as_u64().unwrap(),
            segment["next"].as_u64().unwrap(),
        );
        assert_eq!(hi - lo, 100);
        assert!(lo < next && next <= hi + 1, "{segment}");
    }
    assert_ne!(
        ha["client"], hb["client"],
        "each server is its own store client"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_atomic_segments_hand_out_duplicate_ids() {
    let store = Store::start(3);
    store.wait_for_leader().await;
    let flags = "--step 10 --bug non-atomic-segment --race-window-ms 30";
    let a = Server::start("n1", &store.list(), flags);
    let b = Server::start("n2", &store.list(), flags);
    assert_eq!(a.health().await["bug"], "non-atomic-segment");
    let mut all = Vec::new();
    for round in 1..=20 {
        let (ids, _) = hammer(&[&a, &b], 4, 5, 10).await;
        all.extend(ids);
        let dups = duplicates(&all);
        if !dups.is_empty() {
            eprintln!(
                "round {round}: {} duplicates among {} IDs, e.g. {:?}",
                dups.len(),
                all.len(),
                &dups[..dups.len().min(5)]
            );
            return;
        }
    }
    panic!(
        "no duplicate among {} IDs from two servers racing to write the maximum",
        all.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_is_down_refuses_once_the_segments_run_out_and_never_repeats_ids() {
    let mut store = Store::start(3);
    store.wait_for_leader().await;
    let a = Server::start("n1", &store.list(), "--step 100");
    let b = Server::start("n2", &store.list(), "--step 100");
    let mut all = a.ids(20).await;
    all.extend(b.ids(20).await);
    // Let the prefetches land, so each server holds a segment and the next one.
    let deadline = Instant::now() + SETTLE;
    for server in [&a, &b] {
        while server.health().await["next_segment"].is_null() {
            assert!(Instant::now() < deadline, "no prefetch");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    store.stop_all();
    // What is left in the buffer is still handed out: 80 of the current segment, 100 of the
    // next; then requests are refused, definitely.
    let mut granted = 0;
    let refusal = loop {
        let started = Instant::now();
        let (status, body) = a.post_ids(10).await;
        if status == 200 {
            let ids = parse_ids(&body);
            granted += ids.len();
            all.extend(ids);
            assert!(granted <= 180, "more IDs than the buffer held");
            continue;
        }
        break (status, body, started.elapsed());
    };
    let (status, body, waited) = refusal;
    assert_eq!(granted, 180);
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"], "store-unavailable");
    assert_eq!(body["definite"], true);
    assert!(
        waited >= Duration::from_millis(900),
        "refused only after the deadline, not {waited:?}"
    );
    let health = a.health().await;
    assert_eq!(
        health["node"], "n1",
        "health answers while the store is down"
    );
    assert!(health["store_error"].is_string(), "{health}");
    assert_eq!(duplicates(&all), Vec::<u64>::new());

    // The store comes back (its log kept the maximum): IDs flow again, still unique.
    store.restart_all();
    store.wait_for_leader().await;
    let deadline = Instant::now() + SETTLE;
    for server in [&a, &b] {
        loop {
            let (status, body) = server.post_ids(50).await;
            if status == 200 {
                all.extend(parse_ids(&body));
                break;
            }
            assert_eq!(body["error"], "store-unavailable");
            assert!(
                Instant::now() < deadline,
                "the store came back; IDs did not"
            );
        }
    }
    let (ids, refused) = hammer(&[&a, &b], 2, 10, 40).await;
    assert_eq!(refused, 0);
    all.extend(ids);
    assert_eq!(duplicates(&all), Vec::<u64>::new());
    assert_eq!(a.health().await["store_error"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_answers_at_once_without_a_store_and_requests_are_refused() {
    let dead = listener().local_addr().unwrap(); // bound and dropped: nobody listens
    let a = Server::start("n1", &format!("n1={dead}"), "");
    // Health never waits for the store: asked while a request waits for it (1 s, then 503),
    // it answers first.
    let ((health, health_at), ((status, body), post_at)) = tokio::join!(
        async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            (a.health().await, Instant::now())
        },
        async { (a.post_ids(1).await, Instant::now()) }
    );
    assert!(health_at < post_at, "health waited for the store");
    assert_eq!(status, 503);
    assert_eq!(
        body,
        json!({"error": "store-unavailable", "definite": true, "waited_ms": 1000})
    );
    assert_eq!(health["node"], "n1");
    assert_eq!(health["step"], 1000);
    assert_eq!(health["segment"], Value::Null);
    assert_eq!(health["double_buffer"], true);
    let (status, body) = a.post_ids(1001).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "bad-request");
    let health = a.health().await;
    assert_eq!(health["stalls"], 1);
    assert!(health["store_error"].is_string(), "{health}");
}

/// The double buffer's point: a request crossing a segment boundary finds the next segment
/// already there. Without it, the request at every boundary waits for the store (a stall).
/// A lone server's segments are consecutive, so its IDs are exactly 1, 2, 3, … either way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_double_buffer_requests_cross_segment_boundaries_without_waiting() {
    let store = Store::start(3);
    store.wait_for_leader().await;
    let double = Server::start("n1", &store.list(), "--step 500 --key 1");
    let single = Server::start("n2", &store.list(), "--step 500 --key 2 --no-double-buffer");
    for (server, boundary_stalls) in [(&double, 0), (&single, 5)] {
        let mut ids = server.ids(25).await; // warm-up: the first segment
        let before = server.health().await["stalls"].as_u64().unwrap();
        let mut slowest_boundary = Duration::ZERO;
        for _ in 0..100 {
            // A prefetch in flight is given its time to land, however slow the machine: what
            // is asserted is that a fetched next segment spares the boundary its wait, not how
            // fast the store answers.
            let waited = Instant::now();
            while server.health().await["fetching"] == true {
                assert!(
                    waited.elapsed() < Duration::from_secs(30),
                    "a prefetch never landed"
                );
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let started = Instant::now();
            let batch = server.ids(25).await;
            if batch[0] % 500 == 1 {
                slowest_boundary = slowest_boundary.max(started.elapsed());
            }
            ids.extend(batch);
        }
        let health = server.health().await;
        let stalls = health["stalls"].as_u64().unwrap() - before;
        eprintln!(
            "double buffer {}: {stalls} stalls over 5 boundaries, slowest boundary request {slowest_boundary:?}",
            health["double_buffer"]
        );
        assert_eq!(stalls, boundary_stalls, "{health}");
        assert_eq!(ids, (1..=2525).collect::<Vec<u64>>());
    }
    assert_eq!(
        store.read(1).await,
        json!(3000),
        "the double buffer prefetched"
    );
    assert_eq!(store.read(2).await, json!(3000));
}
