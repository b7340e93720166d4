//! `faultline hosts up N` / `faultline hosts down` end to end: real namespaces, a real bridge,
//! real sshd, real ssh. Needs root and Debian's openssh-server; fails (never skips) without.
//!
//! Each test builds its bed in its own temporary directory, so tests run in parallel, and a
//! guard takes the bed down even when an assertion fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use faultline::hosts::bed;
use faultline::hosts::inventory::{Host, Inventory};

fn require_root_and_sshd() {
    assert!(
        Path::new("/usr/sbin/sshd").is_file(),
        "these tests need /usr/sbin/sshd: apt-get install openssh-server"
    );
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let euid = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .and_then(|l| l.split_whitespace().nth(2))
        .unwrap();
    assert_eq!(
        euid, "0",
        "these tests need root (namespaces, bridge, sshd)"
    );
}

/// A fresh directory; taking the bed in it down when dropped.
struct BedDir(PathBuf);

impl BedDir {
    fn new(name: &str) -> BedDir {
        let dir = std::env::temp_dir().join(format!("faultline-bed-{name}-{}", std::process::id()));
        if dir.exists() {
            let _ = hosts(&dir, &["down"]);
            let _ = std::fs::remove_dir_all(&dir);
        }
        std::fs::create_dir_all(&dir).unwrap();
        BedDir(dir.canonicalize().unwrap())
    }
}

impl Drop for BedDir {
    fn drop(&mut self) {
        let _ = hosts(&self.0, &["down"]);
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn hosts(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_faultline"))
        .arg("hosts")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("faultline runs")
}

fn assert_ok(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "exit {:?}\n{stdout}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Runs `command` on `host` the way the harness will: its key, its known_hosts, strict.
fn ssh(host: &Host, command: &str) -> String {
    let out = Command::new("ssh")
        .arg("-i")
        .arg(host.key.as_ref().unwrap())
        .arg("-o")
        .arg(format!(
            "UserKnownHostsFile={}",
            host.known_hosts.as_ref().unwrap().display()
        ))
        .args(["-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes"])
        .args(["-o", "ConnectTimeout=5", "-p", &host.port.to_string()])
        .arg(format!(
            "{}@{}",
            host.user.as_deref().unwrap(),
            host.address
        ))
        .arg(command)
        .output()
        .expect("ssh runs");
    assert!(
        out.status.success(),
        "ssh to {}: {}",
        host.name,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Asserts nothing of the bed with `state` is left: namespaces, links, sshd, files.
fn assert_gone(dir: &Path, state: &bed::State) {
    let prefix = format!("fl-{}", state.tag);
    let netns = Command::new("ip").args(["netns", "list"]).output().unwrap();
    let netns = String::from_utf8_lossy(&netns.stdout);
    assert!(!netns.contains(&prefix), "namespaces left: {netns}");
    let links = Command::new("ip").args(["-o", "link"]).output().unwrap();
    let links = String::from_utf8_lossy(&links.stdout);
    for name in std::iter::once(&prefix)
        .chain(&state.veths)
        .chain(state.bridge.iter())
    {
        assert!(
            !links.contains(&format!(" {name}:")) && !links.contains(&format!(" {name}@")),
            "link {name} left: {links}"
        );
    }
    assert!(!links.contains(&format!("fl{}", state.tag)), "{links}");
    for pid in &state.sshd_pids {
        // A zombie (dead, waiting for init to reap it) is gone for our purposes.
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        assert!(
            stat.contains(") Z ") || !String::from_utf8_lossy(&cmdline).contains("sshd"),
            "sshd {pid} still running"
        );
    }
    assert!(!dir.join(bed::STATE_DIR).exists(), ".faultline-bed left");
    assert!(!dir.join("hosts.toml").exists(), "hosts.toml left");
}

#[test]
fn a_bed_answers_ssh_and_goes_away_without_a_trace() {
    require_root_and_sshd();
    let dir = BedDir::new("one");
    let out = assert_ok(&hosts(&dir.0, &["up", "3"]));
    assert!(out.contains("3 hosts"), "{out}");

    let inventory = Inventory::load(&dir.0.join("hosts.toml")).unwrap();
    assert_eq!(inventory.hosts.len(), 3);
    assert_eq!(inventory.control.client_addresses.len(), 8);
    let state = bed::state(&dir.0).unwrap().expect("a state file");
    assert_eq!(state.namespaces.len(), 3);
    assert_eq!(state.sshd_pids.len(), 3);

    for (host, ns) in inventory.hosts.iter().zip(&state.namespaces) {
        assert_eq!(host.user.as_deref(), Some("root"));
        assert!(host.key.as_ref().unwrap().is_absolute());
        // The host sees its own address, and the command ran inside its namespace.
        let seen = ssh(host, "ip -o addr; echo ns=$(ip netns identify $$)");
        assert!(
            seen.contains(&format!("inet {}/24", host.address)),
            "{}: {seen}",
            host.name
        );
        assert!(
            seen.contains(&format!("ns={ns}\n")),
            "{}: {seen}",
            host.name
        );
    }
    // Hosts reach each other across the bridge.
    let (h1, h3) = (&inventory.hosts[0], &inventory.hosts[2]);
    let banner = ssh(
        h1,
        &format!("exec 3<>/dev/tcp/{}/22; head -c 7 <&3", h3.address),
    );
    assert_eq!(banner, "SSH-2.0");

    let again = hosts(&dir.0, &["up", "2"]);
    assert_eq!(again.status.code(), Some(3));
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("a bed is already up here (3 hosts)"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    let out = assert_ok(&hosts(&dir.0, &["down"]));
    assert!(out.contains("bed down"), "{out}");
    assert_gone(&dir.0, &state);
    // Once more: nothing to do, still a success.
    let out = assert_ok(&hosts(&dir.0, &["down"]));
    assert!(out.contains("no bed here"), "{out}");
}

#[test]
fn two_beds_in_two_directories_do_not_collide() {
    require_root_and_sshd();
    let dirs = [BedDir::new("left"), BedDir::new("right")];
    // Both at once, as parallel tests would.
    std::thread::scope(|s| {
        for d in &dirs {
            s.spawn(|| assert_ok(&hosts(&d.0, &["up", "2"])));
        }
    });
    let states: Vec<bed::State> = dirs
        .iter()
        .map(|d| bed::state(&d.0).unwrap().unwrap())
        .collect();
    assert_ne!(states[0].tag, states[1].tag);
    assert_ne!(states[0].subnet, states[1].subnet);
    for d in &dirs {
        let inventory = Inventory::load(&d.0.join("hosts.toml")).unwrap();
        for host in &inventory.hosts {
            let seen = ssh(host, "ip -o addr");
            assert!(seen.contains(&host.address.to_string()), "{seen}");
        }
    }
    // Taking one down leaves the other working.
    assert_ok(&hosts(&dirs[0].0, &["down"]));
    assert_gone(&dirs[0].0, &states[0]);
    let inventory = Inventory::load(&dirs[1].0.join("hosts.toml")).unwrap();
    ssh(&inventory.hosts[1], "true");
    assert_ok(&hosts(&dirs[1].0, &["down"]));
    assert_gone(&dirs[1].0, &states[1]);
}

#[test]
fn down_succeeds_when_pieces_are_already_gone() {
    require_root_and_sshd();
    let dir = BedDir::new("partial");
    assert_ok(&hosts(&dir.0, &["up", "2"]));
    let state = bed::state(&dir.0).unwrap().unwrap();
    // Someone removed a namespace and a veth by hand.
    let ns = &state.namespaces[1];
    for args in [
        vec!["link", "del", state.veths[1].as_str()],
        vec!["netns", "del", ns.as_str()],
    ] {
        let out = Command::new("ip").args(&args).output().unwrap();
        assert!(out.status.success(), "ip {args:?}");
    }
    let out = assert_ok(&hosts(&dir.0, &["down"]));
    assert!(out.contains("already gone"), "{out}");
    assert_gone(&dir.0, &state);
}

#[test]
fn a_hand_written_hosts_toml_is_never_overwritten() {
    require_root_and_sshd();
    let dir = BedDir::new("mine");
    std::fs::write(dir.0.join("hosts.toml"), "[[host]]\n").unwrap();
    let out = hosts(&dir.0, &["up", "1"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not written by a bed"));
    assert!(!dir.0.join(bed::STATE_DIR).exists());
    assert_eq!(
        std::fs::read_to_string(dir.0.join("hosts.toml")).unwrap(),
        "[[host]]\n"
    );
}

#[test]
fn an_up_that_fails_midway_removes_what_it_made_and_nothing_else() {
    require_root_and_sshd();
    let dir = BedDir::new("midway");
    // Someone else's interface holds the name host 2's veth would take.
    let tag = bed::tag(&dir.0);
    let squatter = format!("fl{tag}h2");
    let made = Command::new("ip")
        .args(["link", "add", &squatter, "type", "bridge"])
        .status()
        .unwrap();
    assert!(made.success());
    let out = hosts(&dir.0, &["up", "3"]);
    let still_there = Command::new("ip")
        .args(["link", "show", &squatter])
        .output()
        .unwrap();
    let _ = Command::new("ip").args(["link", "del", &squatter]).status();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&squatter), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        still_there.status.success(),
        "the bed removed a link it did not make"
    );
    let partial = bed::State {
        tag: tag.clone(),
        bridge: Some(format!("fl-{tag}")),
        veths: vec![format!("fl{tag}h1"), format!("fl{tag}h3")],
        ..bed::State::default()
    };
    assert_gone(&dir.0, &partial);
}
