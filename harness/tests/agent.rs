//! `faultline agent` end to end: the built binary driven through an `AgentLink`, as a run
//! drives it over SSH — nodes started, hurt, restarted and reported; clocks; ports; the agent's
//! death taking its nodes with it; firewall rules (in a throwaway network namespace, so the
//! host's own rules are never touched); and netem refused where the kernel lacks it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

mod common;

use common::{group_members, process_state};
use faultline::agent::link::AgentLink;
use faultline::agent::protocol::{Answer, Request};

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fl-agent-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn agent_command(prefix: &[&str], dir: &Path) -> Command {
    let exe = env!("CARGO_BIN_EXE_faultline");
    let mut command = if prefix.is_empty() {
        Command::new(exe)
    } else {
        let mut c = Command::new(prefix[0]);
        c.args(&prefix[1..]).arg(exe);
        c
    };
    command
        .arg("agent")
        .arg("--dir")
        .arg(dir)
        .stderr(Stdio::inherit());
    command
}

fn link(name: &str, dir: &Path) -> AgentLink {
    AgentLink::spawn(name, agent_command(&[], dir)).expect("the agent starts")
}

fn wait_for(what: impl FnMut() -> bool) -> bool {
    common::wait_for(what, Duration::from_secs(10))
}

fn sleeper(node: &str) -> Request {
    Request::Start {
        node: node.into(),
        program: "/bin/sh".into(),
        args: vec!["-c".into(), "sleep 600 & echo up; wait".into()],
        env: Vec::new(),
        log: format!("{node}.log"),
    }
}

fn pid_of(answer: Answer) -> u32 {
    match answer {
        Answer::Pid(pid) => pid,
        other => panic!("not a pid: {other:?}"),
    }
}

fn status(link: &AgentLink, node: &str) -> (bool, bool) {
    match link.call(Request::Status { node: node.into() }).unwrap() {
        Answer::Status { running, paused } => (running, paused),
        other => panic!("not a status: {other:?}"),
    }
}

#[test]
fn the_agent_supervises_nodes_and_takes_them_with_it() {
    let dir = tmp("nodes");
    let agent = link("local", &dir);
    let hello = agent.hello().unwrap();
    assert_eq!(hello.arch, std::env::consts::ARCH);
    assert_eq!(hello.os, "linux");
    assert_eq!(Path::new(&hello.dir), std::path::absolute(&dir).unwrap());
    assert!(dir.is_dir(), "the agent creates its directory");

    let Answer::Ports(ports) = agent
        .call(Request::Ports {
            bind: "127.0.0.1".parse().unwrap(),
            count: 3,
        })
        .unwrap()
    else {
        panic!("ports")
    };
    assert_eq!(ports.len(), 3);
    assert!(ports.iter().all(|&p| p != 0));

    assert_eq!(
        agent
            .call(Request::Missing {
                programs: vec!["sh".into(), "/nonexistent/x".into()],
            })
            .unwrap(),
        Answer::Missing(vec!["/nonexistent/x".into()])
    );

    let pid = pid_of(agent.call(sleeper("n1")).unwrap());
    assert!(wait_for(|| group_members(pid).len() == 2), "node and child");
    assert_eq!(status(&agent, "n1"), (true, false));

    assert_eq!(
        agent.call(Request::Pause { node: "n1".into() }).unwrap(),
        Answer::Done(true)
    );
    assert_eq!(status(&agent, "n1"), (true, true));
    assert!(
        wait_for(|| process_state(pid) == 'T'),
        "{}",
        process_state(pid)
    );
    agent.call(Request::Resume { node: "n1".into() }).unwrap();
    assert!(
        wait_for(|| process_state(pid) == 'S'),
        "{}",
        process_state(pid)
    );
    assert_eq!(status(&agent, "n1"), (true, false));

    assert_eq!(
        agent.call(Request::Kill { node: "n1".into() }).unwrap(),
        Answer::Done(true)
    );
    assert!(wait_for(|| group_members(pid).is_empty()), "whole group");
    assert_eq!(status(&agent, "n1"), (false, false));

    let again = pid_of(agent.call(Request::Restart { node: "n1".into() }).unwrap());
    assert_ne!(again, pid);
    assert_eq!(status(&agent, "n1"), (true, false));
    let log = dir.join("n1.log");
    assert!(
        wait_for(|| std::fs::read_to_string(&log).is_ok_and(|l| l.matches("up").count() == 2)),
        "the log is appended across restarts"
    );

    let clock = dir.join("n1.clock");
    assert_eq!(
        agent
            .call(Request::Clock {
                file: clock.to_string_lossy().into_owned(),
                offset_ns: -1_500_000_000,
            })
            .unwrap(),
        Answer::Done(true)
    );
    assert_eq!(targets::clock::read_offset(&clock), -1_500_000_000);

    let Answer::Path(shim) = agent.call(Request::Shim).unwrap() else {
        panic!("shim")
    };
    assert!(Path::new(&shim).is_file());

    agent
        .call(Request::Start {
            node: "n2".into(),
            program: "/bin/sh".into(),
            args: vec!["-c".into(), "exit 7".into()],
            env: Vec::new(),
            log: "n2.log".into(),
        })
        .unwrap();
    let mut exits = Vec::new();
    assert!(wait_for(|| {
        if let Answer::Exits(e) = agent.call(Request::Exits).unwrap() {
            exits.extend(e);
        }
        !exits.is_empty()
    }));
    assert_eq!(
        exits,
        vec![("n2".to_string(), "exit status: 7".to_string())]
    );

    let err = agent
        .call(Request::Restart { node: "n1".into() })
        .unwrap_err();
    assert!(err.contains("already running"), "{err}");

    // The end of the session: the agent takes its nodes with it.
    drop(agent);
    assert!(
        wait_for(|| group_members(again).is_empty()),
        "{:?}",
        group_members(again)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_killed_agent_takes_its_nodes_with_it() {
    let dir = tmp("killed");
    let agent = link("local", &dir);
    let pid = pid_of(agent.call(sleeper("n1")).unwrap());
    assert!(wait_for(|| group_members(pid).len() == 2));
    let agent_pid = agent.hello().unwrap().pid;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(agent_pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    assert!(
        wait_for(|| group_members(pid).is_empty()),
        "the parent-death signal: {:?}",
        group_members(pid)
    );
    let err = agent.call(Request::Exits).unwrap_err();
    assert_eq!(err, "the agent on local is gone");
    drop(agent);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_terminated_agent_cleans_up() {
    let dir = tmp("term");
    let agent = link("local", &dir);
    let pid = pid_of(agent.call(sleeper("n1")).unwrap());
    assert!(wait_for(|| group_members(pid).len() == 2));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(agent.pid() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert!(wait_for(|| group_members(pid).is_empty()));
    drop(agent);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn shaping_is_refused_clearly_without_netem() {
    let dir = tmp("netem");
    let agent = link("local", &dir);
    let netem = agent.hello().unwrap().netem;
    let shaped = agent.call(Request::Shape {
        address: "127.0.0.1".parse().unwrap(),
        latency_ms: 10.0,
        loss: 0.0,
    });
    if netem {
        // A kernel with netem: the shape works, and zero removes it.
        assert_eq!(shaped, Ok(Answer::Done(true)));
        assert_eq!(
            agent.call(Request::Shape {
                address: "127.0.0.1".parse().unwrap(),
                latency_ms: 0.0,
                loss: 0.0,
            }),
            Ok(Answer::Done(true))
        );
    } else {
        let err = shaped.unwrap_err();
        assert!(err.contains("netem"), "{err}");
    }
    drop(agent);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A network namespace of the test's own, deleted however the test ends.
struct Netns(String);

impl Netns {
    fn new() -> Netns {
        let name = format!("fl-agt-{}", std::process::id());
        // A namespace left by an earlier test process with the same pid.
        let _ = Command::new("ip")
            .args(["netns", "del", &name])
            .stderr(Stdio::null())
            .status();
        let ok = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            ok,
            "the firewall test needs root and `ip netns` (iproute2) to make a namespace"
        );
        Netns(name)
    }

    /// `iptables -S` of `chain` (or of everything) inside the namespace.
    fn rules(&self, chain: Option<&str>) -> (bool, String) {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.0, "iptables", "-w", "-S"]);
        if let Some(chain) = chain {
            command.arg(chain);
        }
        let output = command.output().unwrap();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        )
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

#[test]
fn partitions_are_tagged_rules_in_a_chain_of_our_own() {
    assert!(
        Command::new("iptables")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success()),
        "the firewall test needs the `iptables` program"
    );
    let ns = Netns::new();
    let dir = tmp("fw");
    let start = || {
        let mut command = agent_command(&["ip", "netns", "exec", &ns.0], &dir);
        // As if started by sshd listening on port 2222: that port must stay reachable.
        command.env("SSH_CONNECTION", "10.99.0.1 50000 10.99.0.2 2222");
        AgentLink::spawn("netns", command).unwrap()
    };
    let jump = "-A INPUT -m comment --comment faultline -j FAULTLINE";

    let agent = start();
    assert!(agent.hello().unwrap().firewall);
    let from = vec!["10.99.0.5".parse().unwrap(), "10.99.0.6".parse().unwrap()];
    assert_eq!(
        agent.call(Request::Drop { from }).unwrap(),
        Answer::Done(true)
    );
    let (ok, chain) = ns.rules(Some("FAULTLINE"));
    assert!(ok, "the chain exists");
    for address in ["10.99.0.5", "10.99.0.6"] {
        let rule = format!("-A FAULTLINE -s {address}/32 -m comment --comment faultline -j DROP");
        assert!(chain.contains(&rule), "{rule} in:\n{chain}");
    }
    assert!(ns.rules(None).1.contains(jump), "{}", ns.rules(None).1);
    let spare = "-A FAULTLINE -p tcp -m tcp --dport 2222 -m comment --comment faultline -j RETURN";
    assert!(
        chain.lines().nth(1) == Some(spare),
        "the SSH port is spared first:\n{chain}"
    );

    // A heal empties the chain.
    agent.call(Request::Drop { from: Vec::new() }).unwrap();
    let (_, chain) = ns.rules(Some("FAULTLINE"));
    assert!(!chain.contains("-A FAULTLINE"), "{chain}");

    // A killed agent leaves its rules; the next one clears them before its first answer.
    agent
        .call(Request::Drop {
            from: vec!["10.99.0.7".parse().unwrap()],
        })
        .unwrap();
    let killed = agent.hello().unwrap().pid;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(killed as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    drop(agent);
    assert!(ns.rules(Some("FAULTLINE")).1.contains("10.99.0.7"));
    let agent = start();
    agent.hello().unwrap();
    let (exists, _) = ns.rules(Some("FAULTLINE"));
    assert!(!exists, "leftovers are cleared at start");
    assert!(!ns.rules(None).1.contains("FAULTLINE"));

    // The end of the session removes everything.
    agent
        .call(Request::Drop {
            from: vec!["10.99.0.8".parse().unwrap()],
        })
        .unwrap();
    assert!(ns.rules(None).1.contains(jump));
    drop(agent);
    let all = ns.rules(None).1;
    assert!(!all.contains("FAULTLINE"), "{all}");
    let _ = std::fs::remove_dir_all(&dir);
}
