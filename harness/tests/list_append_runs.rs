//! The list-append and rw-register scenarios through `faultline run`, shortened: their histories
//! have exactly the shape the transactional checker reads (docs/workloads/list-append.md), and
//! no node survives the run.

mod common;

use std::path::Path;

use serde_json::Value;

use common::{assert_exit, results_dir, run, survivors};

/// Runs `scenarios/<name>.toml` on 3 nodes for 4 s; returns its history's events.
fn history_of(name: &str) -> Vec<Value> {
    let results = results_dir(name);
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios")
        .join(format!("{name}.toml"));
    let args = [
        scenario.to_str().unwrap(),
        "--nodes",
        "3",
        "--time-limit",
        "4",
        "--seed",
        "1",
    ];
    let out = run(&args, &results);
    assert_exit(&out, 0);
    let history = std::fs::read_to_string(results.join("latest").join("history.jsonl")).unwrap();
    assert!(survivors(&results).is_empty(), "{:?}", survivors(&results));
    std::fs::remove_dir_all(results).unwrap();
    history
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Checks every client event: `f` is `txn`, no `key`, the value a list of `[f, key, value]`
/// with `write` for writes; reads `null` but in `ok` completions, where `read_ok` must accept
/// them; a `fail` or `info` carries its invocation's value. Returns the `ok` count.
fn check_shape(events: &[Value], write: &str, read_ok: impl Fn(&Value) -> bool) -> usize {
    let mut invoked: std::collections::HashMap<u64, Value> = Default::default();
    let mut oks = 0;
    for e in events.iter().filter(|e| e["process"].is_u64()) {
        assert_eq!(e["f"], "txn", "{e}");
        assert!(e.get("key").is_none(), "{e}");
        let ops = e["value"].as_array().unwrap_or_else(|| panic!("{e}"));
        assert!(!ops.is_empty(), "{e}");
        for op in ops {
            let [f, key, v] = op.as_array().unwrap().as_slice() else {
                panic!("{op} is not [f, key, value]")
            };
            assert!(key.is_u64(), "{e}");
            match (f.as_str().unwrap(), e["type"].as_str().unwrap()) {
                ("r", "ok") => assert!(read_ok(v), "{e}"),
                ("r", _) => assert!(v.is_null(), "{e}"),
                (f, _) => assert!(f == write && v.is_u64(), "{e}"),
            }
        }
        let process = e["process"].as_u64().unwrap();
        match e["type"].as_str().unwrap() {
            "invoke" => {
                assert!(invoked.insert(process, e["value"].clone()).is_none());
            }
            kind => {
                let asked = invoked.remove(&process).expect("invoked first");
                if kind == "ok" {
                    oks += 1;
                } else {
                    assert_eq!(e["value"], asked, "{e}");
                }
            }
        }
    }
    oks
}

#[test]
fn list_append_histories_have_elles_shape() {
    let events = history_of("raft-kv-list-append");
    let list = |v: &Value| v.is_null() || v.as_array().is_some_and(|l| l.iter().all(Value::is_u64));
    let oks = check_shape(&events, "append", list);
    assert!(oks > 50, "{oks} ok transactions");
    let non_empty_read = events.iter().any(|e| {
        e["type"] == "ok"
            && e["value"]
                .as_array()
                .unwrap()
                .iter()
                .any(|op| op[0] == "r" && op[2].as_array().is_some_and(|l| !l.is_empty()))
    });
    assert!(non_empty_read, "no read saw an append");
}

#[test]
fn rw_register_histories_have_elles_shape() {
    let events = history_of("raft-kv-rw-register");
    let oks = check_shape(&events, "w", |v| v.is_null() || v.is_u64());
    assert!(oks > 50, "{oks} ok transactions");
}
