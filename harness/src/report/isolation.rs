//! Transactional isolation (the Elle-style checker): what was checked against which model,
//! every kind of anomaly found and whether the model allows it, and each kept anomaly as Elle
//! explains it — in words, as a drawing of its cycle (each transaction a box, each dependency
//! an arrow labelled with its relation), and as tables of its transactions and edges.

use std::f64::consts::PI;

use checkers::elle::{Anomaly, MAX_PER_KIND, Rel, Report};
use maud::{Markup, html};

use super::text::{clip, text};

pub fn render(r: &Report) -> Markup {
    let allowed: Vec<&str> = r
        .anomaly_counts
        .keys()
        .map(String::as_str)
        .filter(|k| !r.counted_kinds().contains(k))
        .collect();
    let cut = r.anomaly_counts.values().any(|&n| n > MAX_PER_KIND);
    html! {
        p {
            "Isolation (" (r.workload.name()) "), checked as " b { (r.consistency.name()) } ": "
            b { (r.valid.word()) } " — " (r.txns) " transactions: " (r.ok) " ok, " (r.info)
            " unknown, " (r.fail) " failed."
            @if r.search_incomplete { " The cycle search ran out of budget somewhere, so a cycle may remain unseen." }
        }
        @if r.anomaly_counts.is_empty() {
            p class="note" { "No anomaly: no dependency cycle, and nothing read that could not have been." }
        } @else {
            table class="ops" {
                thead { tr { th { "anomaly" } th { "found" } th { "under " (r.consistency.name()) } } }
                tbody {
                    @for (kind, n) in &r.anomaly_counts {
                        tr {
                            td { (kind) }
                            td { (n) }
                            td class=(if allowed.contains(&kind.as_str()) { "ok" } else { "fail" }) {
                                @if allowed.contains(&kind.as_str()) { "allowed" } @else { "prohibited" }
                            }
                        }
                    }
                }
            }
        }
        @for (i, a) in r.anomalies.iter().enumerate() {
            (anomaly(i, a))
        }
        @if cut {
            p class="note" { "Only the first " (MAX_PER_KIND) " anomalies of each kind are kept (results.json counts every one)." }
        }
    }
}

fn anomaly(i: usize, a: &Anomaly) -> Markup {
    html! {
        div class="anomaly" {
            h3 {
                (a.kind)
                @if a.counts { " — prohibited" } @else { " — allowed by this model" }
            }
            p class=(if a.counts { "story" } else { "story calm" }) { (a.explanation) }
            @if !a.steps.is_empty() {
                (cycle(i, a))
            }
            table class="ops" {
                thead { tr { th { "txn" } th { "process" } th { "type" } th { "line" } th { "micro-ops" } } }
                tbody {
                    @for t in &a.txns {
                        tr {
                            td class="mono" { (t.name) }
                            td { (t.process) }
                            td class=(t.outcome.word()) { (t.outcome.word()) }
                            td { (t.line) }
                            td class="v" { (clip(&text(&t.ops), 400)) }
                        }
                    }
                }
            }
            @if !a.steps.is_empty() {
                table class="ops" {
                    thead { tr { th { "edge" } th { "relation" } th { "because" } } }
                    tbody {
                        @for s in &a.steps {
                            tr {
                                td class="mono" { (s.from) " → " (s.to) }
                                td class=(format!("rel-{}", s.rel.name())) { (rel_word(s.rel)) }
                                td { (s.why) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// What each relation means, for the edge table.
fn rel_word(rel: Rel) -> &'static str {
    match rel {
        Rel::Ww => "ww: overwrote (appended after)",
        Rel::Wr => "wr: read what it wrote",
        Rel::Rw => "rw: overwrote what it read",
        Rel::Process => "process: ran after, same process",
        Rel::Realtime => "realtime: began after it ended",
    }
}

/// The cycle drawn: its transactions on a circle in cycle order, each edge an arrow bent
/// outwards (so that the two edges of a two-transaction cycle do not overlap), labelled with
/// its relation.
fn cycle(i: usize, a: &Anomaly) -> Markup {
    let n = a.steps.len().max(1);
    let (w, h) = (520.0, if n <= 2 { 200.0 } else { 300.0 });
    let (cx, cy) = (w / 2.0, h / 2.0);
    let radius = if n <= 2 { 150.0 } else { 110.0 };
    // Positions by name: a step names its transactions; each appears once in the cycle.
    let names: Vec<&str> = a.steps.iter().map(|s| s.from.as_str()).collect();
    let at = |k: usize| -> (f64, f64) {
        let angle = -PI / 2.0 + 2.0 * PI * k as f64 / n as f64;
        if n == 2 {
            // Side by side reads better than one above the other.
            (cx + radius * if k == 0 { -1.0 } else { 1.0 }, cy)
        } else {
            (cx + radius * angle.cos(), cy + radius * angle.sin())
        }
    };
    let position = |name: &str| names.iter().position(|n| *n == name).map(at);
    let marker = format!("arrow-{i}");
    html! {
        svg class="chart cycle" width=(w) height=(h) viewBox=(format!("0 0 {w} {h}")) role="img" {
            title { (a.kind) ": a cycle of " (n) " transactions" }
            defs {
                marker id=(marker) viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse" {
                    path d="M0,0 L10,5 L0,10 z" fill="context-stroke" {}
                }
            }
            @for s in &a.steps {
                @if let (Some(from), Some(to)) = (position(&s.from), position(&s.to)) {
                    @let (path, label) = arc(from, to, (cx, cy));
                    path class=(format!("edge rel-{}", s.rel.name())) d=(path)
                        marker-end=(format!("url(#{marker})")) {}
                    text class="rellabel" x=(format!("{:.1}", label.0)) y=(format!("{:.1}", label.1)) text-anchor="middle" { (s.rel.name()) }
                }
            }
            @for (k, name) in names.iter().enumerate() {
                @let (x, y) = at(k);
                rect class="txnbox" x=(format!("{:.1}", x - 34.0)) y=(format!("{:.1}", y - 12.0)) width="68" height="24" rx="5" {}
                text class="txnlabel" x=(format!("{x:.1}")) y=(format!("{:.1}", y + 4.0)) text-anchor="middle" { (name) }
            }
        }
    }
}

/// A quadratic curve from box `a` to box `b`, bent away from the centre, ending at the boxes'
/// edges; and where its label goes.
fn arc(a: (f64, f64), b: (f64, f64), centre: (f64, f64)) -> (String, (f64, f64)) {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len = (dx * dx + dy * dy).sqrt().max(1.0);
    let (ux, uy) = (dx / len, dy / len);
    // The normal that points away from the centre.
    let mid = ((a.0 + b.0) / 2.0, (a.1 + b.1) / 2.0);
    let (mut nx, mut ny) = (-uy, ux);
    if (mid.0 - centre.0) * nx + (mid.1 - centre.1) * ny < 0.0 {
        (nx, ny) = (-nx, -ny);
    }
    // Two boxes side by side: the edges go one over, one under, by direction.
    if (mid.0 - centre.0).abs() < 1.0 && (mid.1 - centre.1).abs() < 1.0 {
        (nx, ny) = (-uy, ux);
    }
    let bend = 0.22 * len + 12.0;
    let control = (mid.0 + nx * bend, mid.1 + ny * bend);
    // Leave and enter the boxes (68 × 24) along the curve's tangents.
    let trim = |from: (f64, f64), towards: (f64, f64)| -> (f64, f64) {
        let (tx, ty) = (towards.0 - from.0, towards.1 - from.1);
        let t = 1.0 / (tx.abs() / 38.0).max(ty.abs() / 16.0).max(1e-9);
        (from.0 + tx * t.min(1.0), from.1 + ty * t.min(1.0))
    };
    let start = trim(a, control);
    let end = trim(b, control);
    let label = (
        0.25 * start.0 + 0.5 * control.0 + 0.25 * end.0,
        0.25 * start.1 + 0.5 * control.1 + 0.25 * end.1 - 3.0,
    );
    (
        format!(
            "M{:.1},{:.1} Q{:.1},{:.1} {:.1},{:.1}",
            start.0, start.1, control.0, control.1, end.0, end.1
        ),
        label,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use checkers::elle::{self, Consistency, Options, Workload};
    use checkers::history::read_jsonl;

    /// Write skew on two keys (G2-item): T1 read x empty and appended to y, T2 read y empty and
    /// appended to x, concurrently. Prohibited under serializable, allowed under snapshot
    /// isolation.
    const WRITE_SKEW: &str = r#"{"process":0,"type":"invoke","f":"txn","value":[["r","x",null],["append","y",1]]}
{"process":1,"type":"invoke","f":"txn","value":[["r","y",null],["append","x",1]]}
{"process":0,"type":"ok","f":"txn","value":[["r","x",[]],["append","y",1]]}
{"process":1,"type":"ok","f":"txn","value":[["r","y",[]],["append","x",1]]}
{"process":2,"type":"invoke","f":"txn","value":[["r","x",null],["r","y",null]]}
{"process":2,"type":"ok","f":"txn","value":[["r","x",[1]],["r","y",[1]]]}"#;

    fn report(consistency: Consistency) -> Report {
        let h = read_jsonl("skew.jsonl", WRITE_SKEW).unwrap();
        let ops = h.operations().unwrap();
        elle::check(Workload::ListAppend, &h, &ops, &Options { consistency }).unwrap()
    }

    #[test]
    fn a_cycle_is_drawn_with_an_arrow_per_edge_and_tabled_with_its_reasons() {
        let r = report(Consistency::Serializable);
        let html = render(&r).into_string();
        let a = &r.anomalies[0];
        assert_eq!(a.kind, "G2-item", "{}", r.text());
        assert!(html.contains("G2-item — prohibited"), "{html}");
        assert!(
            html.contains("<td class=\"fail\">prohibited</td>"),
            "{html}"
        );
        // One arrow per edge, both anti-dependencies, and one box per transaction.
        assert_eq!(html.matches("class=\"edge rel-rw\"").count(), 2, "{html}");
        assert_eq!(html.matches("class=\"txnbox\"").count(), 2, "{html}");
        for step in &a.steps {
            assert!(
                html.contains(&maud::html! { (step.why) }.into_string()),
                "{html}"
            );
        }
    }

    #[test]
    fn an_anomaly_the_model_allows_is_shown_as_allowed() {
        let r = report(Consistency::SnapshotIsolation);
        let html = render(&r).into_string();
        assert!(html.contains("<td class=\"ok\">allowed</td>"), "{html}");
        assert!(html.contains("G2-item — allowed by this model"), "{html}");
        assert!(html.contains("<b>valid</b>"), "{html}");
    }
}
