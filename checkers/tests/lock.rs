//! The lock-safety checker (`checkers::lock`) on small hand-made histories of the `lock`
//! workload (docs/workloads/lock.md), each with its expected verdict, and two properties:
//! sequential holdings generated at random are always valid, and one more acquire inside any
//! of their windows is always an overlap.
//!
//! Histories are written with [`Hist`], in milliseconds on the harness clock; events are put
//! in time order (ties keep the order they were added) and read back as JSON Lines, so that
//! line numbers are real.

use checkers::history::{Event, EventType, History, Process, read_jsonl};
use checkers::lock::{self, Close, Kind, Report};
use checkers::{InputError, Validity, Value};
use proptest::prelude::*;

const MS: u64 = 1_000_000;

// ---------------------------------------------------------------------------------------------
// Writing histories
// ---------------------------------------------------------------------------------------------

/// A lock history under construction; every time is in ms.
#[derive(Clone, Default)]
struct Hist {
    events: Vec<(u64, String)>,
}

fn token_json(token: Option<i64>) -> String {
    token.map_or_else(|| "null".to_string(), |t| t.to_string())
}

impl Hist {
    fn ev(&mut self, ms: u64, process: &str, ty: &str, f: &str, value: &str) -> &mut Self {
        let t = ms * MS;
        self.events.push((
            t,
            format!(
                r#"{{"time":{t},"process":{process},"type":"{ty}","f":"{f}","value":{value}}}"#
            ),
        ));
        self
    }

    /// An acquire invoked at `invoke` that completes `ok` at `ok`.
    fn acquire(
        &mut self,
        p: u64,
        invoke: u64,
        ok: u64,
        token: Option<i64>,
        validity_ms: u64,
        nodes: &[&str],
    ) -> &mut Self {
        let nodes: Vec<String> = nodes.iter().map(|n| format!("\"{n}\"")).collect();
        let value = format!(
            r#"{{"lock":"p{p}-{invoke}","token":{},"validity_ms":{validity_ms},"nodes":[{}]}}"#,
            token_json(token),
            nodes.join(",")
        );
        self.ev(invoke, &p.to_string(), "invoke", "acquire", "null")
            .ev(ok, &p.to_string(), "ok", "acquire", &value)
    }

    /// An acquire that ends `fail` or `info` at `done` (or never, with `None`).
    fn acquire_ends(&mut self, p: u64, invoke: u64, done: Option<u64>, ty: &str) -> &mut Self {
        self.ev(invoke, &p.to_string(), "invoke", "acquire", "null");
        if let Some(done) = done {
            let value = if ty == "fail" {
                r#"{"nodes":["n2"]}"#
            } else {
                "null"
            };
            self.ev(done, &p.to_string(), ty, "acquire", value);
        }
        self
    }

    fn release(&mut self, p: u64, invoke: u64, done: u64, ty: &str) -> &mut Self {
        let asked = format!(r#"{{"lock":"p{p}"}}"#);
        let got = format!(r#"{{"lock":"p{p}","nodes":["n1"]}}"#);
        self.ev(invoke, &p.to_string(), "invoke", "release", &asked)
            .ev(done, &p.to_string(), ty, "release", &got)
    }

    /// A renew; `validity_ms` for an `ok` one.
    fn renew(&mut self, p: u64, invoke: u64, done: u64, ty: &str, validity_ms: u64) -> &mut Self {
        let asked = format!(r#"{{"lock":"p{p}"}}"#);
        let got = if ty == "ok" {
            format!(r#"{{"lock":"p{p}","validity_ms":{validity_ms}}}"#)
        } else {
            asked.clone()
        };
        self.ev(invoke, &p.to_string(), "invoke", "renew", &asked)
            .ev(done, &p.to_string(), ty, "renew", &got)
    }

    /// A write accepted as `order`, or (`None`) rejected as stale.
    fn write(
        &mut self,
        p: u64,
        at: u64,
        token: Option<i64>,
        seq: i64,
        order: Option<u64>,
    ) -> &mut Self {
        let asked = format!(r#"{{"token":{},"seq":{seq}}}"#, token_json(token));
        self.ev(at, &p.to_string(), "invoke", "write", &asked);
        match order {
            Some(n) => {
                let got = format!(
                    r#"{{"token":{},"seq":{seq},"order":{n}}}"#,
                    token_json(token)
                );
                self.ev(at + 1, &p.to_string(), "ok", "write", &got)
            }
            None => {
                let t = (at + 1) * MS;
                self.events.push((
                    t,
                    format!(
                        r#"{{"time":{t},"process":{p},"type":"fail","f":"write","value":{asked},"error":"stale token"}}"#
                    ),
                ));
                self
            }
        }
    }

    /// A fault, recorded as the harness does: an invocation and its `info` completion.
    fn nemesis(&mut self, at: u64, f: &str, value: &str) -> &mut Self {
        self.ev(at, "\"nemesis\"", "invoke", f, value)
            .ev(at, "\"nemesis\"", "info", f, value)
    }

    fn text(&self) -> String {
        let mut events = self.events.clone();
        events.sort_by_key(|(t, _)| *t);
        let lines: Vec<String> = events.into_iter().map(|(_, l)| l).collect();
        lines.join("\n") + "\n"
    }

    fn try_check(&self) -> Result<Report, InputError> {
        check_text(&self.text())
    }

    /// Its acquires and releases, as a linearizable mutex.
    fn mutex(&self) -> checkers::linear::Report {
        let h = read_jsonl("lock.jsonl", &self.text()).expect("a well-formed history");
        lock::mutex(&h, &h.operations().expect("well-paired")).expect("no input error")
    }

    fn check(&self) -> Report {
        let text = self.text();
        check_text(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
    }
}

fn check_text(text: &str) -> Result<Report, InputError> {
    let h = read_jsonl("lock.jsonl", text)?;
    let ops = h.operations()?;
    lock::check(&h, &ops)
}

fn kinds(r: &Report) -> Vec<Kind> {
    r.anomalies.iter().map(|a| a.kind).collect()
}

// ---------------------------------------------------------------------------------------------
// Belief windows
// ---------------------------------------------------------------------------------------------

#[test]
fn overlapping_windows_are_invalid() {
    let r = Hist::default()
        .acquire(3, 1000, 1204, Some(5), 800, &["n1", "n2", "n3"])
        .acquire(7, 1500, 1592, Some(6), 1000, &["n3", "n4", "n5"])
        .check();
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(kinds(&r), [Kind::Overlap]);
    let a = &r.anomalies[0];
    assert_eq!((a.first.process, a.second.process), (3, 7));
    assert_eq!(a.overlap_ns, Some(412 * MS));
    assert_eq!(
        (a.first.window.start_ns, a.first.window.end_ns),
        (1204 * MS, 2004 * MS)
    );
    assert_eq!(a.first.window.closed_by, Close::Validity);
    assert_eq!(
        (a.first.window.start_ms, a.second.window.end_ms),
        (1204.0, 2592.0)
    );
    assert_eq!(
        a.first.nodes,
        [Value::str("n1"), Value::str("n2"), Value::str("n3")]
    );
    assert_eq!((a.first.token, a.second.token), (Some(5), Some(6)));
    assert_eq!(
        a.description,
        "processes 3 and 7 both believed they held the lock for 412 ms (3 from 1.204 s to 2.004 s, \
         via n1 n2 n3, token 5; 7 from 1.592 s to 2.592 s, via n3 n4 n5, token 6); no faults between them"
    );
    assert_eq!(r.anomaly_counts.overlap, 1);
    assert_eq!(r.counts.windows, 2);
}

#[test]
fn windows_that_only_touch_are_valid() {
    // The first closes at its validity (100 + 500) the instant the second opens.
    let r = Hist::default()
        .acquire(1, 90, 100, None, 500, &["n1"])
        .acquire(2, 300, 600, None, 500, &["n1"])
        .check();
    assert_eq!(r.valid, Validity::Valid, "{:?}", r.anomalies);
    // The first closes at its release's invocation the instant the second opens.
    let r = Hist::default()
        .acquire(1, 90, 100, None, 5000, &["n1"])
        .acquire(2, 300, 600, None, 500, &["n1"])
        .release(1, 600, 610, "ok")
        .check();
    assert_eq!(r.valid, Validity::Valid, "{:?}", r.anomalies);
    // One nanosecond more is an overlap.
    let mut h = Hist::default();
    h.acquire(1, 90, 100, None, 500, &["n1"]);
    h.events.push((
        600 * MS - 1,
        format!(
            r#"{{"time":{},"process":2,"type":"invoke","f":"acquire","value":null}}"#,
            600 * MS - 1
        ),
    ));
    h.events.push((
        600 * MS - 1,
        format!(
            r#"{{"time":{},"process":2,"type":"ok","f":"acquire","value":{{"validity_ms":500}}}}"#,
            600 * MS - 1
        ),
    ));
    let r = h.check();
    assert_eq!(kinds(&r), [Kind::Overlap]);
    assert_eq!(r.anomalies[0].overlap_ns, Some(1));
    assert!(
        r.anomalies[0].description.contains("for 1 ns"),
        "{}",
        r.anomalies[0].description
    );
}

#[test]
fn a_crashed_acquire_opens_no_window() {
    // Process 1's acquire is unknown (it may even hold the lock in Redis), but the client does
    // not believe it holds it; likewise a failed one, and one that never completed.
    let r = Hist::default()
        .acquire_ends(1, 100, Some(400), "info")
        .acquire_ends(4, 100, Some(150), "fail")
        .acquire_ends(5, 120, None, "info")
        .acquire(2, 200, 300, None, 1000, &["n1"])
        .check();
    assert_eq!(r.valid, Validity::Valid);
    let a = r.counts.acquires;
    assert_eq!((a.attempted, a.ok, a.fail, a.info), (4, 1, 1, 2));
    assert_eq!(r.counts.windows, 1);
}

#[test]
fn a_release_that_times_out_still_closes_the_window_at_its_invocation() {
    let r = Hist::default()
        .acquire(1, 0, 100, Some(1), 10_000, &["n1"])
        .release(1, 300, 5300, "info")
        .acquire(2, 350, 400, Some(2), 10_000, &["n1"])
        .release(2, 900, 950, "fail")
        .acquire(3, 900, 950, Some(3), 10_000, &["n1"])
        .check();
    assert_eq!(r.valid, Validity::Valid, "{:?}", r.anomalies);
    let rel = r.counts.releases;
    assert_eq!((rel.attempted, rel.ok, rel.fail, rel.info), (2, 0, 1, 1));
}

#[test]
fn an_expired_lease_then_another_acquire_is_valid() {
    // Process 1 never releases: its window closes at its validity, 1100 ms.
    let r = Hist::default()
        .acquire(1, 90, 100, None, 1000, &["n1", "n2", "n3"])
        .acquire_ends(2, 500, Some(510), "fail")
        .acquire(2, 1200, 1500, None, 1000, &["n1", "n2", "n3"])
        .check();
    assert_eq!(r.valid, Validity::Valid, "{:?}", r.anomalies);
}

#[test]
fn a_renewal_that_extends_a_window_into_an_overlap_is_invalid() {
    let base = || {
        let mut h = Hist::default();
        h.acquire(1, 90, 100, Some(1), 1000, &["n1"]).acquire(
            2,
            1400,
            1500,
            Some(2),
            1000,
            &["n1"],
        );
        h
    };
    assert_eq!(base().check().valid, Validity::Valid);
    // Renewed at 900 for another second: believed until 1900, past 2's opening at 1500.
    let r = base().renew(1, 850, 900, "ok", 1000).check();
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(kinds(&r), [Kind::Overlap]);
    let a = &r.anomalies[0];
    assert_eq!((a.first.process, a.second.process), (1, 2));
    assert_eq!(a.first.window.end_ns, 1900 * MS);
    assert_eq!(a.first.window.closed_by, Close::RenewedValidity);
    assert_eq!(a.overlap_ns, Some(400 * MS));
    assert_eq!(r.counts.renewals.ok, 1);
    assert_eq!(r.counts.windows, 2);
}

#[test]
fn a_failed_renewal_closes_the_window() {
    let r = Hist::default()
        .acquire(1, 90, 100, None, 1000, &["n1"])
        .renew(1, 400, 500, "fail", 0)
        .acquire(2, 600, 700, None, 1000, &["n1"])
        .check();
    assert_eq!(r.valid, Validity::Valid, "{:?}", r.anomalies);
    assert_eq!(r.counts.renewals.fail, 1);
    // Without the failed renewal, 1 believes until 1100: an overlap.
    let r = Hist::default()
        .acquire(1, 90, 100, None, 1000, &["n1"])
        .acquire(2, 600, 700, None, 1000, &["n1"])
        .check();
    assert_eq!(r.valid, Validity::Invalid);
    // An unknown renewal changes nothing: still 1100.
    let r = Hist::default()
        .acquire(1, 90, 100, None, 1000, &["n1"])
        .renew(1, 400, 500, "info", 0)
        .acquire(2, 600, 700, None, 1000, &["n1"])
        .check();
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(r.anomalies[0].first.window.closed_by, Close::Validity);
}

#[test]
fn a_renewal_after_expiry_opens_a_new_window() {
    let r = Hist::default()
        .acquire(1, 90, 100, None, 300, &["n1"]) // 100..400
        .acquire(2, 410, 420, None, 50, &["n1"]) // 420..470
        .renew(1, 450, 500, "ok", 1000) // a new window, 500..1500
        .acquire(3, 900, 1000, None, 1000, &["n1"]) // 1000..2000
        .check();
    assert_eq!(r.counts.windows, 4);
    assert_eq!(kinds(&r), [Kind::Overlap]);
    let a = &r.anomalies[0];
    assert_eq!((a.first.process, a.second.process), (1, 3));
    assert_eq!(
        (a.first.window.start_ns, a.first.window.end_ns),
        (500 * MS, 1500 * MS)
    );
    assert_eq!(a.overlap_ns, Some(500 * MS));
}

#[test]
fn acquiring_again_without_releasing_ends_the_first_holding() {
    // Process 1 acquires twice; its first window closes at the second acquire's invocation,
    // and a renewal after its release is ignored.
    let r = Hist::default()
        .acquire(1, 90, 100, None, 10_000, &["n1"])
        .acquire(1, 500, 600, None, 300, &["n1"])
        .release(1, 700, 710, "ok")
        .renew(1, 720, 730, "ok", 10_000)
        .acquire(2, 750, 800, None, 1000, &["n1"])
        .check();
    assert_eq!(r.valid, Validity::Valid, "{:?}", r.anomalies);
    assert_eq!(r.counts.windows, 3);
}

// ---------------------------------------------------------------------------------------------
// The resource
// ---------------------------------------------------------------------------------------------

/// 1 holds with token 33, writes, is paused past its lease; 2 acquires with token 34 and
/// writes; 1 wakes and writes with its old token: accepted as `late` (or rejected).
fn paused_holder(late: Option<u64>, tokens: bool) -> Hist {
    let t = |n: i64| tokens.then_some(n);
    let mut h = Hist::default();
    h.acquire(1, 90, 100, t(33), 1000, &["n1"])
        .write(1, 200, t(33), 1, Some(1))
        .nemesis(300, "pause-client", r#"{"process":1,"ms":2000}"#)
        .acquire(2, 1150, 1200, t(34), 1000, &["n1"])
        .write(2, 1300, t(34), 1, Some(2))
        .release(2, 1400, 1410, "ok")
        .nemesis(2300, "resume-client", r#"{"process":1,"ms":2000}"#)
        .write(1, 2300, t(33), 2, late)
        .release(1, 2400, 2410, "ok");
    h
}

#[test]
fn fenced_writes_with_a_stale_token_rejected_are_valid() {
    let r = paused_holder(None, true).check();
    assert_eq!(r.valid, Validity::Valid, "{:?}", r.anomalies);
    assert!(r.fenced);
    let w = r.counts.writes;
    assert_eq!(
        (w.attempted, w.accepted, w.rejected, w.unknown),
        (3, 2, 1, 0)
    );
}

#[test]
fn an_accepted_stale_token_is_broken_fencing() {
    // 1 pauses before its first write; 2 takes the lock and writes with token 34; 1 then
    // writes with 33 and it is accepted. The resource saw another holder between 1's acquire
    // and 1's write (interleaved) and accepted an older token after a newer one (fencing).
    let r = Hist::default()
        .acquire(1, 90, 100, Some(33), 1000, &["n1"])
        .nemesis(150, "pause-client", r#"{"process":1,"ms":2000}"#)
        .acquire(2, 1150, 1200, Some(34), 1000, &["n1"])
        .write(2, 1300, Some(34), 1, Some(1))
        .release(2, 1400, 1410, "ok")
        .write(1, 2300, Some(33), 1, Some(2))
        .release(1, 2400, 2410, "ok")
        .check();
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(kinds(&r), [Kind::Interleaved, Kind::Fencing]);
    let interleaved = &r.anomalies[0];
    assert_eq!(
        (interleaved.first.process, interleaved.second.process),
        (1, 2)
    );
    assert!(
        interleaved
            .description
            .contains("after process 1 acquired the lock"),
        "{}",
        interleaved.description
    );
    let a = &r.anomalies[1];
    assert_eq!((a.first.process, a.second.process), (2, 1));
    let orders: Vec<(u64, Option<i64>)> = a.writes.iter().map(|w| (w.order, w.token)).collect();
    assert_eq!(orders, [(1, Some(34)), (2, Some(33))]);
    assert!(
        a.description.starts_with(
            "broken fencing: the resource accepted write #2, token 33 from process 1, after write #1, token 34 from process 2 (2 from"
        ),
        "{}",
        a.description
    );
    // Accepted after its own earlier write too: interleaved as well as broken fencing.
    let r = paused_holder(Some(3), true).check();
    assert_eq!(kinds(&r), [Kind::Interleaved, Kind::Fencing]);
}

#[test]
fn unfenced_interleaved_writes_are_invalid() {
    // The windows do not overlap (1's closed at its validity, 1100), but the resource saw
    // 1, 2, 1: the paused client wrote as a holder after 2 had.
    let r = paused_holder(Some(3), false).check();
    assert!(!r.fenced);
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(kinds(&r), [Kind::Interleaved]);
    let a = &r.anomalies[0];
    assert_eq!((a.first.process, a.second.process), (1, 2));
    let orders: Vec<(u64, u64)> = a.writes.iter().map(|w| (w.process, w.order)).collect();
    assert_eq!(orders, [(1, 1), (2, 2), (1, 3)]);
    assert_eq!(
        (a.first.window.start_ns, a.first.window.end_ns),
        (100 * MS, 1100 * MS)
    );
    // The pause and the resume (at the late write) are both named.
    let faults: Vec<&str> = a.faults.iter().map(|f| f.f.as_str()).collect();
    assert_eq!(faults, ["pause-client", "resume-client"]);
    assert!(
        a.description
            .contains("the resource accepted #1 from 1, then #2 from 2, then #3 from 1 again"),
        "{}",
        a.description
    );
    assert!(
        a.description
            .ends_with("; between them: pause-client 1 for 2000 ms, resume-client 1"),
        "{}",
        a.description
    );
}

/// Three holdings in turn, each releasing before the next acquires, writing as they go.
fn in_turn(tokens: bool) -> Hist {
    let t = |n: i64| tokens.then_some(n);
    let mut h = Hist::default();
    h.acquire(1, 0, 10, t(1), 1000, &["n1"])
        .write(1, 20, t(1), 1, Some(1))
        .write(1, 30, t(1), 2, Some(2))
        .release(1, 40, 50, "ok")
        .acquire(2, 45, 60, t(2), 1000, &["n1"])
        .write(2, 70, t(2), 1, Some(3))
        .write(2, 80, t(2), 2, Some(4))
        .release(2, 90, 95, "ok")
        .acquire(1, 100, 110, t(3), 1000, &["n1"])
        .write(1, 120, t(3), 1, Some(5))
        .release(1, 130, 140, "ok");
    h
}

#[test]
fn sequential_holders_writing_in_turn_are_valid() {
    for tokens in [false, true] {
        let r = in_turn(tokens).check();
        assert_eq!(r.valid, Validity::Valid, "{:?}", r.anomalies);
        assert_eq!(r.fenced, tokens);
        assert_eq!(r.counts.writes.accepted, 5);
        assert_eq!(r.counts.windows, 3);
    }
}

// ---------------------------------------------------------------------------------------------
// Faults, reports
// ---------------------------------------------------------------------------------------------

#[test]
fn faults_between_the_windows_are_named() {
    let r = Hist::default()
        // Before, but in force throughout (stopped only at 2600): named.
        .nemesis(500, "start-partition", r#"{"grudge":{"n3":["n1","n2"]}}"#)
        .acquire(3, 1000, 1204, None, 800, &["n1", "n2", "n3"])
        .nemesis(
            1300,
            "clock-bump",
            r#"{"offsets_ms":{"n1":0,"n2":0,"n3":15000}}"#,
        )
        .nemesis(1400, "kill", r#""n2""#)
        .acquire(7, 1500, 1592, None, 1000, &["n3", "n4", "n5"])
        .nemesis(
            2592,
            "clock-reset",
            r#"{"offsets_ms":{"n1":0,"n2":0,"n3":0}}"#,
        ) // at the close: named
        .nemesis(2600, "stop-partition", "null") // after: not named
        .check();
    assert_eq!(r.counts.faults, 5);
    let a = &r.anomalies[0];
    let faults: Vec<(&str, u64)> = a.faults.iter().map(|f| (f.f.as_str(), f.time)).collect();
    assert_eq!(
        faults,
        [
            ("start-partition", 500 * MS),
            ("clock-bump", 1300 * MS),
            ("kill", 1400 * MS),
            ("clock-reset", 2592 * MS)
        ]
    );
    assert_eq!(a.faults[1].complete_time, Some(1300 * MS));
    assert!(
        a.description.ends_with(
            "(3 from 1.204 s to 2.004 s, via n1 n2 n3; 7 from 1.592 s to 2.592 s, via n3 n4 n5); \
             between them: start-partition {\"grudge\":{\"n3\":[\"n1\",\"n2\"]}}, \
             clock-bump n3 +15000 ms, kill n2, clock-reset"
        ),
        "{}",
        a.description
    );
}

#[test]
fn the_report_serializes_with_windows_in_ns_and_ms() {
    let r = Hist::default()
        .nemesis(1300, "clock-bump", r#"{"offsets_ms":{"n3":15000}}"#)
        .acquire(3, 1000, 1204, Some(5), 800, &["n1"])
        .acquire(7, 1500, 1592, Some(6), 1000, &["n3"])
        .check();
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["valid"], false);
    assert_eq!(json["fenced"], true);
    assert_eq!(json["counts"]["acquires"]["ok"], 2);
    assert_eq!(json["anomaly_counts"]["overlap"], 1);
    let a = &json["anomalies"][0];
    assert_eq!(a["kind"], "overlap");
    assert_eq!(a["overlap_ns"], 412 * MS);
    assert_eq!(a["first"]["window"]["start_ns"], 1204 * MS);
    assert_eq!(a["first"]["window"]["start_ms"], 1204.0);
    assert_eq!(a["first"]["window"]["closed_by"], "validity");
    assert_eq!(a["second"]["nodes"][0], "n3");
    assert_eq!(a["second"]["token"], 6);
    assert_eq!(a["second"]["acquire"]["f"], "acquire");
    assert_eq!(a["faults"][0]["f"], "clock-bump");
    assert_eq!(a["faults"][0]["value"]["offsets_ms"]["n3"], 15000);
    assert!(a.get("writes").is_none());
    assert!(json.get("mutex").is_none());
}

#[test]
fn render_text_names_the_anomalies() {
    let r = paused_holder(Some(3), false).check();
    let text = r.render_text();
    assert!(
        text.starts_with("  acquires 2 (2 ok, 0 fail, 0 info), releases 2"),
        "{text}"
    );
    assert!(
        text.contains("\n  interleaved: processes 1 and 2 both wrote as holders"),
        "{text}"
    );
    assert!(text.lines().all(|l| l.starts_with("  ")), "{text}");
}

#[test]
fn anomalies_are_counted_in_full_but_kept_up_to_a_limit() {
    let mut h = Hist::default();
    for p in 0..120 {
        h.acquire(p, 0, 10 + p, None, 10_000, &["n1"]);
    }
    let r = h.check();
    // Every later window overlaps every earlier one: 120 · 119 / 2 pairs.
    assert_eq!(r.anomaly_counts.overlap, 7140);
    assert_eq!(r.anomalies.len(), lock::MAX_PER_KIND);
    assert!(r.render_text().contains("… 7130 more overlap anomalies"));
}

// ---------------------------------------------------------------------------------------------
// The mutex sub-check
// ---------------------------------------------------------------------------------------------

#[test]
fn the_mutex_check_judges_acquires_and_releases_alone() {
    // An expired lease: safe as a lock, but 2's acquire follows 1's with no release, which no
    // mutex allows.
    let mut expired = Hist::default();
    expired
        .acquire(1, 90, 100, None, 1000, &["n1"])
        .acquire(2, 1200, 1500, None, 1000, &["n1"])
        .release(2, 1600, 1610, "ok");
    assert_eq!(expired.check().valid, Validity::Valid);
    let mutex = expired.mutex();
    assert_eq!(mutex.valid, Validity::Invalid);
    assert_eq!(mutex.model, "mutex");
    // 2 acquired while 1 had not released (its lease had expired).
    let cex = mutex.partitions[0].counterexample.as_ref().unwrap();
    assert_eq!((cex.op.process, cex.op.f.as_str()), (2, "acquire"));
    // Released in turn: a linearizable mutex too (the writes are not part of it).
    let mutex = in_turn(true).mutex();
    assert_eq!(mutex.valid, Validity::Valid);
    assert_eq!(mutex.partitions[0].ok_ops, 6);
    // Overlapping windows without a release: invalid both ways.
    let mut both = Hist::default();
    both.acquire(1, 0, 100, None, 1000, &["n1"])
        .acquire(2, 200, 300, None, 1000, &["n1"]);
    assert_eq!(both.check().valid, Validity::Invalid);
    assert_eq!(both.mutex().valid, Validity::Invalid);
}

// ---------------------------------------------------------------------------------------------
// Malformed input
// ---------------------------------------------------------------------------------------------

fn error_of(text: &str) -> InputError {
    check_text(text).expect_err("expected an input error")
}

#[test]
fn malformed_ops_are_input_errors_naming_the_line() {
    // An ok acquire without validity_ms: line 2, its completion.
    let e = error_of(concat!(
        r#"{"time":1,"process":0,"type":"invoke","f":"acquire","value":null}"#,
        "\n",
        r#"{"time":2,"process":0,"type":"ok","f":"acquire","value":{"lock":"a","token":null,"nodes":[]}}"#,
        "\n",
    ));
    assert_eq!((e.file.as_str(), e.line), ("lock.jsonl", 2));
    assert!(e.message.contains("validity_ms"), "{e}");
    // A negative or non-numeric validity, a token that is not an integer, nodes not a list.
    for bad in [
        r#"{"validity_ms":-1}"#,
        r#"{"validity_ms":"10"}"#,
        r#"{"validity_ms":10,"token":"7"}"#,
        r#"{"validity_ms":10,"nodes":"n1"}"#,
        "null",
    ] {
        let text = format!(
            "{}\n{}\n",
            r#"{"time":1,"process":0,"type":"invoke","f":"acquire","value":null}"#,
            format_args!(r#"{{"time":2,"process":0,"type":"ok","f":"acquire","value":{bad}}}"#)
        );
        let e = error_of(&text);
        assert_eq!(e.line, 2, "{bad}: {e}");
        assert!(!e.to_string().contains('\n'), "{e}");
    }
    // A write accepted without order: line 4.
    let mut h = Hist::default();
    h.acquire(1, 0, 10, None, 1000, &["n1"])
        .ev(20, "1", "invoke", "write", r#"{"token":null,"seq":1}"#)
        .ev(21, "1", "ok", "write", r#"{"token":null,"seq":1}"#);
    let e = h.try_check().unwrap_err();
    assert_eq!(e.line, 4);
    assert!(e.message.contains("order"), "{e}");
    // An ok renew without validity_ms: line 4.
    let mut h = Hist::default();
    h.acquire(1, 0, 10, None, 1000, &["n1"])
        .ev(20, "1", "invoke", "renew", r#"{"lock":"a"}"#)
        .ev(21, "1", "ok", "renew", r#"{"lock":"a"}"#);
    assert_eq!(h.try_check().unwrap_err().line, 4);
    // Two accepted writes with the same order: the second one's line (6).
    let e = Hist::default()
        .acquire(1, 0, 10, None, 1000, &["n1"])
        .write(1, 20, None, 1, Some(1))
        .write(1, 30, None, 2, Some(1))
        .try_check()
        .unwrap_err();
    assert_eq!(e.line, 6);
    assert!(e.message.contains("first at line 4"), "{e}");
    // A write accepted from a client that never acquired: line 2.
    let e = Hist::default()
        .write(1, 20, None, 1, Some(1))
        .try_check()
        .unwrap_err();
    assert_eq!(e.line, 2);
    // An op the lock workload does not have: its invocation's line.
    let e = Hist::default()
        .acquire(1, 0, 10, None, 1000, &["n1"])
        .ev(20, "1", "invoke", "read", "null")
        .ev(21, "1", "ok", "read", "1")
        .try_check()
        .unwrap_err();
    assert_eq!(e.line, 3);
    assert!(e.message.contains("found `read`"), "{e}");
    // A history without times cannot be measured.
    let e = error_of(concat!(
        r#"{"process":0,"type":"invoke","f":"acquire","value":null}"#,
        "\n"
    ));
    assert_eq!(e.line, 0);
    assert!(e.message.contains("no times"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// Histories built from events
// ---------------------------------------------------------------------------------------------

fn event(index: u64, ms: u64, process: u64, kind: EventType, f: &str, value: Value) -> Event {
    Event {
        index,
        time: ms * MS,
        process: Process::Client(process),
        kind,
        f: f.into(),
        key: None,
        value,
        node: None,
        error: None,
        extra: Box::new([]),
        line: 0,
    }
}

fn acquired(validity_ms: i64) -> Value {
    Value::Map(Box::new([
        (Value::str("lock"), Value::str("x")),
        (Value::str("token"), Value::Nil),
        (Value::str("validity_ms"), Value::Int(validity_ms)),
        (Value::str("nodes"), Value::list([Value::str("n1")])),
    ]))
}

#[test]
fn histories_built_from_events_check_the_same() {
    let events = vec![
        event(0, 0, 1, EventType::Invoke, "acquire", Value::Nil),
        event(1, 100, 1, EventType::Ok, "acquire", acquired(500)),
        event(2, 550, 2, EventType::Invoke, "acquire", Value::Nil),
        event(3, 600, 2, EventType::Ok, "acquire", acquired(500)),
        event(4, 900, 3, EventType::Invoke, "acquire", Value::Nil),
        event(5, 1000, 3, EventType::Ok, "acquire", acquired(500)),
    ];
    let h = History {
        source: "built".into(),
        events,
        timed: true,
        ..History::default()
    };
    let ops = h.operations().unwrap();
    let r = lock::check(&h, &ops).unwrap();
    // 1 (100..600) touches 2 (600..1100); 3 (1000..1500) overlaps 2.
    assert_eq!(kinds(&r), [Kind::Overlap]);
    let a = &r.anomalies[0];
    assert_eq!(
        (a.first.process, a.second.process, a.overlap_ns),
        (2, 3, Some(100 * MS))
    );
    // Built events have no line: a summary then names the index.
    assert_eq!(a.second.acquire.line, 0);
    assert_eq!(a.second.acquire.index, 4);
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

/// One generated holding: times are relative, in ms.
#[derive(Clone, Debug)]
struct Plan {
    /// From the previous window's close to this acquire's invocation (0: the same instant).
    gap: u64,
    latency: u64,
    validity: u64,
    /// Time between writes.
    writes: Vec<u64>,
    /// A renewal after the writes, if the window is still open: its validity.
    renew: Option<u64>,
    /// Release after this long (if the window is still open then), and how it ends.
    release: Option<(u64, &'static str)>,
}

fn plan() -> impl Strategy<Value = Plan> {
    (
        0u64..30,
        0u64..20,
        10u64..400,
        prop::collection::vec(1u64..40, 0..4),
        prop::option::of(1u64..400),
        prop::option::of((0u64..200, prop::sample::select(vec!["ok", "fail", "info"]))),
    )
        .prop_map(|(gap, latency, validity, writes, renew, release)| Plan {
            gap,
            latency,
            validity,
            writes,
            renew,
            release,
        })
}

/// Holdings one after another, each by its own process (a client crashed after an unknown
/// release never returns), fenced or not, and a few crashed acquires thrown in. Returns the
/// history and each holding's window as the spec defines it.
fn sequential(plans: &[Plan], fenced: bool, crashes: &[u64]) -> (Hist, Vec<(u64, u64, u64)>) {
    let mut h = Hist::default();
    let mut windows = Vec::new();
    let (mut close, mut order) = (0u64, 0u64);
    for (i, p) in plans.iter().enumerate() {
        let process = i as u64;
        let token = fenced.then_some(i as i64 + 1);
        let invoke = close + p.gap;
        let start = invoke + p.latency;
        let mut end = start + p.validity;
        h.acquire(
            process,
            invoke,
            start,
            token,
            p.validity,
            &["n1", "n2", "n3"],
        );
        let mut now = start;
        for (seq, dt) in p.writes.iter().enumerate() {
            // A client writes only while it believes it holds the lock.
            if now + dt >= end {
                break;
            }
            now += dt;
            order += 1;
            h.write(process, now, token, seq as i64 + 1, Some(order));
            now += 1;
        }
        if let Some(v) = p.renew
            && now + 1 < end
        {
            h.renew(process, now, now + 1, "ok", v);
            now += 1;
            end = now + v;
        }
        if let Some((after, how)) = p.release {
            let at = now + after;
            h.release(process, at, at + 2, how);
            end = end.min(at.max(start));
        }
        windows.push((process, start, end));
        close = end;
    }
    for (k, &at) in crashes.iter().enumerate() {
        h.acquire_ends(1000 + k as u64, at, Some(at + 5), "info");
    }
    (h, windows)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn sequential_holdings_are_valid(
        plans in prop::collection::vec(plan(), 1..10),
        fenced in any::<bool>(),
        crashes in prop::collection::vec(0u64..3000, 0..3),
    ) {
        let (h, windows) = sequential(&plans, fenced, &crashes);
        let r = h.check();
        prop_assert_eq!(r.valid, Validity::Valid, "{:?}\n{}", r.anomalies, h.text());
        prop_assert_eq!(r.counts.acquires.ok, plans.len());
        prop_assert_eq!(r.fenced, fenced);
        prop_assert!(r.counts.windows >= windows.len());
    }

    #[test]
    fn an_acquire_inside_a_window_is_an_overlap(
        plans in prop::collection::vec(plan(), 1..10),
        fenced in any::<bool>(),
        pick in any::<prop::sample::Index>(),
    ) {
        let (mut h, windows) = sequential(&plans, fenced, &[]);
        let long: Vec<&(u64, u64, u64)> = windows.iter().filter(|(_, s, e)| e - s >= 2).collect();
        prop_assume!(!long.is_empty());
        let &&(process, start, end) = pick.get(&long);
        let mid = start + (end - start) / 2;
        h.acquire(999, mid, mid, None, 1, &["n9"]);
        let r = h.check();
        prop_assert_eq!(r.valid, Validity::Invalid);
        prop_assert!(
            r.anomalies.iter().any(|a| a.kind == Kind::Overlap
                && a.first.process == process
                && a.second.process == 999),
            "{:?}\n{}", r.anomalies, h.text()
        );
    }
}
