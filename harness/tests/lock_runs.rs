//! The lock workload end to end, against the bundled redis-lock and Debian's redis-server
//! (`apt-get install redis-server`; `.ci/run` installs it): the scenarios in `scenarios/`,
//! shortened. Each fault that should break the lock must break it; each correct setup must
//! pass. Afterwards no node of the run may survive.

mod common;

use common::{analysis, run_scenario};

/// The kinds of the lock anomalies found.
fn kinds(r: &serde_json::Value) -> Vec<String> {
    analysis(r, "lock-safety")["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap().to_string())
        .collect()
}

fn counts(r: &serde_json::Value) -> &serde_json::Value {
    &analysis(r, "lock-safety")["counts"]
}

/// Kleppmann's scenario: with clients split as in his post, n3's clock jumps forward and its
/// key expires early; clients on the other side take a majority too. Two windows overlap, and
/// the anomaly names the clock jump. 14 s gives three jumps, each of which breaks a lease.
fn redlock_breaks_when_a_clock_jumps(target: &str) {
    let (code, r) = run_scenario("redlock-clock-jump", target, "14");
    assert_eq!(code, Some(1), "{r}");
    assert!(
        kinds(&r).contains(&"overlap".to_string()),
        "{:?}",
        kinds(&r)
    );
    let anomalies = analysis(&r, "lock-safety")["anomalies"].as_array().unwrap();
    let overlap = anomalies.iter().find(|a| a["kind"] == "overlap").unwrap();
    assert!(
        overlap["description"]
            .as_str()
            .unwrap()
            .contains("clock-bump"),
        "{overlap}"
    );
}

#[test]
fn redlock_breaks_when_a_clock_jumps_on_redis_server() {
    redlock_breaks_when_a_clock_jumps("redis-server");
}

#[test]
fn redlock_breaks_when_a_clock_jumps_on_the_bundled_server() {
    redlock_breaks_when_a_clock_jumps("redis-lock");
}

/// The same five instances and client split, no faults: Redlock holds.
fn redlock_holds_without_faults(target: &str) {
    let (code, r) = run_scenario("redlock-no-faults", target, "6");
    assert_eq!(code, Some(0), "{r}");
    // Each holding lasts about half the lease (5 writes, ttl/10 apart): a few in 6 s.
    assert!(counts(&r)["acquires"]["ok"].as_u64().unwrap() >= 3, "{r}");
    assert!(
        counts(&r)["writes"]["accepted"].as_u64().unwrap() >= 15,
        "{r}"
    );
}

#[test]
fn redlock_holds_without_faults_on_redis_server() {
    redlock_holds_without_faults("redis-server");
}

#[test]
fn redlock_holds_without_faults_on_the_bundled_server() {
    redlock_holds_without_faults("redis-lock");
}

#[test]
fn a_restarted_instance_without_persistence_forgets_the_lock() {
    let (code, r) = run_scenario("redlock-restart-no-persistence", "redis-lock", "8");
    assert_eq!(code, Some(1), "{r}");
    assert!(
        kinds(&r).contains(&"overlap".to_string()),
        "{:?}",
        kinds(&r)
    );
}

/// A holder paused past its lease between checking it and writing: without fencing the
/// resource accepts both holders' writes; with fencing it rejects the paused one's. Both on
/// Debian's redis-server: fencing is the one switch apart.
#[test]
fn a_paused_holder_writes_after_its_lease_unless_fenced() {
    let (code, r) = run_scenario("redis-single-pause-unfenced", "redis-server", "8");
    assert_eq!(code, Some(1), "{r}");
    assert!(
        kinds(&r).contains(&"interleaved".to_string()),
        "{:?}",
        kinds(&r)
    );
    let (code, r) = run_scenario("redis-single-pause-fenced", "redis-server", "8");
    assert_eq!(code, Some(0), "{r}");
    assert!(
        counts(&r)["writes"]["rejected"].as_u64().unwrap() > 0,
        "{r}"
    );
}

/// Renewal does not save a paused client: the watchdog pauses with it, another client takes
/// the lock, and the woken one writes as a holder beside it — unless the resource is fenced.
#[test]
fn the_watchdog_does_not_survive_a_client_pause_but_fencing_does() {
    let (code, r) = run_scenario("redis-watchdog-pause", "redis-server", "8");
    assert_eq!(code, Some(1), "{r}");
    let anomalies = analysis(&r, "lock-safety")["anomalies"].as_array().unwrap();
    let interleaved = anomalies
        .iter()
        .find(|a| a["kind"] == "interleaved")
        .unwrap_or_else(|| panic!("no interleaved writes in {anomalies:?}"));
    assert!(
        interleaved["description"]
            .as_str()
            .unwrap()
            .contains("pause-client"),
        "{interleaved}"
    );
    let (code, r) = run_scenario("redis-watchdog-pause-fenced", "redis-server", "8");
    assert_eq!(code, Some(0), "{r}");
    assert!(
        counts(&r)["writes"]["rejected"].as_u64().unwrap() > 0,
        "{r}"
    );
}
