//! Linearizability anomalies: each counterexample drawn as a small timeline of the op that
//! cannot be linearized, the ops concurrent with it and the end of the longest linearizable
//! prefix, with a table of them all.

use std::collections::BTreeMap;

use checkers::Validity;
use checkers::linear::{Counterexample, OpSummary as Op, Report};
use maud::{Markup, html};

use super::data::secs;
use super::svg::{C, LEFT, TimeScale, WIDTH, time_axis};
use super::text::{clip, text};

/// How many invalid keys are drawn.
const KEYS_SHOWN: usize = 10;
/// How many prefix steps the drawing shows (the table shows [`PREFIX_ROWS`]).
const PREFIX_DRAWN: usize = 12;
const PREFIX_ROWS: usize = 50;

fn op_text(op: &Op) -> String {
    let mut s = format!("process {}: {}", op.process, op.f);
    if !op.value.is_nil() {
        s.push(' ');
        s.push_str(&clip(&op.value.to_string(), 80));
    }
    if let Some(out) = &op.output {
        s.push_str(" → ");
        s.push_str(&clip(&out.to_string(), 80));
    }
    s.push_str(&format!(" ({}, line {})", op.outcome.word(), op.line));
    s
}

fn drawing(cex: &Counterexample) -> Markup {
    let start = cex.prefix.len().saturating_sub(PREFIX_DRAWN);
    let mut shown: Vec<(&Op, &'static str, String)> = Vec::new();
    for (i, step) in cex.prefix.iter().enumerate().skip(start) {
        shown.push((&step.op, "pre", format!("#{}", i + 1)));
    }
    for op in &cex.concurrent {
        if !shown.iter().any(|(o, _, _)| o.index == op.index) {
            shown.push((op, "conc", String::new()));
        }
    }
    shown.push((&cex.op, "cx", "✗".to_string()));
    let t0 = shown.iter().map(|(o, _, _)| o.time).min().unwrap_or(0);
    let t1 = shown
        .iter()
        .filter_map(|(o, _, _)| o.complete_time)
        .chain(shown.iter().map(|(o, _, _)| o.time))
        .max()
        .unwrap_or(t0);
    let pad = (t1 - t0) / 20 + 1;
    let scale = TimeScale::new(t0.saturating_sub(pad), t1 + pad);
    let mut rows: BTreeMap<u64, usize> = BTreeMap::new();
    for (o, _, _) in &shown {
        let n = rows.len();
        rows.entry(o.process).or_insert(n);
    }
    let order: Vec<u64> = rows.keys().copied().collect();
    let row = |p: u64| order.iter().position(|&q| q == p).unwrap_or(0);
    let height = 10.0 + order.len() as f64 * 18.0 + 24.0;
    let bottom = 10.0 + order.len() as f64 * 18.0;
    html! {
        svg class="chart small" viewBox=(format!("0 0 {WIDTH} {}", height.ceil())) width=(WIDTH) height=(C(height)) {
            (time_axis(&scale, 4.0, bottom + 2.0))
            @for p in &order {
                text class="rowlabel" x=(C(LEFT - 4.0)) y=(C(10.0 + row(*p) as f64 * 18.0 + 11.0)) text-anchor="end" { "p" (p) }
            }
            @for (o, class, label) in &shown {
                @let y = 10.0 + row(o.process) as f64 * 18.0;
                @let a = scale.x(o.time);
                @let b = scale.x(o.complete_time.unwrap_or(scale.t1));
                rect class=(format!("{class} {}", if o.complete_time.is_none() { "open" } else { o.outcome.word() })) x=(C(a)) y=(C(y)) width=(C((b - a).max(1.5))) height="13" {
                    title { (op_text(o)) }
                }
                @if !label.is_empty() {
                    text class="oplabel" x=(C(a + 2.0)) y=(C(y + 10.0)) { (label) }
                }
            }
        }
    }
}

fn table(cex: &Counterexample) -> Markup {
    let n = cex.prefix.len();
    let from = n.saturating_sub(PREFIX_ROWS);
    let row = |role: &str, op: &Op, state: Option<&str>| {
        html! {
            tr {
                td { (role) }
                td { (op.process) }
                td { (op.f) }
                td class="v" { (clip(&text(&op.value), 120)) }
                td class="v" { (op.output.as_ref().map(|o| clip(&text(o), 120)).unwrap_or_default()) }
                td class=(op.outcome.word()) { (op.outcome.word()) }
                td { (secs(op.time)) }
                td { (op.complete_time.map(secs).unwrap_or_else(|| "never".into())) }
                td { (op.line) }
                td class="v" { (state.map(|s| clip(s, 80)).unwrap_or_default()) }
            }
        }
    };
    html! {
        table class="ops" {
            thead { tr { th { "role" } th { "process" } th { "f" } th { "value" } th { "result" } th { "type" } th { "invoked" } th { "completed" } th { "line" } th { "state after" } } }
            tbody {
                @if from > 0 {
                    tr { td colspan="10" class="muted" { "… " (from) " earlier steps of the prefix (results.json has them all)" } }
                }
                @for (i, step) in cex.prefix.iter().enumerate().skip(from) {
                    (row(&format!("prefix #{}", i + 1), &step.op, Some(&step.state)))
                }
                (row("cannot linearize", &cex.op, None))
                @for op in &cex.concurrent {
                    (row("concurrent", op, None))
                }
            }
        }
    }
}

pub fn render(r: &Report) -> Markup {
    let invalid: Vec<_> = r
        .partitions
        .iter()
        .filter(|p| p.valid == Validity::Invalid)
        .collect();
    let unknown: Vec<_> = r
        .partitions
        .iter()
        .filter(|p| p.valid == Validity::Unknown)
        .collect();
    html! {
        p {
            "Linearizability (" (r.model) "): " b { (r.valid.word()) } " — "
            (r.partitions.len()) " partitions checked, " (invalid.len()) " invalid, " (unknown.len()) " unknown."
        }
        @for p in invalid.iter().take(KEYS_SHOWN) {
            @let key = p.key.as_ref().map(|k| format!("key {}", text(k))).unwrap_or_else(|| "the history".into());
            div class="anomaly" {
                h3 { (key) ": not linearizable" }
                @if let Some(cex) = &p.counterexample {
                    p class="story" {
                        "No order of the operations consistent with real time explains "
                        b { (op_text(&cex.op)) }
                        ". The longest linearizable prefix found has " (cex.prefix.len()) " operations and leaves the state at "
                        code { (clip(&cex.state, 120)) } "; "
                        @match cex.concurrent.len() {
                            0 => "no operation was concurrent with it.",
                            1 => "1 operation was concurrent with it.",
                            n => { (n) " operations were concurrent with it." },
                        }
                    }
                    div class="legend" {
                        span { i class="sw cxs" {} "cannot be linearized" }
                        span { i class="sw concs" {} "concurrent with it" }
                        span { i class="sw pres" {} "linearizable prefix (numbered in linearization order)" }
                    }
                    (drawing(cex))
                    (table(cex))
                }
            }
        }
        @if invalid.len() > KEYS_SHOWN {
            p class="note" { "… and " (invalid.len() - KEYS_SHOWN) " more invalid keys (results.json has every counterexample)." }
        }
        @if !unknown.is_empty() {
            ul {
                @for p in unknown.iter().take(50) {
                    li {
                        (p.key.as_ref().map(|k| format!("key {}", text(k))).unwrap_or_else(|| "the history".into()))
                        ": unknown — " (p.reason.clone().unwrap_or_else(|| "undecided".into()))
                    }
                }
            }
        }
    }
}
