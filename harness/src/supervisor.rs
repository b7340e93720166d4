//! The process supervisor: starts each node as a real OS process and hurts it on request.
//!
//! Each node runs in its own process group (so a kill or a pause reaches any children it has),
//! with its stdout and stderr appended to its log file and its own data directory. Nodes get a
//! parent-death signal, so a harness killed with SIGKILL takes its cluster with it; every live
//! group is also registered process-wide, so that Ctrl-C, SIGTERM and a panic can tear them all
//! down ([`kill_all`]). Every child is reaped: killed ones at once, ones that exit on their own
//! when [`Supervisor::exits`] looks.
//!
//! Processes are spawned from one long-lived thread ([`spawn_tied`]): Linux sends the
//! parent-death signal when the *thread* that forked the child ends, and a runtime's helper
//! threads come and go.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::OpenOptions;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Mutex, OnceLock, mpsc};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// How to start one node.
#[derive(Clone, Debug)]
pub struct NodeSpec {
    pub name: String,
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// Appended with the node's stdout and stderr.
    pub log: PathBuf,
}

/// Process groups of every node this harness started and has not yet reaped.
static GROUPS: Mutex<BTreeSet<i32>> = Mutex::new(BTreeSet::new());

fn groups() -> std::sync::MutexGuard<'static, BTreeSet<i32>> {
    GROUPS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Kills every node process group this harness started (for signal handlers and panics).
pub fn kill_all() {
    for &pgid in groups().iter() {
        let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
    }
}

struct Running {
    child: Child,
    paused: bool,
}

/// Starts, kills, pauses, resumes and restarts a cluster's nodes.
pub struct Supervisor {
    specs: Mutex<BTreeMap<String, NodeSpec>>,
    running: Mutex<BTreeMap<String, Running>>,
}

impl std::fmt::Debug for Supervisor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Supervisor").finish_non_exhaustive()
    }
}

/// Sets the parent-death signal in the child, between fork and exec.
#[allow(unsafe_code)]
fn die_with_parent(command: &mut Command) {
    let parent = std::process::id();
    // SAFETY: the closure runs in the forked child before exec and only calls prctl(2) and
    // getppid(2), both async-signal-safe; it allocates nothing and touches no locks.
    unsafe {
        command.pre_exec(move || {
            nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)?;
            // The parent may have died before the signal was armed.
            if nix::unistd::getppid().as_raw() as u32 != parent {
                return Err(std::io::Error::other("the harness is gone"));
            }
            Ok(())
        });
    }
}

fn command(spec: &NodeSpec) -> std::io::Result<Command> {
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&spec.log)?;
    let mut command = Command::new(&spec.program);
    command
        .args(&spec.args)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0);
    Ok(command)
}

type SpawnRequest = (Command, mpsc::Sender<std::io::Result<Child>>);

/// Starts `command` as a child that dies with the harness (SIGKILL when it ends, however it
/// ends): the nodes, and the SSH connections that carry remote nodes' agents.
///
/// Every such child is forked by one long-lived thread, because Linux delivers the
/// parent-death signal when the *thread* that forked the child ends, and a runtime's helper
/// threads come and go.
pub fn spawn_tied(mut command: Command) -> std::io::Result<Child> {
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<SpawnRequest>>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnRequest>();
        std::thread::Builder::new()
            .name("faultline-spawner".into())
            .spawn(move || {
                for (mut command, reply) in rx {
                    die_with_parent(&mut command);
                    let _ = reply.send(command.spawn());
                }
            })
            .expect("a thread for spawning children");
        Mutex::new(tx)
    });
    let (reply, answer) = mpsc::channel();
    let gone = || std::io::Error::other("the spawner thread is gone");
    spawner
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .send((std::mem::replace(&mut command, Command::new("")), reply))
        .map_err(|_| gone())?;
    answer.recv().map_err(|_| gone())?
}

impl Supervisor {
    pub fn new() -> Supervisor {
        Supervisor {
            specs: Mutex::new(BTreeMap::new()),
            running: Mutex::new(BTreeMap::new()),
        }
    }

    fn running(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Running>> {
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts a node; its spec is remembered for restarts.
    pub fn start(&self, spec: NodeSpec) -> std::io::Result<u32> {
        let child = spawn_tied(command(&spec)?)?;
        let pid = child.id();
        groups().insert(pid as i32);
        self.specs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(spec.name.clone(), spec.clone());
        self.running().insert(
            spec.name,
            Running {
                child,
                paused: false,
            },
        );
        Ok(pid)
    }

    /// Starts a killed node again, on the same data.
    pub fn restart(&self, node: &str) -> std::io::Result<u32> {
        let spec = self
            .specs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(node)
            .cloned()
            .ok_or_else(|| std::io::Error::other(format!("no node called {node}")))?;
        if self.is_running(node) {
            return Err(std::io::Error::other(format!("{node} is already running")));
        }
        self.start(spec)
    }

    pub fn is_running(&self, node: &str) -> bool {
        self.running().contains_key(node)
    }

    pub fn pid(&self, node: &str) -> Option<u32> {
        self.running().get(node).map(|r| r.child.id())
    }

    /// SIGKILLs the node's process group and reaps it. False if it was not running.
    pub fn kill(&self, node: &str) -> bool {
        let Some(mut r) = self.running().remove(node) else {
            return false;
        };
        let pgid = r.child.id() as i32;
        let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
        let _ = r.child.wait();
        groups().remove(&pgid);
        true
    }

    /// SIGSTOPs the node's process group.
    pub fn pause(&self, node: &str) -> bool {
        self.signal(node, Signal::SIGSTOP, true)
    }

    /// SIGCONTs the node's process group.
    pub fn resume(&self, node: &str) -> bool {
        self.signal(node, Signal::SIGCONT, false)
    }

    fn signal(&self, node: &str, signal: Signal, paused: bool) -> bool {
        let mut running = self.running();
        let Some(r) = running.get_mut(node) else {
            return false;
        };
        r.paused = paused;
        killpg(Pid::from_raw(r.child.id() as i32), signal).is_ok()
    }

    pub fn is_paused(&self, node: &str) -> bool {
        self.running().get(node).is_some_and(|r| r.paused)
    }

    /// Nodes that exited on their own since the last look, reaped, with their status.
    pub fn exits(&self) -> Vec<(String, ExitStatus)> {
        let mut running = self.running();
        let exited: Vec<(String, ExitStatus)> = running
            .iter_mut()
            .filter_map(|(name, r)| match r.child.try_wait() {
                Ok(Some(status)) => Some((name.clone(), status)),
                _ => None,
            })
            .collect();
        for (name, _) in &exited {
            if let Some(r) = running.remove(name) {
                groups().remove(&(r.child.id() as i32));
            }
        }
        exited
    }

    /// Kills and reaps every node.
    pub fn shutdown(&self) {
        let names: Vec<String> = self.running().keys().cloned().collect();
        for name in names {
            self.kill(&name);
        }
    }
}

impl Default for Supervisor {
    fn default() -> Supervisor {
        Supervisor::new()
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        self.shutdown();
    }
}
