//! Target descriptors: a target is data. A descriptor says how to start node *i* (a command
//! template), how to know it is ready, which client protocol it speaks, which workloads it
//! serves, which faults it supports, and which known bugs it can switch on. Adding a target is
//! adding a descriptor (and, for a new protocol, a client).
//!
//! Templates name their holes in braces: `{node}` (n1, n2, …), `{client_port}` and
//! `{peer_port}` (free loopback ports the harness picked), `{peers}` (`n2=127.0.0.1:4711,…`:
//! the addresses of this node's links to each peer), `{data_dir}`.

/// What to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Program {
    /// The faultline binary itself (bundled targets: `faultline node <system> …`).
    Faultline,
    /// An external program, found on the PATH.
    External(&'static str),
}

/// How the harness knows a node is up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Readiness {
    /// `GET path` on the client port answers 200.
    HttpGet(&'static str),
    /// The client port accepts connections.
    Tcp,
}

/// A target.
#[derive(Clone, Copy, Debug)]
pub struct Descriptor {
    pub name: &'static str,
    pub summary: &'static str,
    pub program: Program,
    pub args: &'static [&'static str],
    pub ready: Readiness,
    /// The client protocol (see docs/protocols/).
    pub protocol: &'static str,
    pub workloads: &'static [&'static str],
    pub faults: &'static [&'static str],
    /// Known bugs: name, the extra arguments that switch it on, and what it does.
    pub bugs: &'static [(&'static str, &'static [&'static str], &'static str)],
    /// Whether nodes talk to each other (and so get peer links).
    pub peers: bool,
}

/// The Raft key-value store.
pub const RAFT_KV: Descriptor = Descriptor {
    name: "raft-kv",
    summary: "Raft-replicated key-value store (read-index reads, pre-vote, check-quorum)",
    program: Program::Faultline,
    args: &[
        "node",
        "raft-kv",
        "--id",
        "{node}",
        "--client",
        "127.0.0.1:{client_port}",
        "--peer",
        "127.0.0.1:{peer_port}",
        "--peers",
        "{peers}",
        "--data-dir",
        "{data_dir}",
    ],
    ready: Readiness::HttpGet("/health"),
    protocol: "http-kv",
    workloads: &["register"],
    faults: &["partition", "kill", "pause"],
    bugs: &[(
        "stale-reads",
        &["--bug", "stale-reads"],
        "a leader serves reads from its local state without confirming it is still leader (etcd #741)",
    )],
    peers: true,
};

/// Every target faultline knows.
pub const ALL: &[Descriptor] = &[RAFT_KV];

/// The target called `name`.
pub fn find(name: &str) -> Option<&'static Descriptor> {
    ALL.iter().find(|d| d.name == name)
}

impl Descriptor {
    /// The arguments for one node, holes filled from `holes` (name, value).
    pub fn args_for(&self, holes: &[(&str, String)]) -> Vec<String> {
        self.args
            .iter()
            .map(|a| {
                holes.iter().fold(a.to_string(), |acc, (name, value)| {
                    acc.replace(&format!("{{{name}}}"), value)
                })
            })
            .collect()
    }

    /// The extra arguments that switch on `bug`.
    pub fn bug_args(&self, bug: &str) -> Option<&'static [&'static str]> {
        self.bugs.iter().find(|b| b.0 == bug).map(|b| b.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_fill_every_hole() {
        let d = find("raft-kv").unwrap();
        let args = d.args_for(&[
            ("node", "n2".into()),
            ("client_port", "4000".into()),
            ("peer_port", "4001".into()),
            ("peers", "n1=127.0.0.1:5000".into()),
            ("data_dir", "/tmp/d".into()),
        ]);
        assert!(args.iter().all(|a| !a.contains('{')), "{args:?}");
        assert!(args.contains(&"127.0.0.1:4001".to_string()));
        assert_eq!(
            d.bug_args("stale-reads"),
            Some(&["--bug", "stale-reads"][..])
        );
        assert!(d.bug_args("nope").is_none());
    }
}
