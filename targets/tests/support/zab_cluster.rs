//! `zab` servers `n1..=nN` on loopback, each on its own thread and runtime, talking to each
//! other directly; and a minimal raw client of ZooKeeper's protocol (the `jute` crate) for
//! what the real client will not do: stop pinging, send garbage, ask four-letter words.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use jute::{ConnectRequest, ConnectResponse, FrameDecoder, OpCode, Record, Reply, Request};
use targets::shell::Listeners;
use targets::zab::node::{Bug, Config, Error, serve_on};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::NodeThread;
use super::raft_cluster::{listener, rebind};

/// A zab server running on its own thread (two workers, as in the real process).
pub struct Node {
    pub config: Config,
    node: NodeThread<Error>,
}

impl Node {
    pub fn start(config: Config, client: TcpListener, peer: TcpListener) -> Node {
        let node_config = config.clone();
        let node = NodeThread::spawn(2, move |stopped| async move {
            let listeners = Listeners::from_std(client, peer)?;
            serve_on(node_config, listeners, stopped).await
        });
        Node { config, node }
    }

    pub fn running(&self) -> bool {
        self.node.running()
    }

    /// Stops the node and waits for its thread, however it ended.
    pub fn halt(&mut self) {
        self.node.halt();
    }

    /// Starts a halted node again, on its old addresses and data directory.
    pub fn restart(&mut self) {
        let config = self.config.clone();
        let patience = Duration::from_secs(5);
        let (client, peer) = (
            rebind(config.client, patience),
            rebind(config.peer, patience),
        );
        *self = Node::start(config, client, peer);
    }
}

/// An ensemble of `size` servers with their data in `dir/nK`.
pub struct Ensemble {
    pub nodes: Vec<Node>,
    pub dir: PathBuf,
}

impl Ensemble {
    pub fn start(size: usize, dir: &Path, bug: Option<Bug>) -> Ensemble {
        let sockets: Vec<(TcpListener, TcpListener)> =
            (0..size).map(|_| (listener(), listener())).collect();
        let peer_addrs: Vec<SocketAddr> = sockets
            .iter()
            .map(|(_, p)| p.local_addr().unwrap())
            .collect();
        let nodes = sockets
            .into_iter()
            .enumerate()
            .map(|(i, (client, peer))| {
                let config = Config {
                    name: format!("n{}", i + 1),
                    id: i as u64 + 1,
                    client: client.local_addr().unwrap(),
                    peer: peer.local_addr().unwrap(),
                    peers: (0..size)
                        .filter(|&j| j != i)
                        .map(|j| (j as u64 + 1, peer_addrs[j]))
                        .collect(),
                    data_dir: dir.join(format!("n{}", i + 1)),
                    bug,
                    tick: Duration::from_millis(10),
                };
                Node::start(config, client, peer)
            })
            .collect();
        Ensemble {
            nodes,
            dir: dir.to_path_buf(),
        }
    }

    /// The client address of node `k` (1-based).
    pub fn addr(&self, k: usize) -> String {
        self.nodes[k - 1].config.client.to_string()
    }

    /// Every server's client address, comma-separated, as a connect string.
    pub fn connect_string(&self) -> String {
        let addrs: Vec<String> = (1..=self.nodes.len()).map(|k| self.addr(k)).collect();
        addrs.join(",")
    }

    /// Waits until every running server answers `srvr` with its mode; the time it took.
    pub async fn await_ready(&self, patience: Duration) -> Duration {
        let start = Instant::now();
        for node in self.nodes.iter().filter(|n| n.running()) {
            loop {
                let answer = four_letter(node.config.client, "srvr").await;
                if answer.contains("Mode: ") {
                    break;
                }
                assert!(
                    start.elapsed() < patience,
                    "{} not ready: {answer:?}",
                    node.config.name
                );
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        start.elapsed()
    }

    /// The node that answers `srvr` as leader (1-based).
    pub async fn leader(&self) -> Option<usize> {
        for (k, node) in self.nodes.iter().enumerate() {
            if node.running()
                && four_letter(node.config.client, "srvr")
                    .await
                    .contains("Mode: leader")
            {
                return Some(k + 1);
            }
        }
        None
    }
}

impl Drop for Ensemble {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            node.halt();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Sends a four-letter word; everything the server answers before it closes ("" if it cannot
/// be reached).
pub async fn four_letter(addr: SocketAddr, word: &str) -> String {
    let Ok(mut stream) = TcpStream::connect(addr).await else {
        return String::new();
    };
    if stream.write_all(word.as_bytes()).await.is_err() {
        return String::new();
    }
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(2), stream.read_to_end(&mut answer));
    let _ = read.await;
    String::from_utf8_lossy(&answer).into_owned()
}

/// A raw client connection speaking ZooKeeper's protocol by hand.
pub struct Raw {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Raw {
    pub async fn open(addr: SocketAddr) -> Raw {
        Raw {
            stream: TcpStream::connect(addr).await.unwrap(),
            buf: Vec::new(),
        }
    }

    /// Opens a connection and shakes hands: the server's answer (`None`: it closed first).
    pub async fn hello(
        addr: SocketAddr,
        timeout_ms: i32,
        session: i64,
        passwd: Vec<u8>,
    ) -> (Raw, Option<ConnectResponse>) {
        let mut raw = Raw::open(addr).await;
        let mut out = Vec::new();
        let request = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 0,
            timeout: timeout_ms,
            session_id: session,
            passwd,
            read_only: Some(false),
        };
        jute::encode_connect_request(&mut out, &request);
        raw.stream.write_all(&out).await.unwrap();
        let answer = raw.frame().await;
        let response = answer.map(|body| ConnectResponse::decode(&body).unwrap());
        (raw, response)
    }

    pub async fn send(&mut self, xid: i32, request: &Request) {
        let mut out = Vec::new();
        jute::encode_request(&mut out, xid, request);
        self.stream.write_all(&out).await.unwrap();
    }

    /// The next frame's body; `None` once the server closed the connection.
    pub async fn frame(&mut self) -> Option<Vec<u8>> {
        loop {
            if let Some((body, used)) = FrameDecoder::default().decode(&self.buf).unwrap() {
                let body = body.to_vec();
                self.buf.drain(..used);
                return Some(body);
            }
            let mut chunk = [0; 4096];
            let read = tokio::time::timeout(Duration::from_secs(5), self.stream.read(&mut chunk));
            match read.await.expect("the server answers or closes within 5 s") {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// The next reply, `op` naming the request it answers.
    pub async fn reply(&mut self, op: OpCode) -> Option<Reply> {
        let body = self.frame().await?;
        Some(jute::decode_reply(&body, |_| op).unwrap())
    }
}
