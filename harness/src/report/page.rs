//! The page: summary, timeline, latency and rates, anomalies, files — one self-contained HTML
//! document (inline CSS, inline SVG, the timeline's operations as compressed columns and the
//! script that draws its pages from them).

use std::path::Path;

use checkers::Validity;
use checkers::compose::{Analysis, CheckerResult};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::data::{Data, dur, per_second};
use super::{bank, charts, ids, isolation, linear, lock, svg, timeline, txn};
use crate::results::RunResults;

const CSS: &str = r#"
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d232b;background:#fafbfc}
header{padding:14px 24px;background:#1d232b;color:#fff;display:flex;gap:16px;align-items:center}
header h1{font-size:20px;margin:0;font-weight:600}
nav{padding:6px 24px;background:#eef1f4;border-bottom:1px solid #d8dde3}
nav a{margin-right:16px;color:#2457a6;text-decoration:none}
main{padding:0 24px 40px;max-width:1160px}
section{margin-top:22px}
h2{font-size:17px;border-bottom:1px solid #d8dde3;padding-bottom:4px}
h3{font-size:15px;margin:14px 0 6px}
.verdict{padding:3px 12px;border-radius:12px;font-weight:700;text-transform:uppercase;font-size:13px}
.verdict.valid{background:#2e8b47}.verdict.invalid{background:#c8362f}.verdict.unknown{background:#c98a12}
table.kv td{padding:2px 12px 2px 0;vertical-align:top}table.kv td:first-child{color:#5b6673;white-space:nowrap}
table.ops{border-collapse:collapse;font-size:12.5px;margin:6px 0}
table.ops th,table.ops td{border:1px solid #d8dde3;padding:2px 6px;text-align:left;vertical-align:top}
table.ops th{background:#eef1f4}
td.v,.mono,code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px}
td.v{max-width:320px;overflow-wrap:anywhere}
td.ok{color:#2e8b47}td.fail{color:#c8362f}td.info{color:#b07a0c}
pre{background:#eef1f4;padding:8px;white-space:pre-wrap;overflow-wrap:anywhere}
.note,.hint,.muted{color:#5b6673}
.story{background:#fff6f5;border-left:4px solid #c8362f;padding:8px 12px;max-width:1080px}
.story.calm{background:#f3f6fa;border-left-color:#5c8fd6}
.anomaly{margin:12px 0 24px}
svg.chart{display:block;background:#fff;border:1px solid #d8dde3;margin:6px 0;max-width:100%;height:auto}
svg text{font:10px system-ui,sans-serif;fill:#3b4550}
.axis line{stroke:#9aa4ae}.axis line.grid{stroke:#eceff2}
.rowlabel{font-size:9.5px}
rect.ok,circle.ok{fill:#2e9b4f}rect.fail,circle.fail{fill:#d9534f}rect.info,circle.info{fill:#e6a23c}
rect.open{fill:#e6a23c;opacity:.55}
.n-partition{fill:#4a7bd0;fill-opacity:.13}.n-kill{fill:#555;fill-opacity:.15}.n-pause{fill:#8e5bc8;fill-opacity:.14}
.n-clock{fill:#ef8a17;fill-opacity:.16}.n-client{fill:#d2459b;fill-opacity:.14}
.flabel{font-size:9px;fill:#4b5560}
line.mark{stroke:#555;stroke-dasharray:3 2}
polyline{fill:none;stroke-width:1.4}
.q50{stroke:#2457a6}.q99{stroke:#c8362f}.t-ok{stroke:#2e9b4f}.t-fail{stroke:#d9534f}.t-info{stroke:#e6a23c}
rect.win{fill:#5c8fd6}rect.win.hl{fill:#27549c;stroke:#111;stroke-width:1.2}
rect.overlap{fill:#e02020;fill-opacity:.28}
rect.att{opacity:.7}rect.att.fail{fill:#aab2bb}
line.wr{stroke-width:2}line.wr.ok{stroke:#1d232b}line.wr.rej{stroke:#d9534f;stroke-dasharray:2 2}line.wr.info{stroke:#e6a23c}
line.clockline{stroke:#ef8a17;stroke-width:2}
rect.cx{stroke:#111;stroke-width:1.5}rect.conc{stroke:#b07a0c;stroke-width:1.2}rect.pre{fill-opacity:.45}
.oplabel{font-size:9px;fill:#111}
.legend{display:flex;flex-wrap:wrap;gap:14px;font-size:12px;color:#3b4550;margin:4px 0}
.legend .sw{display:inline-block;width:14px;height:10px;margin-right:4px;vertical-align:-1px;border-radius:2px}
.legend .tick{display:inline-block;width:2px;height:12px;margin-right:5px;vertical-align:-2px}
.sw.ok{background:#2e9b4f}.sw.fail{background:#d9534f}.sw.info{background:#e6a23c}
.sw.n-partition{background:#4a7bd033}.sw.n-kill{background:#5553}.sw.n-pause{background:#8e5bc833}.sw.n-clock{background:#ef8a1744}.sw.n-client{background:#d2459b33}
.sw.q50{background:#2457a6}.sw.q99{background:#c8362f}.sw.win{background:#5c8fd6}.sw.hls{background:#27549c;outline:1px solid #111}
.sw.overlap{background:#e0202048}.sw.att{background:#9aa4ae}.tick.ok{background:#1d232b}.tick.rej{background:#d9534f}.tick.clock{background:#ef8a17}
.sw.cxs{background:#2e9b4f;outline:2px solid #111}.sw.concs{background:#2e9b4f;outline:2px solid #b07a0c}.sw.pres{background:#2e9b4f80}
.pagectl{display:flex;gap:10px;align-items:center;margin:6px 0}
.pagectl button{font:inherit;padding:2px 10px}
rect.band{fill:#c9d3de;cursor:pointer}rect.band.odd{fill:#adbccc}rect.band.shown{fill:#2457a6}
.files li{font-family:ui-monospace,monospace}
rect.t-commit{fill:#2e9b4f}rect.t-abort{fill:#8a949f}rect.t-commit.pc{fill:#1f6e37}rect.t-abort.pc{fill:#5b6673}
rect.t-open{fill:#e6a23c;fill-opacity:.5}rect.down{fill:#1d232b}rect.downbg{fill:#1d232b;fill-opacity:.07}
rect.split{fill:#e02020;stroke:#8b0000;stroke-width:1}line.split{stroke:#e02020;stroke-width:2}rect.longest{fill:none;stroke:#111;stroke-width:1.6}line.longest{stroke:#111;stroke-width:2}
text.tlabel{font-size:9.5px;font-weight:600;paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}text.tlabel.split{fill:#c8362f}text.tlabel.longest{fill:#111}line.lanesep{stroke:#eceff2}
.sw.t-commit{background:#2e9b4f}.sw.t-abort{background:#8a949f}.sw.t-pc{background:linear-gradient(90deg,#2e9b4f 50%,#1f6e37 50%)}.sw.t-open{background:#e6a23c80}
svg.cycle{border:none;background:transparent}rect.txnbox{fill:#fff;stroke:#1d232b;stroke-width:1.2}text.txnlabel{font:11px ui-monospace,monospace;fill:#1d232b}
path.edge{fill:none;stroke-width:1.8}text.rellabel{font-size:10.5px;font-weight:600;paint-order:stroke;stroke:#fafbfc;stroke-width:3px}
path.rel-ww{stroke:#2457a6}path.rel-wr{stroke:#2e8b47}path.rel-rw{stroke:#c8362f;stroke-dasharray:5 3}path.rel-process{stroke:#8e5bc8}path.rel-realtime{stroke:#ef8a17}
td.rel-ww{color:#2457a6}td.rel-wr{color:#2e8b47}td.rel-rw{color:#c8362f}td.rel-process{color:#8e5bc8}td.rel-realtime{color:#b86a0c}
.sw.down{background:#1d232b}.sw.split{background:#e02020;outline:1px solid #8b0000}.sw.longest{background:#fff;outline:2px solid #111}
"#;

/// The timeline's pager, which draws its pages from the embedded operations.
const SCRIPT: &str = include_str!("timeline.js");

/// A scenario setting as text: lists joined, strings bare.
fn show(v: &toml::Value) -> String {
    match v {
        toml::Value::Array(items) if items.is_empty() => "none".into(),
        toml::Value::Array(items) => items.iter().map(show).collect::<Vec<_>>().join(", "),
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A list of names, or "none".
fn names(items: &[String]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

/// One decisive checker's anomalies in a few words (informational checkers have none).
fn anomaly_summary(c: &CheckerResult) -> Option<String> {
    if c.informational {
        return None;
    }
    Some(match &c.analysis {
        Analysis::Linearizable(l) => {
            let count = |v: Validity| l.partitions.iter().filter(|p| p.valid == v).count();
            format!(
                "{} of {} keys not linearizable, {} unknown",
                count(Validity::Invalid),
                l.partitions.len(),
                count(Validity::Unknown)
            )
        }
        Analysis::LockSafety(l) => {
            let c = l.anomaly_counts;
            let plural = |n: usize, one: &str, many: &str| {
                format!("{n} {}", if n == 1 { one } else { many })
            };
            format!(
                "{}, {}, {} broken fencing",
                plural(c.overlap, "overlap", "overlaps"),
                plural(c.interleaved, "interleaved holder", "interleaved holders"),
                c.fencing
            )
        }
        Analysis::UniqueIds(u) => format!("{} duplicated IDs of {}", u.duplicated, u.ids),
        Analysis::Bank(b) => format!(
            "{} of {} reads with errors",
            b.counts.bad_reads, b.counts.reads.ok
        ),
        Analysis::Atomicity(a) => format!(
            "{} errors over {} transactions",
            a.error_counts.total(),
            a.counts.txns
        ),
        Analysis::Isolation(r) => {
            let counted = r.counted_kinds();
            let n: usize = counted.iter().map(|k| r.anomaly_counts[*k]).sum();
            format!(
                "{n} prohibited under {} ({}) over {} transactions",
                r.consistency.name(),
                if counted.is_empty() {
                    "none".to_string()
                } else {
                    counted.join(", ")
                },
                r.txns
            )
        }
        Analysis::Monotonic(_) | Analysis::Mutex(_) | Analysis::Blocking(_) => return None,
    })
}

/// `linearizable (cas-register): invalid`; `mutex: invalid (information only)`.
fn checker_line(c: &CheckerResult) -> String {
    let mut s = c.name().to_string();
    if let Analysis::Linearizable(l) = &c.analysis {
        s.push_str(&format!(" ({})", l.model));
    }
    s.push_str(&format!(": {}", c.valid.word()));
    if c.informational {
        s.push_str(" (information only)");
    }
    s
}

/// How many kinds of error the summary's table lists.
const ERRORS_SHOWN: usize = 50;

fn summary(r: &RunResults) -> Markup {
    let s = &r.scenario;
    let st = &r.history.stats;
    let c = st.counts;
    let faults = format!("{} (injected {})", names(&s.nemesis), r.faults_line());
    let anomalies: Vec<String> = r
        .history
        .checkers
        .iter()
        .filter_map(anomaly_summary)
        .collect();
    let resolved = toml::Table::try_from(s).unwrap_or_default();
    html! {
        table class="kv" {
            tr { td { "verdict" } td { span class=(format!("verdict {}", r.valid.word())) style="color:#fff" { (r.valid.word()) } } }
            tr { td { "anomalies" } td { (if anomalies.is_empty() { "—".to_string() } else { anomalies.join("; ") }) } }
            tr { td { "checkers" } td { (r.history.checkers.iter().map(checker_line).collect::<Vec<_>>().join(" · ")) } }
            tr { td { "target" } td { (s.target) } }
            tr { td { "workload" } td { (s.workload) } }
            tr { td { "nodes" } td { (s.nodes) } }
            tr { td { "faults" } td { (faults) } }
            tr { td { "seed" } td { (s.seed) } }
            tr { td { "time limit" } td { (s.time_limit) " s" } }
            tr { td { "duration" } td { (format!("{:.1} s", r.duration_s)) } }
            @if let Some(ready) = r.ready_s {
                tr { td { "cluster ready" } td { (format!("{ready:.2} s")) } }
            }
            tr { td { "operations" } td { (c.ops) ": " (c.ok) " ok, " (c.fail) " fail, " (c.info) " info" } }
            tr { td { "availability" } td { (format!("{:.1}%", st.availability * 100.0)) " (" (c.ok) " ok and " (st.answers) " answers: fails that are the operation's own answer)" } }
            @if let Some(l) = st.latency {
                tr { td { "latency" } td { "p50 " (dur(l.p50)) " · p99 " (dur(l.p99)) " · max " (dur(l.max)) } }
            }
            tr { td { "results" } td class="mono" { (r.dir.display().to_string()) } }
        }
        @if !st.errors.is_empty() {
            h3 { "Errors" }
            table class="kv" {
                tr { th { "operation" } th { "outcome" } th { "error" } th { "count" } th { "counts as" } }
                @for e in st.errors.iter().take(ERRORS_SHOWN) {
                    tr {
                        td class="mono" { (e.f) }
                        td { (e.outcome) }
                        td class="mono" { (if e.error.is_empty() { "(none given)" } else { &e.error }) }
                        td { (e.count) }
                        td { (if e.answer { "available" } else { "unavailable" }) }
                    }
                }
            }
            @if st.errors.len() > ERRORS_SHOWN {
                p { (st.errors.len() - ERRORS_SHOWN) " kinds more, rarer (results.json lists them all)." }
            }
        }
        h3 { "Reproduce" }
        pre { code { (r.command) } }
        details {
            summary { "The resolved scenario" }
            table class="kv" {
                @for (k, v) in &resolved {
                    tr { td { (k) } td class="mono" { (show(v)) } }
                }
            }
        }
    }
}

/// What an informational checker found, in a sentence.
fn informational(c: &CheckerResult) -> String {
    let what = match &c.analysis {
        Analysis::Mutex(_) => {
            "the acquires and releases as a linearizable mutex (an expired lease frees the lock without a release, which no mutex allows)".to_string()
        }
        Analysis::Monotonic(m) => format!(
            "each worker's IDs in real-time order: {} went backwards",
            m.regressed
        ),
        Analysis::Blocking(b) => format!(
            "participants in doubt for {} ms, {} ms of it while the coordinator was down",
            b.in_doubt_ns / 1_000_000,
            b.in_doubt_during_downtime_ns / 1_000_000
        ),
        _ => String::new(),
    };
    format!(
        "Information only, not part of the verdict — {}: {}.",
        what,
        c.valid.word()
    )
}

fn files(dir: &Path) -> Markup {
    let mut nodes: Vec<String> = std::fs::read_dir(dir.join("nodes"))
        .map(|rd| {
            rd.filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| n.ends_with(".log"))
                .collect()
        })
        .unwrap_or_default();
    nodes.sort();
    let own = [
        ("faultline.log", "the harness's own log"),
        ("history.jsonl", "every operation and fault"),
        ("results.json", "the verdict and the checker's report"),
        ("scenario.toml", "the resolved scenario, with its seed"),
    ];
    html! {
        ul class="files" {
            @for (name, what) in own {
                li { a href=(name) { (name) } span class="note" { " — " (what) } }
            }
            @for n in &nodes {
                li { a href=(format!("nodes/{n}")) { "nodes/" (n) } }
            }
        }
    }
}

/// The whole page.
pub fn render(dir: &Path, data: &Data<'_>, r: &RunResults) -> String {
    let name = &r.scenario.name;
    let per = per_second(data);
    let checkers = &r.history.checkers;
    let has_anomalies = !checkers.is_empty();
    let has_txns = checkers
        .iter()
        .any(|c| matches!(c.analysis, Analysis::Atomicity(_) | Analysis::Blocking(_)));
    let blocking = checkers.iter().find_map(|c| match &c.analysis {
        Analysis::Blocking(b) => Some(b),
        _ => None,
    });
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "faultline: " (name) " — " (r.valid.word()) }
                style { (PreEscaped(CSS)) }
            }
            body {
                header {
                    h1 { "faultline · " (name) }
                    span class=(format!("verdict {}", r.valid.word())) { (r.valid.word()) }
                }
                nav {
                    a href="#summary" { "Summary" }
                    a href="#timeline-section" { "Timeline" }
                    a href="#latency" { "Latency & rate" }
                    @if has_anomalies { a href="#anomalies" { "Anomalies" } }
                    @if has_txns { a href="#transactions" { "Transactions" } }
                    a href="#files" { "Logs & files" }
                }
                main {
                    section id="summary" {
                        h2 { "Summary" }
                        (summary(r))
                    }
                    section id="timeline-section" {
                        h2 { "Timeline" }
                        p class="note" { "The whole run above, with the span of each page of operations: click one to open it. Below, one row per client process, each operation a bar from invocation to completion; faults shaded behind. Hover for details." }
                        (svg::legend(true))
                        (timeline::render(data))
                    }
                    section id="latency" {
                        h2 { "Latency and rate" }
                        h3 { "Latency of each operation, by completion time" }
                        (charts::scatter(data))
                        h3 { "Latency quantiles per second" }
                        (charts::quantiles(data, &per))
                        h3 { "Completions per second" }
                        (charts::throughput(data, &per))
                    }
                    @if has_anomalies {
                        section id="anomalies" {
                            h2 { "Anomalies" }
                            // The decisive checkers' views first, then what the others say.
                            @for c in checkers.iter().filter(|c| !c.informational) {
                                @match &c.analysis {
                                    Analysis::Linearizable(l) => (linear::render(l)),
                                    Analysis::LockSafety(l) => (lock::render(data, l)),
                                    Analysis::UniqueIds(u) => (ids::render(data, u)),
                                    Analysis::Bank(b) => (bank::render(b)),
                                    // Transactions: the atomicity report with the blocking one.
                                    Analysis::Atomicity(a) => (txn::render(data, Some(a), blocking)),
                                    Analysis::Isolation(r) => (isolation::render(r)),
                                    Analysis::Monotonic(_) | Analysis::Mutex(_) | Analysis::Blocking(_) => {},
                                }
                            }
                            @if blocking.is_some() && !checkers.iter().any(|c| matches!(c.analysis, Analysis::Atomicity(_))) {
                                (txn::render(data, None, blocking))
                            }
                            @for c in checkers.iter().filter(|c| c.informational) {
                                p class="note" { (informational(c)) }
                            }
                        }
                    }
                    section id="files" {
                        h2 { "Logs and files" }
                        (files(dir))
                    }
                }
                script { (PreEscaped(SCRIPT)) }
            }
        }
    };
    page.into_string()
}
