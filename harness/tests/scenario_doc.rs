//! docs/scenario.md against the code: every scenario field has its row there, and no row names a
//! field that is gone; and `faultline run --print-scenario` prints the scenario a run would
//! store, target defaults included.

use std::process::Command;

use faultline::scenario::{ScenarioFile, common_fields};
use workloads::registry;

const DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/scenario.md");

/// The fields docs/scenario.md has a row for: a table row's first cell, in backquotes.
fn documented() -> Vec<String> {
    let text = std::fs::read_to_string(DOC).unwrap_or_else(|e| panic!("{DOC}: cannot read: {e}"));
    text.lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|rest| rest.split_once('`'))
        .map(|(field, _)| field.to_string())
        .collect()
}

/// Every field the code knows, each with what owns it (for messages).
fn known() -> Vec<(&'static str, String)> {
    let mut fields: Vec<(&str, String)> = common_fields()
        .iter()
        .map(|f| (*f, "Common (every scenario)".to_string()))
        .collect();
    for w in registry::ALL {
        for f in w.fields() {
            fields.push((f, format!("the {} workload's settings", w.name())));
        }
    }
    fields
}

#[test]
fn every_scenario_field_has_a_row_in_the_reference() {
    let documented = documented();
    let known = known();
    for (field, owner) in &known {
        assert!(
            documented.iter().any(|d| d == field),
            "docs/scenario.md has no row for `{field}`, a field of {owner}"
        );
    }
    for d in &documented {
        assert!(
            known.iter().any(|(f, _)| f == d),
            "docs/scenario.md has a row for `{d}`, which is no scenario field"
        );
    }
    for d in &documented {
        assert_eq!(
            documented.iter().filter(|x| *x == d).count(),
            1,
            "docs/scenario.md has more than one row for `{d}`"
        );
    }
}

/// Runs `faultline run <args> --print-scenario`, from the workspace (where scenarios/ is).
fn print_scenario(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .arg("run")
        .args(args)
        .arg("--print-scenario")
        .output()
        .expect("faultline runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "faultline run {args:?} --print-scenario: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn print_scenario_gives_the_target_defaults_as_a_scenario_file() {
    let redis = print_scenario(&["--target", "redis-lock", "--seed", "7"]);
    let raft = print_scenario(&["--target", "raft-kv", "--seed", "7"]);
    let parse = |text: &str| {
        ScenarioFile::parse("printed", text)
            .unwrap_or_else(|e| panic!("the printed scenario does not parse: {e}\n{text}"))
            .resolve(1)
    };
    let (redis, raft) = (parse(&redis), parse(&raft));
    assert_eq!(
        (redis.workload.as_str(), redis.nodes, redis.client_pause_ms),
        ("lock", 1, 2500),
        "redis-lock's defaults"
    );
    assert_eq!(redis.settings["lock-algorithm"].as_str(), Some("single"));
    assert_eq!((raft.workload.as_str(), raft.nodes), ("register", 5));
    assert_eq!(redis.seed, 7);

    let file = print_scenario(&["scenarios/redlock-clock-jump.toml", "--nodes", "7"]);
    let s = parse(&file);
    assert_eq!((s.target.as_str(), s.nodes), ("redis-lock", 7), "{file}");
    assert_eq!(s.settings["lock-algorithm"].as_str(), Some("redlock"));
    assert_eq!(
        (s.fault_nodes.as_slice(), s.ci_time_limit),
        (&["n3".to_string()][..], Some(14.0))
    );
}

#[test]
fn print_scenario_refuses_what_run_refuses() {
    let out = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(["run", "--target", "no-such-target", "--print-scenario"])
        .output()
        .expect("faultline runs");
    assert_eq!(out.status.code(), Some(3));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("no-such-target"), "{stderr}");
}
