//! A running cluster: its nodes as processes, its network, and the primitive operations the
//! injector hurts them with.
//!
//! A cluster runs in one of two places:
//! * **here** (the default): draw free loopback ports for every node ([`ports`]), start the
//!   fabric's proxies in front of them, give every node a clock offset file ([`clocks`]), and
//!   start each node under the [`Supervisor`], told its peers' *link* addresses so that all
//!   traffic crosses the fabric;
//! * **on hosts** (`--hosts hosts.toml`): each node on a host of its own, reached over SSH
//!   and run by that host's agent ([`crate::hosts::Remote`]); traffic flows straight between
//!   the hosts' addresses, and partitions are the hosts' firewall rules.
//!
//! Either way each node's command line comes from its target descriptor ([`launch`]), and
//! the cluster waits until every node answers its readiness probe ([`probe`]). A node that
//! exits during startup, or is not ready in time, is a setup error that names it and quotes
//! the end of its log; everything started so far is torn down when the cluster is dropped.
//!
//! Once it runs, the injector turns nemesis actions into the operations here: the
//! [`Processes`]' kill, pause, resume and restart of a node, [`Cluster::partition`] and
//! [`Cluster::heal`], and the clocks' bumps and strobe.

mod clocks;
mod launch;
mod ports;
mod probe;
mod processes;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use nemesis::Grudge;
use targets::descriptor::{Clock, Descriptor, Readiness};
use workloads::Node;

pub use clocks::{Clocks, Writer};
use launch::Launcher;
pub use launch::NodeFiles;
use probe::Prober;
pub use processes::Processes;

use super::store::RunDir;
use crate::hosts::inventory::Inventory;
use crate::hosts::netns::LocalNet;
use crate::hosts::remote::{Reach, Remote};
use crate::net::{CLIENT, Endpoint, Fabric, LinkState, Mode};
use crate::supervisor::Supervisor;

/// How long a node may take to become ready.
pub const READY_TIMEOUT: Duration = Duration::from_secs(15);

/// How a cluster's traffic flows, and how a partition cuts it.
enum Network {
    /// On this machine, through the fabric's proxies: a partition cuts links (`cut`). With no
    /// fabric (`Setup::proxied` false) endpoints talk straight and a partition is refused.
    Fabric {
        fabric: Option<Fabric>,
        cut: Mode,
        /// Keeps the nodes' ports from other runs' draws while this cluster lives.
        _ports: ports::Lease,
    },
    /// Straight between hosts: a partition is firewall rules on them.
    Hosts(Arc<Remote>),
}

/// A cluster under test.
pub struct Cluster {
    /// Every node: the target's, then its store's (`s1`, …) if it has one. Faults hit them all.
    pub nodes: Vec<String>,
    /// The target's own nodes, which the workload's clients talk to.
    pub serving: Vec<String>,
    pub processes: Arc<dyn Processes>,
    pub clocks: Clocks,
    network: Network,
    endpoints: Vec<Endpoint>,
    /// Each node's descriptor, in the order of `nodes`.
    kinds: Vec<&'static Descriptor>,
    prober: Prober,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("nodes", &self.nodes)
            .finish_non_exhaustive()
    }
}

/// What a cluster needs to start.
pub struct Setup<'a> {
    pub descriptor: &'static Descriptor,
    pub nodes: usize,
    pub bugs: &'a [String],
    pub cut: Mode,
    pub link: LinkState,
    pub dir: &'a RunDir,
    /// Settings the descriptor offers (persistence, …) to switch on.
    pub options: &'a [String],
    /// Arguments the workload adds to the target's nodes (the bank's accounts and total).
    pub workload_args: &'a [String],
    /// The clients that get links of their own ([`crate::net::CLIENT`] alone when they
    /// share them).
    pub clients: &'a [String],
    /// How long a node may take to become ready ([`READY_TIMEOUT`] in runs).
    pub ready_timeout: Duration,
    /// Route traffic through the fabric's proxies. Without them (a run that never cuts or
    /// shapes a link, a benchmark's baseline) endpoints talk straight to each other, and a
    /// partition is refused.
    pub proxied: bool,
    /// The faultline binary, for bundled targets (`faultline node …`).
    pub faultline: PathBuf,
    /// Where the nodes run.
    pub place: Place<'a>,
    /// On hosts: bring the nodes' data directories back at the end.
    pub fetch_data: bool,
}

/// Where a cluster's nodes run.
#[derive(Clone, Copy, Debug)]
pub enum Place<'a> {
    /// On this machine, behind the fabric's proxies.
    Here,
    /// On this machine, each in a network namespace of its own (`--net netns`).
    Netns,
    /// Each on a host of the inventory, over SSH (`--hosts`).
    Hosts(&'a Inventory),
}

impl Cluster {
    /// Starts the cluster and waits until every node is ready.
    pub async fn start(setup: Setup<'_>) -> Result<Cluster, String> {
        let d = setup.descriptor;
        let serving: Vec<String> = (1..=setup.nodes).map(|i| format!("n{i}")).collect();
        let mut nodes = serving.clone();
        let mut kinds = vec![d; setup.nodes];
        if let Some(store) = d.store {
            nodes.extend((1..=store.nodes).map(|i| format!("s{i}")));
            kinds.extend(std::iter::repeat_n(store.descriptor, store.nodes));
        }
        let inventory = match setup.place {
            Place::Here => None,
            Place::Netns => Some(None),
            Place::Hosts(inventory) => Some(Some(inventory.clone())),
        };
        let cluster = match inventory {
            None => Cluster::here(&setup, nodes, serving, kinds).await?,
            Some(inventory) => {
                let dir = setup.dir.clone();
                let (clients, link) = (setup.clients.to_vec(), setup.link);
                let (n, k) = (nodes.clone(), kinds.clone());
                let bin = setup.faultline.clone();
                let fetch_data = setup.fetch_data;
                let remote = tokio::task::spawn_blocking(move || {
                    let deploy = |inventory: &Inventory, reach: &Reach| {
                        Remote::deploy(inventory, reach, &bin, &n, &k, &dir, &clients, link)
                            .map(|remote| remote.fetching_data(fetch_data))
                    };
                    match inventory {
                        Some(inventory) => deploy(&inventory, &Reach::Ssh),
                        None => {
                            let (net, inventory) = LocalNet::up(n.len())?;
                            let reach = Reach::Netns(net.namespaces.clone());
                            Ok(deploy(&inventory, &reach)?.keeping(net))
                        }
                    }
                })
                .await
                .map_err(|e| format!("deploying to the hosts: {e}"))??;
                Cluster::on_hosts(Arc::new(remote), nodes, serving, kinds)?
            }
        };
        cluster.launch(&setup).await?;
        Ok(cluster)
    }

    /// The cluster on this machine, behind the fabric.
    async fn here(
        setup: &Setup<'_>,
        nodes: Vec<String>,
        serving: Vec<String>,
        kinds: Vec<&'static Descriptor>,
    ) -> Result<Cluster, String> {
        let (endpoints, lease) = ports::endpoints(&nodes, &kinds)?;
        // Nodes that use a store reach it as its clients, each through links of their own.
        let mut clients = setup.clients.to_vec();
        if setup.descriptor.store.is_some() {
            clients.extend(serving.iter().cloned());
        }
        let fabric = if setup.proxied {
            let fabric = Fabric::start(&endpoints, &clients)
                .await
                .map_err(|e| format!("cannot start the network proxies: {e}"))?;
            fabric.shape(setup.link.latency, setup.link.loss);
            Some(fabric)
        } else {
            None
        };
        let clocks = Clocks::create(&setup.dir.path.join("clocks"), &nodes)?;
        Ok(Cluster {
            nodes,
            serving,
            processes: Arc::new(Supervisor::new()),
            clocks,
            network: Network::Fabric {
                fabric,
                cut: setup.cut,
                _ports: lease,
            },
            endpoints,
            kinds,
            prober: Prober::new()?,
        })
    }

    /// The cluster on the hosts `remote` has deployed to.
    fn on_hosts(
        remote: Arc<Remote>,
        nodes: Vec<String>,
        serving: Vec<String>,
        kinds: Vec<&'static Descriptor>,
    ) -> Result<Cluster, String> {
        let files = nodes
            .iter()
            .map(|n| Some((n.clone(), remote.files(n)?.clock_file)))
            .collect::<Option<_>>()
            .ok_or("a node has no host")?;
        let clocks = Clocks::with(files, remote.clock_writer())?;
        Ok(Cluster {
            endpoints: remote.endpoints(),
            nodes,
            serving,
            processes: remote.clone(),
            clocks,
            network: Network::Hosts(remote),
            kinds,
            prober: Prober::new()?,
        })
    }

    /// Where `node`'s files are, on the machine it runs on.
    fn files(&self, setup: &Setup<'_>, node: &str, shim: &Option<PathBuf>) -> Option<NodeFiles> {
        match &self.network {
            Network::Hosts(remote) => remote.files(node),
            Network::Fabric { .. } => Some(NodeFiles {
                data_dir: setup.dir.path.join("data").join(node),
                clock_file: self.clocks.file(node)?.to_path_buf(),
                log: setup.dir.node_log(node),
                faultline: setup.faultline.clone(),
                shim: shim.clone(),
            }),
        }
    }

    /// Starts every node and waits until all are ready.
    async fn launch(&self, setup: &Setup<'_>) -> Result<(), String> {
        // The clock shim, written here when some node is an external program that reads its
        // clock (on hosts, the agent writes its own).
        let shim = match &self.network {
            Network::Fabric { .. } if self.kinds.iter().any(|k| k.clock == Clock::Shim) => Some(
                crate::clock_shim::install(&setup.dir.path)
                    .map_err(|err| format!("cannot write the clock shim: {err}"))?,
            ),
            _ => None,
        };
        let launcher = Launcher::new(
            setup.descriptor,
            setup.bugs,
            setup.options,
            setup.workload_args,
        );
        for (e, &kind) in self.endpoints.iter().zip(&self.kinds) {
            let others = || self.nodes.iter().filter(|n| **n != e.node);
            let peers = others()
                .map(|n| (n.as_str(), self.peer_addrs(&e.node, n)))
                .filter(|(_, addrs)| !addrs.is_empty())
                .collect();
            let store = if self.serving.contains(&e.node) {
                others()
                    .filter(|n| !self.serving.contains(n))
                    .filter_map(|n| Some((n.as_str(), vec![self.link_addr(&e.node, n)?])))
                    .collect()
            } else {
                Vec::new()
            };
            let files = self
                .files(setup, &e.node, &shim)
                .ok_or_else(|| format!("node {} has no clock file", e.node))?;
            if matches!(self.network, Network::Fabric { .. }) {
                std::fs::create_dir_all(&files.data_dir)
                    .map_err(|err| format!("cannot create {}: {err}", files.data_dir.display()))?;
            }
            let spec = launcher.spec(&launch::Node {
                endpoint: e,
                kind,
                peers,
                store,
                files: &files,
            })?;
            self.processes.start(spec)?;
        }
        let probes: Vec<(&str, SocketAddr, Readiness)> = self
            .endpoints
            .iter()
            .zip(&self.kinds)
            .map(|(e, k)| (e.node.as_str(), e.client, k.ready))
            .collect();
        self.prober
            .await_ready(
                &probes,
                self.processes.as_ref(),
                setup.dir,
                setup.ready_timeout,
            )
            .await
    }

    /// The descriptor's readiness probe, straight to the node (not through the fabric).
    pub async fn probe(&self, node: &str) -> bool {
        match self.endpoint_and_kind(node) {
            Some((e, kind)) => self.prober.ready(e.client, kind.ready).await,
            None => false,
        }
    }

    /// The leader, straight from the running nodes: the one most name in their health
    /// answers (targets whose health answer names one: `{"leader": "n3"}`), or the one that
    /// says it leads (ZooKeeper's `srvr`: `Mode: leader`; etcd's status: its own member ID
    /// as the leader's).
    pub async fn leader(&self) -> Option<String> {
        let running = || {
            self.endpoints.iter().zip(&self.kinds).filter(|(e, _)| {
                self.processes.is_running(&e.node) && !self.processes.is_paused(&e.node)
            })
        };
        let health: Vec<(SocketAddr, &str)> = running()
            .filter_map(|(e, kind)| match kind.ready {
                Readiness::HttpGet(path) => Some((e.client, path)),
                _ => None,
            })
            .collect();
        let claims: Vec<(&str, SocketAddr, &str, &str)> = running()
            .filter_map(|(e, kind)| match kind.ready {
                Readiness::Answer { say, leader, .. } => {
                    Some((e.node.as_str(), e.client, say, leader))
                }
                _ => None,
            })
            .collect();
        let etcd: Vec<(&str, SocketAddr)> = running()
            .filter(|(_, kind)| kind.ready == Readiness::EtcdStatus)
            .map(|(e, _)| (e.node.as_str(), e.client))
            .collect();
        if !etcd.is_empty() {
            self.prober.etcd_leader(&etcd).await
        } else if health.is_empty() {
            self.prober.claimed_leader(&claims).await
        } else {
            self.prober.leader(&health).await
        }
    }

    /// Cuts the links `grudge` names, the way the run's scenario cuts them.
    pub fn partition(&self, grudge: &Grudge) -> Result<(), String> {
        match &self.network {
            Network::Fabric { fabric: None, .. } => {
                Err("this run's links are not proxied: it cannot be partitioned".into())
            }
            Network::Fabric {
                fabric: Some(fabric),
                cut,
                ..
            } => {
                fabric.apply(grudge, *cut);
                Ok(())
            }
            Network::Hosts(remote) => remote.partition(grudge),
        }
    }

    /// Lets all traffic through again.
    pub fn heal(&self) -> Result<(), String> {
        match &self.network {
            Network::Fabric { fabric, .. } => {
                fabric.iter().for_each(Fabric::heal);
                Ok(())
            }
            Network::Hosts(remote) => remote.partition(&Grudge::default()),
        }
    }

    /// Whether some traffic is cut now.
    pub fn is_partitioned(&self) -> bool {
        match &self.network {
            Network::Fabric { fabric, .. } => fabric
                .iter()
                .any(|f| f.modes().any(|(_, _, m)| m != Mode::Open)),
            Network::Hosts(remote) => remote.is_partitioned(),
        }
    }

    /// `node` as the client `link` (a client's name, or [`CLIENT`] when they share links)
    /// reaches it.
    pub fn client_node(&self, link: &str, node: &str) -> Option<Node> {
        let (addr, from) = match &self.network {
            Network::Fabric {
                fabric: Some(fabric),
                ..
            } => (fabric.addr(link, node)?, None),
            Network::Fabric { .. } => (self.endpoint(node)?.client, None),
            Network::Hosts(remote) => (self.endpoint(node)?.client, remote.source(link)),
        };
        Some(Node {
            name: node.to_string(),
            addr,
            from,
        })
    }

    /// The target's nodes as clients that share their links reach them.
    pub fn serving_nodes(&self) -> Vec<Node> {
        self.serving
            .iter()
            .filter_map(|n| self.client_node(CLIENT, n))
            .collect()
    }

    /// Where clients reach `node` (through their shared link).
    pub fn client_addr(&self, node: &str) -> Option<SocketAddr> {
        self.client_node(CLIENT, node).map(|n| n.addr)
    }

    /// Where `from` reaches each peer port of `to` (through their link).
    fn peer_addrs(&self, from: &str, to: &str) -> Vec<SocketAddr> {
        match &self.network {
            Network::Fabric {
                fabric: Some(fabric),
                ..
            } => fabric.addrs(from, to),
            _ => self
                .endpoint(to)
                .map(|e| e.peer.clone())
                .unwrap_or_default(),
        }
    }

    /// Where `from`, a node using the store, reaches the store's node `to` as a client.
    fn link_addr(&self, from: &str, to: &str) -> Option<SocketAddr> {
        match &self.network {
            Network::Fabric {
                fabric: Some(fabric),
                ..
            } => fabric.addr(from, to),
            _ => self.endpoint(to).map(|e| e.client),
        }
    }

    fn endpoint(&self, node: &str) -> Option<&Endpoint> {
        self.endpoint_and_kind(node).map(|(e, _)| e)
    }

    fn endpoint_and_kind(&self, node: &str) -> Option<(&Endpoint, &'static Descriptor)> {
        self.endpoints
            .iter()
            .zip(&self.kinds)
            .find(|(e, _)| e.node == node)
            .map(|(e, k)| (e, *k))
    }

    /// Kills every node (the fabric goes when the cluster is dropped; hosts' logs come back
    /// into the run folder).
    pub fn shutdown(&self) {
        self.clocks.stop_strobe();
        self.processes.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use targets::descriptor::{Clock, Descriptor, IdLayout, Program, Protocol, Readiness};

    const SH: Descriptor = Descriptor {
        name: "sh",
        summary: "test double",
        program: Program::External {
            program: "/bin/sh",
            package: "dash",
        },
        args: &["-c", "echo starting {node} >&2; exit 3"],
        ready: Readiness::Tcp,
        protocol: Protocol::HttpKv,
        faults: &[],
        bugs: &[],
        options: &[],
        peer_ports: 1,
        clock: Clock::Fixed,
        defaults: "",
        store: None,
        id_layout: IdLayout::Opaque,
    };

    const SLEEPER: Descriptor = Descriptor {
        // 3600, not the supervisor tests' 60: the survivor check below must not count the
        // sleepers of tests running beside it.
        args: &["-c", "echo waiting forever >&2; exec sleep 3600"],
        ..SH
    };

    fn dir(tag: &str) -> (std::path::PathBuf, RunDir) {
        let root = std::env::temp_dir().join(format!("cluster-{tag}-{}", std::process::id()));
        let dir = RunDir::create(&root, "t").unwrap();
        (root, dir)
    }

    fn setup<'a>(descriptor: &'static Descriptor, dir: &'a RunDir) -> Setup<'a> {
        Setup {
            descriptor,
            nodes: 2,
            bugs: &[],
            cut: Mode::Blackhole,
            link: LinkState::default(),
            dir,
            options: &[],
            workload_args: &[],
            clients: &[],
            ready_timeout: Duration::from_millis(600),
            proxied: true,
            faultline: PathBuf::from("/nonexistent"),
            place: Place::Here,
            fetch_data: false,
        }
    }

    #[tokio::test]
    async fn a_node_that_exits_while_starting_is_named_with_its_log() {
        let (root, dir) = dir("exit");
        let err = Cluster::start(setup(&SH, &dir)).await.unwrap_err();
        assert!(err.starts_with("node n"), "{err}");
        assert!(err.contains("exited while starting"), "{err}");
        assert!(err.contains("starting n"), "quotes the log: {err}");
        assert!(!err.contains('\n'));
        std::fs::remove_dir_all(root).unwrap();
    }

    #[tokio::test]
    async fn a_node_never_ready_times_out_and_nothing_is_left_running() {
        let (root, dir) = dir("slow");
        let err = Cluster::start(setup(&SLEEPER, &dir)).await.unwrap_err();
        assert!(err.contains("was not ready within"), "{err}");
        assert!(err.contains("waiting forever"), "{err}");
        // The sleepers were children of this process: none may survive the failed start.
        let survivors = std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .filter(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
                    .is_ok_and(|c| c.contains("sleep\u{0}3600"))
                    && std::fs::read_to_string(format!("/proc/{pid}/stat"))
                        .is_ok_and(|s| !s.contains(") Z "))
            })
            .count();
        assert_eq!(survivors, 0);
        std::fs::remove_dir_all(root).unwrap();
    }
}
