//! `faultline check` as a user runs it: exit codes, JSON output, one-line errors.

use std::path::PathBuf;
use std::process::{Command, Output};

fn corpus(path: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../checkers/tests/histories/porcupine")
        .join(path);
    assert!(p.exists(), "missing vendored history {}", p.display());
    p.display().to_string()
}

fn faultline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(args)
        .output()
        .expect("faultline runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn write_temp(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("faultline-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn valid_exits_0_and_invalid_exits_1_with_a_counterexample() {
    let ok = faultline(&["check", &corpus("jepsen/etcd_002.log")]);
    assert_eq!(ok.status.code(), Some(0), "{}", stdout(&ok));
    assert!(stdout(&ok).contains(": valid (cas-register"));

    let bad = faultline(&["check", &corpus("jepsen/etcd_000.log")]);
    assert_eq!(bad.status.code(), Some(1));
    let text = stdout(&bad);
    assert!(text.contains("cannot linearize"), "{text}");
    assert!(text.contains("longest linearizable prefix"), "{text}");
}

#[test]
fn json_output_has_the_documented_shape() {
    let out = faultline(&["check", "--json", "--all-keys", &corpus("kv/c10-bad.txt")]);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(json["version"], faultline::results::VERSION);
    assert_eq!(json["valid"], false);
    let h = &json["histories"][0];
    assert_eq!(h["format"], "porcupine-kv");
    assert_eq!(h["stats"]["ops"], 405);
    let checkers = h["checkers"].as_array().unwrap();
    assert_eq!(checkers.len(), 1);
    let c = &checkers[0];
    assert_eq!(c["name"], "linearizable");
    assert_eq!(
        (&c["valid"], &c["informational"]),
        (&false.into(), &false.into())
    );
    assert_eq!(c["analysis"]["model"], "kv");
    let parts = c["analysis"]["partitions"].as_array().unwrap();
    assert_eq!(parts.len(), 10);
    let bad = parts.iter().find(|p| p["valid"] == false).unwrap();
    let cex = &bad["counterexample"];
    assert!(cex["op"]["process"].is_u64());
    assert!(cex["prefix"].is_array());
    assert!(cex["state"].is_string());
    // And it reads back as the one typed model every reader uses.
    let typed: faultline::results::CheckResults = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(serde_json::to_value(&typed).unwrap(), json);
}

#[test]
fn a_memory_budget_too_small_gives_unknown_and_exit_2() {
    let out = faultline(&[
        "check",
        "--max-memory",
        "1K",
        &corpus("jepsen/etcd_002.log"),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("memory budget exhausted"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn bad_input_is_one_line_naming_file_and_line_with_exit_3() {
    let path = write_temp(
        "bad.jsonl",
        "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\",\"value\":null}\n{\"process\":0,\"type\":\"ok\"\n",
    );
    let out = faultline(&["check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    let err = stderr(&out);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("bad.jsonl:2:"), "{err}");
}

#[test]
fn an_operation_the_model_cannot_read_names_its_line() {
    let path = write_temp(
        "cas.jsonl",
        "{\"process\":0,\"type\":\"invoke\",\"f\":\"cas\",\"value\":5}\n{\"process\":0,\"type\":\"ok\",\"f\":\"cas\",\"value\":5}\n",
    );
    let out = faultline(&["check", "--model", "cas-register", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    let err = stderr(&out);
    assert!(
        err.contains("cas.jsonl:2: cas-register model: expected a cas value [expected, new]"),
        "{err}"
    );
}

#[test]
fn usage_errors_exit_3_and_help_exits_0() {
    assert_eq!(faultline(&["check"]).status.code(), Some(3));
    assert_eq!(
        faultline(&["check", "--model", "queue", "x"]).status.code(),
        Some(3)
    );
    assert_eq!(faultline(&["frobnicate"]).status.code(), Some(3));
    assert_eq!(
        faultline(&["check", "--max-memory", "lots", "x"])
            .status
            .code(),
        Some(3)
    );
    let help = faultline(&["check", "--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(stdout(&help).contains("--all-keys"));
}

#[test]
fn unique_ids_are_inferred_and_duplicates_reported() {
    let path = write_temp(
        "ids.jsonl",
        concat!(
            "{\"process\":0,\"type\":\"invoke\",\"f\":\"generate\",\"value\":null}\n",
            "{\"process\":1,\"type\":\"invoke\",\"f\":\"generate\",\"value\":null}\n",
            "{\"process\":0,\"type\":\"ok\",\"f\":\"generate\",\"value\":\"9007199254740993\"}\n",
            "{\"process\":1,\"type\":\"ok\",\"f\":\"generate\",\"value\":\"9007199254740993\"}\n",
        ),
    );
    let out = faultline(&["check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("duplicate ID \"9007199254740993\""), "{text}");
    assert!(text.contains("2 acknowledged"), "{text}");
}
