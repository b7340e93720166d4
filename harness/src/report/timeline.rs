//! The timeline: every client operation as a bar from invocation to completion, one row per
//! process, faults shaded behind — in pages of at most [`PAGE_OPS`] operations.
//!
//! The page carries an overview of the whole run drawn here (the faults, and each page's span
//! of time, which a click opens) and the operations themselves as compact columns
//! (`columns.rs`); its script (`timeline.js`) inflates them and draws the page asked for, so
//! that the file grows by a few bytes an operation and the document never holds more than one
//! page's bars.

use checkers::history::Operation;
use maud::{Markup, html};

use super::columns;
use super::data::{Data, secs};
use super::svg::{C, TimeScale, WIDTH, fault_shading, time_axis};

/// Operations per page.
pub const PAGE_OPS: usize = 5000;
/// The overview's height, and its band of pages below the fault labels.
const HEIGHT: f64 = 64.0;
const BAND_TOP: f64 = 14.0;
const BAND: f64 = 26.0;

/// When a page's ops start and end (an op that never completed ends when it started).
fn span(data: &Data<'_>, ops: &[Operation]) -> (u64, u64) {
    let a = ops.iter().map(|o| data.start(o)).min().unwrap_or(0);
    let b = ops
        .iter()
        .map(|o| data.done(o).unwrap_or_else(|| data.start(o)))
        .max()
        .unwrap_or(a);
    (a, b)
}

/// The whole run: faults shaded, each page a band over the time its ops span.
fn overview(data: &Data<'_>, pages: &[&[Operation]]) -> Markup {
    let scale = TimeScale::new(0, data.end.max(1));
    let bottom = BAND_TOP + BAND;
    html! {
        svg class="chart overview" viewBox=(format!("0 0 {WIDTH} {HEIGHT}")) width=(WIDTH) height=(HEIGHT) {
            (fault_shading(data, &scale, 0.0, bottom, true))
            (time_axis(&scale, BAND_TOP, bottom + 2.0))
            g class="pages" {
                @for (k, ops) in pages.iter().enumerate() {
                    @let (a, b) = span(data, ops);
                    @let (x, y) = (scale.x(a), scale.x(b));
                    rect class=(if k % 2 == 0 { "band" } else { "band odd" }) data-page=(k + 1)
                        x=(C(x)) y=(C(BAND_TOP + 4.0)) width=(C((y - x).max(1.0))) height=(C(BAND - 8.0)) {
                        title { "page " (k + 1) ": " (secs(a)) " – " (secs(b)) }
                    }
                }
            }
        }
    }
}

/// The timeline: the overview, the pager, an empty view for the script to draw a page in, and
/// the operations' columns.
pub fn render(data: &Data<'_>) -> Markup {
    let pages: Vec<&[Operation]> = data.ops.chunks(PAGE_OPS).collect();
    let n = pages.len();
    if n == 0 {
        return html! { p { "No client operations." } };
    }
    let (a, b) = span(data, pages[0]);
    html! {
        (overview(data, &pages))
        div class="pager" id="timeline" data-pages=(n) data-page="1" {
            div class="pagectl" {
                @if n > 1 {
                    button type="button" onclick="flPage('timeline',-1)" { "◀ prev" }
                }
                span class="pageno" { "page 1 of " (n) }
                @if n > 1 {
                    button type="button" onclick="flPage('timeline',1)" { "next ▶" }
                }
                " "
                span class="pagerange" { (secs(a)) " – " (secs(b)) }
                span class="hint" { " · " (PAGE_OPS) " operations per page, " (data.ops.len()) " in all" }
            }
            div class="view" { p class="note" { "Drawing the timeline (this needs a browser with DecompressionStream)…" } }
            // Base64: no `<` to close the element, nothing for the parser to read as markup.
            script type="application/gzip" id="timeline-ops" { (columns::encode(data, PAGE_OPS)) }
        }
    }
}
