//! The Elle-style checker (`checkers::elle`) on small hand-made histories: for each anomaly a
//! history it must reject under a model that prohibits it, and a twin differing minimally
//! that it must accept; the variants that need real-time or process order; the models that
//! allow what others prohibit; Jepsen's EDN; and bad input, named by its line.
//!
//! Histories are written as events in order — `(process, type, value)` with the value as
//! JSON — and read back as JSON Lines, so that line numbers are real.

use checkers::elle::{self, Consistency, Options, Rel, Report, Workload};
use checkers::history::read_jsonl;
use checkers::import::read_edn;
use checkers::{InputError, Validity};

use Consistency::*;
use Workload::*;

/// JSON Lines for `events`: (process, type, value as JSON).
fn jsonl(events: &[(u64, &str, &str)]) -> String {
    events
        .iter()
        .map(|(p, ty, v)| format!(r#"{{"process":{p},"type":"{ty}","f":"txn","value":{v}}}"#))
        .collect::<Vec<_>>()
        .join("\n")
}

fn run(
    workload: Workload,
    events: &[(u64, &str, &str)],
    consistency: Consistency,
) -> Result<Report, InputError> {
    let h = read_jsonl("t.jsonl", &jsonl(events)).expect("reads");
    let ops = h.operations().expect("pairs");
    elle::check(workload, &h, &ops, &Options { consistency })
}

fn check(workload: Workload, events: &[(u64, &str, &str)], consistency: Consistency) -> Report {
    run(workload, events, consistency).expect("checks")
}

/// Asserts the verdict, and that `kind` was found (when invalid) or nothing was (when valid).
fn expect(report: &Report, valid: Validity, kind: &str) {
    assert_eq!(report.valid, valid, "{}", report.text());
    if valid == Validity::Invalid {
        assert!(
            report.anomaly_counts.contains_key(kind),
            "expected {kind}: {}",
            report.text()
        );
        assert!(
            report.anomalies.iter().any(|a| a.kind == kind && a.counts),
            "{}",
            report.text()
        );
    }
}

/// Every transaction invoked first, then all completed: no real-time order between them.
fn concurrent(txns: &[(&str, &str, &str)]) -> Vec<(u64, &'static str, String)> {
    let mut events: Vec<(u64, &'static str, String)> = Vec::new();
    for (p, (inv, _, _)) in txns.iter().enumerate() {
        events.push((p as u64, "invoke", inv.to_string()));
    }
    for (p, (_, ty, done)) in txns.iter().enumerate() {
        let ty: &'static str = match *ty {
            "ok" => "ok",
            "fail" => "fail",
            _ => "info",
        };
        events.push((p as u64, ty, done.to_string()));
    }
    events
}

fn borrowed<'a>(events: &'a [(u64, &'static str, String)]) -> Vec<(u64, &'static str, &'a str)> {
    events
        .iter()
        .map(|(p, t, v)| (*p, *t, v.as_str()))
        .collect()
}

/// Checks `txns` run concurrently: (invocation value, outcome, completion value).
fn txns(workload: Workload, txns: &[(&str, &str, &str)], consistency: Consistency) -> Report {
    check(workload, &borrowed(&concurrent(txns)), consistency)
}

/// Shorthand for an ok transaction whose invocation has nil reads.
fn ok<'a>(inv: &'a str, done: &'a str) -> (&'a str, &'a str, &'a str) {
    (inv, "ok", done)
}

#[test]
fn g0_write_cycle_is_rejected_even_under_read_uncommitted() {
    let t1 = ok(
        r#"[["append","x",1],["append","y",1]]"#,
        r#"[["append","x",1],["append","y",1]]"#,
    );
    let t2 = ok(
        r#"[["append","x",2],["append","y",2]]"#,
        r#"[["append","x",2],["append","y",2]]"#,
    );
    let bad = ok(
        r#"[["r","x",null],["r","y",null]]"#,
        r#"[["r","x",[1,2]],["r","y",[2,1]]]"#,
    );
    let good = ok(
        r#"[["r","x",null],["r","y",null]]"#,
        r#"[["r","x",[1,2]],["r","y",[1,2]]]"#,
    );
    let r = txns(ListAppend, &[t1, t2, bad], ReadUncommitted);
    expect(&r, Validity::Invalid, "G0");
    let g0 = r.anomalies.iter().find(|a| a.kind == "G0").unwrap();
    assert_eq!(g0.steps.len(), 2);
    assert!(g0.steps.iter().all(|s| s.rel == Rel::Ww));
    assert!(g0.steps[0].why.contains("appended"), "{}", g0.steps[0].why);
    expect(
        &txns(ListAppend, &[t1, t2, good], StrictSerializable),
        Validity::Valid,
        "",
    );
}

#[test]
fn g1a_aborted_read_counts_from_read_committed() {
    let aborted = (r#"[["append","x",1]]"#, "fail", r#"[["append","x",1]]"#);
    let bad = ok(r#"[["r","x",null]]"#, r#"[["r","x",[1]]]"#);
    let good = ok(r#"[["r","x",null]]"#, r#"[["r","x",null]]"#);
    expect(
        &txns(ListAppend, &[aborted, bad], ReadCommitted),
        Validity::Invalid,
        "G1a",
    );
    let ru = txns(ListAppend, &[aborted, bad], ReadUncommitted);
    assert_eq!(ru.valid, Validity::Valid, "{}", ru.text());
    assert_eq!(ru.anomaly_counts["G1a"], 1);
    expect(
        &txns(ListAppend, &[aborted, good], StrictSerializable),
        Validity::Valid,
        "",
    );
}

#[test]
fn g1b_intermediate_read() {
    let t1 = ok(
        r#"[["append","x",1],["append","x",2]]"#,
        r#"[["append","x",1],["append","x",2]]"#,
    );
    let bad = ok(r#"[["r","x",null]]"#, r#"[["r","x",[1]]]"#);
    let good = ok(r#"[["r","x",null]]"#, r#"[["r","x",[1,2]]]"#);
    let r = txns(ListAppend, &[t1, bad], ReadCommitted);
    expect(&r, Validity::Invalid, "G1b");
    // An intermediate read is not also a cycle.
    assert_eq!(r.anomaly_counts.len(), 1, "{}", r.text());
    expect(
        &txns(ListAppend, &[t1, good], StrictSerializable),
        Validity::Valid,
        "",
    );
}

#[test]
fn g1c_circular_information_flow() {
    let t1 = ok(
        r#"[["append","x",1],["r","y",null]]"#,
        r#"[["append","x",1],["r","y",[1]]]"#,
    );
    let t2 = ok(
        r#"[["append","y",1],["r","x",null]]"#,
        r#"[["append","y",1],["r","x",[1]]]"#,
    );
    let t2_good = ok(
        r#"[["append","y",1],["r","x",null]]"#,
        r#"[["append","y",1],["r","x",null]]"#,
    );
    let r = txns(ListAppend, &[t1, t2], ReadCommitted);
    expect(&r, Validity::Invalid, "G1c");
    let a = r.anomalies.iter().find(|a| a.kind == "G1c").unwrap();
    assert!(a.steps.iter().all(|s| s.rel == Rel::Wr));
    assert_eq!(a.txns.len(), 2);
    expect(
        &txns(ListAppend, &[t1, t2_good], StrictSerializable),
        Validity::Valid,
        "",
    );
}

#[test]
fn g_single_read_skew_is_prohibited_by_snapshot_isolation() {
    let t1 = ok(
        r#"[["append","x",1],["append","y",1]]"#,
        r#"[["append","x",1],["append","y",1]]"#,
    );
    let bad = ok(
        r#"[["r","x",null],["r","y",null]]"#,
        r#"[["r","x",[1]],["r","y",null]]"#,
    );
    let good = ok(
        r#"[["r","x",null],["r","y",null]]"#,
        r#"[["r","x",[1]],["r","y",[1]]]"#,
    );
    // Someone must see y's append, or nothing says where it went (Elle's rule).
    let later = ok(r#"[["r","y",null]]"#, r#"[["r","y",[1]]]"#);
    let r = txns(ListAppend, &[t1, bad, later], SnapshotIsolation);
    expect(&r, Validity::Invalid, "G-single");
    let a = r.anomalies.iter().find(|a| a.kind == "G-single").unwrap();
    let rw = a.steps.iter().find(|s| s.rel == Rel::Rw).unwrap();
    assert!(rw.why.contains("did not include"), "{}", rw.why);
    // Read committed allows it.
    assert_eq!(
        txns(ListAppend, &[t1, bad, later], ReadCommitted).valid,
        Validity::Valid
    );
    // Unseen, the append of y is not ordered: no anomaly.
    assert_eq!(
        txns(ListAppend, &[t1, bad], Serializable).valid,
        Validity::Valid
    );
    expect(
        &txns(ListAppend, &[t1, good, later], StrictSerializable),
        Validity::Valid,
        "",
    );
}

#[test]
fn g2_item_write_skew_is_rejected_by_serializable_allowed_by_snapshot_isolation() {
    let t1 = ok(
        r#"[["r","x",null],["r","y",null],["append","x",1]]"#,
        r#"[["r","x",null],["r","y",null],["append","x",1]]"#,
    );
    let t2 = ok(
        r#"[["r","x",null],["r","y",null],["append","y",1]]"#,
        r#"[["r","x",null],["r","y",null],["append","y",1]]"#,
    );
    let t2_good = ok(
        r#"[["r","x",null],["r","y",null],["append","y",1]]"#,
        r#"[["r","x",[1]],["r","y",null],["append","y",1]]"#,
    );
    let t3 = ok(
        r#"[["r","x",null],["r","y",null]]"#,
        r#"[["r","x",[1]],["r","y",[1]]]"#,
    );
    expect(
        &txns(ListAppend, &[t1, t2, t3], Serializable),
        Validity::Invalid,
        "G2-item",
    );
    expect(
        &txns(ListAppend, &[t1, t2, t3], RepeatableRead),
        Validity::Invalid,
        "G2-item",
    );
    let si = txns(ListAppend, &[t1, t2, t3], SnapshotIsolation);
    assert_eq!(si.valid, Validity::Valid, "{}", si.text());
    assert_eq!(si.anomaly_counts["G2-item"], 1);
    assert!(!si.anomalies[0].counts);
    expect(
        &txns(ListAppend, &[t1, t2_good, t3], Serializable),
        Validity::Valid,
        "",
    );
}

#[test]
fn g_nonadjacent_is_prohibited_by_snapshot_isolation() {
    let t1 = ok(r#"[["append","x",1]]"#, r#"[["append","x",1]]"#);
    let t2 = ok(
        r#"[["r","x",null],["r","y",null]]"#,
        r#"[["r","x",[1]],["r","y",null]]"#,
    );
    let t3 = ok(r#"[["append","y",1]]"#, r#"[["append","y",1]]"#);
    let t4 = ok(
        r#"[["r","y",null],["r","x",null]]"#,
        r#"[["r","y",[1]],["r","x",null]]"#,
    );
    let t4_good = ok(
        r#"[["r","y",null],["r","x",null]]"#,
        r#"[["r","y",[1]],["r","x",[1]]]"#,
    );
    let r = txns(ListAppend, &[t1, t2, t3, t4], SnapshotIsolation);
    expect(&r, Validity::Invalid, "G-nonadjacent");
    let a = r
        .anomalies
        .iter()
        .find(|a| a.kind == "G-nonadjacent")
        .unwrap();
    assert_eq!(a.steps.iter().filter(|s| s.rel == Rel::Rw).count(), 2);
    expect(
        &txns(ListAppend, &[t1, t2, t3, t4_good], StrictSerializable),
        Validity::Valid,
        "",
    );
}

/// T1 appends and completes; then T2, on process `p2`, reads `seen`; then another process
/// reads the append.
fn stale(p2: u64, seen: &str) -> Vec<(u64, &'static str, String)> {
    vec![
        (0, "invoke", r#"[["append","x",1]]"#.into()),
        (0, "ok", r#"[["append","x",1]]"#.into()),
        (p2, "invoke", r#"[["r","x",null]]"#.into()),
        (p2, "ok", format!(r#"[["r","x",{seen}]]"#)),
        (9, "invoke", r#"[["r","x",null]]"#.into()),
        (9, "ok", r#"[["r","x",[1]]]"#.into()),
    ]
}

#[test]
fn stale_read_is_g_single_realtime_under_strict_serializable_only() {
    let bad = stale(1, "null");
    let r = check(ListAppend, &borrowed(&bad), StrictSerializable);
    expect(&r, Validity::Invalid, "G-single-realtime");
    let a = &r.anomalies[0];
    assert!(
        a.steps
            .iter()
            .any(|s| s.rel == Rel::Realtime && s.why.contains("before")),
        "{}",
        r.text()
    );
    assert_eq!(
        check(ListAppend, &borrowed(&bad), Serializable).valid,
        Validity::Valid
    );
    expect(
        &check(ListAppend, &borrowed(&stale(1, "[1]")), StrictSerializable),
        Validity::Valid,
        "",
    );
}

#[test]
fn stale_read_by_the_same_process_is_the_process_variant() {
    let bad = stale(0, "null");
    expect(
        &check(ListAppend, &borrowed(&bad), StrictSerializable),
        Validity::Invalid,
        "G-single-process",
    );
    assert_eq!(
        check(ListAppend, &borrowed(&bad), Serializable).valid,
        Validity::Valid
    );
}

#[test]
fn internal_inconsistency() {
    let bad = ok(
        r#"[["append","x",1],["r","x",null]]"#,
        r#"[["append","x",1],["r","x",null]]"#,
    );
    let good = ok(
        r#"[["append","x",1],["r","x",null]]"#,
        r#"[["append","x",1],["r","x",[1]]]"#,
    );
    expect(
        &txns(ListAppend, &[bad], ReadUncommitted),
        Validity::Invalid,
        "internal",
    );
    expect(
        &txns(ListAppend, &[good], StrictSerializable),
        Validity::Valid,
        "",
    );
    // A read, then an append, then a read that does not show both.
    let bad2 = ok(
        r#"[["r","x",null],["append","x",2],["r","x",null]]"#,
        r#"[["r","x",[1]],["append","x",2],["r","x",[2]]]"#,
    );
    let t0 = ok(r#"[["append","x",1]]"#, r#"[["append","x",1]]"#);
    expect(
        &txns(ListAppend, &[t0, bad2], ReadUncommitted),
        Validity::Invalid,
        "internal",
    );
}

#[test]
fn future_read() {
    let bad = ok(
        r#"[["r","x",null],["append","x",1]]"#,
        r#"[["r","x",[1]],["append","x",1]]"#,
    );
    let good = ok(
        r#"[["r","x",null],["append","x",1]]"#,
        r#"[["r","x",null],["append","x",1]]"#,
    );
    expect(
        &txns(ListAppend, &[bad], ReadUncommitted),
        Validity::Invalid,
        "future-read",
    );
    expect(
        &txns(ListAppend, &[good], StrictSerializable),
        Validity::Valid,
        "",
    );
}

#[test]
fn duplicate_elements() {
    let t1 = ok(r#"[["append","x",1]]"#, r#"[["append","x",1]]"#);
    let bad = ok(r#"[["r","x",null]]"#, r#"[["r","x",[1,1]]]"#);
    let good = ok(r#"[["r","x",null]]"#, r#"[["r","x",[1]]]"#);
    expect(
        &txns(ListAppend, &[t1, bad], ReadUncommitted),
        Validity::Invalid,
        "duplicate-elements",
    );
    expect(
        &txns(ListAppend, &[t1, good], StrictSerializable),
        Validity::Valid,
        "",
    );
}

#[test]
fn incompatible_order() {
    let t1 = ok(r#"[["append","x",1]]"#, r#"[["append","x",1]]"#);
    let t2 = ok(r#"[["append","x",2]]"#, r#"[["append","x",2]]"#);
    let r1 = ok(r#"[["r","x",null]]"#, r#"[["r","x",[1,2]]]"#);
    let bad = ok(r#"[["r","x",null]]"#, r#"[["r","x",[2]]]"#);
    let good = ok(r#"[["r","x",null]]"#, r#"[["r","x",[1]]]"#);
    expect(
        &txns(ListAppend, &[t1, t2, r1, bad], ReadUncommitted),
        Validity::Invalid,
        "incompatible-order",
    );
    expect(
        &txns(ListAppend, &[t1, t2, r1, good], StrictSerializable),
        Validity::Valid,
        "",
    );
}

#[test]
fn dirty_update() {
    let aborted = (r#"[["append","x",1]]"#, "fail", r#"[["append","x",1]]"#);
    let t2 = ok(r#"[["append","x",2]]"#, r#"[["append","x",2]]"#);
    let bad = ok(r#"[["r","x",null]]"#, r#"[["r","x",[1,2]]]"#);
    let good = ok(r#"[["r","x",null]]"#, r#"[["r","x",[2]]]"#);
    let r = txns(ListAppend, &[aborted, t2, bad], ReadUncommitted);
    expect(&r, Validity::Invalid, "dirty-update");
    expect(
        &txns(ListAppend, &[aborted, t2, good], StrictSerializable),
        Validity::Valid,
        "",
    );
}

#[test]
fn info_transactions_may_have_committed() {
    // An unknown append read by another: no anomaly, its writes come from the invocation.
    let t1 = (r#"[["append","x",1]]"#, "info", "null");
    let r1 = ok(r#"[["r","x",null]]"#, r#"[["r","x",[1]]]"#);
    let r = txns(ListAppend, &[t1, r1], StrictSerializable);
    assert_eq!(r.valid, Validity::Valid, "{}", r.text());
    assert_eq!((r.ok, r.info, r.fail, r.txns), (1, 1, 0, 2));
}

#[test]
fn rw_register_anomalies_and_twins() {
    let w = ok(
        r#"[["w","x",1],["w","y",1]]"#,
        r#"[["w","x",1],["w","y",1]]"#,
    );
    let skew = ok(
        r#"[["r","x",null],["r","y",null]]"#,
        r#"[["r","x",1],["r","y",null]]"#,
    );
    let fine = ok(
        r#"[["r","x",null],["r","y",null]]"#,
        r#"[["r","x",1],["r","y",1]]"#,
    );
    expect(
        &txns(RwRegister, &[w, skew], SnapshotIsolation),
        Validity::Invalid,
        "G-single",
    );
    expect(
        &txns(RwRegister, &[w, fine], StrictSerializable),
        Validity::Valid,
        "",
    );

    // Lost update: both read nil and wrote; one's write is then read by the other's reader.
    let a = ok(
        r#"[["r","x",null],["w","x",1]]"#,
        r#"[["r","x",null],["w","x",1]]"#,
    );
    let b = ok(
        r#"[["r","x",null],["w","x",2]]"#,
        r#"[["r","x",1],["w","x",2]]"#,
    );
    let c = ok(
        r#"[["r","x",null],["w","x",3]]"#,
        r#"[["r","x",null],["w","x",3]]"#,
    );
    // b read a's write then wrote: a < b. c read nil then wrote 3; a read nil too: a rw c, c rw a.
    let r = txns(RwRegister, &[a, c], Serializable);
    expect(&r, Validity::Invalid, "G2-item");
    expect(
        &txns(RwRegister, &[a, b], StrictSerializable),
        Validity::Valid,
        "",
    );

    let aborted = (r#"[["w","x",5]]"#, "fail", r#"[["w","x",5]]"#);
    let dirty = ok(r#"[["r","x",null]]"#, r#"[["r","x",5]]"#);
    let clean = ok(r#"[["r","x",null]]"#, r#"[["r","x",null]]"#);
    expect(
        &txns(RwRegister, &[aborted, dirty], ReadCommitted),
        Validity::Invalid,
        "G1a",
    );
    expect(
        &txns(RwRegister, &[aborted, clean], StrictSerializable),
        Validity::Valid,
        "",
    );

    let twice = ok(
        r#"[["w","x",7],["w","x",8]]"#,
        r#"[["w","x",7],["w","x",8]]"#,
    );
    let mid = ok(r#"[["r","x",null]]"#, r#"[["r","x",7]]"#);
    expect(
        &txns(RwRegister, &[twice, mid], ReadCommitted),
        Validity::Invalid,
        "G1b",
    );

    let inner = ok(
        r#"[["w","x",4],["r","x",null]]"#,
        r#"[["w","x",4],["r","x",null]]"#,
    );
    expect(
        &txns(RwRegister, &[inner], ReadUncommitted),
        Validity::Invalid,
        "internal",
    );
    let future = ok(
        r#"[["r","x",null],["w","x",4]]"#,
        r#"[["r","x",4],["w","x",4]]"#,
    );
    expect(
        &txns(RwRegister, &[future], ReadUncommitted),
        Validity::Invalid,
        "future-read",
    );

    // G1c through registers: each reads the other's write.
    let p = ok(
        r#"[["w","x",1],["r","y",null]]"#,
        r#"[["w","x",1],["r","y",1]]"#,
    );
    let q = ok(
        r#"[["w","y",1],["r","x",null]]"#,
        r#"[["w","y",1],["r","x",1]]"#,
    );
    expect(
        &txns(RwRegister, &[p, q], ReadCommitted),
        Validity::Invalid,
        "G1c",
    );
}

#[test]
fn edn_history_with_keyword_micro_ops_reads_the_same() {
    let edn = r#"[{:type :invoke, :f :txn, :value [[:append 1 1] [:append 2 1]], :process 0, :time 1, :index 0}
{:type :invoke, :f :txn, :value [[:r 1 nil] [:r 2 nil]], :process 1, :time 2, :index 1}
{:type :ok, :f :txn, :value [[:append 1 1] [:append 2 1]], :process 0, :time 3, :index 2}
{:type :ok, :f :txn, :value [[:r 1 [1]] [:r 2 nil]], :process 1, :time 4, :index 3}
{:type :invoke, :f :txn, :value [[:r 2 nil]], :process 2, :time 5, :index 4}
{:type :ok, :f :txn, :value [[:r 2 [1]]], :process 2, :time 6, :index 5}]"#;
    let h = read_edn("history.edn", edn).expect("reads");
    let ops = h.operations().expect("pairs");
    let r = elle::check(
        ListAppend,
        &h,
        &ops,
        &Options {
            consistency: SnapshotIsolation,
        },
    )
    .unwrap();
    expect(&r, Validity::Invalid, "G-single");
    let mut names: Vec<&str> = r.anomalies[0]
        .txns
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    names.sort();
    assert_eq!(names, ["T2", "T3"], "{}", r.text());
}

#[test]
fn bad_input_names_the_line() {
    let err =
        |workload, events: &[(u64, &str, &str)]| run(workload, events, Serializable).unwrap_err();
    let e = err(ListAppend, &[(0, "invoke", "3"), (0, "ok", "3")]);
    assert_eq!(e.line, 2, "{e}");
    assert!(e.message.contains("expected a transaction"), "{e}");
    let e = err(
        ListAppend,
        &[(0, "invoke", r#"[["w","x",1]]"#), (0, "fail", "null")],
    );
    assert_eq!(e.line, 1, "{e}");
    assert!(e.message.contains(r#"expected f "append" or "r""#), "{e}");
    let e = err(
        ListAppend,
        &[
            (0, "invoke", r#"[["r","x",null]]"#),
            (0, "ok", r#"[["r","x",3]]"#),
        ],
    );
    assert_eq!(e.line, 2);
    assert!(e.message.contains("a list or nil"), "{e}");
    let e = err(
        RwRegister,
        &[(0, "invoke", r#"[["r","x"]]"#), (0, "info", "null")],
    );
    assert!(e.message.contains("3-element list"), "{e}");
    let e = err(
        ListAppend,
        &[
            (0, "invoke", r#"[["append","x",1]]"#),
            (0, "ok", r#"[["append","x",1]]"#),
            (0, "invoke", r#"[["append","x",1]]"#),
            (0, "ok", r#"[["append","x",1]]"#),
        ],
    );
    assert_eq!(e.line, 3, "{e}");
    assert!(
        e.message.contains("at most once") && e.message.contains("line 1"),
        "{e}"
    );
}

#[test]
fn names_and_serialization() {
    for c in Consistency::ALL {
        assert_eq!(Consistency::parse(c.name()), Some(c));
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            format!("\"{}\"", c.name())
        );
    }
    assert_eq!(Consistency::default(), StrictSerializable);
    assert_eq!(
        serde_json::to_string(&RwRegister).unwrap(),
        "\"rw-register\""
    );
    assert_eq!(ListAppend.name(), "list-append");
    let t1 = ok(
        r#"[["append","x",1],["append","y",1]]"#,
        r#"[["append","x",1],["append","y",1]]"#,
    );
    let bad = ok(
        r#"[["r","x",null],["r","y",null]]"#,
        r#"[["r","x",[1]],["r","y",null]]"#,
    );
    let later = ok(r#"[["r","y",null]]"#, r#"[["r","y",[1]]]"#);
    let r = txns(ListAppend, &[t1, bad, later], Serializable);
    assert_eq!(r.valid, Validity::Invalid);
    let json = serde_json::to_string(&r).unwrap();
    let back: Report = serde_json::from_str(&json).unwrap();
    assert_eq!(back, r);
    assert!(json.contains(r#""rel":"rw""#), "{json}");
}

#[test]
fn values_of_any_kind_are_told_apart() {
    // Strings, negative and large integers, and an integer equal to a small one's id space.
    let t1 = ok(
        r#"[["append","x","a"],["append","x",-5],["append","y",1099511627776]]"#,
        r#"[["append","x","a"],["append","x",-5],["append","y",1099511627776]]"#,
    );
    let t2 = ok(r#"[["append","x",7]]"#, r#"[["append","x",7]]"#);
    let bad = ok(
        r#"[["r","x",null],["r","y",null]]"#,
        r#"[["r","x",["a",-5,7]],["r","y",null]]"#,
    );
    let later = ok(r#"[["r","y",null]]"#, r#"[["r","y",[1099511627776]]]"#);
    let r = txns(ListAppend, &[t1, t2, bad, later], Serializable);
    expect(&r, Validity::Invalid, "G-single");
    let text = r.text();
    assert!(
        text.contains("1099511627776") && text.contains("[\"a\",-5,7]"),
        "{text}"
    );
    // The intermediate "a" read alone is G1b, named by its value.
    let mid = ok(r#"[["r","x",null]]"#, r#"[["r","x",["a"]]]"#);
    let r = txns(ListAppend, &[t1, mid], ReadCommitted);
    expect(&r, Validity::Invalid, "G1b");
    assert!(
        r.anomalies[0].explanation.contains("ending at \"a\""),
        "{}",
        r.text()
    );
}
