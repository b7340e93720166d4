//! The control machine's handle to one host's agent.
//!
//! An [`AgentLink`] owns the process that runs the agent — `faultline agent --dir D` for this
//! machine, `ssh HOST faultline agent --dir D` for another; the caller builds the [`Command`]
//! and chooses where its stderr goes — and talks to it over its stdin and stdout. [`call`]
//! writes one [`Envelope`] line and waits for the [`Reply`] with the same id; a reader thread
//! moves reply lines from the agent's stdout into a channel, so a call can give up after
//! [`TIMEOUT`] without leaving the pipe half-read (a late reply is skipped by the next call,
//! whose id differs). Calls are serialized: the agent answers one request at a time anyway.
//!
//! Dropping the link ends the session: `Stop`, a short wait, then SIGKILL for an agent that
//! did not go. Either way the agent's nodes die with it.
//!
//! [`call`]: AgentLink::call

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};

use super::protocol::{Answer, Envelope, Hello, Outcome, Reply, Request};

/// How long a call waits for its reply.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// How long a dropped link waits for its agent to exit after `Stop` before killing it.
const STOP_GRACE: Duration = Duration::from_secs(5);

struct Session {
    stdin: ChildStdin,
    replies: mpsc::Receiver<String>,
}

/// A running agent, and the session with it.
pub struct AgentLink {
    host: String,
    child: Mutex<Child>,
    session: Mutex<Session>,
    next_id: AtomicU64,
}

impl std::fmt::Debug for AgentLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentLink")
            .field("host", &self.host)
            .finish_non_exhaustive()
    }
}

impl AgentLink {
    /// Starts `command` (an agent, perhaps behind ssh) with piped stdin and stdout; its stderr
    /// is left as the caller set it. `host` names the host in errors.
    pub fn spawn(host: impl Into<String>, mut command: Command) -> Result<AgentLink, String> {
        let host = host.into();
        let child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| {
                format!(
                    "cannot start the agent on {host} ({}): {e}",
                    command.get_program().to_string_lossy()
                )
            })?;
        AgentLink::from_child(host, child)
    }

    /// Takes over an agent already started with piped stdin and stdout.
    pub fn from_child(host: impl Into<String>, mut child: Child) -> Result<AgentLink, String> {
        let host = host.into();
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "the agent on {host} was started without piped stdin and stdout"
            ));
        };
        let (tx, replies) = mpsc::channel();
        std::thread::Builder::new()
            .name(format!("faultline-agent-link-{host}"))
            .spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            })
            .map_err(|e| format!("cannot start a reader for the agent on {host}: {e}"))?;
        Ok(AgentLink {
            host,
            child: Mutex::new(child),
            session: Mutex::new(Session { stdin, replies }),
            next_id: AtomicU64::new(1),
        })
    }

    /// The host this link talks to.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The pid of the process the link started (the agent, or the ssh in front of it).
    pub fn pid(&self) -> u32 {
        self.child.lock().unwrap_or_else(|e| e.into_inner()).id()
    }

    fn gone(&self) -> String {
        format!("the agent on {} is gone", self.host)
    }

    /// Sends `request` and waits up to [`TIMEOUT`] for its answer. Errors: the agent's own
    /// one-line error, "the agent on HOST is gone", or a timeout.
    pub fn call(&self, request: Request) -> Result<Answer, String> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let line = serde_json::to_string(&Envelope { id, request })
            .map_err(|e| format!("cannot encode a request: {e}"))?;
        let mut session = self.session.lock().unwrap_or_else(|e| e.into_inner());
        writeln!(session.stdin, "{line}")
            .and_then(|()| session.stdin.flush())
            .map_err(|_| self.gone())?;
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let text = match session.replies.recv_timeout(left) {
                Ok(text) => text,
                Err(mpsc::RecvTimeoutError::Disconnected) => return Err(self.gone()),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    return Err(format!(
                        "the agent on {} did not answer within {} s",
                        self.host,
                        TIMEOUT.as_secs()
                    ));
                }
            };
            let reply: Reply = serde_json::from_str(&text).map_err(|e| {
                format!(
                    "the agent on {} said something unreadable ({e}): {text}",
                    self.host
                )
            })?;
            // Replies to earlier calls that timed out, and id-0 complaints, are not ours.
            if reply.id != id {
                continue;
            }
            return match reply.result {
                Outcome::Ok(answer) => Ok(answer),
                Outcome::Err(e) => Err(e),
            };
        }
    }

    /// `Hello`: what the host is.
    pub fn hello(&self) -> Result<Hello, String> {
        match self.call(Request::Hello)? {
            Answer::Hello(hello) => Ok(hello),
            other => Err(format!(
                "the agent on {} answered hello with {other:?}",
                self.host
            )),
        }
    }
}

impl Drop for AgentLink {
    fn drop(&mut self) {
        {
            let mut session = self.session.lock().unwrap_or_else(|e| e.into_inner());
            let stop = serde_json::to_string(&Envelope {
                id: 0,
                request: Request::Stop,
            })
            .unwrap_or_default();
            let _ = writeln!(session.stdin, "{stop}").and_then(|()| session.stdin.flush());
        }
        let child = self.child.get_mut().unwrap_or_else(|e| e.into_inner());
        let deadline = Instant::now() + STOP_GRACE;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}
