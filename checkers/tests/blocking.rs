//! The blocking checker (`checkers::blocking`): interval arithmetic (unions, measures,
//! intersections, against a brute force over every nanosecond), the coordinator's downtime
//! from kill/start, restart and pause/resume, a downtime still open at the end, the time in
//! doubt during it and its ratio, on tests/histories/txn/ and small hand-made histories.

use std::path::PathBuf;

use checkers::Validity;
use checkers::blocking::{self, Report, intervals};
use checkers::history::read_jsonl;
use proptest::prelude::*;

fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/histories/txn")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

fn check_text(text: &str) -> Option<Report> {
    let h = read_jsonl("b.jsonl", text).unwrap();
    blocking::check(&h).unwrap()
}

#[test]
fn the_valid_history_in_doubt_during_the_coordinators_downtime() {
    let r = check_text(&fixture("valid.jsonl")).unwrap();
    assert_eq!(r.valid, Validity::Valid);
    assert_eq!(r.coordinators, ["n1"]);
    // n2: [1.2, 1.5] and [5.3, 8.5] ms (it voted no on 1.2); n3: [1.25, 1.55], [3.3, 3.6],
    // [5.35, 8.6].
    let per: Vec<(&str, u64, usize)> = r
        .participants
        .iter()
        .map(|p| (p.node.as_str(), p.in_doubt_ns, p.windows))
        .collect();
    assert_eq!(per, [("n2", 3_500_000, 2), ("n3", 3_850_000, 3)]);
    // The union: [1.2, 1.55] + [3.3, 3.6] + [5.3, 8.6].
    assert_eq!(r.in_doubt_ns, 350_000 + 300_000 + 3_300_000);
    assert_eq!(r.refused_on_locks, 3);
    // Killed at 5.0 ms, started again by 8.1 ms.
    assert_eq!(r.downtime.len(), 1);
    let d = &r.downtime[0];
    assert_eq!(
        (d.cause.as_str(), d.from, d.to, d.index, d.ended),
        ("kill", 5_000_000, 8_100_000, 4, true)
    );
    assert_eq!(r.downtime_ns, 3_100_000);
    assert_eq!(r.in_doubt_during_downtime_ns, 2_800_000);
    let ratio = r.in_doubt_during_downtime_ratio.unwrap();
    assert!((ratio - 2.8 / 3.1).abs() < 1e-9, "{ratio}");
    let w = r.longest.as_ref().unwrap();
    assert_eq!(
        (w.txn.to_string(), w.node.as_str(), w.ns, w.decided),
        ("1.3".into(), "n3", 3_250_000, true)
    );
    assert!(r.render_text().contains("longest: txn 1.3 at n3"));
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["longest"]["txn"], "1.3");
}

#[test]
fn an_unreachable_participant_makes_it_unknown_and_an_undecided_window_ends_when_asked() {
    let r = check_text(&fixture("unreachable.jsonl")).unwrap();
    assert_eq!(r.valid, Validity::Unknown);
    assert!(r.unknown_because.as_deref().unwrap().contains("n3"));
    let n2 = &r.participants[0];
    // 1.3 prepared at 5.3 ms, still in doubt when asked at 12 ms.
    assert_eq!(n2.undecided, 1);
    assert_eq!(n2.in_doubt_ns, 300_000 + 6_700_000);
    let w = r.longest.as_ref().unwrap();
    assert_eq!((w.to, w.decided), (12_000_000, false));
    assert!(!r.participants[1].reachable);
}

#[test]
fn a_history_without_decisions_is_not_the_blocking_checkers() {
    let text = r#"{"time":1,"process":0,"type":"invoke","f":"read","value":null}
{"time":2,"process":0,"type":"ok","f":"read","value":{"0":10}}"#;
    assert!(check_text(text).is_none());
}

/// A history: the nemesis's `events` (time, f, node), then n2's decisions at `asked` with one
/// txn prepared at `prepared` and decided at `decided` (null: undecided).
fn with_faults(
    events: &[(u64, &str, &str)],
    asked: u64,
    prepared: u64,
    decided: Option<u64>,
) -> Report {
    let mut lines: Vec<String> = events
        .iter()
        .map(|(t, f, node)| {
            format!(
                r#"{{"time":{t},"process":"nemesis","type":"info","f":"{f}","value":["{node}"]}}"#
            )
        })
        .collect();
    let (d, at) = match decided {
        Some(t) => (r#""commit""#.to_string(), t.to_string()),
        None => ("null".to_string(), "null".to_string()),
    };
    lines.push(format!(
        r#"{{"time":{asked},"process":"harness","type":"info","f":"decisions","node":"n2","value":{{"coordinator":"n1","initial":{{"0":1}},"balances":{{"0":1}},"refused-on-locks":4,"txns":[{{"txn":"2.1","op":null,"vote":"yes","prepared":{prepared},"precommitted":null,"decision":{d},"decided":{at}}}]}}}}"#
    ));
    check_text(&(lines.join("\n") + "\n")).unwrap()
}

#[test]
fn downtime_from_kill_and_start_pause_and_resume_and_a_restart_alone() {
    let r = with_faults(
        &[
            (100, "kill", "n1"),
            (150, "kill", "n2"), // not the coordinator
            (200, "start", "n1"),
            (300, "pause", "n1"),
            (350, "resume", "n1"),
            (400, "restart", "n1"),
            (500, "start-partition", "n1"),
        ],
        1000,
        120,
        Some(320),
    );
    let spans: Vec<(&str, u64, u64)> = r
        .downtime
        .iter()
        .map(|d| (d.cause.as_str(), d.from, d.to))
        .collect();
    assert_eq!(
        spans,
        [
            ("kill", 100, 200),
            ("pause", 300, 350),
            ("restart", 400, 400)
        ]
    );
    assert_eq!(r.downtime_ns, 150);
    // In doubt [120, 320): 80 of the kill, 20 of the pause.
    assert_eq!(r.in_doubt_during_downtime_ns, 100);
    assert_eq!(r.in_doubt_during_downtime_ratio, Some(100.0 / 150.0));
    assert_eq!(r.refused_on_locks, 4);
}

#[test]
fn a_downtime_still_open_closes_at_the_first_decisions_event() {
    let r = with_faults(&[(100, "kill", "n1")], 1000, 50, None);
    assert_eq!(r.downtime.len(), 1);
    assert_eq!(
        (r.downtime[0].from, r.downtime[0].to, r.downtime[0].ended),
        (100, 1000, false)
    );
    assert_eq!(r.downtime_ns, 900);
    // In doubt [50, 1000): all of the downtime.
    assert_eq!(r.in_doubt_during_downtime_ns, 900);
    assert_eq!(r.in_doubt_during_downtime_ratio, Some(1.0));
    // A kill then a restart: down from the kill to the restart's end.
    let r = with_faults(
        &[(100, "kill", "n1"), (300, "restart", "n1")],
        1000,
        50,
        Some(60),
    );
    assert_eq!(r.downtime_ns, 200);
    assert_eq!(r.in_doubt_during_downtime_ns, 0);
}

#[test]
fn without_downtime_the_ratio_is_null() {
    let r = with_faults(&[], 1000, 50, Some(60));
    assert_eq!(r.downtime_ns, 0);
    assert_eq!(r.in_doubt_during_downtime_ratio, None);
    assert_eq!(
        serde_json::to_value(&r).unwrap()["in_doubt_during_downtime_ratio"],
        serde_json::Value::Null
    );
    assert_eq!(r.in_doubt_ns, 10);
}

#[test]
fn interval_unions_by_hand() {
    use intervals::{intersect, measure, union};
    let u = union(vec![(10, 20), (15, 30), (30, 35), (40, 41), (50, 50)]);
    assert_eq!(u, [(10, 35), (40, 41)]);
    assert_eq!(measure(&u), 26);
    let v = union(vec![(0, 12), (34, 45)]);
    assert_eq!(intersect(&u, &v), [(10, 12), (34, 35), (40, 41)]);
    assert_eq!(measure(&intersect(&u, &v)), 4);
    assert!(intersect(&u, &[]).is_empty());
}

fn spans() -> impl Strategy<Value = Vec<(u64, u64)>> {
    proptest::collection::vec((0u64..60, 0u64..20).prop_map(|(a, l)| (a, a + l)), 0..8)
}

/// Every nanosecond a set of spans covers, counted one by one.
fn covered(spans: &[(u64, u64)]) -> Vec<bool> {
    let mut at = vec![false; 100];
    for (from, to) in spans {
        for t in *from..*to {
            at[t as usize] = true;
        }
    }
    at
}

proptest! {
    #[test]
    fn unions_and_intersections_agree_with_counting_every_nanosecond(a in spans(), b in spans()) {
        let (ua, ub) = (intervals::union(a.clone()), intervals::union(b.clone()));
        let (ca, cb) = (covered(&a), covered(&b));
        prop_assert_eq!(intervals::measure(&ua) as usize, ca.iter().filter(|x| **x).count());
        prop_assert_eq!(covered(&ua), ca.clone());
        prop_assert!(ua.windows(2).all(|w| w[0].1 < w[1].0));
        let both = intervals::intersect(&ua, &ub);
        let brute = ca.iter().zip(&cb).filter(|(x, y)| **x && **y).count();
        prop_assert_eq!(intervals::measure(&both) as usize, brute);
    }
}
