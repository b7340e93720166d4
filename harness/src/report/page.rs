//! The page: summary, timeline, latency and rates, anomalies, files — one self-contained HTML
//! document (inline CSS, inline SVG, a few lines of script for the timeline's pages).

use std::path::Path;

use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde_json::Value as Json;

use super::data::{Data, dur, per_second};
use super::model::{Results, Verdict, text};
use super::{charts, ids, linear, lock, svg, timeline};

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
.files li{font-family:ui-monospace,monospace}
"#;

const SCRIPT: &str = r#"
function flPage(id,d){var h=document.getElementById(id),n=+h.dataset.pages,k=Math.min(n,Math.max(1,+h.dataset.page+d));
if(k==+h.dataset.page)return;var s=document.getElementById(id+'-p'+k);if(!s)return;
h.querySelector('.view').innerHTML=s.textContent;h.dataset.page=k;
h.querySelector('.pageno').textContent='page '+k+' of '+n;h.querySelector('.pagerange').textContent=s.dataset.range;}
"#;

fn field<'a>(scenario: &'a Json, key: &str) -> Option<&'a Json> {
    scenario.get(key).filter(|v| !v.is_null())
}

fn show(v: Option<&Json>) -> String {
    match v {
        None => "—".into(),
        Some(Json::Array(items)) if items.is_empty() => "none".into(),
        Some(Json::Array(items)) => items.iter().map(text).collect::<Vec<_>>().join(", "),
        Some(other) => text(other),
    }
}

fn anomaly_summary(r: &Results) -> String {
    let h = &r.history;
    if let Some(l) = &h.linearizable {
        let bad = l
            .partitions
            .iter()
            .filter(|p| p.valid == Verdict::Invalid)
            .count();
        let unknown = l
            .partitions
            .iter()
            .filter(|p| p.valid == Verdict::Unknown)
            .count();
        return format!(
            "{bad} of {} keys not linearizable, {unknown} unknown",
            l.partitions.len()
        );
    }
    if let Some(l) = &h.lock {
        let c = l.anomaly_counts;
        let plural =
            |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        return format!(
            "{}, {}, {} broken fencing",
            plural(c.overlap, "overlap", "overlaps"),
            plural(c.interleaved, "interleaved holder", "interleaved holders"),
            c.fencing
        );
    }
    if let Some(u) = &h.unique_ids {
        return format!("{} duplicated IDs of {}", u.duplicated, u.ids);
    }
    "—".into()
}

fn summary(r: &Results) -> Markup {
    let s = &r.scenario;
    let st = &r.history.stats;
    let nemesis = show(field(s, "nemesis"));
    let faults = match r.faults {
        Some(n) => format!("{nemesis} ({n} injected)"),
        None => nemesis,
    };
    html! {
        table class="kv" {
            tr { td { "verdict" } td { span class=(format!("verdict {}", r.valid.word())) style="color:#fff" { (r.valid.word()) } } }
            tr { td { "anomalies" } td { (anomaly_summary(r)) } }
            tr { td { "checker" } td { (r.history.checker) " (model " (r.history.model) ")" } }
            tr { td { "target" } td { (show(field(s, "target"))) } }
            tr { td { "workload" } td { (show(field(s, "workload"))) } }
            tr { td { "nodes" } td { (show(field(s, "nodes"))) } }
            tr { td { "faults" } td { (faults) } }
            tr { td { "seed" } td { (show(field(s, "seed"))) } }
            tr { td { "time limit" } td { (show(field(s, "time-limit"))) " s" } }
            tr { td { "duration" } td { (r.duration_s.map(|d| format!("{d:.1} s")).unwrap_or_else(|| "—".into())) } }
            tr { td { "operations" } td { (st.ops) ": " (st.ok) " ok, " (st.fail) " fail, " (st.info) " info" } }
            tr { td { "availability" } td { (format!("{:.1}%", st.availability * 100.0)) } }
            @if let Some(l) = st.latency {
                tr { td { "latency" } td { "p50 " (dur(l.p50)) " · p99 " (dur(l.p99)) " · max " (dur(l.max)) } }
            }
            tr { td { "results" } td class="mono" { (r.dir) } }
        }
        h3 { "Reproduce" }
        pre { code { (r.command) } }
        @if let Json::Object(fields) = s {
            details {
                summary { "The resolved scenario" }
                table class="kv" {
                    @for (k, v) in fields {
                        tr { td { (k) } td class="mono" { (show(Some(v))) } }
                    }
                }
            }
        }
    }
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
pub fn render(dir: &Path, data: &Data<'_>, r: &Results) -> String {
    let name = r
        .scenario
        .get("name")
        .map(text)
        .unwrap_or_else(|| "run".into());
    let per = per_second(data);
    let h = &r.history;
    let has_anomalies = h.linearizable.is_some() || h.lock.is_some() || h.unique_ids.is_some();
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
                    a href="#files" { "Logs & files" }
                }
                main {
                    section id="summary" {
                        h2 { "Summary" }
                        (summary(r))
                    }
                    section id="timeline-section" {
                        h2 { "Timeline" }
                        p class="note" { "One row per client process, each operation a bar from invocation to completion; faults shaded behind. Hover for details." }
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
                            @if let Some(l) = &h.linearizable { (linear::render(l)) }
                            @if let Some(l) = &h.lock { (lock::render(data, l)) }
                            @if let Some(u) = &h.unique_ids { (ids::render(data, u)) }
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
