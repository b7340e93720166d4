//! Debian's etcd 3.4 (`apt-get install etcd-server`; `.ci/run` installs it) as a target: a
//! 3-member cluster whose client and peer links all cross the harness's proxies (each member's
//! peer connections routed through its own links by its launcher), driven by the register, the
//! lock and list-append over the v3 JSON gateway. The scenarios in `scenarios/`, shortened;
//! afterwards no etcd of the run may survive. Also: a clock fault and a missing `etcd` are refused with one line.

mod common;

use common::{
    assert_exit, assert_only_fencing_saves_a_paused_holder, faultline, results_dir, run,
    run_scenario,
};

/// Registers stay linearizable while members are cut off, killed and paused: linearizable
/// reads go through a read index.
#[test]
fn registers_on_etcd_stay_linearizable_under_partitions_kills_and_pauses() {
    let (code, r) = run_scenario("etcd-register-partition-kill", "etcd", "6");
    assert_eq!(code, Some(0), "{r}");
    assert!(r["faults"].as_u64().unwrap() >= 1, "{r}");
    assert!(r["history"]["stats"]["ok"].as_u64().unwrap() > 100, "{r}");
}

/// Transactions of reads and appends, each a read Txn and a commit Txn guarded by the keys'
/// revisions, stay strictly serializable while members are cut off and killed.
#[test]
fn list_append_on_etcd_stays_strictly_serializable_under_partitions_and_kills() {
    let (code, r) = run_scenario("etcd-list-append", "etcd", "6");
    assert_eq!(code, Some(0), "{r}");
    assert!(r["faults"].as_u64().unwrap() >= 1, "{r}");
    assert!(r["history"]["stats"]["ok"].as_u64().unwrap() > 50, "{r}");
}

/// Serializable reads from a leader cut off from the others are stale: not linearizable.
#[test]
fn serializable_reads_from_a_cut_off_leader_are_caught() {
    let (code, r) = run_scenario("etcd-serializable-reads", "etcd", "8");
    assert_eq!(code, Some(1), "{r}");
}

/// A holder paused past its lease: etcd expires the lease and hands the lock on; the paused
/// holder wakes and writes. Without fencing the resource takes both holders' writes; with the
/// lock key's create revision as the token it rejects the paused one's.
#[test]
fn a_paused_holder_loses_its_lease_and_only_fencing_saves_the_resource() {
    assert_only_fencing_saves_a_paused_holder(
        "etcd-lock-pause-unfenced",
        "etcd-lock-pause-fenced",
        "etcd",
    );
}

/// Go reads the clock through the vDSO, past the LD_PRELOAD shim: refused, with the reason.
#[test]
fn a_clock_fault_asked_of_etcd_is_refused_with_the_reason() {
    let results = results_dir("etcd-clock");
    let out = run(
        &[
            "--target",
            "etcd",
            "--nemesis",
            "clock",
            "--time-limit",
            "1",
        ],
        &results,
    );
    assert_exit(&out, 3);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].contains("clock") && lines[0].contains("vDSO"),
        "{stderr}"
    );
    std::fs::remove_dir_all(results).unwrap();
}

/// Without `etcd` on the PATH, one line names the package that brings it.
#[test]
fn a_missing_etcd_is_one_line_naming_its_package() {
    let results = results_dir("etcd-missing");
    let out = faultline()
        .args([
            "run",
            "--target",
            "etcd",
            "--time-limit",
            "1",
            "--quiet",
            "--results",
        ])
        .arg(&results)
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    assert_exit(&out, 3);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("apt-get install etcd-server"), "{stderr}");
    std::fs::remove_dir_all(results).unwrap();
}
