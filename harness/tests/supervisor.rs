//! The process supervisor: whole process groups killed, paused and resumed, restarts on the
//! same log, and nodes that exit by themselves reaped and reported.

mod common;

use std::time::Duration;

use common::{group_members, process_state};
use faultline::supervisor::{NodeSpec, Supervisor};

fn wait(what: impl FnMut() -> bool) -> bool {
    common::wait_for(what, Duration::from_secs(5))
}

fn sleeper(name: &str, dir: &std::path::Path) -> NodeSpec {
    NodeSpec {
        name: name.into(),
        program: "/bin/sh".into(),
        // A child of the node too: kills must reach the whole group.
        args: vec!["-c".into(), "sleep 60 & echo started; wait".into()],
        env: Vec::new(),
        log: dir.join(format!("{name}.log")),
    }
}

fn alive(pid: u32) -> bool {
    // Zombies count as dead.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.contains(") Z "))
        .unwrap_or(false)
}

#[test]
fn kill_takes_the_whole_group_and_restart_brings_it_back() {
    let dir = std::env::temp_dir().join(format!("sup-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sup = Supervisor::new();
    let pid = sup.start(sleeper("n1", &dir)).unwrap();
    assert!(wait(|| group_members(pid).len() == 2), "node and its child");
    assert!(sup.kill("n1"));
    assert!(
        wait(|| group_members(pid).is_empty()),
        "{:?}",
        group_members(pid)
    );
    assert!(!sup.is_running("n1"));
    let again = sup.restart("n1").unwrap();
    assert_ne!(again, pid);
    assert!(sup.is_running("n1"));
    let log = dir.join("n1.log");
    let started = || std::fs::read_to_string(&log).map_or(0, |l| l.matches("started").count());
    assert!(
        wait(|| started() == 2),
        "the log is appended across restarts"
    );
    sup.shutdown();
    assert!(wait(|| group_members(again).is_empty()));
    let log = std::fs::read_to_string(dir.join("n1.log")).unwrap();
    assert_eq!(
        log.matches("started").count(),
        2,
        "log appended across restarts"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn pause_stops_and_resume_continues() {
    let dir = std::env::temp_dir().join(format!("sup-p-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sup = Supervisor::new();
    let pid = sup.start(sleeper("n2", &dir)).unwrap();
    assert!(wait(|| process_state(pid) == 'S'));
    assert!(sup.pause("n2"));
    assert!(wait(|| process_state(pid) == 'T'), "{}", process_state(pid));
    assert!(sup.is_paused("n2"));
    assert!(sup.resume("n2"));
    assert!(wait(|| process_state(pid) == 'S'), "{}", process_state(pid));
    drop(sup);
    assert!(wait(|| !alive(pid)));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_node_that_exits_on_its_own_is_reaped_and_reported() {
    let dir = std::env::temp_dir().join(format!("sup-e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sup = Supervisor::new();
    let mut spec = sleeper("n3", &dir);
    spec.args = vec!["-c".into(), "exit 7".into()];
    let pid = sup.start(spec).unwrap();
    let mut exits = Vec::new();
    assert!(wait(|| {
        exits.extend(sup.exits());
        !exits.is_empty()
    }));
    assert_eq!(exits[0].0, "n3");
    assert_eq!(exits[0].1.code(), Some(7));
    assert!(!alive(pid));
    std::fs::remove_dir_all(&dir).unwrap();
}
