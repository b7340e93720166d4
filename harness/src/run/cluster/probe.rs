//! Asking nodes how they are, straight to their client ports (not through the fabric, whose
//! faults are the test's, not the harness's): whether they are ready, as their descriptor
//! says to check, and — for targets whose health answer names one — who they think leads.
//!
//! Starting a cluster waits here until every node is ready; the injector asks for the leader
//! when it places a partition drawn around it.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use targets::descriptor::Readiness;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::run::store::RunDir;
use crate::supervisor::Supervisor;

/// Asks nodes whether they are ready and whom they follow.
pub(super) struct Prober;

impl Prober {
    pub fn new() -> Result<Prober, String> {
        Ok(Prober)
    }

    /// Whether the node at `addr` answers `readiness`.
    pub async fn ready(&self, addr: SocketAddr, readiness: Readiness) -> bool {
        match readiness {
            Readiness::Tcp => TcpStream::connect(addr).await.is_ok(),
            Readiness::HttpGet(path) => http_get(addr, path)
                .await
                .is_some_and(|(status, _)| status == 200),
        }
    }

    /// Waits until every node of `nodes` (name, client address, readiness) is ready; a node
    /// that exits meanwhile, or is still not ready after `timeout`, is an error that names it
    /// and quotes the end of its log.
    pub async fn await_ready(
        &self,
        nodes: &[(&str, SocketAddr, Readiness)],
        supervisor: &Supervisor,
        dir: &RunDir,
        timeout: Duration,
    ) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        let mut waiting: BTreeSet<usize> = (0..nodes.len()).collect();
        while !waiting.is_empty() {
            if let Some((node, status)) = supervisor.exits().into_iter().next() {
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

    /// The leader most of `asked` (client address, health path) name in their health answers
    /// (`{"leader": "n3"}`).
    pub async fn leader(&self, asked: &[(SocketAddr, &str)]) -> Option<String> {
        let mut votes: BTreeMap<String, usize> = BTreeMap::new();
        for &(addr, path) in asked {
            let Some((_, body)) = http_get(addr, path).await else {
                continue;
            };
            let named = serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get("leader")?.as_str().map(str::to_string));
            if let Some(leader) = named {
                *votes.entry(leader).or_default() += 1;
            }
        }
        votes.into_iter().max_by_key(|(_, n)| *n).map(|(l, _)| l)
    }
}

/// `GET path` with HTTP/1.0: the status and the body (`None` if no answer within 500 ms).
async fn http_get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    let attempt = async {
        let mut s = TcpStream::connect(addr).await.ok()?;
        let request = format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n");
        s.write_all(request.as_bytes()).await.ok()?;
        let mut answer = Vec::new();
        s.read_to_end(&mut answer).await.ok()?;
        let text = String::from_utf8_lossy(&answer);
        let status = text.get(9..12)?.parse().ok()?;
        let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        Some((status, body.to_string()))
    };
    tokio::time::timeout(Duration::from_millis(500), attempt)
        .await
        .ok()
        .flatten()
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
