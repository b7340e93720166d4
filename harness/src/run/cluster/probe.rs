//! Asking nodes how they are, straight to their client ports (not through the fabric, whose
//! faults are the test's, not the harness's): whether they are ready, as their descriptor
//! says to check, and who they think leads — for targets whose health answer names one, and
//! for those that answer `srvr` with their mode, and for etcd, whose status names its leader.
//!
//! Starting a cluster waits here until every node is ready; the injector asks for the leader
//! when it places a partition drawn around it.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use reqwest::StatusCode;
use targets::descriptor::Readiness;
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::Processes;
use crate::run::store::RunDir;

/// How long one probe may take: a node that is up answers within milliseconds, and one that
/// does not (paused, wedged, still loading) must not hold up the probes of the others.
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);

/// Asks nodes whether they are ready and whom they follow.
pub(super) struct Prober {
    /// One client for the cluster's life.
    http: reqwest::Client,
}

impl Prober {
    pub fn new() -> Result<Prober, String> {
        let http = reqwest::Client::builder()
            .timeout(PROBE_TIMEOUT)
            // Straight to the nodes, whatever proxy the environment names.
            .no_proxy()
            // A connection per probe, as a health check from outside would open: nodes are
            // killed and restarted under the harness, and an idle connection kept from a
            // node's previous life could fail the first probe of its next.
            .pool_max_idle_per_host(0)
            .build()
            .map_err(|e| format!("cannot set up the HTTP client for readiness probes: {e}"))?;
        Ok(Prober { http })
    }

    /// Whether the node at `addr` answers `readiness`.
    pub async fn ready(&self, addr: SocketAddr, readiness: Readiness) -> bool {
        match readiness {
            Readiness::Tcp => TcpStream::connect(addr).await.is_ok(),
            Readiness::HttpGet(path) => self
                .get(addr, path)
                .await
                .is_some_and(|answer| answer.status() == StatusCode::OK),
            Readiness::Answer { say, expect, .. } => ask(addr, say)
                .await
                .is_some_and(|answer| answer.contains(expect)),
            Readiness::EtcdStatus => self
                .etcd_status(addr)
                .await
                .is_some_and(|(_, leader)| leader != 0),
        }
    }

    /// An etcd member's `/v3/maintenance/status`: (its member ID, the leader's — 0 if it
    /// knows of none). IDs are 64-bit numbers, which the JSON gateway writes as strings.
    async fn etcd_status(&self, addr: SocketAddr) -> Option<(u64, u64)> {
        let answer = self
            .http
            .post(format!("http://{addr}/v3/maintenance/status"))
            .body("{}")
            .send()
            .await
            .ok()?;
        if answer.status() != StatusCode::OK {
            return None;
        }
        let status: serde_json::Value = answer.json().await.ok()?;
        let number = |v: &serde_json::Value| -> Option<u64> {
            v.as_str()
                .and_then(|s| s.parse().ok())
                .or_else(|| v.as_u64())
        };
        let member = number(&status["header"]["member_id"])?;
        let leader = status.get("leader").and_then(number).unwrap_or(0);
        Some((member, leader))
    }

    /// The etcd member of `asked` (name, client address) that says it leads (its member ID
    /// is the leader its status names); the first, if a deposed leader has not noticed yet.
    pub async fn etcd_leader(&self, asked: &[(&str, SocketAddr)]) -> Option<String> {
        for &(name, addr) in asked {
            if let Some((member, leader)) = self.etcd_status(addr).await
                && member == leader
            {
                return Some(name.to_string());
            }
        }
        None
    }

    /// Waits until every node of `nodes` (name, client address, readiness) is ready; a node
    /// that exits meanwhile, or is still not ready after `timeout`, is an error that names it
    /// and quotes the end of its log.
    pub async fn await_ready(
        &self,
        nodes: &[(&str, SocketAddr, Readiness)],
        processes: &dyn Processes,
        dir: &RunDir,
        timeout: Duration,
    ) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        let mut waiting: BTreeSet<usize> = (0..nodes.len()).collect();
        while !waiting.is_empty() {
            if let Some((node, status)) = processes.exits().into_iter().next() {
                processes.fetch_logs();
                return Err(format!(
                    "node {node} exited while starting ({status}){}",
                    log_tail(&dir.node_log(&node))
                ));
            }
            let mut ready = Vec::new();
            for &i in &waiting {
                let (_, addr, readiness) = nodes[i];
                if self.ready(addr, readiness).await {
                    ready.push(i);
                }
            }
            for i in ready {
                waiting.remove(&i);
            }
            if waiting.is_empty() {
                break;
            }
            if Instant::now() >= deadline {
                let node = waiting.first().map_or("?", |&i| nodes[i].0);
                processes.fetch_logs();
                return Err(format!(
                    "node {node} was not ready within {:.0} s{}",
                    timeout.as_secs_f64(),
                    log_tail(&dir.node_log(node))
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }

    /// The node of `asked` (name, client address, what to say, what a leader answers) that
    /// says it leads (ZooKeeper's `srvr`: `Mode: leader`); the first, if a deposed leader has
    /// not noticed yet.
    pub async fn claimed_leader(&self, asked: &[(&str, SocketAddr, &str, &str)]) -> Option<String> {
        for &(name, addr, say, leader) in asked {
            if ask(addr, say).await.is_some_and(|a| a.contains(leader)) {
                return Some(name.to_string());
            }
        }
        None
    }

    /// The leader most of `asked` (client address, health path) name in their health answers
    /// (`{"leader": "n3"}`).
    pub async fn leader(&self, asked: &[(SocketAddr, &str)]) -> Option<String> {
        let mut votes: BTreeMap<String, usize> = BTreeMap::new();
        for &(addr, path) in asked {
            let Some(answer) = self.get(addr, path).await else {
                continue;
            };
            let named = answer
                .json::<serde_json::Value>()
                .await
                .ok()
                .and_then(|v| v.get("leader")?.as_str().map(str::to_string));
            if let Some(leader) = named {
                *votes.entry(leader).or_default() += 1;
            }
        }
        votes.into_iter().max_by_key(|(_, n)| *n).map(|(l, _)| l)
    }

    /// `GET path` on the node at `addr` (`None` if it does not answer in time).
    async fn get(&self, addr: SocketAddr, path: &str) -> Option<reqwest::Response> {
        self.http
            .get(format!("http://{addr}{path}"))
            .send()
            .await
            .ok()
    }
}

/// Says `say` to the node at `addr` and reads its answer to the end (a four-letter word's
/// answer ends when the node closes the connection); `None` if it could not be asked in time.
async fn ask(addr: SocketAddr, say: &str) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.ok()?;
        stream.write_all(say.as_bytes()).await.ok()?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.ok()?;
        Some(String::from_utf8_lossy(&answer).into_owned())
    };
    tokio::time::timeout(PROBE_TIMEOUT, exchange).await.ok()?
}

/// The last lines of a node's log, for an error message (on one line).
fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let last: Vec<&str> = text
        .lines()
        .rev()
        .filter(|l| !l.trim().is_empty())
        .take(2)
        .collect();
    if last.is_empty() {
        format!("; its log {} is empty", path.display())
    } else {
        let quoted: Vec<&str> = last.into_iter().rev().collect();
        format!("; its log {} ends: {}", path.display(), quoted.join(" | "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A node whose health answer names `n2` as leader, on a port of its own.
    async fn healthy_node() -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new().route(
            "/health",
            axum::routing::get(|| async { r#"{"leader": "n2"}"# }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        addr
    }

    #[tokio::test]
    async fn http_readiness_wants_a_200_and_the_leader_is_read_from_the_answer() {
        let prober = Prober::new().unwrap();
        let node = healthy_node().await;
        assert!(prober.ready(node, Readiness::HttpGet("/health")).await);
        assert!(!prober.ready(node, Readiness::HttpGet("/missing")).await);
        assert!(prober.ready(node, Readiness::Tcp).await);
        let asked = [(node, "/health"), (node, "/health")];
        assert_eq!(prober.leader(&asked).await.as_deref(), Some("n2"));
    }

    #[tokio::test]
    async fn a_node_that_does_not_answer_in_time_is_not_ready() {
        let prober = Prober::new().unwrap();
        // Accepts connections (the kernel does, into the backlog) but never answers.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = silent.local_addr().unwrap();
        let asked = Instant::now();
        assert!(!prober.ready(addr, Readiness::HttpGet("/health")).await);
        assert!(asked.elapsed() < PROBE_TIMEOUT * 4, "{:?}", asked.elapsed());
        assert_eq!(prober.leader(&[(addr, "/health")]).await, None);
    }

    #[tokio::test]
    async fn an_answer_readiness_wants_the_expected_words_in_the_answer() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        // A ZooKeeper that has not joined a quorum yet, then one that has.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            for answer in [
                "This ZooKeeper instance is not currently serving requests\n",
                "Zookeeper version: 3.8.0\nMode: follower\n",
                "Zookeeper version: 3.8.0\nMode: leader\n",
            ] {
                let (mut stream, _) = listener.accept().await.unwrap();
                let mut word = [0u8; 4];
                stream.read_exact(&mut word).await.unwrap();
                assert_eq!(&word, b"srvr");
                stream.write_all(answer.as_bytes()).await.unwrap();
            }
        });
        let prober = Prober::new().unwrap();
        let srvr = Readiness::Answer {
            say: "srvr",
            expect: "Mode: ",
            leader: "Mode: leader",
        };
        assert!(!prober.ready(addr, srvr).await);
        assert!(prober.ready(addr, srvr).await);
        let claim = [("n1", addr, "srvr", "Mode: leader")];
        assert_eq!(prober.claimed_leader(&claim).await.as_deref(), Some("n1"));
        assert!(!prober.ready(addr, srvr).await, "nobody listens any more");
        assert_eq!(prober.claimed_leader(&claim).await, None);
    }

    #[tokio::test]
    async fn the_leader_is_the_server_whose_srvr_says_so() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut asked = Vec::new();
        for mode in ["follower", "leader"] {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            asked.push(listener.local_addr().unwrap());
            tokio::spawn(async move {
                loop {
                    let (mut stream, _) = listener.accept().await.unwrap();
                    let mut word = [0u8; 4];
                    stream.read_exact(&mut word).await.unwrap();
                    let answer = format!("Zookeeper version: 3.8.0\nMode: {mode}\n");
                    stream.write_all(answer.as_bytes()).await.unwrap();
                }
            });
        }
        let prober = Prober::new().unwrap();
        let named = [
            ("n1", asked[0], "srvr", "Mode: leader"),
            ("n2", asked[1], "srvr", "Mode: leader"),
        ];
        assert_eq!(prober.claimed_leader(&named).await.as_deref(), Some("n2"));
        assert_eq!(prober.claimed_leader(&named[..1]).await, None);
    }
}
