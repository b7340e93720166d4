//! `faultline agent`: the supervisor a run starts on each host over SSH.
//!
//! * [`protocol`]: the JSON lines the control machine and the agent exchange.
//! * [`firewall`]: partitions, as iptables rules in a chain of faultline's own.
//! * [`netem`]: latency and loss, as tc netem qdiscs (refused clearly where the kernel has none).
//! * [`link`]: the control machine's handle to one agent ([`link::AgentLink`]).
//!
//! The control machine runs `ssh HOST faultline agent --dir DIR` (or, for a host that is this
//! machine, `faultline agent --dir DIR`) and talks to it over the session's pipes: one
//! [`Envelope`] per line on the agent's stdin, one [`Reply`] per line on its stdout, in order.
//! [`Agent::handle`] turns a request into an [`Outcome`] (nodes through the same
//! [`Supervisor`] a local run uses; faults through [`firewall`] and [`netem`]; clocks through
//! the shim's offset files); [`serve`] is the loop around it.
//!
//! The agent lives exactly as long as its session. The end of stdin (sshd closes the pipes when
//! the session ends; a local harness's pipes close when it dies), `Stop`, SIGTERM, SIGHUP,
//! SIGINT, and the death of its parent process all lead to the same cleanup: every node killed,
//! every rule and qdisc removed, exit 0. A SIGKILLed agent cannot clean up: its nodes still die
//! (the supervisor gives them a parent-death signal), and its rules are cleared by the next
//! agent on the host, which starts by removing leftovers.

pub mod firewall;
pub mod link;
pub mod netem;
pub mod protocol;

use std::io::{BufRead, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Args;

use crate::exit::Exit;
use crate::supervisor::{NodeSpec, Supervisor};
use firewall::Firewall;
use netem::Netem;
use protocol::{Answer, Envelope, Hello, Outcome, Reply, Request};

/// `faultline agent`'s arguments.
#[derive(Args, Debug)]
pub struct AgentArgs {
    /// The run directory on this host (created): node logs, the clock shim, offset files.
    /// Relative paths in requests are taken from here.
    #[arg(long)]
    pub dir: PathBuf,
}

/// One host's agent: its nodes and the faults it has set.
#[derive(Debug)]
pub struct Agent {
    dir: PathBuf,
    supervisor: Supervisor,
    firewall: Mutex<Firewall>,
    netem: Mutex<Netem>,
    /// Every node ever started (the supervisor knows which of them run).
    nodes: Mutex<Vec<String>>,
    reaper: Mutex<Reaper>,
}

/// A tiny shell process that outlives a SIGKILLed agent just long enough to kill its nodes'
/// whole process groups. The parent-death signal reaches only a node's first process, not the
/// children it forked (a shell's `sleep`, a server's workers); so the agent tells the reaper,
/// after every request, the process groups alive now, and when its stdin ends (the agent is
/// gone, however it died) the reaper kills the last set it heard. It has its own process group
/// and ignores hangups, so the signals that end an SSH session do not end it first.
#[derive(Debug)]
struct Reaper {
    stdin: Option<std::process::ChildStdin>,
    child: Option<std::process::Child>,
    last: Vec<u32>,
}

const REAPER: &str = "trap '' HUP INT TERM; last=''; while read -r line; do last=$line; done; \
    for g in $last; do kill -s KILL -- -$g 2>/dev/null; done";

impl Reaper {
    fn start() -> Reaper {
        use std::os::unix::process::CommandExt;
        let child = std::process::Command::new("/bin/sh")
            .args(["-c", REAPER])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .process_group(0)
            .spawn();
        match child {
            Ok(mut child) => Reaper {
                stdin: child.stdin.take(),
                child: Some(child),
                last: Vec::new(),
            },
            Err(e) => {
                // Nodes still die with the agent through the parent-death signal.
                eprintln!("faultline agent: no reaper for the nodes' children: {e}");
                Reaper {
                    stdin: None,
                    child: None,
                    last: Vec::new(),
                }
            }
        }
    }

    fn tell(&mut self, groups: Vec<u32>) {
        if groups == self.last {
            return;
        }
        if let Some(stdin) = &mut self.stdin {
            let line: Vec<String> = groups.iter().map(u32::to_string).collect();
            let _ = writeln!(stdin, "{}", line.join(" ")).and_then(|()| stdin.flush());
        }
        self.last = groups;
    }

    /// Ends the reaper after the agent has killed the nodes itself.
    fn finish(&mut self) {
        self.tell(Vec::new());
        self.stdin = None;
        if let Some(mut child) = self.child.take() {
            let _ = child.wait();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Agent {
    /// An agent working in `dir` (created). Clears whatever rules and qdiscs a killed run left
    /// behind.
    pub fn new(dir: &Path) -> Result<Agent, String> {
        let agent = Agent::without_clearing(dir)?;
        // Leftovers of a killed run; a host without iptables has none, and says so in Hello.
        let _ = lock(&agent.firewall).clear();
        lock(&agent.netem).clear_leftovers();
        Ok(agent)
    }

    /// An agent that leaves the host's rules alone until asked (the unit tests').
    fn without_clearing(dir: &Path) -> Result<Agent, String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let dir = std::path::absolute(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(Agent {
            dir,
            supervisor: Supervisor::new(),
            firewall: Mutex::new(Firewall::new()),
            netem: Mutex::new(Netem::default()),
            nodes: Mutex::new(Vec::new()),
            reaper: Mutex::new(Reaper::start()),
        })
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.join(p)
    }

    /// Answers one request. `Stop` only answers here: the caller ends the session.
    pub fn handle(&self, request: &Request) -> Outcome {
        let outcome = match self.answer(request) {
            Ok(answer) => Outcome::Ok(answer),
            Err(e) => Outcome::Err(firewall::one_line(&e)),
        };
        let groups = lock(&self.nodes)
            .iter()
            .filter_map(|node| self.supervisor.pid(node))
            .collect();
        lock(&self.reaper).tell(groups);
        outcome
    }

    fn answer(&self, request: &Request) -> Result<Answer, String> {
        let sup = &self.supervisor;
        Ok(match request {
            Request::Hello => Answer::Hello(Hello {
                arch: std::env::consts::ARCH.to_string(),
                os: std::env::consts::OS.to_string(),
                pid: std::process::id(),
                dir: self.dir.to_string_lossy().into_owned(),
                firewall: lock(&self.firewall).works(),
                netem: netem::available(),
            }),
            Request::Ports { bind, count } => {
                // Held together until all are bound, so no port is handed out twice.
                let listeners = (0..*count)
                    .map(|_| TcpListener::bind((*bind, 0)))
                    .collect::<std::io::Result<Vec<_>>>()
                    .map_err(|e| format!("cannot bind a port on {bind}: {e}"))?;
                let ports = listeners
                    .iter()
                    .map(|l| l.local_addr().map(|a| a.port()))
                    .collect::<std::io::Result<Vec<_>>>()
                    .map_err(|e| e.to_string())?;
                Answer::Ports(ports)
            }
            Request::Missing { programs } => {
                Answer::Missing(programs.iter().filter(|p| !present(p)).cloned().collect())
            }
            Request::Shim => {
                let path = crate::clock_shim::install(&self.dir)
                    .map_err(|e| format!("cannot install the clock shim: {e}"))?;
                Answer::Path(path.to_string_lossy().into_owned())
            }
            Request::Start {
                node,
                program,
                args,
                env,
                log,
            } => {
                let spec = NodeSpec {
                    name: node.clone(),
                    program: program.into(),
                    args: args.clone(),
                    env: env.clone(),
                    log: self.path(log),
                };
                if sup.is_running(node) {
                    return Err(format!("{node} is already running"));
                }
                let pid = sup
                    .start(spec)
                    .map_err(|e| format!("cannot start {node} ({program}): {e}"))?;
                let mut nodes = lock(&self.nodes);
                if !nodes.contains(node) {
                    nodes.push(node.clone());
                }
                Answer::Pid(pid)
            }
            Request::Restart { node } => Answer::Pid(
                sup.restart(node)
                    .map_err(|e| format!("cannot restart {node}: {e}"))?,
            ),
            Request::Kill { node } => Answer::Done(sup.kill(node)),
            Request::Pause { node } => Answer::Done(sup.pause(node)),
            Request::Resume { node } => Answer::Done(sup.resume(node)),
            Request::Status { node } => Answer::Status {
                running: sup.is_running(node),
                paused: sup.is_paused(node),
            },
            Request::Exits => Answer::Exits(
                sup.exits()
                    .into_iter()
                    .map(|(node, status)| (node, status.to_string()))
                    .collect(),
            ),
            Request::Clock { file, offset_ns } => {
                let path = self.path(file);
                targets::clock::write_offset(&path, *offset_ns)
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                Answer::Done(true)
            }
            Request::Drop { from } => {
                lock(&self.firewall).drop_from(from)?;
                Answer::Done(true)
            }
            Request::Shape {
                address,
                latency_ms,
                loss,
            } => {
                lock(&self.netem).shape(*address, *latency_ms, *loss)?;
                Answer::Done(true)
            }
            Request::Stop => Answer::Done(true),
        })
    }

    /// Kills every node and removes every rule and qdisc. Safe to call more than once.
    pub fn clean_up(&self) {
        self.supervisor.shutdown();
        lock(&self.reaper).finish();
        if let Err(e) = lock(&self.firewall).clear() {
            eprintln!("faultline agent: {e}");
        }
        lock(&self.netem).clear();
    }
}

/// Whether `program` is here: a path (with a `/`) that is a file, or a name found as an
/// executable on `PATH`.
pub fn present(program: &str) -> bool {
    let executable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    // A path names a file a package installs, which another program may run (ZooKeeper's
    // jar, run by java): present is enough.
    if program.contains('/') {
        return Path::new(program).is_file();
    }
    !program.is_empty()
        && std::env::var_os("PATH").is_some_and(|path| {
            std::env::split_paths(&path).any(|dir| executable(&dir.join(program)))
        })
}

/// The reply to a line that is not an [`Envelope`]: an error carrying the line's id if it has
/// one (an unknown op from a newer harness), else id 0.
fn bad_line(line: &str, e: &serde_json::Error) -> Reply {
    let id = serde_json::from_str::<serde_json::Value>(line)
        .ok()
        .and_then(|v| v.get("id")?.as_u64())
        .unwrap_or(0);
    Reply {
        id,
        result: Outcome::Err(format!("bad request: {e}")),
    }
}

/// Answers requests from `input` on `output`, one line each, until `Stop` or the end of
/// `input`. Errors only when `output` fails (the session is gone).
pub fn serve(agent: &Agent, input: impl BufRead, mut output: impl Write) -> std::io::Result<()> {
    for line in input.lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let (reply, stop) = match serde_json::from_str::<Envelope>(&line) {
            Ok(envelope) => (
                Reply {
                    id: envelope.id,
                    result: agent.handle(&envelope.request),
                },
                envelope.request == Request::Stop,
            ),
            Err(e) => (bad_line(&line, &e), false),
        };
        let text = serde_json::to_string(&reply).map_err(std::io::Error::other)?;
        writeln!(output, "{text}")?;
        output.flush()?;
        if stop {
            break;
        }
    }
    Ok(())
}

/// Cleans up and exits when SIGTERM, SIGHUP or SIGINT arrives. The signals are blocked in
/// this thread before any other exists, so every thread inherits the block and only the
/// waiting thread receives them (the nodes get an empty mask: std resets it when spawning).
fn on_signals(agent: Arc<Agent>) -> Result<(), String> {
    use nix::sys::signal::{SigSet, Signal};
    let mut set = SigSet::empty();
    for s in [Signal::SIGTERM, Signal::SIGHUP, Signal::SIGINT] {
        set.add(s);
    }
    set.thread_block()
        .map_err(|e| format!("cannot block signals: {e}"))?;
    std::thread::Builder::new()
        .name("faultline-agent-signals".into())
        .spawn(move || {
            if let Ok(signal) = set.wait() {
                eprintln!("faultline agent: {signal}: cleaning up");
                agent.clean_up();
                std::process::exit(0);
            }
        })
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// Cleans up and exits when the process that started the agent dies (it is re-parented): a
/// session whose pipes some other process still holds open would otherwise never see EOF.
fn on_orphaned(agent: Arc<Agent>) {
    let parent = nix::unistd::getppid();
    let _ = std::thread::Builder::new()
        .name("faultline-agent-parent".into())
        .spawn(move || {
            loop {
                std::thread::sleep(Duration::from_millis(250));
                if nix::unistd::getppid() != parent {
                    eprintln!("faultline agent: the process that started it is gone");
                    agent.clean_up();
                    std::process::exit(0);
                }
            }
        });
}

/// `faultline agent --dir DIR`.
pub fn run(args: &AgentArgs) -> Exit {
    // Before any thread: see on_signals.
    let mut blocked = nix::sys::signal::SigSet::empty();
    for s in [
        nix::sys::signal::Signal::SIGTERM,
        nix::sys::signal::Signal::SIGHUP,
        nix::sys::signal::Signal::SIGINT,
    ] {
        blocked.add(s);
    }
    if let Err(e) = blocked.thread_block() {
        eprintln!("faultline agent: cannot block signals: {e}");
        return Exit::Error;
    }
    let agent = match Agent::new(&args.dir) {
        Ok(agent) => Arc::new(agent),
        Err(e) => {
            eprintln!("faultline agent: {e}");
            return Exit::Error;
        }
    };
    if let Err(e) = on_signals(Arc::clone(&agent)) {
        eprintln!("faultline agent: {e}");
        return Exit::Error;
    }
    on_orphaned(Arc::clone(&agent));
    let stdin = std::io::stdin().lock();
    let stdout = std::io::stdout().lock();
    if let Err(e) = serve(&agent, stdin, stdout) {
        eprintln!("faultline agent: the session is gone: {e}");
    }
    agent.clean_up();
    Exit::Valid
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(name: &str) -> (Agent, PathBuf) {
        let dir = std::env::temp_dir().join(format!("agent-{name}-{}", std::process::id()));
        (Agent::without_clearing(&dir).unwrap(), dir)
    }

    #[test]
    fn bad_lines_get_an_error_and_the_session_goes_on() {
        let (agent, dir) = agent("bad");
        let input = "not json\n{\"id\":7,\"op\":\"teleport\"}\n{\"id\":8,\"op\":\"exits\"}\n";
        let mut out = Vec::new();
        serve(&agent, input.as_bytes(), &mut out).unwrap();
        let replies: Vec<Reply> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(replies.len(), 3);
        assert_eq!(replies[0].id, 0);
        assert!(matches!(&replies[0].result, Outcome::Err(e) if e.starts_with("bad request")));
        assert_eq!(replies[1].id, 7, "an unknown op keeps its id");
        assert!(matches!(replies[1].result, Outcome::Err(_)));
        assert_eq!(replies[2].result, Outcome::Ok(Answer::Exits(Vec::new())));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn stop_answers_and_ends_the_session() {
        let (agent, dir) = agent("stop");
        let input = "{\"id\":1,\"op\":\"stop\"}\n{\"id\":2,\"op\":\"exits\"}\n";
        let mut out = Vec::new();
        serve(&agent, input.as_bytes(), &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"id\":1,\"ok\":{\"done\":true}}\n"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn missing_programs_and_unknown_nodes() {
        let (agent, dir) = agent("missing");
        let missing = agent.handle(&Request::Missing {
            programs: vec![
                "sh".into(),
                "/nonexistent/x".into(),
                "no-such-prog-xyz".into(),
            ],
        });
        assert_eq!(
            missing,
            Outcome::Ok(Answer::Missing(vec![
                "/nonexistent/x".into(),
                "no-such-prog-xyz".into()
            ]))
        );
        assert_eq!(
            agent.handle(&Request::Kill { node: "n9".into() }),
            Outcome::Ok(Answer::Done(false))
        );
        assert!(matches!(
            agent.handle(&Request::Restart { node: "n9".into() }),
            Outcome::Err(e) if e.contains("no node called n9")
        ));
        let started = agent.handle(&Request::Start {
            node: "n9".into(),
            program: "/nonexistent".into(),
            args: Vec::new(),
            env: Vec::new(),
            log: "n9.log".into(),
        });
        assert!(
            matches!(&started, Outcome::Err(e) if e.starts_with("cannot start n9 (/nonexistent)")),
            "{started:?}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
