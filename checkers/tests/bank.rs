//! The bank checker (`checkers::bank`) on small hand-made histories — faultline's JSON Lines
//! and Jepsen's `history.edn` (tests/histories/bank/) — each with its expected verdict: every
//! kind of error found in a history that shows it, with the read that shows it; histories
//! without one accepted; bad input refused in one line naming the file and line. And two
//! properties: a simulated bank whose transfers are atomic is never reported, and one read
//! knocked off by any amount always is.
//!
//! JSON Lines histories are written with [`Hist`], one event per line in the order given, and
//! read back, so that line numbers are real.

use std::path::PathBuf;

use checkers::bank::{self, Balance, ErrorKind, MAX_PER_KIND, Options, Report};
use checkers::compose::{self, Model};
use checkers::history::read_jsonl;
use checkers::import::read_history;
use checkers::{InputError, Validity};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// Writing histories
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct Hist {
    lines: Vec<String>,
}

impl Hist {
    fn ev(&mut self, p: u64, ty: &str, f: &str, value: &str) -> &mut Self {
        let t = (self.lines.len() as u64 + 1) * 1_000_000;
        self.lines.push(format!(
            r#"{{"time":{t},"process":{p},"type":"{ty}","f":"{f}","value":{value}}}"#
        ));
        self
    }

    /// A read by `p` that returns `balances` (a JSON object) with `ty`.
    fn read(&mut self, p: u64, ty: &str, balances: &str) -> &mut Self {
        let got = if ty == "ok" { balances } else { "null" };
        self.ev(p, "invoke", "read", "null").ev(p, ty, "read", got)
    }

    /// A transfer by `p` of `amount` from `from` to `to` that ends `ty`.
    fn transfer(&mut self, p: u64, from: &str, to: &str, amount: i64, ty: &str) -> &mut Self {
        let v = format!(r#"{{"from":"{from}","to":"{to}","amount":{amount}}}"#);
        self.ev(p, "invoke", "transfer", &v)
            .ev(p, ty, "transfer", &v)
    }

    fn text(&self) -> String {
        self.lines.join("\n") + "\n"
    }

    fn check(&self, options: &Options) -> Result<Report, InputError> {
        let h = read_jsonl("bank.jsonl", &self.text()).unwrap();
        let ops = h.operations().unwrap();
        bank::check(&h, &ops, options)
    }
}

fn given(total: i64, accounts: &[&str]) -> Options {
    Options {
        total: Some(total),
        accounts: Some(accounts.iter().map(|a| a.to_string()).collect()),
        allow_negative: false,
    }
}

/// Each error as (kind, process, the line of the read's completion in its description).
fn errors(r: &Report) -> Vec<(ErrorKind, u64, String)> {
    r.errors
        .iter()
        .map(|e| {
            let at = e.description.split(", ").nth(1).unwrap_or("").to_string();
            (e.kind, e.read.process, at)
        })
        .collect()
}

fn fixture(name: &str) -> (String, String) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/histories/bank")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    (name.to_string(), text)
}

fn check_fixture(name: &str, options: &Options) -> Report {
    let (file, text) = fixture(name);
    let h = read_history(&file, &text, None).unwrap();
    let ops = h.operations().unwrap();
    bank::check(&h, &ops, options).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Accepted
// ---------------------------------------------------------------------------------------------

#[test]
fn atomic_transfers_and_consistent_reads_are_valid_and_counted() {
    let r = Hist::default()
        .read(0, "ok", r#"{"a":10,"b":10,"c":10}"#)
        .transfer(1, "a", "b", 4, "ok")
        .read(0, "ok", r#"{"a":6,"b":14,"c":10}"#)
        .transfer(1, "c", "a", 50, "fail")
        .transfer(2, "b", "c", 1, "info")
        .read(3, "ok", r#"{"c":11,"a":6,"b":13}"#)
        .read(4, "fail", "")
        .read(5, "info", "")
        .check(&given(30, &["a", "b", "c"]))
        .unwrap();
    assert_eq!(r.valid, Validity::Valid, "{r:?}");
    assert!(r.errors.is_empty());
    let (reads, transfers) = (r.counts.reads, r.counts.transfers);
    assert_eq!((reads.ops, reads.ok, reads.fail, reads.info), (5, 3, 1, 1));
    assert_eq!(
        (transfers.ops, transfers.ok, transfers.fail, transfers.info),
        (3, 1, 1, 1)
    );
    assert_eq!(r.counts.bad_reads, 0);
    assert!(!r.total_inferred && !r.accounts_inferred && r.inferred_from.is_none());
}

#[test]
fn the_total_and_accounts_are_inferred_from_the_first_ok_read_and_said_so() {
    let r = Hist::default()
        .read(7, "fail", "")
        .read(0, "ok", r#"{"x":3,"y":4}"#)
        .read(1, "ok", r#"{"y":2,"x":5}"#)
        .check(&Options::default())
        .unwrap();
    assert_eq!(r.valid, Validity::Valid);
    assert_eq!(r.total, Some(7));
    assert_eq!(
        r.accounts.as_deref(),
        Some(&["x".to_string(), "y".into()][..])
    );
    assert!(r.total_inferred && r.accounts_inferred);
    let from = r.inferred_from.as_ref().unwrap();
    assert_eq!((from.process, from.line), (0, 3));
    assert!(
        r.render_text()
            .contains("both inferred from the first ok read: process 0's, invoked at line 3"),
        "{}",
        r.render_text()
    );
    // Half given, half inferred.
    let half = Hist::default()
        .read(0, "ok", r#"{"x":3,"y":4}"#)
        .check(&Options {
            total: Some(7),
            ..Options::default()
        })
        .unwrap();
    assert!(!half.total_inferred && half.accounts_inferred);
}

#[test]
fn a_history_without_an_ok_read_is_valid_with_nothing_to_go_on() {
    let r = Hist::default()
        .transfer(0, "a", "b", 1, "ok")
        .read(1, "info", "")
        .check(&Options::default())
        .unwrap();
    assert_eq!(r.valid, Validity::Valid);
    assert_eq!((r.total, r.accounts.as_ref()), (None, None));
    assert!(!r.total_inferred && r.inferred_from.is_none());
    assert_eq!(r.counts.reads.ok, 0);
    assert!(
        r.render_text()
            .contains("total unknown over unknown accounts")
    );
}

#[test]
fn negative_balances_are_accepted_when_allowed() {
    let h = Hist::default()
        .read(0, "ok", r#"{"a":10,"b":0}"#)
        .transfer(1, "b", "a", 5, "ok")
        .read(0, "ok", r#"{"a":15,"b":-5}"#)
        .text();
    let allowed = Options {
        allow_negative: true,
        ..Options::default()
    };
    let r = check_text(&h, &allowed).unwrap();
    assert_eq!(r.valid, Validity::Valid);
    assert!(r.allow_negative);
    let r = check_text(&h, &Options::default()).unwrap();
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(r.errors[0].negative, [balance("b", -5)]);
}

fn check_text(text: &str, options: &Options) -> Result<Report, InputError> {
    let h = read_jsonl("bank.jsonl", text).unwrap();
    let ops = h.operations().unwrap();
    bank::check(&h, &ops, options)
}

fn balance(account: &str, balance: i64) -> Balance {
    Balance {
        account: account.into(),
        balance,
    }
}

// ---------------------------------------------------------------------------------------------
// Rejected: each kind of error, with the read that shows it
// ---------------------------------------------------------------------------------------------

#[test]
fn a_read_in_the_middle_of_a_transfer_is_a_wrong_total() {
    let r = Hist::default()
        .read(0, "ok", r#"{"a":10,"b":10}"#)
        .read(1, "ok", r#"{"a":6,"b":10}"#)
        .check(&Options::default())
        .unwrap();
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(
        errors(&r),
        [(ErrorKind::WrongTotal, 1, "ok at line 4".to_string())]
    );
    let e = &r.errors[0];
    assert_eq!((e.expected, e.total), (Some(20), Some(16)));
    assert_eq!(
        e.description,
        "process 1's read, ok at line 4, sums to 16, expected 20"
    );
    assert_eq!(
        e.read.output.as_ref().unwrap().to_string(),
        r#"{"a":6,"b":10}"#
    );
    assert_eq!(r.error_counts.wrong_total, 1);
    assert!(
        r.render_text()
            .contains("\n  wrong-total: process 1's read")
    );
}

#[test]
fn a_given_total_judges_even_the_first_read() {
    let r = Hist::default()
        .read(0, "ok", r#"{"a":10,"b":10}"#)
        .check(&given(30, &["a", "b"]))
        .unwrap();
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(r.errors[0].kind, ErrorKind::WrongTotal);
}

#[test]
fn an_overdrawn_account_is_a_negative_value() {
    let r = Hist::default()
        .read(0, "ok", r#"{"a":10,"b":10,"c":0}"#)
        .read(2, "ok", r#"{"a":-3,"b":24,"c":-1}"#)
        .check(&Options::default())
        .unwrap();
    assert_eq!(
        errors(&r),
        [(ErrorKind::NegativeValue, 2, "ok at line 4".to_string())]
    );
    assert_eq!(r.errors[0].negative, [balance("a", -3), balance("c", -1)]);
    assert!(
        r.errors[0]
            .description
            .ends_with("has negative balances: a = -3, c = -1"),
        "{}",
        r.errors[0].description
    );
}

#[test]
fn a_nil_or_absent_account_is_a_nil_balance_and_its_total_is_not_judged() {
    let r = Hist::default()
        .read(0, "ok", r#"{"a":10,"b":10,"c":10}"#)
        .read(1, "ok", r#"{"a":10,"b":null,"c":10}"#)
        .read(2, "ok", r#"{"a":15,"c":15}"#)
        .check(&Options::default())
        .unwrap();
    assert_eq!(
        errors(&r),
        [
            (ErrorKind::NilBalance, 1, "ok at line 4".to_string()),
            (ErrorKind::NilBalance, 2, "ok at line 6".to_string()),
        ]
    );
    assert_eq!(r.errors[0].missing, ["b"]);
    assert_eq!(r.errors[1].missing, ["b"]);
    assert!(
        r.errors[0]
            .description
            .ends_with("has no balance for account b")
    );
    assert_eq!(r.error_counts.wrong_total, 0);
}

#[test]
fn a_key_that_is_not_an_account_is_an_unexpected_key() {
    let r = Hist::default()
        .read(0, "ok", r#"{"a":10,"b":10,"zz":0}"#)
        .check(&given(20, &["a", "b"]))
        .unwrap();
    assert_eq!(
        errors(&r),
        [(ErrorKind::UnexpectedKey, 0, "ok at line 2".to_string())]
    );
    assert_eq!(r.errors[0].unexpected, ["zz"]);
    assert!(
        r.errors[0]
            .description
            .ends_with("has a key that is not an account: zz")
    );
    // A long list is cut in the description, never in the data.
    let keys: Vec<String> = (0..12).map(|i| format!(r#""k{i}":0"#)).collect();
    let r = Hist::default()
        .read(0, "ok", &format!(r#"{{"a":20,{}}}"#, keys.join(",")))
        .check(&given(20, &["a"]))
        .unwrap();
    assert_eq!(r.errors[0].unexpected.len(), 12);
    assert!(
        r.errors[0]
            .description
            .ends_with("has keys that are not accounts: k0, k1, k2, k3, k4, k5, k6, k7 and 4 more"),
        "{}",
        r.errors[0].description
    );
    // Money in an account that does not exist is also money made.
    let r = Hist::default()
        .read(0, "ok", r#"{"a":10,"b":10,"zz":5}"#)
        .check(&given(20, &["a", "b"]))
        .unwrap();
    let kinds: Vec<ErrorKind> = r.errors.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [ErrorKind::WrongTotal, ErrorKind::UnexpectedKey]);
    assert_eq!(r.counts.bad_reads, 1);
}

#[test]
fn one_read_can_show_every_kind_and_each_is_counted() {
    let r = Hist::default()
        .read(0, "ok", r#"{"a":-1,"b":null,"q":3}"#)
        .read(0, "ok", r#"{"a":-1,"b":20,"q":3}"#)
        .check(&given(20, &["a", "b"]))
        .unwrap();
    let kinds: Vec<ErrorKind> = r.errors.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            ErrorKind::WrongTotal,
            ErrorKind::NegativeValue,
            ErrorKind::NegativeValue,
            ErrorKind::NilBalance,
            ErrorKind::UnexpectedKey,
            ErrorKind::UnexpectedKey,
        ]
    );
    assert_eq!(r.counts.bad_reads, 2);
    assert_eq!(r.errors[0].total, Some(22));
}

#[test]
fn errors_beyond_the_cap_are_counted_but_not_kept() {
    let mut h = Hist::default();
    h.read(0, "ok", r#"{"a":1}"#);
    let n = MAX_PER_KIND + 15;
    for _ in 0..n {
        h.read(1, "ok", r#"{"a":2}"#);
    }
    let r = h.check(&Options::default()).unwrap();
    assert_eq!(r.error_counts.wrong_total, n);
    assert_eq!(r.errors.len(), MAX_PER_KIND);
    assert_eq!(r.counts.bad_reads, n);
    assert!(r.render_text().contains(&format!(
        "… {} more wrong-total errors (results.json keeps up to {MAX_PER_KIND})",
        n - 10
    )));
}

#[test]
fn only_ok_reads_are_checked() {
    // A failed or unknown read may carry anything: it returned nothing.
    let text = Hist::default()
        .read(0, "ok", r#"{"a":1}"#)
        .ev(1, "invoke", "read", "null")
        .ev(1, "info", "read", r#"{"a":99}"#)
        .ev(2, "invoke", "read", "null")
        .ev(2, "fail", "read", "\"refused\"")
        .text();
    let r = check_text(&text, &Options::default()).unwrap();
    assert_eq!(r.valid, Validity::Valid);
}

// ---------------------------------------------------------------------------------------------
// Jepsen's history.edn
// ---------------------------------------------------------------------------------------------

#[test]
fn a_jepsen_history_with_conserved_money_is_valid() {
    let r = check_fixture("jepsen-valid.edn", &Options::default());
    assert_eq!(r.valid, Validity::Valid, "{}", r.render_text());
    assert_eq!(r.total, Some(40));
    assert_eq!(r.accounts.as_deref().unwrap(), ["0", "1", "2", "3"]);
    let (reads, transfers) = (r.counts.reads, r.counts.transfers);
    assert_eq!((reads.ops, reads.ok, reads.fail), (4, 3, 1));
    assert_eq!((transfers.ok, transfers.fail, transfers.info), (1, 1, 1));
    // Given as Jepsen's test map gives them, the same.
    let accounts = ["0", "1", "2", "3"];
    let r = check_fixture("jepsen-valid.edn", &given(40, &accounts));
    assert_eq!(r.valid, Validity::Valid);
    // The operation names say it is a bank.
    let (file, text) = fixture("jepsen-valid.edn");
    let h = read_history(&file, &text, None).unwrap();
    let ops = h.operations().unwrap();
    assert_eq!(compose::infer(&h, &ops).map(|m| m.name), Some("bank"));
}

#[test]
fn a_jepsen_history_shows_each_kind_of_error_at_its_line() {
    let r = check_fixture("jepsen-invalid.edn", &Options::default());
    assert_eq!(r.valid, Validity::Invalid);
    let c = r.error_counts;
    assert_eq!(
        (
            c.wrong_total,
            c.negative_value,
            c.nil_balance,
            c.unexpected_key
        ),
        (1, 3, 1, 1)
    );
    assert_eq!(r.counts.bad_reads, 4);
    let at = |kind: ErrorKind| -> Vec<String> {
        errors(&r)
            .into_iter()
            .filter(|e| e.0 == kind)
            .map(|e| e.2)
            .collect()
    };
    assert_eq!(at(ErrorKind::WrongTotal), ["ok at line 5"]);
    assert_eq!(
        at(ErrorKind::NegativeValue),
        ["ok at line 10", "ok at line 12", "ok at line 14"]
    );
    assert_eq!(at(ErrorKind::NilBalance), ["ok at line 12"]);
    assert_eq!(at(ErrorKind::UnexpectedKey), ["ok at line 14"]);
    let unexpected = r.errors.iter().find(|e| e.kind == ErrorKind::UnexpectedKey);
    assert_eq!(unexpected.unwrap().unexpected, ["4"]);
    // Through the composed checker, as `faultline check --model bank` runs it.
    let (file, text) = fixture("jepsen-invalid.edn");
    let h = read_history(&file, &text, None).unwrap();
    let ops = h.operations().unwrap();
    let bank = Model::named("bank").unwrap();
    let results = compose::check(&h, &ops, bank.checkers, &compose::Options::default()).unwrap();
    assert_eq!(results[0].name(), "bank");
    assert_eq!(compose::merge(&results), Validity::Invalid);
}

// ---------------------------------------------------------------------------------------------
// Bad input: one line, naming the file, the line and what was expected
// ---------------------------------------------------------------------------------------------

#[test]
fn bad_input_is_refused_naming_file_line_and_expectation() {
    let read = |value: &str| {
        format!(
            "{{\"process\":0,\"type\":\"invoke\",\"f\":\"read\",\"value\":null}}\n{{\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"value\":{value}}}\n"
        )
    };
    let transfer = |value: &str| {
        format!(
            "{{\"process\":0,\"type\":\"invoke\",\"f\":\"transfer\",\"value\":{value}}}\n{{\"process\":0,\"type\":\"ok\",\"f\":\"transfer\",\"value\":{value}}}\n"
        )
    };
    let cases = [
        (
            "{\"process\":0,\"type\":\"invoke\",\"f\":\"deposit\",\"value\":1}\n".to_string(),
            Options::default(),
            "bank.jsonl:1: bank checker: expected f transfer or read, found `deposit`",
        ),
        (
            read("[1,2]"),
            Options::default(),
            "bank.jsonl:2: bank checker: process 0: expected an ok read's value to be a map of account to balance, found `[1,2]`",
        ),
        (
            read(r#"{"a":1.5}"#),
            Options::default(),
            "bank.jsonl:2: bank checker: process 0: expected account `a`'s balance to be an integer or nil, found `1.5`",
        ),
        (
            read(r#"{"a":1,"a":2}"#),
            Options::default(),
            "bank.jsonl:2: bank checker: process 0: expected each account once in a read, found `a` twice",
        ),
        (
            transfer(r#"{"from":"a","to":"b"}"#),
            Options::default(),
            "bank.jsonl:1: bank checker: process 0: expected the transfer's amount to be an integer, found none",
        ),
        (
            transfer(r#"{"from":null,"to":"b","amount":1}"#),
            Options::default(),
            "bank.jsonl:1: bank checker: process 0: expected the transfer's from to be an account (an integer or a string), found `null`",
        ),
        (
            transfer("5"),
            Options::default(),
            "bank.jsonl:1: bank checker: process 0: expected a transfer's value to be a map with from, to and amount, found `5`",
        ),
        (
            read(r#"{"a":1,"b":null}"#),
            Options::default(),
            "bank.jsonl:2: bank checker: cannot infer the total from the first ok read (process 0): it has no balance for account `b`; give the total",
        ),
        (
            read(r#"{"a":1}"#),
            Options {
                accounts: Some(vec!["a".into(), "b".into()]),
                ..Options::default()
            },
            "bank.jsonl:2: bank checker: cannot infer the total from the first ok read (process 0): it has no balance for account `b`; give the total",
        ),
        (
            read(r#"{"a":9223372036854775807,"b":1}"#),
            Options::default(),
            "bank.jsonl:2: bank checker: process 0: expected the read's balances to sum to a 64-bit integer, found 9223372036854775808",
        ),
        (
            read(r#"{"a":1}"#),
            Options {
                accounts: Some(vec!["a".into(), "a".into()]),
                ..Options::default()
            },
            "bank.jsonl: bank checker: expected distinct accounts, found `a` twice",
        ),
    ];
    for (text, options, want) in cases {
        let got = check_text(&text, &options).unwrap_err().to_string();
        assert_eq!(got, want, "for {text:?}");
    }
}

#[test]
fn a_jepsen_read_with_a_key_that_is_no_account_is_refused() {
    let text = "{:type :invoke, :f :read, :value nil, :process 0}\n\
                {:type :ok, :f :read, :value {[1 2] 3}, :process 0}\n";
    let h = read_history("history.edn", text, None).unwrap();
    let e = bank::check(&h, &h.operations().unwrap(), &Options::default()).unwrap_err();
    assert_eq!(e.line, 2);
    assert!(
        e.message
            .contains("expected the read's accounts to be integers or strings, found `[1,2]`"),
        "{e}"
    );
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

/// Balances as a read returns them: accounts `"0"`, `"1"`, ….
fn object(balances: &[i64]) -> String {
    let fields: Vec<String> = balances
        .iter()
        .enumerate()
        .map(|(i, v)| format!("\"{i}\":{v}"))
        .collect();
    format!("{{{}}}", fields.join(","))
}

/// One step of a simulated bank: a transfer (from, to, amount, how it ends) or a read.
#[derive(Clone, Debug)]
enum Step {
    Transfer(usize, usize, i64, u8),
    Read(u8),
}

fn step(accounts: usize) -> impl Strategy<Value = Step> {
    prop_oneof![
        (0..accounts, 0..accounts, 0i64..30, 0u8..4)
            .prop_map(|(f, t, a, o)| Step::Transfer(f, t, a, o)),
        (0u8..3).prop_map(Step::Read),
    ]
}

/// A bank whose transfers are atomic (an `ok` one applied, a `fail` one not, an `info` one
/// either way) and never overdraw, and whose `ok` reads return the balances as they are; with
/// the ok reads' line numbers and balances.
fn simulate(initial: &[i64], steps: &[Step]) -> (Hist, Vec<Vec<i64>>) {
    let mut balances = initial.to_vec();
    let mut h = Hist::default();
    let mut seen = Vec::new();
    for (p, s) in steps.iter().enumerate() {
        let p = p as u64 % 5;
        match *s {
            Step::Transfer(from, to, amount, outcome) => {
                let enough = balances[from] >= amount;
                let applied = enough && (outcome < 2 || outcome == 3);
                let ty = match outcome {
                    _ if !enough => "fail",
                    0 | 1 => "ok",
                    2 => "fail",
                    _ => "info",
                };
                if applied {
                    balances[from] -= amount;
                    balances[to] += amount;
                }
                h.transfer(p, &from.to_string(), &to.to_string(), amount, ty);
            }
            Step::Read(outcome) => {
                let ty = ["ok", "fail", "info"][outcome as usize];
                h.read(p, ty, &object(&balances));
                if ty == "ok" {
                    seen.push(balances.clone());
                }
            }
        }
    }
    (h, seen)
}

/// `steps` with their accounts among `n`.
fn within(n: usize, steps: Vec<Step>) -> Vec<Step> {
    steps
        .into_iter()
        .map(|s| match s {
            Step::Transfer(f, t, a, o) => Step::Transfer(f % n, t % n, a, o),
            read => read,
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn an_atomic_bank_is_never_reported(
        initial in proptest::collection::vec(0i64..50, 1..6),
        steps in proptest::collection::vec(step(5), 0..40),
    ) {
        let n = initial.len();
        let steps = within(n, steps);
        let (h, _) = simulate(&initial, &steps);
        let r = h.check(&Options::default()).unwrap();
        prop_assert_eq!(r.valid, Validity::Valid, "{}", r.render_text());
        let accounts: Vec<String> = (0..n).map(|i| i.to_string()).collect();
        let total: i64 = initial.iter().sum();
        let r = h.check(&Options { total: Some(total), accounts: Some(accounts), allow_negative: false }).unwrap();
        prop_assert_eq!(r.valid, Validity::Valid, "{}", r.render_text());
    }

    #[test]
    fn one_read_knocked_off_is_always_a_wrong_total(
        initial in proptest::collection::vec(0i64..50, 1..6),
        steps in proptest::collection::vec(step(5), 1..30),
        which in any::<prop::sample::Index>(),
        account in any::<prop::sample::Index>(),
        by in prop_oneof![-100i64..0, 1i64..100],
    ) {
        let n = initial.len();
        let mut steps = within(n, steps);
        steps.push(Step::Read(0));
        let (mut h, seen) = simulate(&initial, &steps);
        // The ok reads' completions, in order: knock one balance of one of them off by `by`.
        let ok_lines: Vec<usize> = h
            .lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.contains(r#""type":"ok","f":"read""#))
            .map(|(i, _)| i)
            .collect();
        let k = which.index(ok_lines.len());
        let mut balances = seen[k].clone();
        let a = account.index(n);
        balances[a] += by;
        let line = ok_lines[k];
        let at = h.lines[line].find(r#""value":"#).unwrap();
        h.lines[line].truncate(at);
        h.lines[line].push_str(&format!(r#""value":{}}}"#, object(&balances)));
        let accounts: Vec<String> = (0..n).map(|i| i.to_string()).collect();
        let total: i64 = initial.iter().sum();
        let options = Options { total: Some(total), accounts: Some(accounts), allow_negative: true };
        let r = h.check(&options).unwrap();
        prop_assert_eq!(r.valid, Validity::Invalid);
        prop_assert_eq!(r.error_counts.wrong_total, 1);
        let e = &r.errors[0];
        prop_assert_eq!((e.expected, e.total), (Some(total), Some(total + by)));
        prop_assert_eq!(e.description.contains(&format!("ok at line {}", line + 1)), true);
    }
}
