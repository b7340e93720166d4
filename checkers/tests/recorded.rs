//! Histories faultline recorded that once defeated the checker, kept so they never do again.
//!
//! `histories/stale-reads-crashed-writes.jsonl` is one key of a `raft-kv-stale-reads` run: ten
//! clients, a leader stranded in a minority that still answers reads from its own state, and
//! 0.25-s timeouts, so 28 writes and cas ops sent to it crashed (`info`) while the majority went
//! on — and a stale read of 3 that no crashed op can explain. With every crashed op tried at
//! every step, the search ran out of its 120-s budget (2.8 million configurations) and the run's
//! verdict was `unknown`; with `info` ops taken only where they enable a candidate
//! (`search.rs`), it is invalid after about 600,000.

use std::path::PathBuf;

use checkers::Validity;
use checkers::import::read_history;
use checkers::linear::{self, Options};

#[test]
fn a_stale_read_among_many_crashed_writes_is_found_invalid() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/histories/stale-reads-crashed-writes.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let history = read_history("stale-reads-crashed-writes.jsonl", &text, None).unwrap();
    let ops = history.operations().unwrap();
    let model = linear::by_name("cas-register", None).unwrap();
    let report = linear::check(&*model, &history, &ops, &Options::default()).unwrap();
    assert_eq!(report.valid, Validity::Invalid, "{report:?}");
    let key = &report.partitions[0];
    assert!(
        key.configurations < 1_000_000,
        "{} configurations",
        key.configurations
    );
    // The stale read itself: process 80 read 3 from the stranded leader.
    let cx = key.counterexample.as_ref().expect("a counterexample");
    assert_eq!((cx.op.process, cx.op.line), (80, 355), "{cx:?}");
}
