//! The unique-ids checker (`checkers::unique_ids`) with snowflake decoding, on small hand-made
//! histories of the `unique-ids` workload, each with its expected verdict; and a property: a
//! simulated server whose workers never go back is never reported, however the answers
//! interleave.
//!
//! Histories are written with [`Hist`], one event per line in the order given (event `k` at
//! `k` ms on the harness clock), and read back as JSON Lines, so that line numbers are real.
//! IDs are made with the default layout ([`id`]) and written as decimal strings, as the
//! workload writes them.

use checkers::history::read_jsonl;
use checkers::unique_ids::{
    self, MAX_REGRESSIONS, Monotonicity, Options, Report, Snowflake, SnowflakeLayout, WorkerIds,
};
use checkers::{InputError, Validity, Value};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// Writing histories
// ---------------------------------------------------------------------------------------------

/// A time well after the default epoch, ms.
const T0: i64 = 1_700_000_000_000;

/// The default layout's ID for `T0 + ms`, `worker`, `sequence`.
fn id(ms: i64, worker: u64, sequence: u64) -> u64 {
    SnowflakeLayout::default()
        .encode(Snowflake {
            timestamp_ms: T0 + ms,
            worker,
            sequence,
        })
        .expect("fits the default layout")
}

/// IDs as a JSON list of decimal strings.
fn batch(ids: &[u64]) -> String {
    let ids: Vec<String> = ids.iter().map(|i| format!("\"{i}\"")).collect();
    format!("[{}]", ids.join(","))
}

#[derive(Default)]
struct Hist {
    lines: Vec<String>,
}

impl Hist {
    fn ev(&mut self, p: u64, ty: &str, value: &str) -> &mut Self {
        let t = self.lines.len() as u64 * 1_000_000;
        self.lines.push(format!(
            r#"{{"time":{t},"process":{p},"type":"{ty}","f":"generate","value":{value}}}"#
        ));
        self
    }

    fn invoke(&mut self, p: u64) -> &mut Self {
        self.ev(p, "invoke", "1")
    }

    /// Process `p`'s outstanding generate completes `ok` with these IDs.
    fn ok(&mut self, p: u64, ids: &[u64]) -> &mut Self {
        self.ev(p, "ok", &batch(ids))
    }

    /// A generate invoked and completed `ok` straight away.
    fn call(&mut self, p: u64, ids: &[u64]) -> &mut Self {
        self.invoke(p).ok(p, ids)
    }

    fn check_with(&self, options: &Options) -> Result<Report, InputError> {
        let h = read_jsonl("ids.jsonl", &self.lines.join("\n")).expect("a well-formed history");
        let ops = h.operations().expect("well-paired");
        unique_ids::check_with(&h, &ops, options)
    }

    /// Checked with the default snowflake layout, by both checkers: uniqueness, and each
    /// worker's order.
    fn check(&self) -> Checked {
        let h = read_jsonl("ids.jsonl", &self.lines.join("\n")).expect("a well-formed history");
        let ops = h.operations().expect("well-paired");
        let layout = SnowflakeLayout::default();
        Checked {
            report: self.check_with(&snowflake()).expect("no input error"),
            monotonicity: Some(unique_ids::monotonicity(&h, &ops, layout).expect("no input error")),
        }
    }
}

/// The two checkers' reports on one history.
struct Checked {
    report: Report,
    monotonicity: Option<Monotonicity>,
}

impl std::ops::Deref for Checked {
    type Target = Report;

    fn deref(&self) -> &Report {
        &self.report
    }
}

fn snowflake() -> Options {
    Options {
        snowflake: Some(SnowflakeLayout::default()),
    }
}

fn regressed(r: &Checked) -> usize {
    r.monotonicity.as_ref().expect("decoded").regressed
}

fn workers(r: &Checked) -> Vec<(u64, usize, usize)> {
    r.monotonicity
        .as_ref()
        .expect("decoded")
        .workers
        .iter()
        .map(
            |&WorkerIds {
                 worker,
                 ids,
                 regressed,
             }| (worker, ids, regressed),
        )
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The layout and the options
// ---------------------------------------------------------------------------------------------

#[test]
fn the_default_layout_is_twitters_with_a_2020_epoch() {
    let l = SnowflakeLayout::default();
    assert_eq!(
        (l.epoch_ms, l.timestamp_bits, l.worker_bits, l.sequence_bits),
        (1_577_836_800_000, 41, 10, 12)
    );
    assert_eq!(Options::default().snowflake, None);
    // 2020-01-01 + 1 ms, worker 1, sequence 1.
    assert_eq!(
        l.decode((1 << 22) | (1 << 12) | 1),
        Some(Snowflake {
            timestamp_ms: 1_577_836_800_001,
            worker: 1,
            sequence: 1
        })
    );
}

#[test]
fn without_a_layout_nothing_is_decoded() {
    let mut h = Hist::default();
    h.call(0, &[id(0, 1, 0)]).call(1, &[id(0, 1, 0)]);
    let r = h.check_with(&Options::default()).unwrap();
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(r.duplicates[0].decoded, None);
    // And `check` is the same check.
    let text = h.lines.join("\n");
    let hist = read_jsonl("ids.jsonl", &text).unwrap();
    let plain = unique_ids::check(&hist, &hist.operations().unwrap()).unwrap();
    assert_eq!((plain.valid, plain.duplicated), (Validity::Invalid, 1));
}

#[test]
fn a_layout_that_does_not_fit_64_bits_is_an_input_error() {
    let mut h = Hist::default();
    h.call(0, &[1]);
    let options = Options {
        snowflake: Some(SnowflakeLayout {
            worker_bits: 12,
            ..SnowflakeLayout::default()
        }),
    };
    let e = h.check_with(&options).unwrap_err();
    assert_eq!(e.line, 0);
    assert!(e.message.contains("65 bits"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// Must accept
// ---------------------------------------------------------------------------------------------

#[test]
fn distinct_increasing_ids_are_valid_with_nothing_to_report() {
    let mut h = Hist::default();
    h.call(0, &[id(0, 1, 0)])
        .call(1, &[id(0, 1, 1)])
        .call(0, &[id(0, 2, 0)])
        .call(1, &[id(5, 1, 0)])
        .invoke(2)
        .ev(2, "info", "null");
    let r = h.check();
    assert_eq!(r.valid, Validity::Valid);
    assert_eq!(
        (r.attempted, r.acknowledged, r.ids, r.duplicated),
        (5, 4, 4, 0)
    );
    assert_eq!(regressed(&r), 0);
    assert_eq!(workers(&r), vec![(1, 3, 0), (2, 1, 0)]);
    let m = r.monotonicity.as_ref().unwrap();
    assert_eq!(m.layout, SnowflakeLayout::default());
    assert!(m.regressions.is_empty());
}

#[test]
fn integers_and_decimal_strings_are_both_ids() {
    let mut h = Hist::default();
    let (a, b) = (id(0, 0, 0), id(0, 0, 1));
    h.invoke(0)
        .ev(0, "ok", &a.to_string())
        .invoke(1)
        .ev(1, "ok", &format!("[{b}]"));
    let r = h.check();
    assert_eq!((r.valid, r.ids, regressed(&r)), (Validity::Valid, 2, 0));
    assert_eq!(r.range, Some([Value::Int(a as i64), Value::Int(b as i64)]));
}

#[test]
fn batch_ids_follow_the_list_order() {
    // Increasing within each batch, and from batch to batch.
    let mut h = Hist::default();
    h.call(0, &[id(0, 4, 0), id(0, 4, 1), id(0, 4, 2)])
        .call(1, &[id(1, 4, 0), id(1, 4, 1)]);
    let r = h.check();
    assert_eq!((r.valid, r.ids, regressed(&r)), (Validity::Valid, 5, 0));
    assert_eq!(workers(&r), vec![(4, 5, 0)]);

    // A batch that goes back inside itself: the later ID is reported against the one before
    // it in the list, both from the same op.
    let mut h = Hist::default();
    h.call(0, &[id(3, 4, 0), id(3, 4, 1), id(1, 4, 7), id(3, 4, 2)]);
    let r = h.check();
    assert_eq!(r.valid, Validity::Valid);
    assert_eq!(workers(&r), vec![(4, 4, 1)]);
    let g = &r.monotonicity.as_ref().unwrap().regressions[0];
    assert_eq!(g.earlier.line, g.later.line);
    assert_eq!(g.earlier_id, Value::str(&id(3, 4, 1).to_string()));
    assert_eq!(g.later_id, Value::str(&id(1, 4, 7).to_string()));
    assert_eq!(g.back_ms, 2);
    assert_eq!(g.back_by, id(3, 4, 1) - id(1, 4, 7));
}

#[test]
fn a_batch_from_several_workers_is_ordered_per_worker() {
    // Interleaved workers in one batch: each worker increases on its own.
    let mut h = Hist::default();
    h.call(0, &[id(9, 1, 0), id(2, 2, 0), id(9, 1, 1), id(2, 2, 1)])
        .call(0, &[id(3, 2, 0), id(10, 1, 0)]);
    let r = h.check();
    assert_eq!(regressed(&r), 0);
    assert_eq!(workers(&r), vec![(1, 3, 0), (2, 3, 0)]);
}

#[test]
fn the_worker_comes_from_the_id_not_the_process() {
    // One process, two workers; worker 6's ID is lower than worker 5's, which is no
    // regression.
    let mut h = Hist::default();
    h.call(0, &[id(100, 5, 0)]).call(0, &[id(50, 6, 0)]);
    let r = h.check();
    assert_eq!(regressed(&r), 0);
    assert_eq!(workers(&r), vec![(5, 1, 0), (6, 1, 0)]);

    // Two processes, one worker: process 1's ID, asked for after process 0's came back, is a
    // regression of worker 5.
    let mut h = Hist::default();
    h.call(0, &[id(100, 5, 0)]).call(1, &[id(50, 5, 0)]);
    let r = h.check();
    assert_eq!(r.valid, Validity::Valid);
    assert_eq!(workers(&r), vec![(5, 2, 1)]);
    let g = &r.monotonicity.as_ref().unwrap().regressions[0];
    assert_eq!((g.worker, g.earlier.process, g.later.process), (5, 0, 1));
}

#[test]
fn a_real_time_regression_is_reported_with_back_ms_and_stays_valid() {
    // Worker 1's clock steps back 600 ms between two sequential requests.
    let (high, low) = (id(1000, 1, 3), id(400, 1, 0));
    let mut h = Hist::default();
    h.call(0, &[id(999, 1, 0)])
        .call(0, &[high])
        .call(1, &[low])
        .call(0, &[id(401, 1, 0)]);
    let r = h.check();
    assert_eq!(r.valid, Validity::Valid);
    assert_eq!(r.duplicated, 0);
    // One place where it went back; the IDs after it increase again.
    assert_eq!(workers(&r), vec![(1, 4, 1)]);
    let m = r.monotonicity.as_ref().unwrap();
    assert_eq!(m.regressed, 1);
    let g = &m.regressions[0];
    assert_eq!(g.worker, 1);
    assert_eq!(g.earlier_id, Value::str(&high.to_string()));
    assert_eq!(g.later_id, Value::str(&low.to_string()));
    assert_eq!(g.back_ms, 600);
    assert_eq!(g.back_by, high - low);
    // The ops: the earlier one's completion (line 4) before the later one's invocation
    // (line 5).
    assert_eq!((g.earlier.process, g.earlier.line), (0, 3));
    assert_eq!(g.earlier.complete_index, Some(3));
    assert_eq!((g.later.process, g.later.line, g.later.index), (1, 5, 4));
}

#[test]
fn concurrent_out_of_order_completions_are_not_regressions() {
    // The worker issues 1 to process 0, then 2 to process 1, whose answer arrives first. In
    // completion order the IDs go 2, 1 — but the two requests overlap.
    let (first, second) = (id(0, 1, 0), id(0, 1, 1));
    let mut h = Hist::default();
    h.invoke(0)
        .invoke(1)
        .ok(1, &[second])
        .ok(0, &[first])
        // A later request compares with both (the greater, `second`), and is greater.
        .call(2, &[id(0, 1, 2)]);
    let r = h.check();
    assert_eq!(r.valid, Validity::Valid);
    assert_eq!(workers(&r), vec![(1, 3, 0)]);
    assert!(r.monotonicity.unwrap().regressions.is_empty());
}

#[test]
fn a_regression_behind_a_concurrent_pair_is_still_found() {
    // Processes 0 and 1 overlap and get 100 and 50 (order unknown: not compared); process 2,
    // asking after both came back, gets 60 — lower than 100, which was certainly issued
    // before it. The ID just before it in completion order (50) is lower, but 100 is as much
    // its predecessor.
    let (a, b, c) = (id(100, 1, 0), id(50, 1, 0), id(60, 1, 0));
    let mut h = Hist::default();
    h.invoke(0).invoke(1).ok(0, &[a]).ok(1, &[b]).call(2, &[c]);
    let r = h.check();
    assert_eq!(r.valid, Validity::Valid);
    assert_eq!(workers(&r), vec![(1, 3, 1)]);
    let g = &r.monotonicity.as_ref().unwrap().regressions[0];
    assert_eq!((g.earlier.process, g.later.process), (0, 2));
    assert_eq!(g.back_ms, 40);
}

#[test]
fn an_op_that_completed_before_a_later_invocation_is_no_longer_the_predecessor() {
    // 100, then (sequentially) 50, then 60: only the step from 100 to 50 is reported; 60
    // follows 50, not 100.
    let mut h = Hist::default();
    h.call(0, &[id(100, 1, 0)])
        .call(1, &[id(50, 1, 0)])
        .call(2, &[id(60, 1, 0)]);
    let r = h.check();
    assert_eq!(workers(&r), vec![(1, 3, 1)]);
}

#[test]
fn failed_and_unknown_ops_issue_nothing() {
    let mut h = Hist::default();
    h.call(0, &[id(100, 1, 0)])
        .invoke(1)
        .ev(1, "fail", r#""clock-moved-backwards""#)
        .invoke(1)
        .ev(1, "info", "null")
        .call(0, &[id(101, 1, 0)]);
    let r = h.check();
    assert_eq!(
        (r.valid, r.acknowledged, regressed(&r)),
        (Validity::Valid, 2, 0)
    );
}

#[test]
fn regressions_are_capped_but_all_counted() {
    let mut h = Hist::default();
    let n = MAX_REGRESSIONS as i64 + 5;
    for k in 0..n {
        // Each ID lower than the one before.
        h.call(0, &[id(1000 - k, 2, 0)]);
    }
    let r = h.check();
    assert_eq!(r.valid, Validity::Valid);
    let m = r.monotonicity.unwrap();
    assert_eq!(m.regressed, n as usize - 1);
    assert_eq!(m.workers[0].regressed, n as usize - 1);
    assert_eq!(m.regressions.len(), MAX_REGRESSIONS);
    // In history order: the first kept is the first found.
    assert_eq!(
        m.regressions[0].later_id,
        Value::str(&id(999, 2, 0).to_string())
    );
}

// ---------------------------------------------------------------------------------------------
// Must reject
// ---------------------------------------------------------------------------------------------

#[test]
fn a_backward_clock_duplicate_is_invalid_and_decoded() {
    // Worker 7's clock steps back and it hands out timestamp 250, sequence 3 a second time, to
    // a later request by another process.
    let dup = id(250, 7, 3);
    let mut h = Hist::default();
    h.call(0, &[id(249, 7, 0), dup])
        .call(0, &[id(300, 7, 0)])
        .call(1, &[dup]);
    let r = h.check();
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(r.duplicated, 1);
    let d = &r.duplicates[0];
    assert_eq!(d.id, Value::str(&dup.to_string()));
    assert_eq!(
        d.decoded,
        Some(Snowflake {
            timestamp_ms: T0 + 250,
            worker: 7,
            sequence: 3
        })
    );
    let procs: Vec<u64> = d.ops.iter().map(|o| o.process).collect();
    assert_eq!(procs, vec![0, 1]);
    // The step back, from 300 to the repeated ID, is also a regression.
    let g = &r.monotonicity.as_ref().unwrap().regressions[0];
    assert_eq!(
        (g.back_ms, g.later_id.clone()),
        (50, Value::str(&dup.to_string()))
    );
}

#[test]
fn the_same_id_twice_in_a_row_is_a_duplicate_and_a_regression_by_zero() {
    let dup = id(250, 7, 3);
    let mut h = Hist::default();
    h.call(0, &[dup]).call(1, &[dup]);
    let r = h.check();
    assert_eq!(r.valid, Validity::Invalid);
    let g = &r.monotonicity.as_ref().unwrap().regressions[0];
    assert_eq!((g.back_by, g.back_ms), (0, 0));
}

#[test]
fn a_duplicate_between_concurrent_requests_is_invalid_but_no_regression() {
    let dup = id(10, 0, 0);
    let mut h = Hist::default();
    h.invoke(0).invoke(1).ok(0, &[dup]).ok(1, &[dup]);
    let r = h.check();
    assert_eq!(
        (r.valid, r.duplicated, regressed(&r)),
        (Validity::Invalid, 1, 0)
    );
}

#[test]
fn with_a_layout_ids_are_compared_as_numbers() {
    // `"7"` and `7` are one ID when decoded (and two opaque values when not).
    let mut h = Hist::default();
    h.invoke(0).ev(0, "ok", "7").invoke(1).ev(1, "ok", r#""7""#);
    let r = h.check();
    assert_eq!((r.valid, r.duplicated), (Validity::Invalid, 1));
    assert_eq!(r.duplicates[0].id, Value::Int(7));
    let r = h.check_with(&Options::default()).unwrap();
    assert_eq!((r.valid, r.duplicated), (Validity::Valid, 0));
}

#[test]
fn non_numeric_ids_are_input_errors_when_decoding() {
    let bad = |value: &str| {
        let mut h = Hist::default();
        h.call(0, &[id(0, 0, 0)]).invoke(1).ev(1, "ok", value);
        h.check_with(&snowflake()).unwrap_err()
    };
    for value in [
        r#""abc""#,
        r#"["1","x"]"#,
        "-5",
        r#""18446744073709551616""#,
        r#""+7""#,
        r#""""#,
    ] {
        let e = bad(value);
        // The line of the completion that returned it.
        assert_eq!((e.file.as_str(), e.line), ("ids.jsonl", 4), "{value}");
        assert!(e.message.contains("expected a snowflake ID"), "{e}");
    }
    // Fits 64 bits but not the 63 of the layout.
    let e = bad(r#""9223372036854775808""#);
    assert_eq!(e.line, 4);
    assert!(
        e.message.contains("does not fit the snowflake layout"),
        "{e}"
    );
    // Without decoding, an opaque string is fine.
    let mut h = Hist::default();
    h.call(0, &[1]).invoke(1).ev(1, "ok", r#""abc""#);
    assert_eq!(
        h.check_with(&Options::default()).unwrap().valid,
        Validity::Valid
    );
}

// ---------------------------------------------------------------------------------------------
// The JSON
// ---------------------------------------------------------------------------------------------

#[test]
fn the_report_serialises_with_the_documented_fields() {
    let (high, low) = (id(1000, 1, 0), id(400, 1, 0));
    let mut h = Hist::default();
    h.call(0, &[high]).call(1, &[low]).call(2, &[low]);
    let checked = h.check();
    let json = serde_json::to_value(&checked.report).unwrap();
    assert_eq!(json["valid"], false);
    assert!(json.get("monotonicity").is_none(), "a checker of its own");
    assert_eq!(
        json["duplicates"][0]["decoded"],
        serde_json::json!({"timestamp_ms": T0 + 400, "worker": 1, "sequence": 0})
    );
    let m = &serde_json::to_value(&checked.monotonicity).unwrap();
    assert_eq!(
        m["layout"],
        serde_json::json!({"epoch_ms": 1_577_836_800_000i64, "timestamp_bits": 41, "worker_bits": 10, "sequence_bits": 12})
    );
    assert_eq!(m["regressed"], 2);
    assert_eq!(
        m["workers"],
        serde_json::json!([{"worker": 1, "ids": 3, "regressed": 2}])
    );
    let g = &m["regressions"][0];
    assert_eq!(g["worker"], 1);
    assert_eq!(g["earlier"]["process"], 0);
    assert_eq!(g["later"]["process"], 1);
    assert_eq!(g["earlier_id"], high.to_string());
    assert_eq!(g["later_id"], low.to_string());
    assert_eq!(g["back_by"], (high - low).to_string());
    assert_eq!(g["back_ms"], 600);
    assert_eq!(m["regressions"][1]["back_by"], "0");
    // And reads back as written.
    let back: Monotonicity = serde_json::from_value(m.clone()).unwrap();
    assert_eq!(&serde_json::to_value(&back).unwrap(), m);
    // Without decoding, `decoded` does not appear.
    let json = serde_json::to_value(h.check_with(&Options::default()).unwrap()).unwrap();
    assert!(json["duplicates"][0].get("decoded").is_none());
}

// ---------------------------------------------------------------------------------------------
// Property: a server that never goes back is never reported
// ---------------------------------------------------------------------------------------------

/// Plays a server whose workers each hand out increasing IDs, serving up to 4 clients at once
/// and answering in any order. Each step picks a client: an idle one invokes; one that has
/// asked is served (its batch issued, now); one that has been served hears the answer.
fn simulated(steps: &[(u8, u8, u8)]) -> Hist {
    #[derive(Clone)]
    enum State {
        Idle,
        Asked,
        Served(Vec<u64>),
    }
    let mut clients = vec![State::Idle; 4];
    let mut next_ms = [0i64; 3];
    let mut h = Hist::default();
    for &(client, worker, size) in steps {
        let p = usize::from(client % 4);
        let w = usize::from(worker % 3);
        clients[p] = match std::mem::replace(&mut clients[p], State::Idle) {
            State::Idle => {
                h.invoke(p as u64);
                State::Asked
            }
            State::Asked => State::Served(
                (0..=size % 3)
                    .map(|_| {
                        next_ms[w] += 1;
                        id(next_ms[w], w as u64, 0)
                    })
                    .collect(),
            ),
            State::Served(ids) => {
                h.ok(p as u64, &ids);
                State::Idle
            }
        };
    }
    h
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn a_server_that_never_goes_back_is_never_reported(
        steps in proptest::collection::vec((0u8..4, 0u8..3, 0u8..3), 0..80)
    ) {
        let r = simulated(&steps).check();
        prop_assert_eq!(r.valid, Validity::Valid);
        prop_assert_eq!(regressed(&r), 0);
    }

    #[test]
    fn one_step_back_between_sequential_requests_is_found_once(
        before in 1i64..50, back in 1i64..50, after in 0u64..5
    ) {
        // One client; worker 0 steps back by `back` ms after `before` IDs, then counts up
        // again from there (still below where it had been): one place where it went back.
        // The IDs after the step have sequence numbers from 1, so none repeats one before.
        let mut h = Hist::default();
        for k in 0..before {
            h.call(0, &[id(100 + k, 0, 0)]);
        }
        let low = 100 + before - 1 - back;
        for k in 0..=after {
            h.call(0, &[id(low, 0, 1 + k)]);
        }
        let r = h.check();
        prop_assert_eq!(r.valid, Validity::Valid);
        prop_assert_eq!(regressed(&r), 1);
        let g = &r.monotonicity.as_ref().unwrap().regressions[0];
        prop_assert_eq!(g.back_ms, back);
        prop_assert_eq!(&g.later_id, &Value::str(&id(low, 0, 1).to_string()));
    }
}
