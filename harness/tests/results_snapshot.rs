//! `faultline check --json` on fixed histories, against stored snapshots (insta, in
//! tests/snapshots/): a change to the JSON the checkers print — a field renamed, moved or
//! dropped, a counterexample found differently — shows up as a diff to review.
//!
//! The histories are written here, so the snapshots depend on nothing outside the test. What
//! changes from run to run is redacted: `elapsed_ms`, the per-key CPU time `micros`, and the
//! history's path (a temp folder). To accept an intended change: `cargo insta review`, or run
//! the test with `INSTA_UPDATE=always` and read the diff of the `.snap` file. Under CI
//! (`CI=true`) insta never writes snapshots: a mismatch fails.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Two keys of a compare-and-set register. Key 1 has a stale read: p0 writes 1, then 2, and
/// after the write of 2 has completed p1 still reads 1. p2's write of 3 never completes (info)
/// and begins only after that read. Key 2 is linearizable. The nemesis's partition is ignored
/// by the checker.
const REGISTER: &[&str] = &[
    r#"{"index":0,"time":1000000,"process":"nemesis","type":"invoke","f":"start-partition","value":{"shape":"halves"}}"#,
    r#"{"index":1,"time":1100000,"process":"nemesis","type":"info","f":"start-partition","value":{"shape":"halves"}}"#,
    r#"{"index":2,"time":2000000,"process":0,"type":"invoke","f":"write","key":1,"value":1}"#,
    r#"{"index":3,"time":3000000,"process":0,"type":"ok","f":"write","key":1,"value":1,"node":"n1"}"#,
    r#"{"index":4,"time":4000000,"process":3,"type":"invoke","f":"write","key":2,"value":5}"#,
    r#"{"index":5,"time":5000000,"process":1,"type":"invoke","f":"read","key":1,"value":null}"#,
    r#"{"index":6,"time":6000000,"process":3,"type":"ok","f":"write","key":2,"value":5,"node":"n2"}"#,
    r#"{"index":7,"time":7000000,"process":1,"type":"ok","f":"read","key":1,"value":1,"node":"n1"}"#,
    r#"{"index":8,"time":8000000,"process":0,"type":"invoke","f":"write","key":1,"value":2}"#,
    r#"{"index":9,"time":9000000,"process":4,"type":"invoke","f":"cas","key":2,"value":[5,6]}"#,
    r#"{"index":10,"time":10000000,"process":0,"type":"ok","f":"write","key":1,"value":2,"node":"n1"}"#,
    r#"{"index":11,"time":11000000,"process":4,"type":"ok","f":"cas","key":2,"value":[5,6],"node":"n2"}"#,
    r#"{"index":12,"time":12000000,"process":1,"type":"invoke","f":"read","key":1,"value":null}"#,
    r#"{"index":13,"time":13000000,"process":3,"type":"invoke","f":"read","key":2,"value":null}"#,
    r#"{"index":14,"time":14000000,"process":1,"type":"ok","f":"read","key":1,"value":1,"node":"n4"}"#,
    r#"{"index":15,"time":15000000,"process":3,"type":"ok","f":"read","key":2,"value":6,"node":"n2"}"#,
    r#"{"index":16,"time":16000000,"process":2,"type":"invoke","f":"write","key":1,"value":3}"#,
    r#"{"index":17,"time":17000000,"process":4,"type":"invoke","f":"cas","key":2,"value":[5,7]}"#,
    r#"{"index":18,"time":18000000,"process":4,"type":"fail","f":"cas","key":2,"value":[5,7],"node":"n2"}"#,
    r#"{"index":19,"time":19000000,"process":"nemesis","type":"invoke","f":"stop-partition","value":null}"#,
    r#"{"index":20,"time":19100000,"process":"nemesis","type":"info","f":"stop-partition","value":null}"#,
];

/// Kleppmann's Redlock failure in miniature: client 0 holds the lock via n1 n2 n3; n3's clock
/// jumps past the lease; client 1 gets the lock via n3 n4 n5 while client 0 still believes it
/// holds it, and the resource accepts writes from 0, 1, 0.
const LOCK: &[&str] = &[
    r#"{"index":0,"time":1000000,"process":0,"type":"invoke","f":"acquire","value":null}"#,
    r#"{"index":1,"time":11000000,"process":0,"type":"ok","f":"acquire","value":{"lock":"p0-1","nodes":["n1","n2","n3"],"token":null,"validity_ms":1000}}"#,
    r#"{"index":2,"time":100000000,"process":"nemesis","type":"invoke","f":"clock-bump","value":{"offsets_ms":{"n3":5000}}}"#,
    r#"{"index":3,"time":100100000,"process":"nemesis","type":"info","f":"clock-bump","value":{"offsets_ms":{"n3":5000}}}"#,
    r#"{"index":4,"time":150000000,"process":1,"type":"invoke","f":"acquire","value":null}"#,
    r#"{"index":5,"time":160000000,"process":1,"type":"ok","f":"acquire","value":{"lock":"p1-1","nodes":["n3","n4","n5"],"token":null,"validity_ms":1000}}"#,
    r#"{"index":6,"time":200000000,"process":0,"type":"invoke","f":"write","value":{"seq":1,"token":null}}"#,
    r#"{"index":7,"time":201000000,"process":0,"type":"ok","f":"write","value":{"order":1,"seq":1,"token":null}}"#,
    r#"{"index":8,"time":210000000,"process":1,"type":"invoke","f":"write","value":{"seq":1,"token":null}}"#,
    r#"{"index":9,"time":211000000,"process":1,"type":"ok","f":"write","value":{"order":2,"seq":1,"token":null}}"#,
    r#"{"index":10,"time":220000000,"process":0,"type":"invoke","f":"write","value":{"seq":2,"token":null}}"#,
    r#"{"index":11,"time":221000000,"process":0,"type":"ok","f":"write","value":{"order":3,"seq":2,"token":null}}"#,
    r#"{"index":12,"time":300000000,"process":0,"type":"invoke","f":"release","value":{"lock":"p0-1"}}"#,
    r#"{"index":13,"time":305000000,"process":0,"type":"ok","f":"release","value":{"lock":"p0-1","nodes":["n1","n2","n3"]}}"#,
    r#"{"index":14,"time":400000000,"process":1,"type":"invoke","f":"release","value":{"lock":"p1-1"}}"#,
    r#"{"index":15,"time":405000000,"process":1,"type":"ok","f":"release","value":{"lock":"p1-1","nodes":["n3","n4","n5"]}}"#,
    r#"{"index":16,"time":2100000000,"process":"nemesis","type":"invoke","f":"clock-reset","value":["n3"]}"#,
    r#"{"index":17,"time":2100100000,"process":"nemesis","type":"info","f":"clock-reset","value":["n3"]}"#,
];

/// A bank of two accounts in faultline's own shape, 20 in all. p0's transfer of 15 from alice
/// to bob is applied in two steps: p1 reads between them (money lost), p2 after (alice
/// overdrawn). p3's transfer fails, p4's read is unknown, and p5's read names an account the
/// bank does not have.
const BANK: &[&str] = &[
    r#"{"index":0,"time":1000000,"process":0,"type":"invoke","f":"read","value":null}"#,
    r#"{"index":1,"time":2000000,"process":0,"type":"ok","f":"read","value":{"alice":10,"bob":10}}"#,
    r#"{"index":2,"time":3000000,"process":0,"type":"invoke","f":"transfer","value":{"from":"alice","to":"bob","amount":15}}"#,
    r#"{"index":3,"time":4000000,"process":1,"type":"invoke","f":"read","value":null}"#,
    r#"{"index":4,"time":5000000,"process":1,"type":"ok","f":"read","value":{"alice":-5,"bob":10}}"#,
    r#"{"index":5,"time":6000000,"process":0,"type":"ok","f":"transfer","value":{"from":"alice","to":"bob","amount":15}}"#,
    r#"{"index":6,"time":7000000,"process":2,"type":"invoke","f":"read","value":null}"#,
    r#"{"index":7,"time":8000000,"process":2,"type":"ok","f":"read","value":{"alice":-5,"bob":25}}"#,
    r#"{"index":8,"time":9000000,"process":3,"type":"invoke","f":"transfer","value":{"from":"bob","to":"alice","amount":100}}"#,
    r#"{"index":9,"time":10000000,"process":3,"type":"fail","f":"transfer","value":{"from":"bob","to":"alice","amount":100},"error":"insufficient-funds"}"#,
    r#"{"index":10,"time":11000000,"process":4,"type":"invoke","f":"read","value":null}"#,
    r#"{"index":11,"time":12000000,"process":4,"type":"info","f":"read","value":null,"error":"timeout"}"#,
    r#"{"index":12,"time":13000000,"process":5,"type":"invoke","f":"read","value":null}"#,
    r#"{"index":13,"time":14000000,"process":5,"type":"ok","f":"read","value":{"alice":-5,"bob":25,"carol":0}}"#,
];

/// A fresh folder for this test's histories.
fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("faultline-snapshot-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `faultline check --json ARGS… history.jsonl` on `lines`: its exit code and its JSON.
fn check(dir: &Path, lines: &[&str], args: &[&str]) -> (Option<i32>, serde_json::Value) {
    let path = dir.join("history.jsonl");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(["check", "--json"])
        .args(args)
        .arg(&path)
        .output()
        .expect("faultline runs");
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), json)
}

#[test]
fn a_register_history_with_a_stale_read() {
    let dir = temp_dir("register");
    // --all-keys and one thread: every key is checked, whichever finishes first.
    let (code, json) = check(&dir, REGISTER, &["--all-keys", "--threads", "1"]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(code, Some(1), "{json:#}");
    insta::assert_json_snapshot!("register_stale_read", json, {
        ".histories[].file" => "[history.jsonl]",
        ".histories[].elapsed_ms" => "[elapsed_ms]",
        ".histories[].checkers[].analysis.partitions[].micros" => "[micros]",
    });
}

#[test]
fn a_lock_history_with_two_holders() {
    let dir = temp_dir("lock");
    let (code, json) = check(&dir, LOCK, &[]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(code, Some(1), "{json:#}");
    insta::assert_json_snapshot!("lock_two_holders", json, {
        ".histories[].file" => "[history.jsonl]",
        ".histories[].elapsed_ms" => "[elapsed_ms]",
        ".histories[].**.micros" => "[micros]",
    });
}

#[test]
fn a_bank_history_with_every_kind_but_nil_balance() {
    let dir = temp_dir("bank");
    // The accounts given, the total inferred from the first ok read.
    let (code, json) = check(&dir, BANK, &["--accounts", "alice,bob"]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(code, Some(1), "{json:#}");
    insta::assert_json_snapshot!("bank_broken_transfer", json, {
        ".histories[].file" => "[history.jsonl]",
        ".histories[].elapsed_ms" => "[elapsed_ms]",
    });
}
