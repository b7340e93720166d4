//! A cluster's nodes on hosts: one node per host, each run by the agent that the harness
//! starts there over SSH.
//!
//! [`Remote::deploy`] connects to each host (in parallel), checks that it can run this
//! binary, copies the binary into a per-run directory (through a cache keyed by its contents,
//! so a host receives each build once), starts `faultline agent` there, and asks it for free
//! ports on the host's address and for what the node's target needs (its program, the clock
//! shim, netem). From then on every fault is a request to an agent: kill, pause and restart
//! through its supervisor, clocks through the node's offset file, partitions through the
//! firewall rules of the hosts whose nodes hold the grudge.
//!
//! When the run ends, [`Processes::shutdown`] kills the nodes, brings their logs back into the
//! run folder, stops the agents (which remove their rules) and removes the per-run
//! directories. If the harness dies instead, its SSH connections die with it, and each agent,
//! seeing the end of its input, does the same on its own.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use nemesis::Grudge;
use targets::descriptor::{Clock, Descriptor, Program};

use super::inventory::{Host, Inventory};
use super::netns::LocalNet;
use super::ssh::{Ssh, quote};
use crate::agent::link::AgentLink;
use crate::agent::protocol::{Answer, Request};
use crate::net::{CLIENT, Endpoint, LinkState};
use crate::run::cluster::{NodeFiles, Processes, Writer};
use crate::run::store::RunDir;
use crate::supervisor::{NodeSpec, spawn_tied};

/// How the harness reaches the hosts of a deployment.
#[derive(Clone, Debug)]
pub enum Reach {
    /// Over SSH: the inventory's machines.
    Ssh,
    /// Into local network namespaces, one per host in inventory order (`--net netns`): the
    /// same machine and file system, so nothing is copied and nothing goes through SSH.
    Netns(Vec<String>),
}

/// How the harness reaches one host.
enum Way {
    Ssh(Ssh),
    Netns(String),
}

impl Way {
    /// Starts `argv` on the host with piped stdin and stdout, its stderr appended to `log`.
    fn session(&self, argv: &[String], log: &Path) -> Result<Child, String> {
        match self {
            Way::Ssh(ssh) => ssh.session(
                &argv.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" "),
                log,
            ),
            Way::Netns(ns) => {
                let err = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(log)
                    .map_err(|e| format!("cannot write {}: {e}", log.display()))?;
                let mut command = Command::new("ip");
                command
                    .args(["netns", "exec", ns])
                    .args(argv)
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(err);
                spawn_tied(command).map_err(|e| format!("cannot run ip netns exec {ns}: {e}"))
            }
        }
    }

    /// Copies the host's file `from` to the local `to`.
    fn fetch(&self, from: &str, to: &Path) -> Result<(), String> {
        match self {
            Way::Ssh(ssh) => ssh.download(from, to),
            Way::Netns(_) => std::fs::copy(from, to)
                .map(|_| ())
                .map_err(|e| format!("cannot copy {from}: {e}")),
        }
    }

    /// Copies the host's folder `from` into the local `to` (created), through tar.
    fn fetch_dir(&self, from: &str, to: &Path) -> Result<(), String> {
        std::fs::create_dir_all(to).map_err(|e| format!("cannot create {}: {e}", to.display()))?;
        let tarball = to.with_extension("tar");
        match self {
            Way::Ssh(ssh) => {
                ssh.download_with(&format!("tar -C {} -cf - .", quote(from)), &tarball)?
            }
            // A namespace's data is already in the run folder.
            Way::Netns(_) => return Ok(()),
        }
        let untar = Command::new("tar")
            .arg("-C")
            .arg(to)
            .arg("-xf")
            .arg(&tarball)
            .output()
            .map_err(|e| format!("cannot run tar: {e}"))?;
        let _ = std::fs::remove_file(&tarball);
        if !untar.status.success() {
            return Err(format!(
                "cannot unpack the data of {from}: {}",
                String::from_utf8_lossy(&untar.stderr).trim()
            ));
        }
        Ok(())
    }

    /// Removes a run's directory from the host (a namespace's stays in the run folder).
    fn clean(&self, dir: &str) -> Result<(), String> {
        match self {
            // The run's folder goes with its last node's (hosts may share a file system).
            Way::Ssh(ssh) => ssh
                .run(&format!(
                    "rm -rf {d}; rmdir {p} 2>/dev/null || true",
                    d = quote(dir),
                    p = quote(
                        &Path::new(dir)
                            .parent()
                            .unwrap_or(Path::new(dir))
                            .display()
                            .to_string()
                    )
                ))
                .map(|_| ()),
            Way::Netns(_) => Ok(()),
        }
    }
}

/// One node's host, and what runs there for it.
struct Placed {
    host: Host,
    way: Way,
    agent: AgentLink,
    /// The per-run directory on the host.
    run_dir: String,
    /// The faultline binary there.
    faultline: String,
    endpoint: Endpoint,
    /// The clock shim on the host, for a target that reads its clock through the C library.
    shim: Option<String>,
    /// This machine's address as the host sees it (where a shared client link comes from).
    control: IpAddr,
}

/// Every node of a cluster, on its host.
pub struct Remote {
    placed: BTreeMap<String, Placed>,
    /// The source address of each client with links of its own.
    sources: BTreeMap<String, IpAddr>,
    partitioned: AtomicBool,
    stopped: AtomicBool,
    /// Bring the nodes' data directories back at the end.
    fetch_data: bool,
    /// The local run folder (node logs come back into it).
    dir: RunDir,
    /// The namespaces of a `--net netns` run: last, so that they go after the agents.
    net: Option<LocalNet>,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("nodes", &self.placed.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// The program a node of `kind` runs on its host, when it is not faultline itself (and
/// Debian's package that brings it).
fn external(kind: &Descriptor) -> Option<(&'static str, &'static str)> {
    match kind.program {
        Program::External { program, package }
        | Program::Wrapped {
            program, package, ..
        } => Some((program, package)),
        Program::Bundled { .. } => None,
    }
}

/// A name for the running binary, so that a host keeps one copy per build: its size and
/// the identity and time of its last write, which every build changes (reading all of a
/// 200-MB debug build to hash it would cost more than the rest of a deployment).
fn content_tag(binary: &Path) -> Result<String, String> {
    use std::os::unix::fs::MetadataExt;
    let m =
        std::fs::metadata(binary).map_err(|e| format!("cannot read {}: {e}", binary.display()))?;
    let mut hasher = std::hash::DefaultHasher::new();
    (m.dev(), m.ino(), m.mtime(), m.mtime_nsec()).hash(&mut hasher);
    Ok(format!("{:016x}-{}", hasher.finish(), m.len()))
}

/// What every host's deployment shares.
struct Plan<'a> {
    binary: PathBuf,
    tag: String,
    /// `<scenario>-<stamp>`: the run's folder name on every host.
    run: String,
    dir: &'a RunDir,
    link: LinkState,
}

impl Remote {
    /// Places `nodes` (of `kinds`) on the first hosts of `inventory`, one each, and starts
    /// an agent for each, from the faultline `binary` (copied there). `clients` are the
    /// workload's link names: those with links of their own get the control machine's client
    /// addresses, in order.
    #[allow(clippy::too_many_arguments)]
    pub fn deploy(
        inventory: &Inventory,
        reach: &Reach,
        binary: &Path,
        nodes: &[String],
        kinds: &[&'static Descriptor],
        dir: &RunDir,
        clients: &[String],
        link: LinkState,
    ) -> Result<Remote, String> {
        let binary = binary.to_path_buf();
        let run = dir
            .path
            .iter()
            .rev()
            .take(2)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .map(|p| p.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("-");
        let plan = Plan {
            tag: content_tag(&binary)?,
            binary,
            run,
            dir,
            link,
        };
        dir.log(&format!(
            "deploying to {} hosts: {}",
            nodes.len(),
            inventory.hosts[..nodes.len().min(inventory.hosts.len())]
                .iter()
                .map(|h| format!("{} ({})", h.name, h.address))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        let placed: Vec<Result<(String, Placed), String>> = std::thread::scope(|s| {
            let tasks: Vec<_> = nodes
                .iter()
                .zip(kinds)
                .zip(&inventory.hosts)
                .enumerate()
                .map(|(i, ((node, kind), host))| {
                    let plan = &plan;
                    let netns = match reach {
                        Reach::Ssh => None,
                        Reach::Netns(spaces) => Some(spaces.get(i).cloned().unwrap_or_default()),
                    };
                    s.spawn(move || place(plan, netns, node, kind, host).map(|p| (node.clone(), p)))
                })
                .collect();
            tasks
                .into_iter()
                .map(|t| {
                    t.join()
                        .unwrap_or_else(|_| Err("deploying a node panicked".into()))
                })
                .collect()
        });
        // Every host that did deploy is torn down again if another did not.
        let mut ok = BTreeMap::new();
        let mut errors = Vec::new();
        for p in placed {
            match p {
                Ok((node, placed)) => {
                    ok.insert(node, placed);
                }
                Err(e) => errors.push(e),
            }
        }
        let remote = Remote {
            placed: ok,
            sources: clients
                .iter()
                .filter(|c| c.as_str() != CLIENT)
                .zip(&inventory.control.client_addresses)
                .map(|(c, a)| (c.clone(), *a))
                .collect(),
            partitioned: AtomicBool::new(false),
            stopped: AtomicBool::new(false),
            fetch_data: false,
            dir: dir.clone(),
            net: None,
        };
        if let Some(first) = errors.into_iter().next() {
            remote.shutdown();
            return Err(first);
        }
        dir.log("every host is ready: agents started");
        Ok(remote)
    }

    /// The same nodes, with the namespaces they run in, removed after them.
    pub fn keeping(mut self, net: LocalNet) -> Remote {
        self.net = Some(net);
        self
    }

    /// The same nodes, whose data directories come back into the run folder at the end.
    pub fn fetching_data(mut self, fetch: bool) -> Remote {
        self.fetch_data = fetch;
        self
    }

    /// Where each node listens, in node order.
    pub fn endpoints(&self) -> Vec<Endpoint> {
        self.placed.values().map(|p| p.endpoint.clone()).collect()
    }

    /// Where `node`'s files are on its host.
    pub fn files(&self, node: &str) -> Option<NodeFiles> {
        let p = self.placed.get(node)?;
        let at = |name: &str| PathBuf::from(format!("{}/{name}", p.run_dir));
        Some(NodeFiles {
            data_dir: at("data"),
            clock_file: at("clock"),
            log: at(&format!("{node}.log")),
            faultline: PathBuf::from(&p.faultline),
            shim: p.shim.as_ref().map(PathBuf::from),
        })
    }

    /// Writes clock files through the nodes' agents.
    pub fn clock_writer(self: &Arc<Self>) -> Writer {
        let remote = self.clone();
        Arc::new(move |node, file, ns| {
            remote.ask(
                node,
                Request::Clock {
                    file: file.display().to_string(),
                    offset_ns: ns,
                },
            ) == Ok(Answer::Done(true))
        })
    }

    /// The source address the client `link` connects from (none: the system's choice).
    pub fn source(&self, link: &str) -> Option<IpAddr> {
        self.sources.get(link).copied()
    }

    /// Makes every host drop exactly what `grudge` says its node drops (nothing, to heal).
    pub fn partition(&self, grudge: &Grudge) -> Result<(), String> {
        let mut errors = Vec::new();
        for (node, p) in &self.placed {
            let from: Vec<IpAddr> = grudge
                .0
                .get(node)
                .into_iter()
                .flatten()
                .map(|sender| match self.placed.get(sender) {
                    Some(other) => other.host.address,
                    None => self.sources.get(sender).copied().unwrap_or(p.control),
                })
                .collect();
            if let Err(e) = p.agent.call(Request::Drop { from }) {
                errors.push(format!("{node}: {e}"));
            }
        }
        self.partitioned
            .store(!grudge.is_empty(), Ordering::Relaxed);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "could not set the firewall of {}",
                errors.join("; ")
            ))
        }
    }

    /// Whether some host drops traffic now.
    pub fn is_partitioned(&self) -> bool {
        self.partitioned.load(Ordering::Relaxed)
    }

    /// Asks `node`'s agent.
    fn ask(&self, node: &str, request: Request) -> Result<Answer, String> {
        let p = self
            .placed
            .get(node)
            .ok_or_else(|| format!("no node called {node}"))?;
        p.agent.call(request)
    }

    fn done(&self, node: &str, request: Request) -> bool {
        self.ask(node, request) == Ok(Answer::Done(true))
    }
}

/// Deploys `node` to `host` (a local namespace when `netns` names one): checks it, copies
/// the binary, starts the agent, and asks for what the node needs.
fn place(
    plan: &Plan<'_>,
    netns: Option<String>,
    node: &str,
    kind: &Descriptor,
    host: &Host,
) -> Result<Placed, String> {
    let (way, run_dir, faultline) = match netns {
        Some(ns) => {
            let run_dir = plan.dir.path.join("hosts").join(node);
            std::fs::create_dir_all(run_dir.join("data"))
                .map_err(|e| format!("cannot create {}: {e}", run_dir.display()))?;
            let faultline = plan.binary.display().to_string();
            (Way::Netns(ns), run_dir.display().to_string(), faultline)
        }
        None => {
            let ssh = Ssh::connect(host)?;
            let (run_dir, faultline) = copy_binary(plan, &ssh, node, host)?;
            (Way::Ssh(ssh), run_dir, faultline)
        }
    };
    let agent_log = plan
        .dir
        .path
        .join("nodes")
        .join(format!("{node}.agent.log"));
    let session = way.session(
        &[
            faultline.clone(),
            "agent".into(),
            "--dir".into(),
            run_dir.clone(),
        ],
        &agent_log,
    )?;
    let agent = AgentLink::from_child(host.name.clone(), session)?;
    let hello = match agent.call(Request::Hello)? {
        Answer::Hello(hello) => hello,
        other => return Err(format!("host {}: the agent said {other:?}", host.name)),
    };
    plan.dir.log(&format!(
        "host {} runs node {node}: agent {} in {run_dir} (firewall: {}, netem: {})",
        host.name, hello.pid, hello.firewall, hello.netem
    ));
    if let Some((program, package)) = external(kind)
        && let Answer::Missing(missing) = agent.call(Request::Missing {
            programs: vec![program.to_string()],
        })?
        && !missing.is_empty()
    {
        return Err(format!(
            "host {} has no {program} (target {} needs Debian's {package} there)",
            host.name, kind.name
        ));
    }
    let shim = if kind.clock == Clock::Shim {
        match agent.call(Request::Shim)? {
            Answer::Path(path) => Some(path),
            other => return Err(format!("host {}: the agent said {other:?}", host.name)),
        }
    } else {
        None
    };
    if plan.link.latency > std::time::Duration::ZERO || plan.link.loss > 0.0 {
        agent.call(Request::Shape {
            address: host.address,
            latency_ms: plan.link.latency.as_secs_f64() * 1000.0,
            loss: plan.link.loss,
        })?;
    }
    let ports = match agent.call(Request::Ports {
        bind: host.address,
        count: 1 + kind.peer_ports,
    })? {
        Answer::Ports(ports) if ports.len() == 1 + kind.peer_ports => ports,
        other => return Err(format!("host {}: the agent said {other:?}", host.name)),
    };
    let endpoint = Endpoint {
        node: node.to_string(),
        client: SocketAddr::new(host.address, ports[0]),
        peer: ports[1..]
            .iter()
            .map(|&p| SocketAddr::new(host.address, p))
            .collect(),
    };
    Ok(Placed {
        control: control_address(host.address)
            .map_err(|e| format!("cannot find a route to host {}: {e}", host.name))?,
        host: host.clone(),
        way,
        agent,
        run_dir,
        faultline,
        endpoint,
        shim,
    })
}

/// Checks that `host` can run this binary and copies it into the run's directory there:
/// (that directory, the binary's path in it).
fn copy_binary(
    plan: &Plan<'_>,
    ssh: &Ssh,
    node: &str,
    host: &Host,
) -> Result<(String, String), String> {
    let system = ssh.run("uname -sm")?;
    let want = format!("{} {}", std::env::consts::OS, std::env::consts::ARCH);
    if system.trim().to_lowercase() != want {
        return Err(format!(
            "host {} is {}, and this faultline is built for {want}",
            host.name,
            system.trim()
        ));
    }
    let base = host.dir.display().to_string();
    let bin = format!("{base}/bin/faultline-{}", plan.tag);
    let run_dir = format!("{base}/{}/{node}", plan.run);
    let cached = ssh.run(&format!(
        "mkdir -p {bin_dir} {data} && if test -x {bin}; then echo cached; fi",
        bin_dir = quote(&format!("{base}/bin")),
        data = quote(&format!("{run_dir}/data")),
        bin = quote(&bin)
    ))?;
    if cached.trim() != "cached" {
        ssh.upload(&plan.binary, &bin, "755")?;
    }
    let faultline = format!("{run_dir}/faultline");
    ssh.run(&format!(
        "ln -f {bin} {f} 2>/dev/null || cp {bin} {f}",
        bin = quote(&bin),
        f = quote(&faultline)
    ))?;
    Ok((run_dir, faultline))
}

/// This machine's address on the route to `host` (what the host sees connections come from).
fn control_address(host: IpAddr) -> std::io::Result<IpAddr> {
    let any: IpAddr = if host.is_ipv4() {
        [0, 0, 0, 0].into()
    } else {
        [0u16; 8].into()
    };
    let socket = UdpSocket::bind((any, 0))?;
    // Connecting a UDP socket sends nothing: it only picks the route and the source.
    socket.connect((host, 9))?;
    Ok(socket.local_addr()?.ip())
}

impl Processes for Remote {
    fn start(&self, spec: NodeSpec) -> Result<(), String> {
        let name = spec.name.clone();
        self.ask(
            &name,
            Request::Start {
                node: name.clone(),
                program: spec.program.display().to_string(),
                args: spec.args,
                env: spec.env,
                log: spec.log.display().to_string(),
            },
        )
        .map(|_| ())
    }

    fn restart(&self, node: &str) -> Result<(), String> {
        self.ask(
            node,
            Request::Restart {
                node: node.to_string(),
            },
        )
        .map(|_| ())
    }

    fn kill(&self, node: &str) -> bool {
        self.done(
            node,
            Request::Kill {
                node: node.to_string(),
            },
        )
    }

    fn pause(&self, node: &str) -> bool {
        self.done(
            node,
            Request::Pause {
                node: node.to_string(),
            },
        )
    }

    fn resume(&self, node: &str) -> bool {
        self.done(
            node,
            Request::Resume {
                node: node.to_string(),
            },
        )
    }

    fn is_running(&self, node: &str) -> bool {
        matches!(
            self.ask(
                node,
                Request::Status {
                    node: node.to_string()
                }
            ),
            Ok(Answer::Status { running: true, .. })
        )
    }

    fn is_paused(&self, node: &str) -> bool {
        matches!(
            self.ask(
                node,
                Request::Status {
                    node: node.to_string()
                }
            ),
            Ok(Answer::Status { paused: true, .. })
        )
    }

    fn exits(&self) -> Vec<(String, String)> {
        self.placed
            .values()
            .filter_map(|p| match p.agent.call(Request::Exits) {
                Ok(Answer::Exits(exits)) => Some(exits),
                _ => None,
            })
            .flatten()
            .collect()
    }

    fn shutdown(&self) {
        if self.stopped.swap(true, Ordering::SeqCst) {
            return;
        }
        for (node, p) in &self.placed {
            let _ = p.agent.call(Request::Kill { node: node.clone() });
        }
        self.fetch_logs();
        if self.fetch_data {
            for (node, p) in &self.placed {
                let to = self.dir.path.join("data").join(node);
                if let Err(e) = p.way.fetch_dir(&format!("{}/data", p.run_dir), &to) {
                    self.dir.log(&e);
                }
            }
        }
        for (node, p) in &self.placed {
            if let Err(e) = p.agent.call(Request::Stop) {
                self.dir
                    .log(&format!("host {} (node {node}): {e}", p.host.name));
            }
            if let Err(e) = p.way.clean(&p.run_dir) {
                self.dir.log(&e);
            }
        }
        self.dir.log("hosts cleaned: nodes stopped, rules removed");
    }

    fn fetch_logs(&self) {
        for (node, p) in &self.placed {
            if let Err(e) = p.way.fetch(
                &format!("{}/{node}.log", p.run_dir),
                &self.dir.node_log(node),
            ) {
                self.dir.log(&e);
            }
        }
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        self.shutdown();
    }
}
