//! Jepsen histories read with Knossos's semantics: the verdicts Knossos gives on small
//! `history.edn` files, written by hand for this test (each comment says why Knossos decides as
//! it does), for the `register`, `cas-register` and `multi-register` models.
//!
//! Knossos's models (`knossos/model.clj`) accept a read of nil in every state: the client did
//! not learn what it read. faultline's own JSON Lines keep nil as "never written", so the same
//! operations in JSONL may be invalid where the EDN is valid; both are tested.

use checkers::Validity;
use checkers::history::read_jsonl;
use checkers::import::read_edn;
use checkers::linear::{self, Options, Report};
use checkers::value::Value;

fn check_edn(model: &str, initial: Option<Value>, edn: &str) -> Report {
    let h = read_edn("history.edn", edn).unwrap();
    let ops = h.operations().unwrap();
    let model = linear::by_name(model, initial).unwrap();
    linear::check(&*model, &h, &ops, &Options::default()).unwrap()
}

fn verdict(model: &str, initial: Option<Value>, edn: &str) -> Validity {
    check_edn(model, initial, edn).valid
}

fn map(pairs: &[(&str, i64)]) -> Option<Value> {
    Some(Value::Map(
        pairs
            .iter()
            .map(|&(k, v)| (Value::str(k), Value::Int(v)))
            .collect(),
    ))
}

/// The issue's example: with initial value 0, a read of nil is legal for Knossos.
#[test]
fn a_read_of_nil_constrains_nothing_in_a_jepsen_history() {
    let edn = "[{:process 0 :type :invoke :f :read :value nil}
                {:process 0 :type :ok :f :read :value nil}]";
    let r = check_edn("register", Some(Value::Int(0)), edn);
    assert_eq!(r.valid, Validity::Valid);
    assert_eq!(r.unconstrained_nil_reads, Some(1));
    assert!(
        r.render_text()
            .contains("1 read of nil constrained nothing")
    );
}

/// The same operations in faultline's own JSONL: nil is "never written", and the register
/// starts at 0, so the read is impossible.
#[test]
fn the_same_read_in_faultlines_own_format_means_never_written() {
    let jsonl = r#"{"process":0,"type":"invoke","f":"read","value":null}
{"process":0,"type":"ok","f":"read","value":null}"#;
    let h = read_jsonl("h.jsonl", jsonl).unwrap();
    let ops = h.operations().unwrap();
    let model = linear::by_name("register", Some(Value::Int(0))).unwrap();
    let r = linear::check(&*model, &h, &ops, &Options::default()).unwrap();
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(r.unconstrained_nil_reads, None);
}

/// A nil read after a completed write: Knossos accepts it (it says nothing), a read of a value
/// never written it rejects.
#[test]
fn nil_reads_after_writes_pass_and_wrong_values_still_fail() {
    let nil_after_write = "{:process 0 :type :invoke :f :write :value 1}
        {:process 0 :type :ok :f :write :value 1}
        {:process 1 :type :invoke :f :read :value nil}
        {:process 1 :type :ok :f :read :value nil}
        {:process 1 :type :invoke :f :read :value nil}
        {:process 1 :type :ok :f :read :value 1}";
    assert_eq!(verdict("register", None, nil_after_write), Validity::Valid);
    let wrong = nil_after_write.replace(":ok :f :read :value 1}", ":ok :f :read :value 2}");
    assert_eq!(verdict("register", None, &wrong), Validity::Invalid);
}

/// A stale read is still caught around the nil reads: 1 then 2 were written in sequence, a read
/// after both returned 1.
#[test]
fn a_stale_read_among_nil_reads_is_caught() {
    let edn = "[{:process 0 :type :invoke :f :write :value 1}
                {:process 0 :type :ok :f :write :value 1}
                {:process 0 :type :invoke :f :write :value 2}
                {:process 0 :type :ok :f :write :value 2}
                {:process 1 :type :invoke :f :read :value nil}
                {:process 1 :type :ok :f :read :value nil}
                {:process 2 :type :invoke :f :read :value nil}
                {:process 2 :type :ok :f :read :value 1}]";
    assert_eq!(verdict("register", None, edn), Validity::Invalid);
}

/// cas-register: a cas from 1 to 2 succeeded, so a later read of 1 is stale; a nil read is not.
#[test]
fn cas_register_histories_follow_knossos() {
    let base = "{:process 0 :type :invoke :f :write :value 1}
        {:process 0 :type :ok :f :write :value 1}
        {:process 0 :type :invoke :f :cas :value [1 2]}
        {:process 0 :type :ok :f :cas :value [1 2]}
        {:process 1 :type :invoke :f :read :value nil}";
    let nil = format!("{base}\n{{:process 1 :type :ok :f :read :value nil}}");
    let stale = format!("{base}\n{{:process 1 :type :ok :f :read :value 1}}");
    let fresh = format!("{base}\n{{:process 1 :type :ok :f :read :value 2}}");
    assert_eq!(verdict("cas-register", None, &nil), Validity::Valid);
    assert_eq!(verdict("cas-register", None, &stale), Validity::Invalid);
    assert_eq!(verdict("cas-register", None, &fresh), Validity::Valid);
}

/// Independent keys (`[key value]` tuples) keep the rule per key.
#[test]
fn independent_keys_keep_the_rule() {
    let edn = "{:process 0 :type :invoke :f :write :value [7 1]}
        {:process 0 :type :ok :f :write :value [7 1]}
        {:process 1 :type :invoke :f :read :value [7 nil]}
        {:process 1 :type :ok :f :read :value [7 nil]}
        {:process 1 :type :invoke :f :read :value [8 nil]}
        {:process 1 :type :ok :f :read :value [8 3]}";
    let r = check_edn("register", None, edn);
    assert_eq!(r.valid, Validity::Invalid);
    let bad: Vec<String> = r
        .partitions
        .iter()
        .filter(|p| p.valid == Validity::Invalid)
        .map(|p| p.key.as_ref().unwrap().to_string())
        .collect();
    assert_eq!(bad, ["8"]);
}

/// multi-register: a transaction writing x and y together is seen whole or not at all.
#[test]
fn multi_register_transactions_are_atomic() {
    let initial = map(&[("x", 0), ("y", 0)]);
    let torn = "[{:process 0 :type :invoke :f :txn :value [[:write :x 1] [:write :y 1]]}
                 {:process 0 :type :ok :f :txn :value [[:write :x 1] [:write :y 1]]}
                 {:process 1 :type :invoke :f :txn :value [[:read :x nil] [:read :y nil]]}
                 {:process 1 :type :ok :f :txn :value [[:read :x 1] [:read :y 0]]}]";
    assert_eq!(
        verdict("multi-register", initial.clone(), torn),
        Validity::Invalid
    );
    let whole = torn.replace("[:read :y 0]", "[:read :y 1]");
    assert_eq!(
        verdict("multi-register", initial.clone(), &whole),
        Validity::Valid
    );
    // A read that overlaps the write may see the state before it.
    let concurrent = "[{:process 0 :type :invoke :f :txn :value [[:write :x 1] [:write :y 1]]}
                       {:process 1 :type :invoke :f :txn :value [[:read :x nil] [:read :y nil]]}
                       {:process 1 :type :ok :f :txn :value [[:read :x 0] [:read :y 0]]}
                       {:process 0 :type :ok :f :txn :value [[:write :x 1] [:write :y 1]]}]";
    assert_eq!(
        verdict("multi-register", initial, concurrent),
        Validity::Valid
    );
}

/// multi-register: nil reads constrain nothing, a key missing from the initial map holds nil,
/// and a read after the transaction's own write sees it.
#[test]
fn multi_register_reads_follow_knossos() {
    let nil = "[{:process 0 :type :invoke :f :txn :value [[:write :x 5]]}
                {:process 0 :type :ok :f :txn :value [[:write :x 5]]}
                {:process 1 :type :invoke :f :txn :value [[:read :x nil] [:read :z nil]]}
                {:process 1 :type :ok :f :txn :value [[:read :x nil] [:read :z nil]]}]";
    let r = check_edn("multi-register", map(&[("x", 0)]), nil);
    assert_eq!(r.valid, Validity::Valid);
    assert_eq!(r.unconstrained_nil_reads, Some(2));
    let own_write = "[{:process 0 :type :invoke :f :txn :value [[:write :x 5] [:read :x nil]]}
                      {:process 0 :type :ok :f :txn :value [[:write :x 5] [:read :x 5]]}]";
    assert_eq!(
        verdict("multi-register", map(&[("x", 0)]), own_write),
        Validity::Valid
    );
    let before_own_write = own_write.replace("[:read :x 5]", "[:read :x 0]");
    assert_eq!(
        verdict("multi-register", map(&[("x", 0)]), &before_own_write),
        Validity::Invalid
    );
}

/// multi-register: a transaction that crashed (info) may have applied, or not; a failed one
/// did not.
#[test]
fn multi_register_unknown_and_failed_transactions() {
    let crashed = "[{:process 0 :type :invoke :f :txn :value [[:write :x 1] [:write :y 1]]}
                    {:process 0 :type :info :f :txn :value [[:write :x 1] [:write :y 1]]}
                    {:process 1 :type :invoke :f :txn :value [[:read :x nil] [:read :y nil]]}
                    {:process 1 :type :ok :f :txn :value [[:read :x 1] [:read :y 1]]}]";
    let initial = map(&[("x", 0), ("y", 0)]);
    assert_eq!(
        verdict("multi-register", initial.clone(), crashed),
        Validity::Valid
    );
    let failed = crashed.replace(":type :info", ":type :fail");
    assert_eq!(
        verdict("multi-register", initial, &failed),
        Validity::Invalid
    );
}

/// Elle's histories may leave out `:f`: a value of micro-ops is a txn, and a txn of two
/// micro-ops is not mistaken for an independent key's tuple.
#[test]
fn a_txn_without_f_and_a_two_op_txn_read_as_txns() {
    let edn = "[{:process 0 :type :invoke :value [[:write :x 1] [:write :y 2]]}
                {:process 0 :type :ok :value [[:write :x 1] [:write :y 2]]}]";
    let h = read_edn("history.edn", edn).unwrap();
    assert!(h.events.iter().all(|e| &*e.f == "txn" && e.key.is_none()));
    assert_eq!(verdict("multi-register", None, edn), Validity::Valid);
}

/// A malformed micro-op names its line.
#[test]
fn a_malformed_micro_op_names_its_line() {
    let edn = "{:process 0 :type :invoke :f :txn :value [[:write :x 1]]}
        {:process 0 :type :ok :f :txn :value [[:frob :x 1]]}";
    let h = read_edn("history.edn", edn).unwrap();
    let ops = h.operations().unwrap();
    let model = linear::by_name("multi-register", None).unwrap();
    let e = linear::check(&*model, &h, &ops, &Options::default()).unwrap_err();
    let text = e.to_string();
    assert!(text.starts_with("history.edn:"), "{text}");
    assert!(
        text.contains("expected a micro-op [read k v] or [write k v]"),
        "{text}"
    );
}
