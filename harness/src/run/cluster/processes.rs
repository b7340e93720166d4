//! What the injector does to a cluster's processes, wherever they run: on this machine (the
//! [`Supervisor`]) or on hosts, through each host's agent (`crate::hosts::Remote`).

use crate::supervisor::{NodeSpec, Supervisor};

/// Starts, hurts and stops a cluster's nodes.
pub trait Processes: Send + Sync {
    /// Starts a node; its spec is remembered for restarts.
    fn start(&self, spec: NodeSpec) -> Result<(), String>;
    /// Starts a killed node again, on the same data.
    fn restart(&self, node: &str) -> Result<(), String>;
    /// SIGKILL to the node's process group; false if it was not running.
    fn kill(&self, node: &str) -> bool;
    /// SIGSTOP to the node's process group.
    fn pause(&self, node: &str) -> bool;
    /// SIGCONT to the node's process group.
    fn resume(&self, node: &str) -> bool;
    fn is_running(&self, node: &str) -> bool;
    fn is_paused(&self, node: &str) -> bool;
    /// The node's process id, where it runs on this machine.
    fn pid(&self, _node: &str) -> Option<u32> {
        None
    }
    /// Nodes that exited on their own since the last look, with how they exited.
    fn exits(&self) -> Vec<(String, String)>;
    /// Kills every node.
    fn shutdown(&self);
    /// Brings the nodes' logs into the run folder, where they are kept elsewhere (on hosts).
    fn fetch_logs(&self) {}
}

impl Processes for Supervisor {
    fn start(&self, spec: NodeSpec) -> Result<(), String> {
        let (name, program) = (spec.name.clone(), spec.program.clone());
        Supervisor::start(self, spec)
            .map(|_| ())
            .map_err(|err| format!("cannot start node {name} ({}): {err}", program.display()))
    }

    fn restart(&self, node: &str) -> Result<(), String> {
        Supervisor::restart(self, node)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    fn kill(&self, node: &str) -> bool {
        Supervisor::kill(self, node)
    }

    fn pause(&self, node: &str) -> bool {
        Supervisor::pause(self, node)
    }

    fn resume(&self, node: &str) -> bool {
        Supervisor::resume(self, node)
    }

    fn is_running(&self, node: &str) -> bool {
        Supervisor::is_running(self, node)
    }

    fn is_paused(&self, node: &str) -> bool {
        Supervisor::is_paused(self, node)
    }

    fn pid(&self, node: &str) -> Option<u32> {
        Supervisor::pid(self, node)
    }

    fn exits(&self) -> Vec<(String, String)> {
        Supervisor::exits(self)
            .into_iter()
            .map(|(n, status)| (n, status.to_string()))
            .collect()
    }

    fn shutdown(&self) {
        Supervisor::shutdown(self)
    }
}
