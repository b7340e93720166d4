//! `raft-kv` nodes `n1..=nN` on loopback, each on its own thread and runtime: the store of the
//! segment tests and the cluster of the raft-kv tests (which may route peer links through
//! proxies of their own).

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::time::{Duration, Instant};

use targets::raft_kv::{Bug, Config, Error, serve_on};
use targets::shell::Listeners;

use super::NodeThread;

/// A raft-kv node running on its own thread (one worker).
pub struct Node {
    pub config: Config,
    node: NodeThread<Error>,
}

impl Node {
    pub fn start(config: Config, client: TcpListener, peer: TcpListener) -> Node {
        let node_config = config.clone();
        let node = NodeThread::spawn(1, move |stopped| async move {
            let listeners = Listeners::from_std(client, peer)?;
            serve_on(node_config, listeners, stopped).await
        });
        Node { config, node }
    }

    pub fn running(&self) -> bool {
        self.node.running()
    }

    /// Stops the node and waits for its thread; it must have stopped cleanly. Its ports and
    /// data directory are free after.
    pub fn stop(&mut self) {
        self.node.stop();
    }

    /// Stops the node and waits for its thread, however it ended.
    pub fn halt(&mut self) {
        self.node.halt();
    }

    /// Starts a stopped node again, on its old addresses (waiting up to `patience` for each
    /// to be free) and data directory.
    pub fn restart(&mut self, patience: Duration) {
        let config = self.config.clone();
        let (client, peer) = (
            rebind(config.client, patience),
            rebind(config.peer, patience),
        );
        *self = Node::start(config, client, peer);
    }
}

/// A socket on a free loopback port.
pub fn listener() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").expect("a free port")
}

/// Binds `addr` again after its node stopped, waiting out a port that is briefly busy.
pub fn rebind(addr: SocketAddr, patience: Duration) -> TcpListener {
    let deadline = Instant::now() + patience;
    loop {
        match TcpListener::bind(addr) {
            Ok(listener) => return listener,
            Err(e) if Instant::now() > deadline => panic!("cannot rebind {addr}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// Client and peer sockets for `size` nodes.
pub fn sockets(size: usize) -> Vec<(TcpListener, TcpListener)> {
    (0..size).map(|_| (listener(), listener())).collect()
}

/// The peer addresses of `sockets`, in node order.
pub fn peer_addrs(sockets: &[(TcpListener, TcpListener)]) -> Vec<SocketAddr> {
    sockets
        .iter()
        .map(|(_, peer)| peer.local_addr().unwrap())
        .collect()
}

/// Starts nodes `n1..=nN` on `sockets` (each node's client and peer socket), 10 ms ticks, each
/// with its data in `dir/nK`; node `i` sends to node `j` at `send_to(i, j)` (0-based).
pub fn start_nodes(
    sockets: Vec<(TcpListener, TcpListener)>,
    dir: &Path,
    bug: Option<Bug>,
    send_to: impl Fn(usize, usize) -> SocketAddr,
) -> Vec<Node> {
    let size = sockets.len();
    sockets
        .into_iter()
        .enumerate()
        .map(|(i, (client, peer))| {
            let config = Config {
                name: format!("n{}", i + 1),
                prefix: "n".into(),
                id: i as u64 + 1,
                client: client.local_addr().unwrap(),
                peer: peer.local_addr().unwrap(),
                peers: (0..size)
                    .filter(|&j| j != i)
                    .map(|j| (j as u64 + 1, send_to(i, j)))
                    .collect(),
                data_dir: dir.join(format!("n{}", i + 1)),
                bug,
                tick: Duration::from_millis(10),
            };
            Node::start(config, client, peer)
        })
        .collect()
}
