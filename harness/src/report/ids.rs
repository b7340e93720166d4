//! Unique-ID anomalies: each duplicated ID (the first [`SHOWN`]) with every request that
//! returned it, the node that answered, the ID's snowflake fields when decoded, and the clock
//! offsets the nemesis had put in force when the request was made.

use checkers::Value;
use checkers::linear::OpSummary as Op;
use checkers::unique_ids::Report;
use maud::{Markup, html};

use super::data::{Data, secs, utc};
use super::text::{clip, text};

/// Duplicates shown.
pub const SHOWN: usize = 50;

fn node(data: &Data<'_>, op: &Op) -> String {
    let from = |i: Option<u64>| {
        i.and_then(|i| data.event(i))
            .and_then(|e| e.node.as_deref())
            .map(str::to_string)
    };
    from(op.complete_index)
        .or_else(|| from(Some(op.index)))
        .unwrap_or_else(|| "—".into())
}

fn clocks(data: &Data<'_>, t: u64) -> String {
    let in_force = data.clocks_at(t);
    if in_force.is_empty() {
        return "all clocks true".into();
    }
    in_force
        .iter()
        .map(|(n, c)| format!("{n} {}", c.describe()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn batch(op: &Op) -> String {
    match &op.output {
        Some(Value::List(items)) => format!("a batch of {}", items.len()),
        Some(v) => clip(&text(v), 40),
        None => String::new(),
    }
}

pub fn render(data: &Data<'_>, r: &Report) -> Markup {
    html! {
        p {
            "Unique IDs: " b { (r.valid.word()) } " — " (r.attempted) " requests, " (r.acknowledged) " acknowledged, "
            (r.ids) " IDs, " (r.duplicated) " duplicated"
            @if let Some([lo, hi]) = &r.range { ", from " (text(lo)) " to " (text(hi)) }
            "."
        }
        @if !r.failed.is_empty() {
            p { "Refused: "
                @for (i, (why, n)) in r.failed.iter().enumerate() {
                    @if i > 0 { ", " }
                    (n) " " (why)
                }
                "."
            }
        }
        @for d in r.duplicates.iter().take(SHOWN) {
            div class="anomaly" {
                h3 { "ID " code { (text(&d.id)) } " returned " (d.ops.len()) " times" }
                @if let Some(s) = &d.decoded {
                    p { "Snowflake fields: worker " b { (s.worker) } ", timestamp " b { (s.timestamp_ms) } " (" (utc(s.timestamp_ms)) "), sequence " b { (s.sequence) } "." }
                }
                table class="ops" {
                    thead { tr { th { "process" } th { "node" } th { "invoked" } th { "completed" } th { "returned" } th { "line" } th { "clock offsets in force" } } }
                    tbody {
                        @for op in &d.ops {
                            tr {
                                td { (op.process) }
                                td { (node(data, op)) }
                                td { (secs(op.time)) }
                                td { (op.complete_time.map(secs).unwrap_or_else(|| "never".into())) }
                                td class="v" { (batch(op)) }
                                td { (op.line) }
                                td { (clocks(data, op.time)) }
                            }
                        }
                    }
                }
            }
        }
        @if r.duplicates.len() > SHOWN {
            p class="note" { "… and " (r.duplicates.len() - SHOWN) " more duplicated IDs (results.json lists every one)." }
        }
    }
}
