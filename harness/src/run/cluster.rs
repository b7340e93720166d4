//! A running cluster: its nodes as processes, its network as proxies, and the faults applied
//! to both.
//!
//! Starting one: pick free loopback ports for every node, start the fabric's proxies in front
//! of them, start each node from its target descriptor (told its peers' *link* addresses, so
//! that all traffic crosses the fabric), and wait until every node answers its readiness probe.
//! A node that exits during startup, or is not ready in time, is a setup error that names it
//! and quotes the end of its log; everything started so far is torn down when the cluster is
//! dropped.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use nemesis::Action;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use targets::descriptor::{Clock, Descriptor, Program, Readiness};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::store::RunDir;
use crate::net::{CLIENT, Endpoint, Fabric, LinkState, Mode};
use crate::supervisor::{NodeSpec, Supervisor};

/// How long a node may take to become ready.
pub const READY_TIMEOUT: Duration = Duration::from_secs(15);

/// A cluster under test.
pub struct Cluster {
    /// Every node: the target's, then its store's (`s1`, …) if it has one. Faults hit them all.
    pub nodes: Vec<String>,
    /// The target's own nodes, which the workload's clients talk to.
    pub serving: Vec<String>,
    pub fabric: Fabric,
    pub supervisor: Supervisor,
    endpoints: Vec<Endpoint>,
    /// Each node's descriptor, in the order of `nodes`.
    kinds: Vec<&'static Descriptor>,
    /// How a partition cuts links.
    cut: Mode,
    proxied: bool,
    /// Each node's clock offset file, and the offset written there (ms).
    clocks: BTreeMap<String, (PathBuf, Mutex<i64>)>,
    /// The task flipping clocks during a clock strobe.
    strobe: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("nodes", &self.nodes)
            .finish_non_exhaustive()
    }
}

/// A free loopback port for a node, drawn at random from just below the kernel's ephemeral
/// range. Ports from that range go to every `bind(0)` — this harness's own proxies included —
/// so a node port probed there and released could be handed to someone else before the node
/// binds it; below it, only another run drawing the same way could collide. The probe's
/// listener is returned: holding it until every port of the cluster is drawn keeps the draws
/// distinct.
fn free_port(rng: &mut ChaCha8Rng) -> std::io::Result<std::net::TcpListener> {
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    let high = ephemeral_low.max(2048);
    let low = high.saturating_sub(12_000).max(1024);
    for _ in 0..200 {
        let port = rng.random_range(low..high);
        if let Ok(held) = std::net::TcpListener::bind(("127.0.0.1", port)) {
            return Ok(held);
        }
    }
    Err(std::io::Error::other(format!(
        "no free port in {low}..{high}"
    )))
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
    /// The clients that get links of their own ([`crate::net::CLIENT`] alone when they
    /// share them).
    pub clients: &'a [String],
    /// How long a node may take to become ready ([`READY_TIMEOUT`] in runs).
    pub ready_timeout: Duration,
    /// Route traffic through the fabric (always, in runs; benchmarks measure without).
    pub proxied: bool,
    /// The faultline binary, for bundled targets (`faultline node …`).
    pub faultline: PathBuf,
}

impl Cluster {
    /// Starts the cluster and waits until every node is ready.
    pub async fn start(setup: Setup<'_>) -> Result<Cluster, String> {
        let d = setup.descriptor;
        let serving: Vec<String> = (1..=setup.nodes).map(|i| format!("n{i}")).collect();
        let mut names = serving.clone();
        let mut kinds = vec![d; setup.nodes];
        if let Some(store) = d.store {
            names.extend((1..=store.nodes).map(|i| format!("s{i}")));
            kinds.extend(std::iter::repeat_n(store.descriptor, store.nodes));
        }
        let mut endpoints = Vec::new();
        let mut rng = ChaCha8Rng::seed_from_u64(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64)
                ^ u64::from(std::process::id()),
        );
        let mut held = Vec::new();
        for (name, kind) in names.iter().zip(&kinds) {
            let mut port = |what| -> Result<u16, String> {
                let listener = free_port(&mut rng)
                    .map_err(|e| format!("cannot find a free {what} port: {e}"))?;
                let port = listener.local_addr().map_err(|e| e.to_string())?.port();
                held.push(listener);
                Ok(port)
            };
            endpoints.push(Endpoint {
                node: name.clone(),
                client: SocketAddr::from(([127, 0, 0, 1], port("client")?)),
                peer: if kind.peers {
                    Some(SocketAddr::from(([127, 0, 0, 1], port("peer")?)))
                } else {
                    None
                },
            });
        }
        // Released for the nodes to bind.
        drop(held);
        // Nodes that use a store reach it as its clients, each through links of its own.
        let mut clients = setup.clients.to_vec();
        if d.store.is_some() {
            clients.extend(serving.iter().cloned());
        }
        let fabric = Fabric::start(&endpoints, &clients)
            .await
            .map_err(|e| format!("cannot start the network proxies: {e}"))?;
        fabric.shape(setup.link.latency, setup.link.loss);
        let cluster = Cluster {
            nodes: names,
            serving,
            fabric,
            supervisor: Supervisor::new(),
            endpoints,
            kinds,
            cut: setup.cut,
            proxied: setup.proxied,
            clocks: BTreeMap::new(),
            strobe: Mutex::new(None),
        };
        let mut cluster = cluster;
        let clock_dir = setup.dir.path.join("clocks");
        std::fs::create_dir_all(&clock_dir)
            .map_err(|err| format!("cannot create {}: {err}", clock_dir.display()))?;
        for node in &cluster.nodes {
            let file = clock_dir.join(node);
            targets::clock::write_offset(&file, 0)
                .map_err(|err| format!("cannot write {}: {err}", file.display()))?;
            cluster.clocks.insert(node.clone(), (file, Mutex::new(0)));
        }
        // The shim goes to every run that has an external program reading its clock.
        let shim = if cluster.kinds.iter().any(|k| k.clock == Clock::Shim) {
            Some(
                crate::clock_shim::install(&setup.dir.path)
                    .map_err(|err| format!("cannot write the clock shim: {err}"))?,
            )
        } else {
            None
        };
        for (e, kind) in cluster.endpoints.iter().zip(&cluster.kinds) {
            let program = match kind.program {
                Program::Faultline => setup.faultline.clone(),
                Program::External(p) => PathBuf::from(p),
            };
            let data = setup.dir.path.join("data").join(&e.node);
            std::fs::create_dir_all(&data)
                .map_err(|err| format!("cannot create {}: {err}", data.display()))?;
            let links = |to: &mut dyn Iterator<Item = &String>,
                         addr: &dyn Fn(&str) -> Option<SocketAddr>| {
                to.filter(|n| **n != e.node)
                    .filter_map(|n| addr(n).map(|a| format!("{n}={a}")))
                    .collect::<Vec<String>>()
                    .join(",")
            };
            let peers = links(&mut cluster.nodes.iter(), &|n| {
                cluster.peer_addr(&e.node, n)
            });
            let store = if cluster.serving.contains(&e.node) {
                links(
                    &mut cluster
                        .nodes
                        .iter()
                        .filter(|n| !cluster.serving.contains(n)),
                    &|n| cluster.link_addr(&e.node, n),
                )
            } else {
                String::new()
            };
            let clock_file = &cluster.clocks[&e.node].0;
            let mut args = kind.args_for(&[
                ("node", e.node.clone()),
                // n3 → 3, s2 → 2.
                ("index", e.node[1..].to_string()),
                ("client_port", e.client.port().to_string()),
                ("peer_port", e.peer.map_or(0, |p| p.port()).to_string()),
                ("peers", peers),
                ("store", store),
                ("data_dir", data.display().to_string()),
                ("clock_file", clock_file.display().to_string()),
            ]);
            // Bugs and options are the target's, not its store's.
            let switches = if std::ptr::eq(*kind, d) {
                (setup.bugs, setup.options)
            } else {
                (&[][..], &[][..])
            };
            for bug in switches.0 {
                let extra = d
                    .bug_args(bug)
                    .ok_or_else(|| format!("target {} has no bug called `{bug}`", d.name))?;
                args.extend(extra.iter().map(|s| s.to_string()));
            }
            for option in switches.1 {
                let extra = d
                    .option_args(option)
                    .ok_or_else(|| format!("target {} has no option called `{option}`", d.name))?;
                args.extend(extra.iter().map(|s| s.to_string()));
            }
            let env = match (&shim, kind.clock) {
                (Some(shim), Clock::Shim) => crate::clock_shim::env(shim, clock_file),
                _ => Default::default(),
            };
            cluster
                .supervisor
                .start(NodeSpec {
                    name: e.node.clone(),
                    program: program.clone(),
                    args,
                    env,
                    log: setup.dir.node_log(&e.node),
                })
                .map_err(|err| {
                    format!(
                        "cannot start node {} ({}): {err}",
                        e.node,
                        program.display()
                    )
                })?;
        }
        cluster.await_ready(setup.dir, setup.ready_timeout).await?;
        Ok(cluster)
    }

    /// Waits until every node answers its readiness probe.
    async fn await_ready(&self, dir: &RunDir, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        let mut waiting: BTreeSet<&str> = self.nodes.iter().map(String::as_str).collect();
        while !waiting.is_empty() {
            if let Some((node, status)) = self.supervisor.exits().into_iter().next() {
                return Err(format!(
                    "node {node} exited while starting ({status}){}",
                    log_tail(&dir.node_log(&node))
                ));
            }
            let mut ready = Vec::new();
            for &node in &waiting {
                if self.probe(node).await {
                    ready.push(node);
                }
            }
            for node in ready {
                waiting.remove(node);
            }
            if waiting.is_empty() {
                break;
            }
            if Instant::now() >= deadline {
                let node = waiting.iter().next().copied().unwrap_or("?");
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

    /// The descriptor's readiness probe, straight to the node (not through the fabric).
    pub async fn probe(&self, node: &str) -> bool {
        let Some((e, kind)) = self.endpoint_and_kind(node) else {
            return false;
        };
        match kind.ready {
            Readiness::Tcp => TcpStream::connect(e.client).await.is_ok(),
            Readiness::HttpGet(path) => http_ok(e.client, path).await,
        }
    }

    /// The leader most running nodes name in their health answers (targets whose health
    /// answer names one: `{"leader": "n3"}`), straight to the nodes.
    pub async fn leader(&self) -> Option<String> {
        let mut votes: std::collections::BTreeMap<String, usize> = Default::default();
        for (e, kind) in self.endpoints.iter().zip(&self.kinds) {
            let Readiness::HttpGet(path) = kind.ready else {
                continue;
            };
            if !self.supervisor.is_running(&e.node) || self.supervisor.is_paused(&e.node) {
                continue;
            }
            let Some((_, body)) = http_get(e.client, path).await else {
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

    /// Where clients reach `node` (through its client link).
    pub fn client_addr(&self, node: &str) -> Option<SocketAddr> {
        if self.proxied {
            self.fabric.addr(CLIENT, node)
        } else {
            self.endpoint(node).map(|e| e.client)
        }
    }

    /// Where `from` reaches its peer `to` (through their link).
    fn peer_addr(&self, from: &str, to: &str) -> Option<SocketAddr> {
        if self.proxied {
            self.fabric.addr(from, to)
        } else {
            self.endpoint(to).and_then(|e| e.peer)
        }
    }

    /// Where `from`, a node using the store, reaches the store's node `to` as a client.
    fn link_addr(&self, from: &str, to: &str) -> Option<SocketAddr> {
        if self.proxied {
            self.fabric.addr(from, to)
        } else {
            self.endpoint(to).map(|e| e.client)
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

    /// Applies one nemesis action; returns a note on anything that did not go as planned.
    pub fn apply(&self, action: &Action) -> Option<String> {
        let each = |nodes: &[String], f: &dyn Fn(&str) -> bool, verb: &str| {
            let missed: Vec<&str> = nodes.iter().map(String::as_str).filter(|n| !f(n)).collect();
            (!missed.is_empty()).then(|| format!("could not {verb} {}", missed.join(", ")))
        };
        match action {
            Action::StartPartition { grudge, .. } => {
                self.fabric.apply(grudge, self.cut);
                None
            }
            Action::StopPartition => {
                self.fabric.heal();
                None
            }
            Action::Kill { nodes } => each(nodes, &|n| self.supervisor.kill(n), "kill"),
            Action::Start { nodes } => each(
                nodes,
                &|n| self.supervisor.is_running(n) || self.supervisor.restart(n).is_ok(),
                "restart",
            ),
            Action::Pause { nodes } => each(nodes, &|n| self.supervisor.pause(n), "pause"),
            Action::Resume { nodes } => each(nodes, &|n| self.supervisor.resume(n), "resume"),
            Action::Restart { nodes } => each(
                nodes,
                &|n| {
                    self.supervisor.kill(n);
                    self.supervisor.restart(n).is_ok()
                },
                "restart",
            ),
            Action::ClockBump { offsets_ms } => {
                let missed: Vec<&str> = offsets_ms
                    .iter()
                    .filter(|(n, ms)| !self.set_clock(n, **ms))
                    .map(|(n, _)| n.as_str())
                    .collect();
                (!missed.is_empty())
                    .then(|| format!("could not move the clock of {}", missed.join(", ")))
            }
            Action::ClockStrobe {
                nodes,
                ms,
                period_ms,
            } => {
                self.start_strobe(nodes.clone(), *ms, *period_ms);
                None
            }
            Action::ClockReset { nodes } => {
                self.stop_strobe();
                each(nodes, &|n| self.set_clock(n, 0), "reset the clock of")
            }
            // Clients are the workload's: the injector hands this one to it.
            Action::PauseClient { .. } => Some("no client to pause".into()),
        }
    }

    /// Sets `node`'s clock offset; false if it has no clock file or it cannot be written.
    fn set_clock(&self, node: &str, ms: i64) -> bool {
        let Some((file, current)) = self.clocks.get(node) else {
            return false;
        };
        let ok = targets::clock::write_offset(file, ms.saturating_mul(1_000_000)).is_ok();
        if ok {
            *current.lock().unwrap_or_else(|e| e.into_inner()) = ms;
        }
        ok
    }

    /// Flips `nodes`' clocks between `+ms` and 0 every `period_ms` until [`Self::stop_strobe`].
    fn start_strobe(&self, nodes: Vec<String>, ms: i64, period_ms: u64) {
        self.stop_strobe();
        let files: Vec<PathBuf> = nodes
            .iter()
            .filter_map(|n| self.clocks.get(n).map(|(f, _)| f.clone()))
            .collect();
        let task = tokio::spawn(async move {
            let mut up = true;
            loop {
                for f in &files {
                    let _ = targets::clock::write_offset(f, if up { ms * 1_000_000 } else { 0 });
                }
                up = !up;
                tokio::time::sleep(Duration::from_millis(period_ms.max(1))).await;
            }
        });
        *self.strobe.lock().unwrap_or_else(|e| e.into_inner()) = Some(task);
        for n in &nodes {
            if let Some((_, current)) = self.clocks.get(n) {
                *current.lock().unwrap_or_else(|e| e.into_inner()) = ms;
            }
        }
    }

    fn stop_strobe(&self) {
        if let Some(task) = self.strobe.lock().unwrap_or_else(|e| e.into_inner()).take() {
            task.abort();
        }
    }

    /// The actions that undo every fault now in place: heal the network, resume paused nodes,
    /// restart killed ones.
    pub fn healing(&self) -> Vec<Action> {
        let mut out = Vec::new();
        if self.fabric.modes().any(|(_, _, m)| m != Mode::Open) {
            out.push(Action::StopPartition);
        }
        let paused: Vec<String> = self
            .nodes
            .iter()
            .filter(|n| self.supervisor.is_paused(n))
            .cloned()
            .collect();
        if !paused.is_empty() {
            out.push(Action::Resume { nodes: paused });
        }
        let dead: Vec<String> = self
            .nodes
            .iter()
            .filter(|n| !self.supervisor.is_running(n))
            .cloned()
            .collect();
        if !dead.is_empty() {
            out.push(Action::Start { nodes: dead });
        }
        let skewed: Vec<String> = self
            .clocks
            .iter()
            .filter(|(_, (_, ms))| *ms.lock().unwrap_or_else(|e| e.into_inner()) != 0)
            .map(|(n, _)| n.clone())
            .collect();
        if !skewed.is_empty() {
            out.push(Action::ClockReset { nodes: skewed });
        }
        out
    }

    /// Kills every node (the fabric goes when the cluster is dropped).
    pub fn shutdown(&self) {
        self.stop_strobe();
        self.supervisor.shutdown();
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

async fn http_ok(addr: SocketAddr, path: &str) -> bool {
    http_get(addr, path)
        .await
        .is_some_and(|(status, _)| status == 200)
}

/// The last lines of a node's log, for an error message (on one line).
fn log_tail(path: &std::path::Path) -> String {
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
    use targets::descriptor::Descriptor;

    const SH: Descriptor = Descriptor {
        name: "sh",
        summary: "test double",
        program: Program::External("/bin/sh"),
        args: &["-c", "echo starting {node} >&2; exit 3"],
        ready: Readiness::Tcp,
        protocol: "none",
        workloads: &[],
        faults: &[],
        bugs: &[],
        options: &[],
        peers: true,
        clock: Clock::Fixed,
        defaults: "",
        store: None,
        snowflake_ids: false,
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
            clients: &[],
            ready_timeout: Duration::from_millis(600),
            proxied: true,
            faultline: PathBuf::from("/nonexistent"),
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

    #[tokio::test]
    async fn an_unknown_bug_is_refused() {
        let (root, dir) = dir("bug");
        let bugs = vec!["nope".to_string()];
        let mut s = setup(&SLEEPER, &dir);
        s.bugs = &bugs;
        let err = Cluster::start(s).await.unwrap_err();
        assert!(err.contains("no bug called `nope`"), "{err}");
        std::fs::remove_dir_all(root).unwrap();
    }
}
