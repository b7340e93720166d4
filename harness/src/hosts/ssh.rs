//! The transport to a host: the system's OpenSSH client, so `~/.ssh/config`, known_hosts and
//! ssh-agent behave as they do for the user, and no password is ever asked for (BatchMode).
//!
//! [`Ssh::connect`] starts one master connection per host (`ssh -M -N`), a child that dies with
//! the harness; every later command (a copy, the agent's session) is multiplexed over it
//! through its control socket, so a run opens one TCP connection per host however many
//! commands it sends. When the harness dies, the master dies, every session on it closes, and
//! the agent on the far side sees the end of its input and takes its nodes with it.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::inventory::Host;
use crate::supervisor::spawn_tied;

/// How long a host may take to accept the master connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// One host, reached over a multiplexed SSH connection.
pub struct Ssh {
    pub host: Host,
    /// The master's control socket (kept short: a Unix socket's path has ~100 bytes).
    socket: PathBuf,
    master: Child,
}

impl std::fmt::Debug for Ssh {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ssh")
            .field("host", &self.host.name)
            .finish()
    }
}

/// `'…'`: one word for the remote shell, whatever it holds.
pub fn quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

impl Ssh {
    /// Opens the master connection to `host` and waits until it is up.
    pub fn connect(host: &Host) -> Result<Ssh, String> {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let socket = std::env::temp_dir().join(format!(
            "fl-ssh-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_file(&socket);
        let mut command = base(host, &socket);
        command
            .args(["-M", "-N", "-o", "ControlPersist=no"])
            .arg(destination(host))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut master =
            spawn_tied(command).map_err(|e| format!("cannot run ssh for {}: {e}", host.name))?;
        let started = Instant::now();
        loop {
            if let Ok(Some(_)) = master.try_wait() {
                let mut err = String::new();
                if let Some(mut pipe) = master.stderr.take() {
                    let _ = pipe.read_to_string(&mut err);
                }
                return Err(format!(
                    "cannot reach host {} ({}): {}",
                    host.name,
                    destination(host),
                    last_line(&err)
                ));
            }
            if socket.exists() {
                // The master is up; its stderr is not read again (ssh writes little there).
                break;
            }
            if started.elapsed() > CONNECT_TIMEOUT {
                let _ = master.kill();
                let _ = master.wait();
                return Err(format!(
                    "cannot reach host {} ({}): no connection within {} s",
                    host.name,
                    destination(host),
                    CONNECT_TIMEOUT.as_secs()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(Ssh {
            host: host.clone(),
            socket,
            master,
        })
    }

    /// `ssh … host` over the master, ready for a remote command line.
    fn command(&self, remote: &str) -> Command {
        let mut command = base(&self.host, &self.socket);
        command
            .args(["-o", "ControlMaster=no"])
            .arg(destination(&self.host))
            .arg(remote);
        command
    }

    /// Runs `script` (a shell command line) on the host; its stdout, or an error quoting its
    /// stderr.
    pub fn run(&self, script: &str) -> Result<String, String> {
        let mut command = self.command(script);
        command.stdin(Stdio::null());
        let out = self.output(command, |why| {
            format!("on host {}: `{script}` failed: {why}", self.host.name)
        })?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    /// Runs `command` to its end: its stdout, or `failed(the reason ssh gave)`.
    fn output(
        &self,
        mut command: Command,
        failed: impl FnOnce(String) -> String,
    ) -> Result<Vec<u8>, String> {
        let out = command
            .output()
            .map_err(|e| format!("cannot run ssh for {}: {e}", self.host.name))?;
        if !out.status.success() {
            return Err(failed(last_line(&String::from_utf8_lossy(&out.stderr))));
        }
        Ok(out.stdout)
    }

    /// Copies the local file `from` to `to` on the host (written beside, then renamed, so a
    /// reader never sees half a file), with `mode`.
    pub fn upload(&self, from: &Path, to: &str, mode: &str) -> Result<(), String> {
        let file = std::fs::File::open(from)
            .map_err(|e| format!("cannot read {}: {e}", from.display()))?;
        // The host name too: hosts may share a file system (the local bed does).
        let tmp = format!("{to}.{}.{}.part", self.host.name, std::process::id());
        let script = format!(
            "cat > {t} && chmod {mode} {t} && mv -f {t} {to}",
            t = quote(&tmp),
            to = quote(to)
        );
        let mut command = self.command(&script);
        command.stdin(file);
        self.output(command, |why| {
            format!(
                "cannot copy {} to {}:{to}: {why}",
                from.display(),
                self.host.name
            )
        })
        .map(|_| ())
    }

    /// Copies the host's file `from` to the local `to`.
    pub fn download(&self, from: &str, to: &Path) -> Result<(), String> {
        self.download_with(&format!("cat {}", quote(from)), to)
    }

    /// Writes what `script` prints on the host into the local file `to`.
    pub fn download_with(&self, script: &str, to: &Path) -> Result<(), String> {
        let from = script;
        let file =
            std::fs::File::create(to).map_err(|e| format!("cannot write {}: {e}", to.display()))?;
        let mut command = self.command(script);
        command.stdin(Stdio::null()).stdout(file);
        self.output(command, |why| {
            format!("cannot copy {}:{from}: {why}", self.host.name)
        })
        .map(|_| ())
    }

    /// Starts `remote` on the host as a session of its own with piped stdin and stdout, its
    /// stderr appended to `log`; the session dies with the harness.
    pub fn session(&self, remote: &str, log: &Path) -> Result<Child, String> {
        let err = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| format!("cannot write {}: {e}", log.display()))?;
        let mut command = self.command(remote);
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(err);
        spawn_tied(command).map_err(|e| format!("cannot run ssh for {}: {e}", self.host.name))
    }
}

impl Drop for Ssh {
    fn drop(&mut self) {
        let _ = self.master.kill();
        let _ = self.master.wait();
        let _ = std::fs::remove_file(&self.socket);
    }
}

/// `ssh` with the host's port, key and known_hosts, never prompting.
fn base(host: &Host, socket: &Path) -> Command {
    let mut command = Command::new("ssh");
    command
        .arg("-p")
        .arg(host.port.to_string())
        .args(["-o", "BatchMode=yes"])
        .args(["-o", "ConnectTimeout=10"])
        // A host that stops answering is noticed in ~15 s rather than never.
        .args(["-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3"])
        .arg("-o")
        .arg(format!("ControlPath={}", socket.display()));
    if let Some(key) = &host.key {
        command
            .arg("-i")
            .arg(key)
            .args(["-o", "IdentitiesOnly=yes"]);
    }
    if let Some(known) = &host.known_hosts {
        command
            .arg("-o")
            .arg(format!("UserKnownHostsFile={}", known.display()));
    }
    command
}

/// `user@address`, or the address alone (ssh's config decides the user).
fn destination(host: &Host) -> String {
    match &host.user {
        Some(user) => format!("{user}@{}", host.address),
        None => host.address.to_string(),
    }
}

/// The last non-empty line of a command's stderr (ssh's reason), or a placeholder.
fn last_line(text: &str) -> String {
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map_or_else(|| "(no message)".into(), |l| l.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_keeps_a_word_whole() {
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn an_unreachable_host_is_one_line_naming_it() {
        let host = Host {
            name: "nowhere".into(),
            // A port nothing listens on, on loopback: refused at once.
            address: "127.0.0.1".parse().unwrap(),
            user: Some("nobody".into()),
            port: 1,
            key: None,
            known_hosts: None,
            dir: "/tmp".into(),
        };
        let err = Ssh::connect(&host).unwrap_err();
        assert!(
            err.starts_with("cannot reach host nowhere (nobody@127.0.0.1):"),
            "{err}"
        );
        assert!(!err.contains('\n'), "{err}");
    }
}
