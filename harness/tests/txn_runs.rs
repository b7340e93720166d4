//! The bundled transaction targets through the harness: the coordinator-kill scenarios in
//! `scenarios/`, shortened, and what the blocking checker measures of them — 2PC's
//! participants in doubt for as long as their coordinator is down, 3PC's deciding without it
//! within its timeouts. Afterwards no node of the run may survive.

mod common;

use common::{analysis, run_scenario};

/// The blocking checker's report of a run, with its downtime checked to be there.
fn blocking(r: &serde_json::Value) -> &serde_json::Value {
    let b = analysis(r, "blocking");
    assert!(b["downtime_ns"].as_u64().unwrap() > 0, "no downtime: {r}");
    assert_eq!(analysis(r, "atomicity")["valid"], true, "{r}");
    b
}

/// 2PC is atomic but blocks: with the coordinator killed while votes are held, participants
/// sit prepared, asking, for (nearly) all of its downtime — the bar is 80 % of it.
#[test]
fn twopc_participants_are_in_doubt_while_the_coordinator_is_down() {
    let (code, r) = run_scenario("2pc-coordinator-kill", "2pc", "10");
    assert_eq!(code, Some(0), "{r}");
    let b = blocking(&r);
    let ratio = b["in_doubt_during_downtime_ratio"].as_f64().unwrap();
    assert!(ratio >= 0.8, "in doubt for {ratio} of the downtime: {b}");
}

/// 3PC does not block on a crash: participants whose coordinator is gone run the termination
/// protocol and decide within about a second (0.6 s of silence, then 0.3-s attempts), however
/// long the coordinator stays down — so they spend most of a 3-s outage decided.
#[test]
fn threepc_participants_decide_without_the_coordinator_within_its_timeouts() {
    let (code, r) = run_scenario("3pc-coordinator-kill", "3pc", "10");
    assert_eq!(code, Some(0), "{r}");
    let b = blocking(&r);
    let longest = b["longest"]["ns"].as_u64().unwrap();
    assert!(longest < 2_000_000_000, "in doubt for {longest} ns: {b}");
    let ratio = b["in_doubt_during_downtime_ratio"].as_f64().unwrap();
    assert!(ratio < 0.8, "in doubt for {ratio} of the downtime: {b}");
}
