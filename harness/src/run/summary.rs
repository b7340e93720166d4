//! The table printed at the end of a run.

use checkers::stats::ErrorCount;
use tabled::builder::Builder;
use tabled::settings::Style;

use crate::check::render_checker;
use crate::results::RunResults;

fn ms(ns: u64) -> String {
    let ms = ns as f64 / 1e6;
    if ms >= 1000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else {
        format!("{ms:.1} ms")
    }
}

/// How many errors the summary lists; the rest are in results.json and the report.
const ERRORS_SHOWN: usize = 4;

/// The most frequent errors, one a line: count, operation, outcome, error, and whether it is
/// the operation's own answer (which counts as available).
fn errors(errors: &[ErrorCount]) -> String {
    let mut lines: Vec<String> = errors
        .iter()
        .take(ERRORS_SHOWN)
        .map(|e| {
            let error = if e.error.is_empty() {
                "(no error given)"
            } else {
                &e.error
            };
            let answer = if e.answer { " — an answer" } else { "" };
            format!("{} {} {}: {error}{answer}", e.count, e.f, e.outcome)
        })
        .collect();
    if errors.len() > ERRORS_SHOWN {
        lines.push(format!("… {} more kinds", errors.len() - ERRORS_SHOWN));
    }
    lines.join("\n")
}

/// The summary of one run, and its anomalies.
pub fn render(r: &RunResults) -> String {
    let h = &r.history;
    let c = h.stats.counts;
    let mut b = Builder::default();
    b.push_record(["scenario", &r.scenario.name]);
    b.push_record(["verdict", r.valid.word()]);
    b.push_record([
        "operations".to_string(),
        format!("{}: {} ok, {} fail, {} info", c.ops, c.ok, c.fail, c.info),
    ]);
    b.push_record([
        "availability".to_string(),
        format!(
            "{:.1}% ({} ok and {} answers of {} ops)",
            h.stats.availability * 100.0,
            c.ok,
            h.stats.answers,
            c.ops
        ),
    ]);
    if !h.stats.errors.is_empty() {
        b.push_record(["errors".to_string(), errors(&h.stats.errors)]);
    }
    if let Some(l) = h.stats.latency {
        b.push_record([
            "latency".to_string(),
            format!("p50 {} · p99 {} · max {}", ms(l.p50), ms(l.p99), ms(l.max)),
        ]);
    }
    b.push_record(["faults injected".to_string(), r.faults_line()]);
    b.push_record(["duration".to_string(), format!("{:.1} s", r.duration_s)]);
    if let Some(ready) = r.ready_s {
        b.push_record(["cluster ready".to_string(), format!("{ready:.2} s")]);
    }
    b.push_record(["seed".to_string(), r.scenario.seed.to_string()]);
    b.push_record(["results".to_string(), r.dir.display().to_string()]);
    let mut table = b.build();
    table.with(Style::rounded());
    let mut out = format!("{table}\n");
    for c in &h.checkers {
        out.push_str(&render_checker(c));
    }
    out
}
