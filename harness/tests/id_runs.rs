//! The unique-ids workload end to end against the bundled ID servers: the scenarios in
//! `scenarios/`, shortened. A snowflake without its clock guard hands out IDs twice when its
//! clock steps back; with the guard it refuses instead; UUIDs fear no clock; segments taken
//! from raft-kv by compare-and-set are never handed out twice. No node may survive a run.

mod common;

use common::{analysis, run_scenario};

fn report(r: &serde_json::Value) -> &serde_json::Value {
    analysis(r, "unique-ids")
}

#[test]
fn a_snowflake_without_its_clock_guard_repeats_ids_when_its_clock_steps_back() {
    let (code, r) = run_scenario("snowflake-clock-backwards", "snowflake", "8");
    assert_eq!(code, Some(1), "{r}");
    let report = report(&r);
    assert!(report["duplicated"].as_u64().unwrap() > 0, "{report}");
    // Each duplicate is decoded: one worker, one millisecond, one sequence number.
    let first = &report["duplicates"][0];
    assert!(first["decoded"]["worker"].as_u64().unwrap() >= 1, "{first}");
    assert!(first["ops"].as_array().unwrap().len() >= 2, "{first}");
    // The step back shows in the workers' order too, by about the jump.
    let regressions = analysis(&r, "monotonic")["regressions"].as_array().unwrap();
    assert!(!regressions.is_empty(), "{report}");
    assert!(
        regressions
            .iter()
            .any(|g| g["back_ms"].as_i64().unwrap() > 1000),
        "{regressions:?}"
    );
}

#[test]
fn a_guarded_snowflake_refuses_instead_of_repeating() {
    let (code, r) = run_scenario("snowflake-guarded-clock-backwards", "snowflake", "8");
    assert_eq!(code, Some(0), "{r}");
    let report = report(&r);
    assert_eq!(report["duplicated"], 0, "{report}");
    assert!(
        report["failed"]["clock-moved-backwards"].as_u64().unwrap() > 0,
        "{report}"
    );
    assert!(report["ids"].as_u64().unwrap() > 1000, "{report}");
}

#[test]
fn uuids_stay_unique_under_clock_jumps_kills_and_pauses() {
    let (code, r) = run_scenario("uuid", "uuid", "6");
    assert_eq!(code, Some(0), "{r}");
    assert!(report(&r)["ids"].as_u64().unwrap() > 1000, "{r}");
}

/// Leaf's segment mode over the bundled raft-kv: kills and partitions of ID servers and store
/// nodes leave gaps, never repeats; taking a segment without a compare-and-set repeats them.
#[test]
fn segments_taken_by_cas_survive_kills_and_partitions_and_without_cas_repeat() {
    let (code, r) = run_scenario("segment-kill-partition", "segment", "8");
    assert_eq!(code, Some(0), "{r}");
    assert!(report(&r)["ids"].as_u64().unwrap() > 1000, "{r}");
    let (code, r) = run_scenario("segment-non-atomic", "segment", "8");
    assert_eq!(code, Some(1), "{r}");
    assert!(report(&r)["duplicated"].as_u64().unwrap() > 0, "{r}");
}
