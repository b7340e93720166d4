//! Debian's Apache ZooKeeper (`apt-get install zookeeper`; `.ci/run` installs it) as a target:
//! a 3-node ensemble whose client, quorum and election links all cross the harness's proxies,
//! driven by the lock recipe and the register over znodes. The scenarios in `scenarios/`,
//! shortened; afterwards no JVM of the run may survive.

mod common;

use common::{assert_only_fencing_saves_a_paused_holder, run_scenario};

/// A holder paused past its session timeout: the ensemble expires the session and hands the
/// lock on; the paused holder wakes and writes. Without fencing the resource takes both
/// holders' writes; with the znode's czxid as the token it rejects the paused one's.
#[test]
fn a_paused_holder_loses_its_session_and_only_fencing_saves_the_resource() {
    assert_only_fencing_saves_a_paused_holder(
        "zookeeper-lock-pause-unfenced",
        "zookeeper-lock-pause-fenced",
        "zookeeper",
    );
}

/// Registers on znodes stay linearizable while nodes are cut off and killed.
#[test]
fn registers_on_znodes_stay_linearizable_under_partitions_and_kills() {
    let (code, r) = run_scenario("zookeeper-register", "zookeeper", "10");
    assert_eq!(code, Some(0), "{r}");
    assert!(r["faults"].as_u64().unwrap() >= 1, "{r}");
    assert!(r["history"]["stats"]["ok"].as_u64().unwrap() > 100, "{r}");
}
