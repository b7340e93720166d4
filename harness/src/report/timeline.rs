//! The timeline: every client operation as a bar from invocation to completion, one row per
//! process, faults shaded behind — in pages of at most [`PAGE_OPS`] operations, each its own
//! SVG, so that a long history never puts more than one page's elements on the screen.

use std::collections::BTreeMap;

use checkers::history::{Operation, Outcome};
use maud::{Markup, PreEscaped, html};

use super::data::{Data, secs};
use super::svg::{C, LEFT, TimeScale, WIDTH, fault_shading, time_axis};
use super::text::clip;

/// Operations per page.
pub const PAGE_OPS: usize = 5000;
/// Row height and bar height.
const ROW: f64 = 14.0;
const BAR: f64 = 10.0;
/// Space above the rows for fault labels.
const TOP: f64 = 16.0;

/// What an op did, for its tooltip: `p3 cas [1,2] → ok, 1.204 s +3.1 ms`.
pub fn describe(data: &Data<'_>, op: &Operation) -> String {
    let inv = op.invocation(data.history);
    let mut s = format!("p{} {}", op.process, op.f);
    if let Some(k) = &inv.key {
        s.push_str(&format!(" key {k}"));
    }
    if !inv.value.is_nil() {
        s.push(' ');
        s.push_str(&clip(&inv.value.to_string(), 60));
    }
    let comp = op.completion(data.history);
    if let Some(c) = comp
        && op.outcome == Outcome::Ok
        && (c.value != inv.value || inv.value.is_nil())
    {
        s.push_str(" → ");
        s.push_str(&clip(&c.value.to_string(), 60));
    }
    s.push_str(&format!(" ({}", op.outcome.word()));
    if let Some(e) = comp.and_then(|c| c.error.as_deref()) {
        s.push_str(": ");
        s.push_str(&clip(e, 60));
    }
    if let Some(n) = comp.and_then(|c| c.node.as_deref()) {
        s.push_str(&format!(", {n}"));
    }
    s.push_str(&format!(") {}", secs(inv.time)));
    if let Some(c) = comp {
        s.push_str(&format!(
            " +{}",
            super::data::dur(c.time.saturating_sub(inv.time))
        ));
    }
    s
}

/// One page: the ops `ops` (a slice of the history's, in invocation order).
pub fn page(data: &Data<'_>, ops: &[Operation]) -> Markup {
    let t0 = ops.iter().map(|o| data.start(o)).min().unwrap_or(0);
    let t1 = ops
        .iter()
        .map(|o| data.done(o).unwrap_or_else(|| data.start(o)))
        .max()
        .unwrap_or(t0);
    // An op that never completed runs to the end of the page.
    let scale = TimeScale::new(t0, t1.max(t0 + 1));
    let mut rows: BTreeMap<u64, Vec<&Operation>> = BTreeMap::new();
    for op in ops {
        rows.entry(op.process).or_default().push(op);
    }
    let height = TOP + rows.len() as f64 * ROW + 24.0;
    let bottom = TOP + rows.len() as f64 * ROW;
    html! {
        svg class="chart timeline" viewBox=(format!("0 0 {WIDTH} {}", C(height).0.ceil())) width=(WIDTH) height=(C(height)) {
            (fault_shading(data, &scale, 0.0, bottom, true))
            (time_axis(&scale, TOP, bottom + 2.0))
            @for (i, (process, row)) in rows.iter().enumerate() {
                @let y = TOP + i as f64 * ROW;
                g transform=(format!("translate(0,{y})")) {
                    text class="rowlabel" x=(C(LEFT - 4.0)) y=(C(BAR)) text-anchor="end" { "p" (process) }
                    @for op in row {
                        @let a = scale.x(data.start(op));
                        @let b = scale.x(data.done(op).unwrap_or(scale.t1));
                        rect class=(if op.complete.is_none() { "open" } else { op.outcome.word() })
                            x=(C(a)) width=(C((b - a).max(0.8))) height=(BAR) {
                            title { (describe(data, op)) }
                        }
                    }
                }
            }
        }
    }
}

/// The whole timeline: page 1 drawn, every page (page 1 too) kept as inert text that the
/// pager's script swaps in — the browser builds only the page shown.
pub fn render(data: &Data<'_>) -> Markup {
    let pages: Vec<&[Operation]> = data.ops.chunks(PAGE_OPS).collect();
    let n = pages.len();
    if n == 0 {
        return html! { p { "No client operations." } };
    }
    let first = page(data, pages[0]);
    let range = |ops: &[Operation]| {
        let a = ops.iter().map(|o| data.start(o)).min().unwrap_or(0);
        let b = ops
            .iter()
            .map(|o| data.done(o).unwrap_or_else(|| data.start(o)))
            .max()
            .unwrap_or(a);
        format!("{} – {}", secs(a), secs(b))
    };
    html! {
        div class="pager" id="timeline" data-pages=(n) data-page="1" {
            @if n > 1 {
                div class="pagectl" {
                    button type="button" onclick="flPage('timeline',-1)" { "◀ prev" }
                    span class="pageno" { "page 1 of " (n) }
                    button type="button" onclick="flPage('timeline',1)" { "next ▶" }
                    " "
                    span class="pagerange" { (range(pages[0])) }
                    span class="hint" { " · " (PAGE_OPS) " operations per page, " (data.ops.len()) " in all" }
                }
            } @else {
                div class="pagectl" { span class="pageno" { "page 1 of 1" } " " span class="pagerange" { (range(pages[0])) } }
            }
            div class="view" { (first) }
            @if n > 1 {
                @for (k, ops) in pages.iter().enumerate() {
                    @let markup = if k == 0 { first.clone() } else { page(data, ops) };
                    // The page's SVG is maud's own output, every history string in it escaped,
                    // so it holds no `</script`: as the text of a script element it stays inert.
                    script type="text/x-faultline-page" id=(format!("timeline-p{}", k + 1)) data-range=(range(ops)) {
                        (PreEscaped(inert(markup.into_string())))
                    }
                }
            }
        }
    }
}

/// Markup to be kept inside a `<script>` element: maud escapes every `<` in text and
/// attributes, so the only tags are the drawing's own and none closes a script; this guards
/// the invariant anyway.
fn inert(markup: String) -> String {
    let closes_script = markup.match_indices("</").any(|(at, _)| {
        markup.as_bytes()[at + 2..]
            .iter()
            .take(6)
            .map(u8::to_ascii_lowercase)
            .eq(b"script".iter().copied())
    });
    if closes_script || markup.contains("<!--") {
        return "<p>This page could not be embedded.</p>".to_string();
    }
    markup
}
