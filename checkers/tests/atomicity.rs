//! The atomicity checker (`checkers::atomicity`) on the hand-made histories of
//! tests/histories/txn/ — each kind of error found in the history that shows it, and only
//! there; an unreachable participant makes the verdict unknown; bad decisions refused in one
//! line naming the file, the line and what was expected — and a property: on random
//! participants × transactions × decisions × client outcomes, the checker finds exactly the
//! errors a brute-force reading of the same decisions finds.

use std::path::PathBuf;

use checkers::atomicity::{self, ErrorKind, Report, Status};
use checkers::compose::{self, Model};
use checkers::history::read_jsonl;
use checkers::import::read_history;
use checkers::{InputError, Validity};
use proptest::prelude::*;

fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/histories/txn")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

fn check_text(file: &str, text: &str) -> Result<Option<Report>, InputError> {
    let h = read_jsonl(file, text).unwrap();
    let ops = h.operations().unwrap();
    atomicity::check(&h, &ops)
}

fn check(name: &str) -> Report {
    check_text(name, &fixture(name))
        .unwrap()
        .expect("decisions recorded")
}

/// The kinds with a non-zero count, in the report's order.
fn kinds(r: &Report) -> Vec<ErrorKind> {
    ErrorKind::ALL
        .into_iter()
        .filter(|k| r.error_counts.of(*k) > 0)
        .collect()
}

#[test]
fn the_valid_history_is_valid_with_its_counts() {
    let r = check("valid.jsonl");
    assert_eq!(r.valid, Validity::Valid, "{}", r.render_text());
    assert!(r.errors.is_empty());
    assert_eq!(
        (
            r.counts.txns,
            r.counts.committed,
            r.counts.aborted,
            r.counts.split,
            r.counts.undecided
        ),
        (3, 1, 2, 0, 0)
    );
    assert_eq!((r.initial_total, r.final_total), (Some(100), Some(100)));
    assert_eq!(r.client.transfers.ops, 3);
    assert_eq!(r.client.with_txn, 2);
    let nodes: Vec<(&str, usize, usize, u64)> = r
        .participants
        .iter()
        .map(|p| (p.node.as_str(), p.committed, p.aborted, p.refused_on_locks))
        .collect();
    assert_eq!(nodes, [("n2", 1, 2, 2), ("n3", 1, 2, 1)]);
    assert_eq!(r.undecided_records, 0);
}

#[test]
fn a_split_decision_names_the_txn_and_what_each_participant_decided_and_when() {
    let r = check("split-decision.jsonl");
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(kinds(&r), [ErrorKind::SplitDecision]);
    let e = &r.errors[0];
    assert_eq!(e.txn.unwrap().to_string(), "1.3");
    let said: Vec<(&str, Status, Option<u64>)> = e
        .participants
        .iter()
        .map(|s| (s.node.as_str(), s.status, s.decided))
        .collect();
    assert_eq!(
        said,
        [
            ("n2", Status::Commit, Some(8_500_000)),
            ("n3", Status::Abort, Some(8_600_000))
        ]
    );
    // The evidence: n2's decisions event, line 13.
    assert_eq!((e.index, e.line), (12, 13));
    assert!(
        e.description.contains("n2 commit at 8500000"),
        "{}",
        e.description
    );
    assert_eq!(r.counts.split, 1);
    let text = r.render_text();
    assert!(
        text.contains("split-decision: txn 1.3 committed and aborted: n2 commit at 8500000, n3 abort at 8600000"),
        "{text}"
    );
}

#[test]
fn a_partial_commit_names_the_owner_that_has_no_record() {
    let r = check("partial.jsonl");
    assert_eq!(kinds(&r), [ErrorKind::Partial]);
    let e = &r.errors[0];
    assert_eq!(e.txn.unwrap().to_string(), "1.3");
    let said: Vec<(&str, Status)> = e
        .participants
        .iter()
        .map(|s| (s.node.as_str(), s.status))
        .collect();
    assert_eq!(said, [("n2", Status::Commit), ("n3", Status::NoRecord)]);
    assert_eq!(e.op.as_ref().unwrap().amount, 1);
}

#[test]
fn an_acknowledged_transfer_not_applied_is_an_error_with_the_clients_op() {
    let r = check("ok-not-applied.jsonl");
    assert_eq!(kinds(&r), [ErrorKind::OkNotApplied]);
    let e = &r.errors[0];
    // Evidence: the client's ok completion (index 1, line 2).
    assert_eq!((e.index, e.line), (1, 2));
    let client = e.client.as_ref().unwrap();
    assert_eq!((client.process, client.index), (0, 0));
    assert!(e.participants.iter().all(|s| s.status == Status::Abort));
}

#[test]
fn a_failed_transfer_applied_is_an_error() {
    let r = check("failed-but-applied.jsonl");
    assert_eq!(kinds(&r), [ErrorKind::FailedButApplied]);
    let e = &r.errors[0];
    assert_eq!(e.txn.unwrap().to_string(), "1.2");
    assert_eq!((e.index, e.line), (3, 4));
    assert_eq!(e.participants.len(), 2);
}

#[test]
fn money_made_or_lost_is_an_error_with_both_sums() {
    let r = check("total-not-conserved.jsonl");
    assert_eq!(kinds(&r), [ErrorKind::TotalNotConserved]);
    let e = &r.errors[0];
    assert_eq!((e.initial, e.balances), (Some(100), Some(101)));
    assert!(e.txn.is_none());
}

#[test]
fn an_unreachable_participant_makes_the_verdict_unknown_and_doubt_is_listed() {
    let r = check("unreachable.jsonl");
    assert_eq!(r.valid, Validity::Unknown, "{}", r.render_text());
    let why = r.unknown_because.as_deref().unwrap();
    assert!(
        why.contains("n3") && why.contains("connection refused"),
        "{why}"
    );
    assert_eq!((r.initial_total, r.final_total), (None, None));
    assert_eq!(r.undecided_records, 1);
    assert_eq!(r.undecided[0].txn.to_string(), "1.3");
    assert_eq!(r.undecided[0].node, "n2");
    assert!(!r.participants[1].reachable);
    // Invalid still beats unknown: n2 alone shows the failed transfer committed.
    let text = fixture("unreachable.jsonl").replace(
        r#""vote":"no","prepared":null,"precommitted":null,"decision":"abort""#,
        r#""vote":"yes","prepared":null,"precommitted":null,"decision":"commit""#,
    );
    let r = check_text("u.jsonl", &text).unwrap().unwrap();
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(kinds(&r), [ErrorKind::FailedButApplied]);
}

#[test]
fn the_report_serializes_with_kebab_case_kinds_and_statuses() {
    let r = check("split-decision.jsonl");
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["errors"][0]["kind"], "split-decision");
    assert_eq!(json["errors"][0]["txn"], "1.3");
    assert_eq!(json["errors"][0]["participants"][1]["status"], "abort");
    assert_eq!(json["error_counts"]["split_decision"], 1);
    let r = check("partial.jsonl");
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["errors"][0]["participants"][1]["status"], "no-record");
    assert!(json["errors"][0]["participants"][1]["decided"].is_null());
}

// ---------------------------------------------------------------------------------------------
// The bank model: atomicity and blocking run only where decisions are recorded
// ---------------------------------------------------------------------------------------------

#[test]
fn the_bank_model_runs_atomicity_and_blocking_only_when_decisions_are_recorded() {
    let bank = Model::named("bank").unwrap().checkers;
    let h = read_jsonl("valid.jsonl", &fixture("valid.jsonl")).unwrap();
    let ops = h.operations().unwrap();
    // The decisions events are not client operations: the bank checker never sees them.
    assert!(ops.iter().all(|o| &*o.f != "decisions"));
    let results = compose::check(&h, &ops, bank, &Default::default()).unwrap();
    let said: Vec<(&str, Validity, bool)> = results
        .iter()
        .map(|r| (r.name(), r.valid, r.informational))
        .collect();
    assert_eq!(
        said,
        [
            ("bank", Validity::Valid, false),
            ("atomicity", Validity::Valid, false),
            ("blocking", Validity::Valid, true)
        ]
    );
    // Invalid atomicity makes the history invalid; the bank's reads still say valid.
    let h = read_jsonl("p.jsonl", &fixture("partial.jsonl")).unwrap();
    let ops = h.operations().unwrap();
    let results = compose::check(&h, &ops, bank, &Default::default()).unwrap();
    assert_eq!(results[0].valid, Validity::Valid);
    assert_eq!(compose::merge(&results), Validity::Invalid);
    // Results read back as written.
    let json = serde_json::to_value(&results).unwrap();
    let back: Vec<compose::CheckerResult> = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(serde_json::to_value(&back).unwrap(), json);

    // A Jepsen bank history has no decisions: only the bank checker runs.
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/histories/bank/jepsen-valid.edn");
    let text = std::fs::read_to_string(&path).unwrap();
    let h = read_history("jepsen-valid.edn", &text, None).unwrap();
    let ops = h.operations().unwrap();
    let results = compose::check(&h, &ops, bank, &Default::default()).unwrap();
    let names: Vec<&str> = results.iter().map(|r| r.name()).collect();
    assert_eq!(names, ["bank"]);
    assert_eq!(compose::merge(&results), Validity::Valid);
}

// ---------------------------------------------------------------------------------------------
// Bad input
// ---------------------------------------------------------------------------------------------

/// The valid history with its n2 decisions event (line 13) changed by `edit`; the error.
fn refused(from: &str, to: &str) -> InputError {
    let text = fixture("valid.jsonl");
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    assert!(lines[12].contains(from), "{from}");
    lines[12] = lines[12].replacen(from, to, 1);
    check_text("bad.jsonl", &(lines.join("\n") + "\n")).unwrap_err()
}

#[test]
fn malformed_decisions_are_refused_naming_the_line_and_what_was_expected() {
    for (from, to, expected) in [
        (
            r#""txn":"1.1""#,
            r#""txn":"1-1""#,
            "expected \"txn\" to be an id",
        ),
        (r#""txn":"1.1""#, r#""txn":"1.""#, "found `\"1.\"`"),
        (r#""txn":"1.1""#, r#""txn":17"#, "incarnation.seq"),
        (
            r#""decision":"commit""#,
            r#""decision":"maybe""#,
            "expected \"decision\" to be \"commit\", \"abort\" or null, found `\"maybe\"`",
        ),
        (
            r#""decided":1500000"#,
            r#""decided":"soon""#,
            "expected \"decided\" to be a time",
        ),
        (
            r#""prepared":1200000"#,
            r#""prepared":-5"#,
            "expected \"prepared\" to be a time",
        ),
        (r#""vote":"yes""#, r#""vote":true"#, "expected \"vote\""),
        (
            r#""op":{"from":0,"to":1,"amount":3}"#,
            r#""op":"write""#,
            "expected \"op\"",
        ),
        (
            r#""initial":{"0":25"#,
            r#""initial":{"0":"x""#,
            "integer balances",
        ),
        (
            r#""coordinator":"n1""#,
            r#""coordinator":1"#,
            "expected \"coordinator\"",
        ),
        (
            r#""refused-on-locks":2"#,
            r#""refused-on-locks":-1"#,
            "refused-on-locks",
        ),
        (
            r#""txns":["#,
            r#""txns":7,"x":["#,
            "expected \"txns\" to be a list",
        ),
        (r#","node":"n2""#, "", "name its participant"),
        (
            r#""node":"n2""#,
            r#""node":"n3""#,
            "one decisions event per participant",
        ),
        (
            r#""initial":{"0":25"#,
            r#""initial":{"1":25"#,
            "owned by one participant",
        ),
        (r#"{"txn":"1.2""#, r#"{"txn":"1.1""#, "each txn once"),
    ] {
        let e = refused(from, to);
        let text = e.to_string();
        assert_eq!(e.file, "bad.jsonl");
        let line = if expected.contains("one decisions event") || expected.contains("owned by") {
            14
        } else {
            13
        };
        assert_eq!(e.line, line, "{text}");
        assert!(
            text.contains(expected),
            "{text}\n  expected it to say: {expected}"
        );
        assert!(!text.contains('\n'), "{text}");
    }
}

#[test]
fn a_decisions_value_that_is_not_a_map_is_refused() {
    let e = refused(
        r#""value":{"coordinator""#,
        r#""value":[1],"x":{"coordinator""#,
    );
    assert!(
        e.to_string().contains("expected the value to be a map"),
        "{e}"
    );
}

#[test]
fn a_client_txn_that_is_not_an_id_is_refused() {
    let text = fixture("valid.jsonl").replacen(r#""txn":"1.1"}"#, r#""txn":[1,1]}"#, 1);
    let e = check_text("bad.jsonl", &text).unwrap_err();
    assert_eq!(e.line, 2, "{e}");
    assert!(
        e.to_string()
            .contains("expected the transfer's txn to be an id"),
        "{e}"
    );
}

// ---------------------------------------------------------------------------------------------
// Against a brute-force oracle
// ---------------------------------------------------------------------------------------------

/// One participant's view of one transaction: 0 no record, 1 undecided, 2 commit, 3 abort.
#[derive(Clone, Debug)]
struct Txn {
    from: usize,
    to: usize,
    /// Per participant.
    views: Vec<u8>,
    /// Per participant: whether its record knows the op.
    knows_op: Vec<bool>,
    /// 0 none, 1 ok, 2 fail, 3 info.
    client: u8,
}

#[derive(Clone, Debug)]
struct Case {
    participants: usize,
    accounts: usize,
    txns: Vec<Txn>,
    conserved: bool,
}

fn case() -> impl Strategy<Value = Case> {
    (1usize..=3, 0usize..=2, any::<bool>()).prop_flat_map(|(p, extra, conserved)| {
        let accounts = p + extra;
        let txn = (
            0..accounts,
            0..accounts,
            proptest::collection::vec(0u8..4, p),
            proptest::collection::vec(any::<bool>(), p),
            0u8..4,
        )
            .prop_map(|(from, to, views, knows_op, client)| Txn {
                from,
                to,
                views,
                knows_op,
                client,
            });
        proptest::collection::vec(txn, 0..6).prop_map(move |txns| Case {
            participants: p,
            accounts,
            txns,
            conserved,
        })
    })
}

/// Account `a` is owned by participant `a % P`.
fn owner(c: &Case, a: usize) -> usize {
    a % c.participants
}

fn history(c: &Case) -> String {
    let mut lines = Vec::new();
    let mut t = 0u64;
    let mut time = || {
        t += 1000;
        t
    };
    for (i, x) in c.txns.iter().enumerate() {
        let v = format!(r#""from":{},"to":{},"amount":1"#, x.from, x.to);
        let ty = match x.client {
            1 => "ok",
            2 => "fail",
            3 => "info",
            _ => continue,
        };
        lines.push(format!(
            r#"{{"time":{},"process":{i},"type":"invoke","f":"transfer","value":{{{v}}}}}"#,
            time()
        ));
        let done = if ty == "info" {
            format!("{{{v}}}")
        } else {
            format!(r#"{{{v},"txn":"1.{i}"}}"#)
        };
        lines.push(format!(
            r#"{{"time":{},"process":{i},"type":"{ty}","f":"transfer","value":{done}}}"#,
            time()
        ));
    }
    for p in 0..c.participants {
        let mine: Vec<String> = (0..c.accounts)
            .filter(|a| owner(c, *a) == p)
            .map(|a| format!(r#""{a}":10"#))
            .collect();
        let mut balances = mine.clone();
        if !c.conserved && p == 0 {
            balances[0] = balances[0].replace(":10", ":11");
        }
        let records: Vec<String> = c
            .txns
            .iter()
            .enumerate()
            .filter(|(_, x)| x.views[p] != 0)
            .map(|(i, x)| {
                let op = if x.knows_op[p] {
                    format!(r#"{{"from":{},"to":{},"amount":1}}"#, x.from, x.to)
                } else {
                    "null".to_string()
                };
                let d = match x.views[p] {
                    2 => r#""commit","decided":500"#,
                    3 => r#""abort","decided":500"#,
                    _ => r#"null,"decided":null"#,
                };
                format!(
                    r#"{{"txn":"1.{i}","op":{op},"vote":"yes","prepared":100,"precommitted":null,"decision":{d}}}"#
                )
            })
            .collect();
        lines.push(format!(
            r#"{{"time":{},"process":"harness","type":"info","f":"decisions","node":"n{}","value":{{"coordinator":"n1","initial":{{{}}},"balances":{{{}}},"refused-on-locks":0,"restarts":0,"txns":[{}]}}}}"#,
            time(),
            p + 2,
            mine.join(","),
            balances.join(","),
            records.join(",")
        ));
    }
    lines.join("\n") + "\n"
}

/// Errors by kind, in ErrorKind::ALL's order, read straight off the case.
fn oracle(c: &Case) -> [usize; 5] {
    let mut n = [0; 5];
    for x in &c.txns {
        let commit = x.views.contains(&2);
        let abort = x.views.contains(&3);
        let owners = [owner(c, x.from), owner(c, x.to)];
        let op_known = (0..c.participants).any(|p| x.views[p] != 0 && x.knows_op[p])
            || matches!(x.client, 1 | 2);
        if commit && abort {
            n[0] += 1;
        } else if commit && op_known && owners.iter().any(|p| matches!(x.views[*p], 0 | 1)) {
            n[1] += 1;
        }
        if x.client == 1 && owners.iter().any(|p| x.views[*p] != 2) {
            n[2] += 1;
        }
        if x.client == 2 && commit {
            n[3] += 1;
        }
    }
    n[4] = usize::from(!c.conserved);
    n
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn the_checker_finds_exactly_what_brute_force_finds(c in case()) {
        let text = history(&c);
        let r = check_text("prop.jsonl", &text).unwrap().unwrap();
        let expected = oracle(&c);
        let found: Vec<usize> = ErrorKind::ALL.iter().map(|k| r.error_counts.of(*k)).collect();
        prop_assert_eq!(&found[..], &expected[..], "{}", text);
        let invalid = expected.iter().any(|n| *n > 0);
        prop_assert_eq!(r.valid, if invalid { Validity::Invalid } else { Validity::Valid });
        prop_assert_eq!(r.counts.txns, c.txns.iter().filter(|x| x.views.iter().any(|v| *v != 0)).count());
    }
}
