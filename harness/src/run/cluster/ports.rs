//! Ports for a cluster's nodes: a client port for every node and as many peer ports as its
//! target listens on for its peers, drawn at random from loopback ports that are free now.
//!
//! The draws are held (bound) until the whole cluster's are made, so that no two nodes get
//! the same port, and released together for the nodes to bind. Each drawn port is also
//! leased for as long as the cluster lives: a lock on a file named after it, which every
//! faultline run on this machine respects when it draws. Without the lease, another run (a
//! test beside this one, a suite at `--jobs 2`) could draw a port between its release and
//! the node's bind, or while its node is down for a kill fault, and start its own node on it.

use std::fs::File;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;

use nix::fcntl::{Flock, FlockArg};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use targets::descriptor::Descriptor;

use crate::net::Endpoint;

/// The ports a cluster has drawn, leased until this is dropped (the harness exits included:
/// the kernel releases the locks of a process that dies).
pub(super) struct Lease {
    _locks: Vec<Flock<File>>,
}

/// Where each of `nodes` (of the matching `kinds`) will listen, and the lease on their ports.
pub(super) fn endpoints(
    nodes: &[String],
    kinds: &[&'static Descriptor],
) -> Result<(Vec<Endpoint>, Lease), String> {
    let dir = std::env::temp_dir().join("faultline-ports");
    std::fs::create_dir_all(&dir).map_err(|e| {
        format!(
            "cannot create the port leases' folder {}: {e}",
            dir.display()
        )
    })?;
    // Seeded from the clock and the process, not the run's seed: two runs side by side with
    // the same seed must not draw the same ports.
    let mut rng = ChaCha8Rng::seed_from_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
            ^ u64::from(std::process::id()),
    );
    let mut held = Vec::new();
    let mut locks = Vec::new();
    let mut endpoints = Vec::new();
    for (name, kind) in nodes.iter().zip(kinds) {
        let mut port = |what| -> Result<SocketAddr, String> {
            let (listener, lock) = free_port(&mut rng, &dir)
                .map_err(|e| format!("cannot find a free {what} port: {e}"))?;
            let addr = listener.local_addr().map_err(|e| e.to_string())?;
            held.push(listener);
            locks.push(lock);
            Ok(addr)
        };
        endpoints.push(Endpoint {
            node: name.clone(),
            client: port("client")?,
            peer: (0..kind.peer_ports)
                .map(|_| port("peer"))
                .collect::<Result<_, _>>()?,
        });
    }
    Ok((endpoints, Lease { _locks: locks }))
}

/// A free loopback port for a node, drawn at random from just below the kernel's ephemeral
/// range. Ports from that range go to every `bind(0)` — this harness's own proxies included —
/// so a node port probed there and released could be handed to someone else before the node
/// binds it; below it, only another run drawing the same way could, and the port's lease in
/// `leases` (taken here, skipped if another holds it) keeps those apart. The probe's listener
/// is returned with the lease: holding it until every port of the cluster is drawn keeps the
/// draws distinct.
fn free_port(rng: &mut ChaCha8Rng, leases: &Path) -> std::io::Result<(TcpListener, Flock<File>)> {
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    let high = ephemeral_low.max(2048);
    let low = high.saturating_sub(12_000).max(1024);
    for _ in 0..200 {
        let port = rng.random_range(low..high);
        // The lease files stay: removing one could let two runs lock two files of one name.
        let file = File::create(leases.join(port.to_string()))?;
        let Ok(lock) = Flock::lock(file, FlockArg::LockExclusiveNonblock) else {
            continue;
        };
        if let Ok(held) = TcpListener::bind(("127.0.0.1", port)) {
            return Ok((held, lock));
        }
    }
    Err(std::io::Error::other(format!(
        "no free port in {low}..{high}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use targets::descriptor::{RAFT_KV, REDIS_LOCK};

    #[test]
    fn every_node_gets_distinct_ports_and_peer_ports_only_with_peers() {
        let nodes: Vec<String> = ["n1", "n2", "n3"].map(String::from).to_vec();
        let (endpoints, _lease) = endpoints(&nodes, &[&RAFT_KV, &RAFT_KV, &REDIS_LOCK]).unwrap();
        assert!(endpoints[0].peer.len() == 1 && endpoints[1].peer.len() == 1);
        assert!(endpoints[2].peer.is_empty());
        let ports: std::collections::BTreeSet<u16> = endpoints
            .iter()
            .flat_map(|e| std::iter::once(e.client).chain(e.peer.iter().copied()))
            .map(|a| a.port())
            .collect();
        assert_eq!(ports.len(), 5);
        assert!(endpoints.iter().all(|e| e.client.ip().is_loopback()));
    }

    #[test]
    fn a_port_leased_by_another_run_is_not_drawn() {
        let dir = std::env::temp_dir().join(format!("faultline-leases-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let rng = ChaCha8Rng::seed_from_u64(7);
        let (first, _lease) = free_port(&mut rng.clone(), &dir).unwrap();
        let first = first.local_addr().unwrap().port();
        drop(_lease);
        let other = File::create(dir.join(first.to_string())).unwrap();
        other.try_lock().unwrap();
        let (drawn, _lease) = free_port(&mut rng.clone(), &dir).unwrap();
        assert_ne!(drawn.local_addr().unwrap().port(), first);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
