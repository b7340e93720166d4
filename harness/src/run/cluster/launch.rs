//! Starting a cluster's nodes: each node's command line is its descriptor's, holes filled with
//! its ports, its links to its peers and its store, its data folder and clock file, then the
//! target's bugs and options and the workload's arguments (the bank's accounts) appended; external programs that read the clock get the clock
//! shim in their environment. The supervisor starts the result and logs its output to the
//! node's log.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use targets::descriptor::{Clock, Descriptor, Program};

use crate::net::Endpoint;
use crate::run::store::RunDir;
use crate::supervisor::{NodeSpec, Supervisor};

/// One node to start: what it is, and where it reaches the others.
pub(super) struct Node<'a> {
    pub endpoint: &'a Endpoint,
    pub kind: &'static Descriptor,
    /// Where it reaches each of its peers: (name, an address per peer port).
    pub peers: Vec<(&'a str, Vec<SocketAddr>)>,
    /// Where it reaches each node of its store, as a client: (name, its client link).
    pub store: Vec<(&'a str, Vec<SocketAddr>)>,
    pub clock_file: &'a Path,
}

/// What every node of a run is started with.
pub(super) struct Launcher<'a> {
    /// The target under test: its nodes get the bugs and options, its store's do not.
    target: &'static Descriptor,
    bugs: &'a [String],
    options: &'a [String],
    /// What the workload adds to the target's nodes' command lines.
    workload_args: &'a [String],
    dir: &'a RunDir,
    /// The faultline binary, for bundled targets.
    faultline: &'a Path,
    /// The clock shim, installed when some node is an external program that reads its clock.
    shim: Option<PathBuf>,
}

impl<'a> Launcher<'a> {
    /// A launcher for a run in `dir` of `target` (with `bugs` and `options`) whose nodes are
    /// of `kinds`.
    pub fn new(
        target: &'static Descriptor,
        bugs: &'a [String],
        options: &'a [String],
        workload_args: &'a [String],
        dir: &'a RunDir,
        faultline: &'a Path,
        kinds: &[&'static Descriptor],
    ) -> Result<Launcher<'a>, String> {
        let shim = if kinds.iter().any(|k| k.clock == Clock::Shim) {
            Some(
                crate::clock_shim::install(&dir.path)
                    .map_err(|err| format!("cannot write the clock shim: {err}"))?,
            )
        } else {
            None
        };
        Ok(Launcher {
            target,
            bugs,
            options,
            workload_args,
            dir,
            faultline,
            shim,
        })
    }

    /// Starts `node` under `supervisor`.
    pub fn start(&self, supervisor: &Supervisor, node: &Node<'_>) -> Result<(), String> {
        let name = &node.endpoint.node;
        let data = self.data_dir(name);
        std::fs::create_dir_all(&data)
            .map_err(|err| format!("cannot create {}: {err}", data.display()))?;
        let (program, args) = self.command_line(node)?;
        let env = match (&self.shim, node.kind.clock) {
            (Some(shim), Clock::Shim) => crate::clock_shim::env(shim, node.clock_file),
            _ => Default::default(),
        };
        supervisor
            .start(NodeSpec {
                name: name.clone(),
                program: program.clone(),
                args,
                env,
                log: self.dir.node_log(name),
            })
            .map_err(|err| format!("cannot start node {name} ({}): {err}", program.display()))?;
        Ok(())
    }

    /// The program `node` runs and its arguments.
    fn command_line(&self, node: &Node<'_>) -> Result<(PathBuf, Vec<String>), String> {
        let e = node.endpoint;
        // A bundled or wrapped system is `faultline node <name> ARGS`.
        let (program, mut args) = match node.kind.program {
            Program::External { program, .. } => (PathBuf::from(program), Vec::new()),
            bundled => (
                self.faultline.to_path_buf(),
                vec![
                    "node".to_string(),
                    bundled.node().map_or("", |n| n.0).to_string(),
                ],
            ),
        };
        args.extend(node.kind.args_for(&[
            ("node", e.node.clone()),
            // n3 → 3, s2 → 2.
            ("index", e.node[1..].to_string()),
            ("client_port", e.client.port().to_string()),
            ("peer_port", port(&e.peer, 0)),
            ("peer_port_2", port(&e.peer, 1)),
            ("peers", listed(&node.peers)),
            ("store", listed(&node.store)),
            ("data_dir", self.data_dir(&e.node).display().to_string()),
            ("clock_file", node.clock_file.display().to_string()),
        ]));
        if std::ptr::eq(node.kind, self.target) {
            let d = self.target;
            for bug in self.bugs {
                let extra = d
                    .bug_args(bug)
                    .ok_or_else(|| format!("target {} has no bug called `{bug}`", d.name))?;
                args.extend(extra.iter().map(|s| s.to_string()));
            }
            for option in self.options {
                let extra = d
                    .option_args(option)
                    .ok_or_else(|| format!("target {} has no option called `{option}`", d.name))?;
                args.extend(extra.iter().map(|s| s.to_string()));
            }
            args.extend(self.workload_args.iter().cloned());
        }
        Ok((program, args))
    }

    fn data_dir(&self, node: &str) -> PathBuf {
        self.dir.path.join("data").join(node)
    }
}

/// The `k`-th of `ports`, for a hole (0 when there is none).
fn port(ports: &[SocketAddr], k: usize) -> String {
    ports.get(k).map_or(0, SocketAddr::port).to_string()
}

/// `n2=127.0.0.1:4711,n3=…`, as the descriptors' `{peers}` and `{store}` holes take them; a node with two
/// peer ports is `n2=127.0.0.1:4711:4712` (every link listens on loopback), as ZooKeeper's
/// `server.N=host:quorumPort:electionPort` lines take them.
fn listed(links: &[(&str, Vec<SocketAddr>)]) -> String {
    links
        .iter()
        .filter_map(|(n, addrs)| {
            let (first, rest) = addrs.split_first()?;
            let more: String = rest.iter().map(|a| format!(":{}", a.port())).collect();
            Some(format!("{n}={first}{more}"))
        })
        .collect::<Vec<String>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use targets::descriptor::RAFT_KV;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    /// The command line of n1 of a raft-kv cluster, with `bugs` switched on.
    fn raft_n1(tag: &str, bugs: &[String]) -> Result<(PathBuf, Vec<String>), String> {
        let root = std::env::temp_dir().join(format!("launch-{tag}-{}", std::process::id()));
        let dir = RunDir::create(&root, "t").unwrap();
        let endpoint = Endpoint {
            node: "n1".into(),
            client: addr(4001),
            peer: vec![addr(4002)],
        };
        let faultline = Path::new("/bin/faultline");
        let launcher =
            Launcher::new(&RAFT_KV, bugs, &[], &[], &dir, faultline, &[&RAFT_KV]).unwrap();
        let line = launcher.command_line(&Node {
            endpoint: &endpoint,
            kind: &RAFT_KV,
            peers: vec![("n2", vec![addr(5002)]), ("n3", vec![addr(5003)])],
            store: Vec::new(),
            clock_file: Path::new("/tmp/n1.clock"),
        });
        std::fs::remove_dir_all(root).unwrap();
        line
    }

    #[test]
    fn holes_are_filled_and_bugs_appended() {
        let (program, args) = raft_n1("bug", &["stale-reads".to_string()]).unwrap();
        assert_eq!(program, Path::new("/bin/faultline"));
        let line = args.join(" ");
        assert!(
            line.starts_with("node raft-kv --id n1 --client 127.0.0.1:4001"),
            "{line}"
        );
        assert!(line.contains("--peer 127.0.0.1:4002"), "{line}");
        assert!(
            line.contains("--peers n2=127.0.0.1:5002,n3=127.0.0.1:5003"),
            "{line}"
        );
        assert!(line.ends_with("--bug stale-reads"), "{line}");
    }

    #[test]
    fn an_unknown_bug_is_refused() {
        let err = raft_n1("unknown", &["nope".to_string()]).unwrap_err();
        assert_eq!(err, "target raft-kv has no bug called `nope`");
    }
}
