//! How a cluster's nodes are started: each node's command line is its descriptor's, holes
//! filled with its address and ports, its links to its peers and its store, its data folder
//! and clock file, then the target's bugs and options and the workload's arguments (the
//! bank's accounts) appended; external programs that read the clock get the clock shim in
//! their environment. The result is a [`NodeSpec`], which the cluster's processes (here or on
//! a host) start, logging its output to the node's log.

use std::net::SocketAddr;
use std::path::PathBuf;

use targets::descriptor::{Clock, Descriptor, Program};

use crate::net::Endpoint;
use crate::supervisor::NodeSpec;

/// One node to start: what it is, and where it reaches the others.
pub(super) struct Node<'a> {
    pub endpoint: &'a Endpoint,
    pub kind: &'static Descriptor,
    /// Where it reaches each of its peers: (name, an address per peer port).
    pub peers: Vec<(&'a str, Vec<SocketAddr>)>,
    /// Where it reaches each node of its store, as a client: (name, its client link).
    pub store: Vec<(&'a str, Vec<SocketAddr>)>,
    pub files: &'a NodeFiles,
}

/// Where one node's files are, on the machine it runs on.
#[derive(Clone, Debug)]
pub struct NodeFiles {
    /// Its data folder (created before it starts).
    pub data_dir: PathBuf,
    /// Its clock offset file.
    pub clock_file: PathBuf,
    /// Its log (stdout and stderr).
    pub log: PathBuf,
    /// The faultline binary, for bundled targets (`faultline node …`).
    pub faultline: PathBuf,
    /// The clock shim, for external programs that read their clock through the C library.
    pub shim: Option<PathBuf>,
}

/// What every node of a run is started with.
pub(super) struct Launcher<'a> {
    /// The target under test: its nodes get the bugs and options, its store's do not.
    target: &'static Descriptor,
    bugs: &'a [String],
    options: &'a [String],
    /// What the workload adds to the target's nodes' command lines.
    workload_args: &'a [String],
}

impl<'a> Launcher<'a> {
    /// A launcher for a run of `target` (with `bugs` and `options`).
    pub fn new(
        target: &'static Descriptor,
        bugs: &'a [String],
        options: &'a [String],
        workload_args: &'a [String],
    ) -> Launcher<'a> {
        Launcher {
            target,
            bugs,
            options,
            workload_args,
        }
    }

    /// How to start `node`.
    pub fn spec(&self, node: &Node<'_>) -> Result<NodeSpec, String> {
        let (program, args) = self.command_line(node)?;
        let env = match (&node.files.shim, node.kind.clock) {
            (Some(shim), Clock::Shim) => crate::clock_shim::env(shim, &node.files.clock_file),
            _ => Default::default(),
        };
        Ok(NodeSpec {
            name: node.endpoint.node.clone(),
            program,
            args,
            env,
            log: node.files.log.clone(),
        })
    }

    /// The program `node` runs and its arguments.
    fn command_line(&self, node: &Node<'_>) -> Result<(PathBuf, Vec<String>), String> {
        let e = node.endpoint;
        // A bundled or wrapped system is `faultline node <name> ARGS`.
        let (program, mut args) = match node.kind.program {
            Program::External { program, .. } => (PathBuf::from(program), Vec::new()),
            bundled => (
                node.files.faultline.clone(),
                vec![
                    "node".to_string(),
                    bundled.node().map_or("", |n| n.0).to_string(),
                ],
            ),
        };
        args.extend(node.kind.args_for(&[
            ("node", e.node.clone()),
            // The address the node listens on: loopback here, the host's address on hosts.
            ("host", e.client.ip().to_string()),
            // n3 → 3, s2 → 2.
            ("index", e.node[1..].to_string()),
            ("client_port", e.client.port().to_string()),
            ("peer_port", port(&e.peer, 0)),
            ("peer_port_2", port(&e.peer, 1)),
            ("peers", listed(&node.peers)),
            ("store", listed(&node.store)),
            ("data_dir", node.files.data_dir.display().to_string()),
            ("clock_file", node.files.clock_file.display().to_string()),
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
}

/// The `k`-th of `ports`, for a hole (0 when there is none).
fn port(ports: &[SocketAddr], k: usize) -> String {
    ports.get(k).map_or(0, SocketAddr::port).to_string()
}

/// `n2=127.0.0.1:4711,n3=…`, as the descriptors' `{peers}` and `{store}` holes take them; a
/// node with two peer ports is `n2=127.0.0.1:4711:4712` (a link's ports share one address),
/// as ZooKeeper's `server.N=host:quorumPort:electionPort` lines take them.
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
    fn raft_n1(bugs: &[String]) -> Result<(PathBuf, Vec<String>), String> {
        let endpoint = Endpoint {
            node: "n1".into(),
            client: addr(4001),
            peer: vec![addr(4002)],
        };
        let files = NodeFiles {
            data_dir: "/tmp/n1".into(),
            clock_file: "/tmp/n1.clock".into(),
            log: "/tmp/n1.log".into(),
            faultline: "/bin/faultline".into(),
            shim: None,
        };
        Launcher::new(&RAFT_KV, bugs, &[], &[]).command_line(&Node {
            endpoint: &endpoint,
            kind: &RAFT_KV,
            peers: vec![("n2", vec![addr(5002)]), ("n3", vec![addr(5003)])],
            store: Vec::new(),
            files: &files,
        })
    }

    #[test]
    fn holes_are_filled_and_bugs_appended() {
        let (program, args) = raft_n1(&["stale-reads".to_string()]).unwrap();
        assert_eq!(program, std::path::Path::new("/bin/faultline"));
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
        let err = raft_n1(&["nope".to_string()]).unwrap_err();
        assert_eq!(err, "target raft-kv has no bug called `nope`");
    }
}
