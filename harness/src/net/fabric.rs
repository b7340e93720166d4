//! The cluster's network: one proxy per directed link, and the grudges applied to them.
//!
//! For `n` nodes and clients `c₁ … cₘ` there are `m·n` client links (`cₖ → nᵢ`) and `n·(n−1)`
//! peer links (`nᵢ → nⱼ`, between the nodes that have peer ports). Nodes that use a store
//! cluster are clients of it, with client links of their own. A workload whose clients are interchangeable uses one client name,
//! [`CLIENT`], for all of them; one whose faults single clients out (Redlock's partitions) gives
//! each client its own links. A node is configured with its peers' link addresses, so every
//! message between nodes crosses the fabric. A grudge cuts the links whose receiver holds a
//! grudge against their sender — a node's grudge against a client cuts that client's link to
//! it; healing opens every link.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use nemesis::Grudge;

use super::proxy::{LinkState, Mode, Proxy};

/// The name clients go by in link names when they share their links.
pub const CLIENT: &str = "client";

/// One node's real listening addresses.
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub node: String,
    /// Where clients reach it.
    pub client: SocketAddr,
    /// Where peers reach it, one address per peer port (none for systems without peer
    /// traffic, such as a single Redis; two for ZooKeeper's quorum and election ports).
    pub peer: Vec<SocketAddr>,
}

/// Every link of a cluster.
#[derive(Debug)]
pub struct Fabric {
    /// (from, to) → the link's proxies, one per port it reaches (a client link reaches the
    /// client port; a peer link each peer port). `from` is a client's name for client links.
    /// A grudge cuts or opens a link's proxies together.
    links: BTreeMap<(String, String), Vec<Proxy>>,
}

impl Fabric {
    /// Starts the proxies for `endpoints`, with links for each of `clients`.
    pub async fn start(endpoints: &[Endpoint], clients: &[String]) -> std::io::Result<Fabric> {
        let mut links = BTreeMap::new();
        for to in endpoints {
            for client in clients {
                links.insert(
                    (client.clone(), to.node.clone()),
                    vec![Proxy::start(to.client).await?],
                );
            }
            // Peer traffic flows between nodes that have peer ports (a store's nodes, say, and
            // not the nodes that use it, which reach it as clients do).
            if to.peer.is_empty() {
                continue;
            }
            for from in endpoints
                .iter()
                .filter(|e| e.node != to.node && !e.peer.is_empty())
            {
                let mut proxies = Vec::with_capacity(to.peer.len());
                for &port in &to.peer {
                    proxies.push(Proxy::start(port).await?);
                }
                links.insert((from.node.clone(), to.node.clone()), proxies);
            }
        }
        Ok(Fabric { links })
    }

    /// The address `from` (a node, or a client) uses to reach `to` (its first port).
    pub fn addr(&self, from: &str, to: &str) -> Option<SocketAddr> {
        self.addrs(from, to).first().copied()
    }

    /// The addresses `from` uses to reach each of `to`'s ports.
    pub fn addrs(&self, from: &str, to: &str) -> Vec<SocketAddr> {
        self.links
            .get(&(from.to_string(), to.to_string()))
            .map(|proxies| proxies.iter().map(Proxy::addr).collect())
            .unwrap_or_default()
    }

    fn proxies(&self) -> impl Iterator<Item = &Proxy> {
        self.links.values().flatten()
    }

    /// Cuts every link the grudge names (blackhole or reset) and opens the others.
    pub fn apply(&self, grudge: &Grudge, cut: Mode) {
        for ((from, to), proxies) in &self.links {
            let mode = if grudge.cuts(from, to) {
                cut
            } else {
                Mode::Open
            };
            for proxy in proxies {
                proxy.set_mode(mode);
            }
        }
    }

    /// Opens every link.
    pub fn heal(&self) {
        for proxy in self.proxies() {
            proxy.set_mode(Mode::Open);
        }
    }

    /// Sets latency and loss on every link, keeping each link's mode.
    pub fn shape(&self, latency: std::time::Duration, loss: f64) {
        for proxy in self.proxies() {
            let mode = proxy.state().mode;
            proxy.set(LinkState {
                mode,
                latency,
                loss,
            });
        }
    }

    /// The links, for reports: (from, to, mode) — a link's proxies share their mode.
    pub fn modes(&self) -> impl Iterator<Item = (&str, &str, Mode)> {
        self.links.iter().filter_map(|((f, t), proxies)| {
            Some((f.as_str(), t.as_str(), proxies.first()?.state().mode))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_grudge_cuts_exactly_the_peer_links_it_names() {
        let any: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let endpoints: Vec<Endpoint> = (1..=3)
            .map(|i| Endpoint {
                node: format!("n{i}"),
                client: any,
                peer: vec![any],
            })
            .collect();
        let fabric = Fabric::start(&endpoints, &[CLIENT.to_string()])
            .await
            .unwrap();
        assert_eq!(fabric.modes().count(), 3 + 6);
        let nodes: Vec<String> = endpoints.iter().map(|e| e.node.clone()).collect();
        let grudge = nemesis::grudge::halves(&nodes); // n1 | n2 n3
        fabric.apply(&grudge, Mode::Blackhole);
        let cut: Vec<(String, String)> = fabric
            .modes()
            .filter(|(_, _, m)| *m == Mode::Blackhole)
            .map(|(f, t, _)| (f.to_string(), t.to_string()))
            .collect();
        let expect: Vec<(String, String)> =
            [("n1", "n2"), ("n1", "n3"), ("n2", "n1"), ("n3", "n1")]
                .iter()
                .map(|(f, t)| (f.to_string(), t.to_string()))
                .collect();
        assert_eq!(cut, expect);
        fabric.heal();
        assert!(fabric.modes().all(|(_, _, m)| m == Mode::Open));
        assert!(fabric.addr(CLIENT, "n2").is_some());
        assert!(fabric.addr("n2", "n2").is_none());
    }

    #[tokio::test]
    async fn a_link_to_a_node_with_two_peer_ports_has_a_proxy_for_each_and_is_cut_whole() {
        let any: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let endpoints: Vec<Endpoint> = (1..=3)
            .map(|i| Endpoint {
                node: format!("n{i}"),
                client: any,
                peer: vec![any, any],
            })
            .collect();
        let fabric = Fabric::start(&endpoints, &[CLIENT.to_string()])
            .await
            .unwrap();
        let both = fabric.addrs("n1", "n2");
        assert_eq!(both.len(), 2);
        assert_ne!(both[0], both[1]);
        assert_eq!(fabric.addrs(CLIENT, "n2").len(), 1);
        let nodes: Vec<String> = endpoints.iter().map(|e| e.node.clone()).collect();
        fabric.apply(&nemesis::grudge::halves(&nodes), Mode::Blackhole);
        let cut = fabric
            .proxies()
            .filter(|p| p.state().mode == Mode::Blackhole);
        assert_eq!(cut.count(), 4 * 2);
    }

    #[tokio::test]
    async fn a_node_holding_a_grudge_against_a_client_cuts_that_clients_link_only() {
        let any: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let endpoints: Vec<Endpoint> = (1..=5)
            .map(|i| Endpoint {
                node: format!("n{i}"),
                client: any,
                peer: Vec::new(),
            })
            .collect();
        let clients = vec!["c1".to_string(), "c2".to_string()];
        let fabric = Fabric::start(&endpoints, &clients).await.unwrap();
        let nodes: Vec<String> = endpoints.iter().map(|e| e.node.clone()).collect();
        fabric.apply(
            &nemesis::grudge::client_split(&nodes, &clients),
            Mode::Blackhole,
        );
        let cut: Vec<String> = fabric
            .modes()
            .filter(|(_, _, m)| *m == Mode::Blackhole)
            .map(|(f, t, _)| format!("{f}->{t}"))
            .collect();
        assert_eq!(cut, ["c1->n4", "c1->n5", "c2->n1", "c2->n2"]);
    }
}
