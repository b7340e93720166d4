//! End-to-end tests of the `raft-kv` node: real nodes, each on its own thread and tokio runtime,
//! talking over loopback TCP, driven through the http-kv protocol with an HTTP client.
//!
//! Nodes address each other directly, except in the partition tests, where every directed peer
//! link runs through a small forwarding proxy that the test can cut — the harness's network in
//! miniature. Every node is stopped and joined, and its data directory removed, when the test's
//! [`Cluster`] is dropped, even after a failed assertion.

mod support;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::raft_cluster::{self, Node};
use support::temp_dir;
use targets::raft_kv::Bug;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// How long a test waits for a cluster to settle before giving up.
const SETTLE: Duration = Duration::from_secs(5);

/// A directed link that can be cut: forwards connections from `addr` to `upstream`.
struct Link {
    addr: SocketAddr,
    cut: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Link {
    async fn start(upstream: SocketAddr) -> Link {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (cut, watcher) = watch::channel(false);
        let task = tokio::spawn(async move {
            loop {
                let Ok((inbound, _)) = listener.accept().await else {
                    continue;
                };
                if *watcher.borrow() {
                    continue; // dropped: a cut link refuses everything
                }
                let mut watcher = watcher.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let mut inbound = inbound;
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = watcher.wait_for(|&cut| cut) => {}
                    }
                });
            }
        });
        Link { addr, cut, task }
    }

    fn set_cut(&self, cut: bool) {
        self.cut.send_replace(cut);
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A test cluster: nodes `n1..=nN`, their data directories, and (if proxied) the links.
struct Cluster {
    nodes: Vec<Node>,
    /// `links[i][j]`: from node i to node j, when proxied.
    links: Vec<Vec<Option<Link>>>,
    dir: PathBuf,
    http: reqwest::Client,
}

impl Cluster {
    async fn start(size: usize, bug: Option<Bug>, proxied: bool) -> Cluster {
        let dir = temp_dir("raft-kv-test");
        let sockets = raft_cluster::sockets(size);
        let peer_addrs = raft_cluster::peer_addrs(&sockets);
        let mut links = Vec::new();
        for i in 0..size {
            let mut row = Vec::new();
            for (j, &to) in peer_addrs.iter().enumerate() {
                row.push(match proxied && i != j {
                    true => Some(Link::start(to).await),
                    false => None,
                });
            }
            links.push(row);
        }
        let nodes = raft_cluster::start_nodes(sockets, &dir, bug, |i, j| {
            links[i][j].as_ref().map_or(peer_addrs[j], |l| l.addr)
        });
        let http = reqwest::Client::builder()
            .no_proxy()
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(3))
            .build()
            .unwrap();
        Cluster {
            nodes,
            links,
            dir,
            http,
        }
    }

    fn stop(&mut self, i: usize) {
        self.nodes[i].stop();
    }

    /// Starts a stopped node again, on its old addresses and data directory.
    fn restart(&mut self, i: usize) {
        self.nodes[i].restart(SETTLE);
    }

    /// Cuts (or heals) every link to and from node `i`.
    fn isolate(&self, i: usize, cut: bool) {
        for j in 0..self.nodes.len() {
            for (a, b) in [(i, j), (j, i)] {
                if let Some(link) = &self.links[a][b] {
                    link.set_cut(cut);
                }
            }
        }
    }

    async fn get(&self, i: usize, path: &str) -> (u16, Value) {
        let url = format!("http://{}{path}", self.nodes[i].config.client);
        let response = self.http.get(url).send().await.expect("the node answers");
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON body"))
    }

    async fn post(&self, i: usize, key: &str, body: Value) -> (u16, Value) {
        let url = format!("http://{}/kv/{key}", self.nodes[i].config.client);
        let response = self
            .http
            .post(url)
            .json(&body)
            .send()
            .await
            .expect("the node answers");
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON body"))
    }

    async fn txn(&self, i: usize, ops: Value, client: u64, seq: u64) -> (u16, Value) {
        let url = format!("http://{}/txn", self.nodes[i].config.client);
        let body = json!({"ops": ops, "client": client, "seq": seq});
        let response = self
            .http
            .post(url)
            .json(&body)
            .send()
            .await
            .expect("the node answers");
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON body"))
    }

    /// Waits until every running node among `among` reports 200 naming the same leader, which
    /// is itself among them and says it leads; returns the leader's index.
    async fn leader(&self, among: &[usize], within: Duration) -> usize {
        let deadline = Instant::now() + within;
        loop {
            let mut named = Vec::new();
            for &i in among.iter().filter(|&&i| self.nodes[i].running()) {
                let (status, body) = self.get(i, "/health").await;
                named.push((status == 200).then(|| body["leader"].clone()));
            }
            if let Some(Some(Value::String(leader))) = named.first() {
                let index = leader[1..].parse::<usize>().unwrap() - 1;
                let agreed = named.iter().all(|n| n.as_ref() == named[0].as_ref());
                if agreed && among.contains(&index) {
                    let (_, body) = self.get(index, "/health").await;
                    if body["role"] == "leader" {
                        return index;
                    }
                }
            }
            assert!(
                Instant::now() < deadline,
                "no agreed leader among {among:?} within {within:?}: {named:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn all(&self) -> Vec<usize> {
        (0..self.nodes.len()).collect()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            node.halt();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn write(value: i64, client: u64, seq: u64) -> Value {
    json!({"op": "write", "value": value, "client": client, "seq": seq})
}

fn cas(from: i64, to: i64, client: u64, seq: u64) -> Value {
    json!({"op": "cas", "from": from, "to": to, "client": client, "seq": seq})
}

fn read() -> Value {
    json!({"op": "read", "client": 99, "seq": 0})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_three_node_cluster_elects_a_leader_and_serves_writes_reads_and_cas() {
    // How fast a leader is elected is a benchmark's figure (`cargo bench -p faultline`: the
    // 5-node cluster's start); here, only that one is, within `SETTLE`.
    let cluster = Cluster::start(3, None, false).await;
    let leader = cluster.leader(&cluster.all(), SETTLE).await;
    for i in cluster.all() {
        let (status, health) = cluster.get(i, "/health").await;
        assert_eq!(status, 200);
        assert_eq!(health["node"], format!("n{}", i + 1));
        assert_eq!(health["leader"], format!("n{}", leader + 1));
        let role = if i == leader { "leader" } else { "follower" };
        assert_eq!(health["role"], role);
        assert!(health["term"].as_u64().unwrap() >= 1);
    }

    assert_eq!(
        cluster.post(leader, "k", read()).await,
        (200, json!({"value": null}))
    );
    assert_eq!(
        cluster.post(leader, "k", write(1, 1, 1)).await,
        (200, json!({"value": 1}))
    );
    assert_eq!(
        cluster.post(leader, "k", read()).await,
        (200, json!({"value": 1}))
    );
    assert_eq!(
        cluster.post(leader, "k", cas(1, 2, 1, 2)).await,
        (200, json!({"value": 2}))
    );
    assert_eq!(
        cluster.post(leader, "k", cas(1, 3, 1, 3)).await,
        (409, json!({"error": "cas-mismatch", "current": 2}))
    );
    assert_eq!(
        cluster.post(leader, "k", read()).await,
        (200, json!({"value": 2}))
    );
    assert_eq!(
        cluster.post(leader, "other", read()).await,
        (200, json!({"value": null}))
    );

    // Followers refuse, naming the leader, and propose nothing.
    let follower = (leader + 1) % 3;
    let refusal = json!({"error": "not-leader", "leader": format!("n{}", leader + 1)});
    assert_eq!(
        cluster.post(follower, "k", write(9, 1, 4)).await,
        (421, refusal.clone())
    );
    assert_eq!(cluster.post(follower, "k", read()).await, (421, refusal));
    assert_eq!(
        cluster.post(leader, "k", read()).await,
        (200, json!({"value": 2}))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_survives_restarting_the_whole_cluster() {
    let mut cluster = Cluster::start(3, None, false).await;
    let leader = cluster.leader(&cluster.all(), SETTLE).await;
    assert_eq!(
        cluster.post(leader, "k", write(7, 1, 1)).await,
        (200, json!({"value": 7}))
    );
    for i in cluster.all() {
        cluster.stop(i);
    }
    for i in cluster.all() {
        cluster.restart(i);
    }
    let leader = cluster.leader(&cluster.all(), SETTLE).await;
    assert_eq!(
        cluster.post(leader, "k", read()).await,
        (200, json!({"value": 7}))
    );
    // The deduplication table was rebuilt too: the old request is still recognised.
    assert_eq!(
        cluster.post(leader, "k", write(7, 1, 1)).await,
        (200, json!({"value": 7}))
    );
    assert_eq!(
        cluster.post(leader, "k", cas(7, 8, 1, 2)).await,
        (200, json!({"value": 8}))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_request_is_applied_once() {
    let cluster = Cluster::start(3, None, false).await;
    let leader = cluster.leader(&cluster.all(), SETTLE).await;
    assert_eq!(cluster.post(leader, "k", write(1, 1, 1)).await.0, 200);
    // A cas that can succeed only once reports success both times: the second copy is answered
    // with the first one's response and changes nothing.
    for _ in 0..2 {
        assert_eq!(
            cluster.post(leader, "k", cas(1, 2, 2, 1)).await,
            (200, json!({"value": 2}))
        );
    }
    // A late copy of the first write does not clobber the cas.
    assert_eq!(
        cluster.post(leader, "k", write(1, 1, 1)).await,
        (200, json!({"value": 1}))
    );
    assert_eq!(
        cluster.post(leader, "k", read()).await,
        (200, json!({"value": 2}))
    );
    // The same cas as a new request (new seq) is applied, and fails.
    assert_eq!(
        cluster.post(leader, "k", cas(1, 2, 2, 2)).await,
        (409, json!({"error": "cas-mismatch", "current": 2}))
    );
    // A request older than its client's latest is not applied: its fate is unknown.
    let (status, body) = cluster.post(leader, "k", write(5, 2, 1)).await;
    assert_eq!((status, &body), (500, &json!({"error": "superseded"})));
    assert_eq!(
        cluster.post(leader, "k", read()).await,
        (200, json!({"value": 2}))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_node_cluster_works() {
    let mut cluster = Cluster::start(1, None, false).await;
    assert_eq!(cluster.leader(&[0], SETTLE).await, 0);
    assert_eq!(
        cluster.post(0, "k", write(1, 1, 1)).await,
        (200, json!({"value": 1}))
    );
    assert_eq!(
        cluster.post(0, "k", cas(1, 2, 1, 2)).await,
        (200, json!({"value": 2}))
    );
    assert_eq!(
        cluster.post(0, "k", read()).await,
        (200, json!({"value": 2}))
    );
    cluster.stop(0);
    cluster.restart(0);
    cluster.leader(&[0], SETTLE).await;
    assert_eq!(
        cluster.post(0, "k", read()).await,
        (200, json!({"value": 2}))
    );
}

/// Isolates the leader, has the majority elect another and take a write, then reads from the
/// old leader: with `bug`, the old value comes back (a stale read); without, the read is
/// refused or times out.
async fn read_from_an_isolated_leader(bug: Option<Bug>) -> (u16, Value) {
    let cluster = Cluster::start(3, bug, true).await;
    let old = cluster.leader(&cluster.all(), SETTLE).await;
    assert_eq!(cluster.post(old, "k", write(1, 1, 1)).await.0, 200);

    cluster.isolate(old, true);
    let majority: Vec<usize> = cluster.all().into_iter().filter(|&i| i != old).collect();
    let new = cluster.leader(&majority, SETTLE).await;
    assert_eq!(
        cluster.post(new, "k", write(2, 1, 2)).await,
        (200, json!({"value": 2}))
    );
    let answer = cluster.post(old, "k", read()).await;
    let (_, health) = cluster.get(old, "/health").await;

    // Healed, the old leader learns of the new term and follows.
    cluster.isolate(old, false);
    assert_eq!(cluster.leader(&cluster.all(), SETTLE).await, new);
    assert_eq!(
        cluster.post(new, "k", read()).await,
        (200, json!({"value": 2}))
    );
    if bug.is_some() {
        assert_eq!(
            health["role"], "leader",
            "without check-quorum it never steps down"
        );
    }
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_bug_an_isolated_leader_serves_stale_reads() {
    let answer = read_from_an_isolated_leader(Some(Bug::StaleReads)).await;
    assert_eq!(answer, (200, json!({"value": 1})), "the stale value");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_bug_an_isolated_leader_serves_no_reads() {
    let (status, body) = read_from_an_isolated_leader(None).await;
    assert!(
        [421, 504].contains(&status),
        "a refusal or a timeout, not {status} {body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_applies_atomically_and_answers_its_reads() {
    let cluster = Cluster::start(3, None, false).await;
    let leader = cluster.leader(&cluster.all(), SETTLE).await;
    let ops = json!([
        ["r", 1, null],
        ["append", 1, 1],
        ["append", 1, 2],
        ["r", 1, null],
        ["w", "x", 5],
        ["r", "x", null]
    ]);
    assert_eq!(
        cluster.txn(leader, ops, 1, 1).await,
        (
            200,
            json!({"ops": [["r", 1, null], ["append", 1, 1], ["append", 1, 2], ["r", 1, [1, 2]],
                           ["w", "x", 5], ["r", "x", 5]]})
        )
    );
    // Appending to a register refuses the whole transaction: its first append is not kept.
    let (status, body) = cluster
        .txn(leader, json!([["append", 2, 1], ["append", "x", 6]]), 1, 2)
        .await;
    assert_eq!(
        (status, &body["error"]),
        (400, &json!("bad-request")),
        "{body}"
    );
    assert_eq!(
        cluster
            .txn(leader, json!([["r", 2, null], ["r", 1, null]]), 1, 3)
            .await,
        (200, json!({"ops": [["r", 2, null], ["r", 1, [1, 2]]]}))
    );
    // A malformed transaction is refused before anything is proposed.
    let (status, _) = cluster.txn(leader, json!([["cas", 1, 2]]), 1, 4).await;
    assert_eq!(status, 400);
    // The transactions' keys are not the registers'.
    assert_eq!(
        cluster.post(leader, "x", read()).await,
        (200, json!({"value": null}))
    );
    // Followers refuse, naming the leader: reads inside transactions go through the leader's log.
    let follower = (leader + 1) % 3;
    assert_eq!(
        cluster.txn(follower, json!([["r", 1, null]]), 1, 5).await,
        (
            421,
            json!({"error": "not-leader", "leader": format!("n{}", leader + 1)})
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_transaction_is_applied_once() {
    let cluster = Cluster::start(3, None, false).await;
    let leader = cluster.leader(&cluster.all(), SETTLE).await;
    let ops = json!([["append", 1, 1], ["r", 1, null]]);
    let first = cluster.txn(leader, ops.clone(), 2, 1).await;
    assert_eq!(
        first,
        (200, json!({"ops": [["append", 1, 1], ["r", 1, [1]]]}))
    );
    // The retry is answered with the first answer, and appends nothing.
    assert_eq!(cluster.txn(leader, ops, 2, 1).await, first);
    assert_eq!(
        cluster.txn(leader, json!([["r", 1, null]]), 2, 2).await,
        (200, json!({"ops": [["r", 1, [1]]]}))
    );
}

/// Cuts a node off — a follower, or the leader, which the majority replaces — has the majority
/// append to a list, then asks the cut-off node for a read-only transaction of it: with
/// `txn-local-reads`, it answers from its stale state; without, it refuses or times out (a
/// transaction goes through the leader's log, and it cannot commit one).
async fn read_only_txn_from_a_cut_off_node(bug: Option<Bug>, leader: bool) -> (u16, Value) {
    let cluster = Cluster::start(3, bug, true).await;
    let first = cluster.leader(&cluster.all(), SETTLE).await;
    let append = |v: i64| json!([["append", "k", v]]);
    assert_eq!(cluster.txn(first, append(1), 1, 1).await.0, 200);
    let cut = if leader { first } else { (first + 1) % 3 };
    // The node has applied the first append before it is cut off.
    let deadline = Instant::now() + SETTLE;
    while bug.is_some() {
        let (_, body) = cluster.txn(cut, json!([["r", "k", null]]), 9, 0).await;
        if body == json!({"ops": [["r", "k", [1]]]}) {
            break;
        }
        assert!(Instant::now() < deadline, "n{} never caught up", cut + 1);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    cluster.isolate(cut, true);
    let majority: Vec<usize> = cluster.all().into_iter().filter(|&i| i != cut).collect();
    let now = cluster.leader(&majority, SETTLE).await;
    assert_eq!(
        cluster.txn(now, append(2), 1, 2).await,
        (200, json!({"ops": [["append", "k", 2]]}))
    );
    let answer = cluster.txn(cut, json!([["r", "k", null]]), 2, 1).await;
    cluster.isolate(cut, false);
    let now = cluster.leader(&cluster.all(), SETTLE).await;
    assert_eq!(
        cluster.txn(now, json!([["r", "k", null]]), 3, 1).await,
        (200, json!({"ops": [["r", "k", [1, 2]]]}))
    );
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_txn_bug_cut_off_nodes_serve_stale_snapshots() {
    for leader in [false, true] {
        let answer = read_only_txn_from_a_cut_off_node(Some(Bug::TxnLocalReads), leader).await;
        assert_eq!(
            answer,
            (200, json!({"ops": [["r", "k", [1]]]})),
            "the acknowledged append 2 is missing (cut-off leader: {leader})"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_txn_bug_cut_off_nodes_serve_no_transactions() {
    let (status, body) = read_only_txn_from_a_cut_off_node(None, false).await;
    assert_eq!(status, 421, "a follower refuses, not {status} {body}");
    let (status, body) = read_only_txn_from_a_cut_off_node(None, true).await;
    assert!(
        [421, 504].contains(&status),
        "a refusal or a timeout, not {status} {body}"
    );
}
