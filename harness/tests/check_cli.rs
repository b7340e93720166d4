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

fn bank_fixture(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../checkers/tests/histories/bank")
        .join(name);
    assert!(p.exists(), "missing bank history {}", p.display());
    p.display().to_string()
}

#[test]
fn a_jepsen_bank_history_is_inferred_and_each_error_is_one_line() {
    let ok = faultline(&["check", &bank_fixture("jepsen-valid.edn")]);
    assert_eq!(ok.status.code(), Some(0), "{}", stdout(&ok));
    let text = stdout(&ok);
    assert!(text.contains(": valid (bank, 7 ops"), "{text}");
    assert!(
        text.contains("total 40 over 4 accounts (both inferred from the first ok read"),
        "{text}"
    );

    let bad = faultline(&["check", &bank_fixture("jepsen-invalid.edn")]);
    assert_eq!(bad.status.code(), Some(1));
    let text = stdout(&bad);
    for line in [
        "  wrong-total: process 2's read, ok at line 5, sums to 37, expected 40",
        "  negative-value: process 0's read, ok at line 10, has a negative balance: 0 = -2",
        "  nil-balance: process 2's read, ok at line 12, has no balance for account 1",
        "  unexpected-key: process 0's read, ok at line 14, has a key that is not an account: 4",
    ] {
        assert!(text.lines().any(|l| l == line), "{line}\nnot in\n{text}");
    }
}

#[test]
fn bank_flags_give_the_total_and_accounts_and_json_says_so() {
    let out = faultline(&[
        "check",
        "--json",
        "--model",
        "bank",
        "--total",
        "41",
        "--accounts",
        "4",
        &bank_fixture("jepsen-valid.edn"),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    let c = &json["histories"][0]["checkers"][0];
    assert_eq!(c["name"], "bank");
    let a = &c["analysis"];
    assert_eq!(a["total"], 41);
    assert_eq!(a["accounts"], serde_json::json!(["0", "1", "2", "3"]));
    assert_eq!(
        (&a["total_inferred"], &a["accounts_inferred"]),
        (&false.into(), &false.into())
    );
    assert!(a.get("inferred_from").is_none(), "{a}");
    assert_eq!(a["error_counts"]["wrong_total"], 3);
    let e = &a["errors"][0];
    assert_eq!(
        (&e["kind"], &e["expected"], &e["total"]),
        (&"wrong-total".into(), &41.into(), &40.into())
    );
    assert_eq!(e["read"]["process"], 0);
    assert_eq!(
        e["read"]["output"],
        serde_json::json!({"0": 10, "1": 10, "2": 10, "3": 10})
    );
    // And it reads back as the typed results every reader uses.
    let typed: faultline::results::CheckResults = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(serde_json::to_value(&typed).unwrap(), json);
}

#[test]
fn faultlines_own_bank_history_with_negative_balances_allowed_or_not() {
    let path = write_temp(
        "bank.jsonl",
        concat!(
            "{\"process\":0,\"type\":\"invoke\",\"f\":\"transfer\",\"value\":{\"from\":\"alice\",\"to\":\"bob\",\"amount\":15}}\n",
            "{\"process\":0,\"type\":\"ok\",\"f\":\"transfer\",\"value\":{\"from\":\"alice\",\"to\":\"bob\",\"amount\":15}}\n",
            "{\"process\":1,\"type\":\"invoke\",\"f\":\"read\",\"value\":null}\n",
            "{\"process\":1,\"type\":\"ok\",\"f\":\"read\",\"value\":{\"alice\":-5,\"bob\":25}}\n",
        ),
    );
    let path = path.to_str().unwrap();
    let strict = faultline(&["check", "--total", "20", "--accounts", "alice,bob", path]);
    assert_eq!(strict.status.code(), Some(1), "{}", stdout(&strict));
    assert!(
        stdout(&strict).contains(
            "  negative-value: process 1's read, ok at line 4, has a negative balance: alice = -5"
        ),
        "{}",
        stdout(&strict)
    );
    let allowed = faultline(&["check", "--allow-negative", "--total", "20", path]);
    assert_eq!(allowed.status.code(), Some(0), "{}", stdout(&allowed));
    assert!(stdout(&allowed).contains("negative balances allowed"));
}

#[test]
fn bad_bank_input_is_one_line_with_exit_3() {
    let valid = bank_fixture("jepsen-valid.edn");
    let bad_read = write_temp(
        "bad-bank.edn",
        "{:type :invoke, :f :transfer, :value {:from 0, :to 1, :amount 2}, :process 0}\n\
         {:type :ok, :f :transfer, :value {:from 0, :to 1, :amount 2}, :process 0}\n\
         {:type :invoke, :f :read, :value nil, :process 1}\n\
         {:type :ok, :f :read, :value [10 10], :process 1}\n",
    );
    let cases: [(Vec<&str>, &str); 4] = [
        (
            vec!["--accounts", "a,,b", &valid],
            "faultline: error: --accounts: expected account names separated by commas (a,b,c) or a count, found `a,,b`",
        ),
        (
            vec!["--accounts", "a,b,a", &valid],
            "faultline: error: --accounts: expected distinct accounts, found `a` twice",
        ),
        (
            vec!["--accounts", "0", &valid],
            "faultline: error: --accounts: expected at least one account, found 0",
        ),
        (
            vec![bad_read.to_str().unwrap()],
            "bad-bank.edn:4: bank checker: process 1: expected an ok read's value to be a map of account to balance, found `[10,10]`",
        ),
    ];
    for (args, want) in cases {
        let out = faultline(&[&["check"][..], &args].concat());
        assert_eq!(out.status.code(), Some(3), "{args:?}");
        let err = stderr(&out);
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(
            err.trim_end().ends_with(want),
            "{args:?}\n got {err}\nwant {want}"
        );
    }
    // Operations that are not a bank's, and no --model: the error names the models.
    let deposits = write_temp(
        "deposits.jsonl",
        "{\"process\":0,\"type\":\"invoke\",\"f\":\"deposit\",\"value\":5}\n{\"process\":0,\"type\":\"ok\",\"f\":\"deposit\",\"value\":5}\n",
    );
    let out = faultline(&["check", deposits.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out).contains("name one with --model ("),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains(", bank, list-append, rw-register)"),
        "{}",
        stderr(&out)
    );
}

/// A Jepsen multi-register history (`:txn` of `[:read k v]` / `[:write k v]`) checked with
/// an initial map, Knossos's nil reads said in the result, and a bad initial map refused.
#[test]
fn a_jepsen_multi_register_history_with_an_initial_map() {
    let torn = write_temp(
        "torn.edn",
        "[{:process 0 :type :invoke :f :txn :value [[:write :x 1] [:write :y 1]]}
          {:process 0 :type :ok :f :txn :value [[:write :x 1] [:write :y 1]]}
          {:process 1 :type :invoke :f :txn :value [[:read :x nil] [:read :y nil]]}
          {:process 1 :type :ok :f :txn :value [[:read :x 1] [:read :y 0]]}
          {:process 2 :type :invoke :f :txn :value [[:read :x nil]]}
          {:process 2 :type :ok :f :txn :value [[:read :x nil]]}]",
    );
    let torn = torn.display().to_string();
    let initial = r#"{"x":0,"y":0}"#;
    let bad = faultline(&[
        "check",
        "--model",
        "multi-register",
        "--initial-value",
        initial,
        &torn,
    ]);
    assert_eq!(bad.status.code(), Some(1), "{}", stderr(&bad));
    let text = stdout(&bad);
    assert!(text.contains("invalid (multi-register"), "{text}");
    assert!(text.contains("1 read of nil constrained nothing"), "{text}");

    let whole = write_temp(
        "whole.edn",
        &std::fs::read_to_string(&torn)
            .unwrap()
            .replace("[:read :y 0]", "[:read :y 1]"),
    );
    let ok = faultline(&[
        "check",
        "--json",
        "--model",
        "multi-register",
        "--initial-value",
        initial,
        &whole.display().to_string(),
    ]);
    assert_eq!(ok.status.code(), Some(0), "{}", stdout(&ok));
    let json: serde_json::Value = serde_json::from_str(&stdout(&ok)).unwrap();
    let analysis = &json["histories"][0]["checkers"][0]["analysis"];
    assert_eq!(analysis["model"], "multi-register");
    assert_eq!(analysis["unconstrained_nil_reads"], 1);

    let refused = faultline(&[
        "check",
        "--model",
        "multi-register",
        "--initial-value",
        "0",
        &torn,
    ]);
    assert_eq!(refused.status.code(), Some(3));
    let err = stderr(&refused);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("expected a JSON object"), "{err}");
}
