//! `faultline run` end to end: real raft-kv node processes behind the proxy fabric, short runs.
//!
//! Each test stores its runs in its own temporary results folder and, afterwards, looks in
//! /proc for any process whose command line mentions that folder: none may survive.

mod common;

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

use nemesis::{FaultKind, Plan, schedule};

use common::{
    analysis, assert_all_gone, assert_exit, faultline, node_ports, results_dir, results_json, run,
    run_scenario, survivors, wait_for,
};

/// The first seed whose schedule for an 8-s run of 3 nodes, one fault a second, draws each of
/// partition, kill and pause at least once: the seed picks which fault fills each slot, so a
/// fixed seed would test whatever its draws happen to be.
fn seed_drawing_every_fault() -> u64 {
    let nodes: Vec<String> = ["n1", "n2", "n3"].map(String::from).to_vec();
    let faults = [FaultKind::Partition, FaultKind::Kill, FaultKind::Pause];
    let plan = Plan {
        faults: faults.to_vec(),
        interval: Duration::from_secs(1),
        ..Plan::default()
    };
    (0..)
        .find(|&seed| {
            let drawn: Vec<&str> = schedule(&plan, &nodes, &[], Duration::from_secs(8), seed)
                .iter()
                .map(|s| s.action.f())
                .collect();
            ["start-partition", "kill", "pause"]
                .iter()
                .all(|f| drawn.contains(f))
        })
        .unwrap()
}

#[test]
fn the_correct_raft_kv_stays_linearizable_under_partitions_kills_and_pauses() {
    let results = results_dir("valid");
    let seed = seed_drawing_every_fault().to_string();
    let out = run(
        &[
            "--nodes",
            "3",
            "--time-limit",
            "8",
            "--interval",
            "1",
            "--rate",
            "60",
            "--concurrency",
            "6",
            "--seed",
            &seed,
            "--nemesis",
            "partition,kill,pause",
        ],
        &results,
    );
    let stdout = assert_exit(&out, 0);
    let r = results_json(&results);
    assert_eq!(r["valid"], true);
    let stats = &r["history"]["stats"];
    assert!(stats["ok"].as_u64().unwrap() > 50, "{stats}");
    // The faults show as refusals and timeouts, which cost availability.
    assert!(stats["availability"].as_f64().unwrap() < 1.0, "{stats}");
    let errors = stats["errors"].as_array().unwrap();
    assert!(errors.iter().any(|e| e["answer"] == false), "{stats}");
    let history = std::fs::read_to_string(results.join("latest").join("history.jsonl")).unwrap();
    for f in ["start-partition", "stop-partition", "kill", "pause"] {
        assert!(
            history.contains(&format!("\"f\":\"{f}\"")),
            "no {f} in the history"
        );
    }
    assert!(history.contains("\"process\":\"nemesis\""));
    assert!(results.join("latest").join("nodes").join("n1.log").exists());
    let log = std::fs::read_to_string(results.join("latest").join("faultline.log")).unwrap();
    assert!(log.contains("links: through the fabric's proxies"), "{log}");
    // The summary counts the faults that struck, by kind.
    let struck = r["faults_by_kind"].as_object().unwrap();
    for kind in ["partition", "kill", "pause"] {
        assert!(struck[kind].as_u64().unwrap() >= 1, "{struck:?}");
        assert!(stdout.contains(&format!("{kind} ×")), "{stdout}");
    }
    assert!(
        stdout.contains("verdict") && stdout.contains("valid"),
        "{stdout}"
    );
    assert!(survivors(&results).is_empty(), "{:?}", survivors(&results));
    std::fs::remove_dir_all(results).unwrap();
}

#[test]
fn without_faults_a_cas_that_compares_false_is_an_answer_and_availability_stays_whole() {
    let results = results_dir("answers");
    let args = ["--nemesis", "none", "--nodes", "3", "--time-limit", "3"];
    let out = run(
        &[&args[..], &["--rate", "300", "--concurrency", "8"]].concat(),
        &results,
    );
    let stdout = assert_exit(&out, 0);
    let stats = &results_json(&results)["history"]["stats"];
    let answers = stats["answers"].as_u64().unwrap();
    assert!(answers > 0, "no cas compared false: {stats}");
    let mismatches: u64 = stats["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["error"] == "cas-mismatch")
        .inspect(|e| assert_eq!(e["answer"], true, "{e}"))
        .map(|e| e["count"].as_u64().unwrap())
        .sum();
    assert_eq!(mismatches, answers, "{stats}");
    assert!(stats["availability"].as_f64().unwrap() >= 0.99, "{stats}");
    assert!(stdout.contains("cas-mismatch — an answer"), "{stdout}");
    // Nothing cuts or shapes a link: no proxy stands between the clients and the nodes.
    let log = std::fs::read_to_string(results.join("latest").join("faultline.log")).unwrap();
    assert!(log.contains("links: straight to the nodes"), "{log}");
    std::fs::remove_dir_all(results).unwrap();
}

#[test]
fn stale_reads_are_caught_under_partitions() {
    // The catalogue's scenario at its CI length: two partitions, each of a shape that strands
    // the leader, and 0.25-s operation timeouts (docs/suite.md says why; invalid in every one
    // of ten runs at this length). A hand-made 10-s variant with one shape missed now and then.
    let (code, r) = run_scenario("raft-kv-stale-reads", "raft-kv", "12");
    assert_eq!(code, Some(1), "{r}");
    assert_eq!(r["valid"], false);
    let keys = analysis(&r, "linearizable")["partitions"]
        .as_array()
        .unwrap();
    assert!(
        keys.iter()
            .any(|k| k["valid"] == false && k["counterexample"]["op"].is_object()),
        "{r}"
    );
}

/// Starts a long run in the background and waits until its history has some operations.
fn start_long_run(results: &Path) -> Child {
    let child = faultline()
        .args([
            "run",
            "--nodes",
            "5",
            "--time-limit",
            "60",
            "--seed",
            "5",
            "--quiet",
            "--results",
        ])
        .arg(results)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let history = results.join("latest").join("history.jsonl");
    assert!(
        wait_for(
            || std::fs::read_to_string(&history).is_ok_and(|h| h.lines().count() > 20),
            Duration::from_secs(20)
        ),
        "the run never got going"
    );
    child
}

#[test]
fn sigint_mid_run_stops_every_node_and_frees_every_port() {
    let results = results_dir("sigint");
    let mut child = start_long_run(&results);
    let ports = node_ports(&results);
    assert_eq!(
        ports.len(),
        10,
        "5 nodes, a client and a peer port each: {ports:?}"
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(3));
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert_all_gone(&results, &ports);
    // What the recorder had buffered was written on the way out: whole lines, and at least
    // what was on disk before the signal.
    let history = std::fs::read_to_string(results.join("latest").join("history.jsonl")).unwrap();
    assert!(history.ends_with('\n') && history.lines().count() > 20);
    checkers::history::read_jsonl("history.jsonl", &history).expect("every line parses");
    std::fs::remove_dir_all(results).unwrap();
}

#[test]
fn sigkill_of_the_harness_takes_the_cluster_and_leaves_a_checkable_history() {
    let results = results_dir("sigkill");
    let mut child = start_long_run(&results);
    let ports = node_ports(&results);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_all_gone(&results, &ports);
    let history = std::fs::canonicalize(results.join("latest").join("history.jsonl")).unwrap();
    let check = faultline()
        .args(["check", "--model", "cas-register"])
        .arg(&history)
        .output()
        .unwrap();
    let code = check.status.code();
    assert!(
        code == Some(0) || code == Some(1),
        "the history must check (valid or not), got {code:?}: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    std::fs::remove_dir_all(results).unwrap();
}

#[test]
fn bad_input_is_one_line_and_exit_3_with_nothing_started() {
    let results = results_dir("bad");
    let cases: [(&[&str], &str); 6] = [
        (&["--target", "nope"], "unknown target `nope`"),
        (&["--workload", "ledger"], "unknown workload `ledger`"),
        (
            &["--workload", "lock"],
            "workload lock has no client for target raft-kv's protocol http-kv",
        ),
        (
            &["--nemesis", "partition,meteor"],
            "unknown nemesis `meteor`",
        ),
        (&["--bug", "nope"], "no bug `nope`"),
        (&["--nodes", "0"], "nodes must be positive"),
    ];
    for (args, want) in cases {
        let out = run(args, &results);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    }
    let scenario = results.join("bad.toml");
    std::fs::write(&scenario, "nodes = 3\ntime-limit = [\n").unwrap();
    let out = run(&[scenario.to_str().unwrap()], &results);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3));
    assert!(err.contains("bad.toml:"), "{err}");
    std::fs::write(
        &scenario,
        "standing-partition = \"client-split\"\nnemesis = [\"partition\"]\n",
    )
    .unwrap();
    let out = run(&[scenario.to_str().unwrap()], &results);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("cannot be combined"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(!results.join("latest").exists(), "nothing ran");
    std::fs::remove_dir_all(results).unwrap();
}
