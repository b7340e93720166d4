//! What the control machine and a host's agent say to each other: one JSON object per line,
//! requests on the agent's stdin, replies on its stdout, each reply carrying its request's id.
//!
//! ```text
//! → {"id":1,"op":"hello"}
//! ← {"id":1,"ok":{"hello":{"arch":"x86_64","os":"linux","pid":4711,"dir":"/tmp/faultline/r1/h1","firewall":true,"netem":false}}}
//! → {"id":2,"op":"kill","node":"n1"}
//! ← {"id":2,"ok":{"done":true}}
//! → {"id":3,"op":"start","node":"n9",…}
//! ← {"id":3,"err":"cannot start n9 (/nonexistent): No such file or directory"}
//! ```
//!
//! The agent answers requests in order, one at a time. It has nothing to say unasked: exits are
//! collected by asking (`exits`), as the local supervisor's are.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// One request, with the id its reply will carry.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct Envelope {
    pub id: u64,
    #[serde(flatten)]
    pub request: Request,
}

/// What the control machine asks of a host.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Request {
    /// What the host is; the first request of every session.
    Hello,
    /// `count` TCP ports free on `bind` now (bound to port 0, then released).
    Ports { bind: IpAddr, count: usize },
    /// Which of `programs` the host lacks: names not found as executables on its PATH, and
    /// absolute paths (files a package installs, such as a jar) that are not files there.
    Missing { programs: Vec<String> },
    /// Writes the clock shim (carried in the binary) into the run directory: its path.
    Shim,
    /// Starts a node in its own process group, its output appended to `log` (paths on the host).
    Start {
        node: String,
        program: String,
        args: Vec<String>,
        env: Vec<(String, String)>,
        log: String,
    },
    /// Starts `node` again as it was first started (same data directory).
    Restart { node: String },
    /// SIGKILL to the node's process group.
    Kill { node: String },
    /// SIGSTOP to the node's process group.
    Pause { node: String },
    /// SIGCONT to the node's process group.
    Resume { node: String },
    /// Whether the node runs, and whether it is paused.
    Status { node: String },
    /// Nodes that exited by themselves since the last ask.
    Exits,
    /// Writes a clock offset file (see `targets::clock`).
    Clock { file: String, offset_ns: i64 },
    /// Drops every packet arriving from `from` (the whole set: it replaces the last one; empty
    /// heals). Traffic to the agent's own SSH port is never dropped.
    Drop { from: Vec<IpAddr> },
    /// Delays and loses packets leaving the interface that holds `address` (tc netem);
    /// zero delay and loss removes the qdisc.
    Shape {
        address: IpAddr,
        latency_ms: f64,
        loss: f64,
    },
    /// Kills every node, removes every rule, and exits (as the end of stdin does).
    Stop,
}

/// The agent's reply to one request.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct Reply {
    pub id: u64,
    #[serde(flatten)]
    pub result: Outcome,
}

/// A reply's result: an answer, or a one-line error.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Ok(Answer),
    Err(String),
}

/// What a request answers.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "kebab-case")]
pub enum Answer {
    Hello(Hello),
    Ports(Vec<u16>),
    Missing(Vec<String>),
    Path(String),
    Pid(u32),
    /// Whether the request did what it asked (a kill of a node not running: false).
    Done(bool),
    Status {
        running: bool,
        paused: bool,
    },
    /// (node, how it exited).
    Exits(Vec<(String, String)>),
}

/// What a host is.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct Hello {
    /// `std::env::consts::ARCH` of the agent's build.
    pub arch: String,
    pub os: String,
    pub pid: u32,
    /// The run directory the agent works in.
    pub dir: String,
    /// Whether the agent can add firewall rules (iptables, as root or through `sudo -n`).
    pub firewall: bool,
    /// Whether the kernel has tc's netem qdisc.
    pub netem: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_replies_are_one_json_line_each() {
        let e = Envelope {
            id: 2,
            request: Request::Kill { node: "n1".into() },
        };
        let line = serde_json::to_string(&e).unwrap();
        assert_eq!(line, r#"{"id":2,"op":"kill","node":"n1"}"#);
        assert_eq!(serde_json::from_str::<Envelope>(&line).unwrap(), e);
        let r = Reply {
            id: 2,
            result: Outcome::Ok(Answer::Done(true)),
        };
        let line = serde_json::to_string(&r).unwrap();
        assert_eq!(line, r#"{"id":2,"ok":{"done":true}}"#);
        assert_eq!(serde_json::from_str::<Reply>(&line).unwrap(), r);
        let err = Reply {
            id: 3,
            result: Outcome::Err("no".into()),
        };
        assert_eq!(
            serde_json::to_string(&err).unwrap(),
            r#"{"id":3,"err":"no"}"#
        );
    }
}
