//! The bundled `zab` ensemble as a target, through the harness: the same lock recipe and
//! register client as against Apache ZooKeeper (`zookeeper_runs.rs`), the scenarios in
//! `scenarios/`, shortened. Afterwards no node of the run may survive.

mod common;

use common::{analysis, run_scenario};

/// A holder paused past its session timeout: zab expires the session (a transaction through
/// ZAB) and hands the lock on; the paused holder wakes and writes. Without fencing the
/// resource takes both holders' writes; with the znode's czxid as token it rejects the late
/// one. Without faults the lock holds.
#[test]
fn the_lock_on_zab_holds_without_faults_and_breaks_under_an_unfenced_pause() {
    let (code, r) = run_scenario("zab-lock-no-faults", "zab", "4");
    assert_eq!(code, Some(0), "{r}");
    let counts = &analysis(&r, "lock-safety")["counts"];
    assert!(counts["acquires"]["ok"].as_u64().unwrap() >= 3, "{r}");
    let (code, r) = run_scenario("zab-lock-pause-unfenced", "zab", "8");
    assert_eq!(code, Some(1), "{r}");
    let (code, r) = run_scenario("zab-lock-pause-fenced", "zab", "8");
    assert_eq!(code, Some(0), "{r}");
    let rejected = &analysis(&r, "lock-safety")["counts"]["writes"]["rejected"];
    assert!(rejected.as_u64().unwrap() > 0, "{r}");
}

/// Registers on zab's znodes stay linearizable while nodes are cut off, killed and paused.
#[test]
fn registers_on_zab_stay_linearizable_under_partitions_kills_and_pauses() {
    let (code, r) = run_scenario("zab-register-partition-kill", "zab", "10");
    assert_eq!(code, Some(0), "{r}");
    assert!(r["faults"].as_u64().unwrap() >= 1, "{r}");
    assert!(r["ready_s"].as_f64().is_some(), "{r}");
}
