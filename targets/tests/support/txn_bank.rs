//! A bank of a transaction target (`2pc`, `3pc`) on loopback: a coordinator and participants,
//! each on its own thread and tokio runtime, talking over loopback TCP, driven through the
//! `txn-http` protocol with an HTTP client. Every node is stopped and its data directory
//! removed when the [`Bank`] is dropped.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;
use targets::shell::Listeners;
use targets::twopc::api::Decisions;
use targets::txn_node::{Config, Error, Protocol, serve_on};

use super::{NodeThread, temp_dir};

/// A bank: `nodes[0]` is the coordinator n1, the rest participants.
pub struct Bank<P: Protocol> {
    pub configs: Vec<Config<P>>,
    nodes: Vec<Option<NodeThread<Error>>>,
    dir: PathBuf,
    pub http: reqwest::Client,
}

fn listener() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").expect("a free port")
}

impl<P: Protocol> Bank<P> {
    /// A coordinator and `participants` participants, each node started with `extra` flags.
    pub fn start(participants: usize, extra: &str) -> Bank<P> {
        let dir = temp_dir(P::NAME);
        let sockets: Vec<(TcpListener, TcpListener)> = (0..=participants)
            .map(|_| (listener(), listener()))
            .collect();
        let peer_addr = |i: usize| sockets[i].1.local_addr().unwrap();
        let configs: Vec<Config<P>> = sockets
            .iter()
            .enumerate()
            .map(|(i, (client, peer))| {
                let peers: Vec<String> = (0..=participants)
                    .filter(|&j| j != i)
                    .map(|j| format!("n{}={}", j + 1, peer_addr(j)))
                    .collect();
                let line = format!(
                    "--id n{} --port {} --peer-port {} --peers {} --data-dir {} {extra}",
                    i + 1,
                    client.local_addr().unwrap().port(),
                    peer.local_addr().unwrap().port(),
                    peers.join(","),
                    dir.join(format!("n{}", i + 1)).display(),
                );
                let args = line.split_whitespace().map(String::from).collect();
                Config::from_args(args).expect("a good command line")
            })
            .collect();
        let nodes = configs
            .iter()
            .zip(sockets)
            .map(|(config, (client, peer))| Some(start(config.clone(), client, peer)))
            .collect();
        Bank {
            configs,
            nodes,
            dir,
            http: reqwest::Client::new(),
        }
    }

    pub fn addr(&self, i: usize) -> SocketAddr {
        self.configs[i].client
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .http
            .post(format!("http://{}{path}", self.addr(0)))
            .json(&body)
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .expect("the coordinator answers");
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON answer"))
    }

    pub async fn decisions(&self, i: usize) -> Decisions {
        self.http
            .get(format!("http://{}/decisions", self.addr(i)))
            .send()
            .await
            .expect("the participant answers")
            .json()
            .await
            .expect("decisions")
    }

    /// Stops node `i` (as a crash would, as far as its peers can tell).
    pub fn stop(&mut self, i: usize) {
        if let Some(mut node) = self.nodes[i].take() {
            node.stop();
        }
    }

    /// Begins a transfer of 5 from account 0 to account 1 at the coordinator, and stops the
    /// coordinator `after` that long — while the transaction is undecided there: its client
    /// gets no outcome, only "stopping" (or nothing at all). Says when it was stopped.
    pub async fn stop_the_coordinator_mid_transfer(&mut self, after: Duration) -> Instant {
        let http = self.http.clone();
        let coordinator = self.addr(0);
        let transfer = tokio::spawn(async move {
            http.post(format!("http://{coordinator}/transfer"))
                .json(&serde_json::json!({"from": 0, "to": 1, "amount": 5}))
                .send()
                .await
        });
        tokio::time::sleep(after).await;
        let stopped = Instant::now();
        self.stop(0);
        let answered = transfer.await.unwrap().map(|r| r.status().as_u16());
        assert!(matches!(answered, Err(_) | Ok(500)), "{answered:?}");
        stopped
    }

    /// Starts node `i` again on its old addresses and data directory.
    pub fn restart(&mut self, i: usize) {
        let config = self.configs[i].clone();
        let rebind = |addr: SocketAddr| {
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                match TcpListener::bind(addr) {
                    Ok(l) => return l,
                    Err(e) if Instant::now() > deadline => panic!("cannot rebind {addr}: {e}"),
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        };
        let (client, peer) = (rebind(config.client), rebind(config.peer));
        self.nodes[i] = Some(start(config, client, peer));
    }
}

impl<P: Protocol> Drop for Bank<P> {
    fn drop(&mut self) {
        self.nodes.clear();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn start<P: Protocol>(
    config: Config<P>,
    client: TcpListener,
    peer: TcpListener,
) -> NodeThread<Error> {
    NodeThread::spawn(2, move |stopped| async move {
        let listeners = Listeners::from_std(client, peer)?;
        serve_on(config, listeners, stopped).await
    })
}

/// Waits until the coordinator answers.
pub async fn until_up<P: Protocol>(bank: &Bank<P>) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while bank
        .http
        .get(format!("http://{}/health", bank.addr(0)))
        .send()
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "the coordinator never came up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
