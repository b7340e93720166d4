//! The control side of one agent (placeholder until the agent branch lands).

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use super::protocol::{Answer, Envelope, Outcome, Reply, Request};

/// One agent, reached through its session's stdin and stdout.
pub struct AgentLink {
    label: String,
    io: Mutex<(ChildStdin, BufReader<ChildStdout>)>,
    child: Mutex<Child>,
    next: AtomicU64,
}

impl AgentLink {
    pub fn new(mut child: Child, label: &str) -> AgentLink {
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        AgentLink {
            label: label.to_string(),
            io: Mutex::new((stdin, BufReader::new(stdout))),
            child: Mutex::new(child),
            next: AtomicU64::new(1),
        }
    }

    pub fn call(&self, request: Request) -> Result<Answer, String> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let gone = || format!("the agent on {} is gone", self.label);
        let mut io = self.io.lock().unwrap_or_else(|e| e.into_inner());
        let line = serde_json::to_string(&Envelope { id, request }).map_err(|e| e.to_string())?;
        writeln!(io.0, "{line}").map_err(|_| gone())?;
        io.0.flush().map_err(|_| gone())?;
        let mut reply = String::new();
        if io.1.read_line(&mut reply).map_err(|_| gone())? == 0 {
            return Err(gone());
        }
        let reply: Reply = serde_json::from_str(&reply).map_err(|e| e.to_string())?;
        match reply.result {
            Outcome::Ok(answer) => Ok(answer),
            Outcome::Err(e) => Err(e),
        }
    }
}

impl Drop for AgentLink {
    fn drop(&mut self) {
        let _ = self.call(Request::Stop);
        let mut child = self.child.lock().unwrap_or_else(|e| e.into_inner());
        let _ = child.kill();
        let _ = child.wait();
    }
}
