//! A sweep's folder: `sweep.csv` and `sweep.json` (one record per cell), the charts — each a
//! measure against the first parameter, one line per combination of the others: `sweep.svg`
//! (anomaly rate), `sweep-availability.svg`, `sweep-ok-per-s.svg`, and for transactions
//! `sweep-in-doubt.svg` — and
//! `index.html` (the charts, the cells, and a link to every run's folder and its report).

use std::fmt::Write;
use std::path::{Path, PathBuf};

use checkers::Validity;
use serde_json::{Value, json};

use super::params::{self, Param};
use super::{Cell, Sweep};
use crate::suite::junit::escape;

/// Writes the files into the sweep's folder.
pub fn write_all(s: &Sweep) -> std::io::Result<()> {
    std::fs::create_dir_all(&s.dir)?;
    std::fs::write(s.dir.join("sweep.csv"), csv(s))?;
    let json = serde_json::to_string_pretty(&json(s)).unwrap_or_default();
    std::fs::write(s.dir.join("sweep.json"), json + "\n")?;
    for chart in Chart::all(s) {
        std::fs::write(s.dir.join(chart.file()), svg(s, chart))?;
    }
    std::fs::write(s.dir.join("index.html"), html(s))
}

/// A CSV field, quoted when it must be (RFC 4180).
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn number(v: Option<f64>, decimals: usize) -> String {
    v.map_or(String::new(), |v| format!("{v:.decimals$}"))
}

/// One line per cell: the parameters' values as given, then the measures.
pub fn csv(s: &Sweep) -> String {
    let mut header: Vec<String> = s.params.iter().map(|p| field(&p.name)).collect();
    header.extend(
        [
            "runs",
            "invalid",
            "unknown",
            "errors",
            "anomaly_rate",
            "availability",
            "ok_per_s",
            "latency_p50_ms",
            "latency_p99_ms",
            "longest_in_doubt_s",
            "coordinator_down_s",
            "in_doubt_while_down",
        ]
        .iter()
        .map(|h| h.to_string()),
    );
    let mut out = header.join(",") + "\n";
    for cell in &s.cells {
        let mut row: Vec<String> = s
            .params
            .iter()
            .zip(&cell.values)
            .map(|(p, &i)| field(&p.values[i].text))
            .collect();
        row.push(cell.checked().count().to_string());
        row.push(cell.count(Validity::Invalid).to_string());
        row.push(cell.count(Validity::Unknown).to_string());
        row.push(cell.errors().to_string());
        row.push(number(cell.anomaly_rate(), 4));
        row.push(number(cell.availability(), 4));
        row.push(number(cell.ok_per_s(), 2));
        row.push(number(cell.p50_ms(), 3));
        row.push(number(cell.p99_ms(), 3));
        row.push(number(cell.longest_in_doubt_s(), 3));
        row.push(number(cell.coordinator_down_s(), 3));
        row.push(number(cell.in_doubt_while_down(), 4));
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out
}

/// The whole sweep as JSON.
pub fn json(s: &Sweep) -> Value {
    let params: Vec<Value> = s
        .params
        .iter()
        .map(|p| {
            json!({
                "name": p.name,
                "field": p.field,
                "values": p.values.iter().map(|v| v.json.clone()).collect::<Vec<_>>(),
            })
        })
        .collect();
    let cells: Vec<Value> = s
        .cells
        .iter()
        .map(|cell| {
            let values: serde_json::Map<String, Value> = s
                .params
                .iter()
                .zip(&cell.values)
                .map(|(p, &i)| (p.name.clone(), p.values[i].json.clone()))
                .collect();
            let runs: Vec<Value> = cell
                .runs
                .iter()
                .map(|r| match &r.outcome {
                    Ok(x) => json!({
                        "seed": r.seed,
                        "valid": x.valid,
                        "dir": x.dir,
                        "anomalies": x.anomalies,
                        "availability": x.availability,
                        "ok_per_s": x.ok_per_s,
                        "latency_p50_ms": x.p50_ns.map(|ns| ns as f64 / 1e6),
                        "latency_p99_ms": x.p99_ns.map(|ns| ns as f64 / 1e6),
                        "duration_s": x.duration_s,
                        "longest_in_doubt_s": x.longest_in_doubt_ns.map(|ns| ns as f64 / 1e9),
                        "coordinator_down_s": x.coordinator_down_ns.map(|ns| ns as f64 / 1e9),
                        "in_doubt_while_down": x.in_doubt_while_down,
                    }),
                    Err(e) => json!({ "seed": r.seed, "error": e }),
                })
                .collect();
            json!({
                "params": values,
                "label": s.label(cell),
                "runs": cell.checked().count(),
                "invalid": cell.count(Validity::Invalid),
                "unknown": cell.count(Validity::Unknown),
                "errors": cell.errors(),
                "anomaly_rate": cell.anomaly_rate(),
                "availability": cell.availability(),
                "ok_per_s": cell.ok_per_s(),
                "latency_p50_ms": cell.p50_ms(),
                "latency_p99_ms": cell.p99_ms(),
                "longest_in_doubt_s": cell.longest_in_doubt_s(),
                "coordinator_down_s": cell.coordinator_down_s(),
                "in_doubt_while_down": cell.in_doubt_while_down(),
                "run_results": runs,
            })
        })
        .collect();
    json!({
        "scenario": s.scenario,
        "file": s.file,
        "started": s.started,
        "seed": s.seed,
        "runs_per_cell": s.runs_per_cell,
        "dir": s.dir,
        "params": params,
        "cells": cells,
    })
}

const COLOURS: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
];

/// What a chart plots against the first parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chart {
    /// Invalid runs over checked runs (`sweep.svg`).
    AnomalyRate,
    /// The mean of `ok / ops` (`sweep-availability.svg`).
    Availability,
    /// The mean of `ok` operations per second (`sweep-ok-per-s.svg`).
    OkPerSecond,
    /// The longest time a participant sat in doubt on one transaction (`sweep-in-doubt.svg`;
    /// transactions only).
    InDoubt,
}

impl Chart {
    /// The charts a sweep gets: time in doubt only where it was measured.
    pub fn all(s: &Sweep) -> Vec<Chart> {
        let mut charts = vec![Chart::AnomalyRate, Chart::Availability, Chart::OkPerSecond];
        if s.measures_in_doubt() {
            charts.push(Chart::InDoubt);
        }
        charts
    }

    pub fn file(self) -> &'static str {
        match self {
            Chart::AnomalyRate => "sweep.svg",
            Chart::Availability => "sweep-availability.svg",
            Chart::OkPerSecond => "sweep-ok-per-s.svg",
            Chart::InDoubt => "sweep-in-doubt.svg",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Chart::AnomalyRate => "anomaly rate",
            Chart::Availability => "availability",
            Chart::OkPerSecond => "ok operations per second",
            Chart::InDoubt => "longest time in doubt",
        }
    }

    fn axis(self) -> &'static str {
        match self {
            Chart::AnomalyRate => "anomaly rate (invalid / runs)",
            Chart::Availability => "availability (ok / ops)",
            Chart::OkPerSecond => "ok operations per second",
            Chart::InDoubt => "longest in doubt on one transaction (s)",
        }
    }

    fn value(self, c: &Cell) -> Option<f64> {
        match self {
            Chart::AnomalyRate => c.anomaly_rate(),
            Chart::Availability => c.availability(),
            Chart::OkPerSecond => c.ok_per_s(),
            Chart::InDoubt => c.longest_in_doubt_s(),
        }
    }

    /// The top of the y axis: 100 % for the rates, a round number at or above every value
    /// otherwise.
    fn top(self, s: &Sweep) -> f64 {
        let most = |measure: fn(&Cell) -> Option<f64>| {
            let most = s.cells.iter().filter_map(measure).fold(0.0, f64::max);
            4.0 * round_step(most / 4.0)
        };
        match self {
            Chart::AnomalyRate | Chart::Availability => 1.0,
            Chart::InDoubt => most(Cell::longest_in_doubt_s),
            Chart::OkPerSecond => most(Cell::ok_per_s),
        }
    }

    fn tick(self, v: f64) -> String {
        match self {
            Chart::AnomalyRate | Chart::Availability => format!("{:.0}%", v * 100.0),
            Chart::OkPerSecond => short(v),
            Chart::InDoubt => format!("{} s", short(v)),
        }
    }

    fn point(self, s: &Sweep, c: &Cell) -> String {
        match self {
            Chart::AnomalyRate => format!(
                "{}: {}/{} invalid",
                s.label(c),
                c.count(Validity::Invalid),
                c.checked().count()
            ),
            Chart::Availability => format!(
                "{}: {:.1}% ok",
                s.label(c),
                c.availability().unwrap_or(0.0) * 100.0
            ),
            Chart::OkPerSecond => {
                format!("{}: {:.1} ok/s", s.label(c), c.ok_per_s().unwrap_or(0.0))
            }
            Chart::InDoubt => format!(
                "{}: in doubt {:.2} s at the longest; coordinator down {:.2} s, in doubt {:.0}% of it",
                s.label(c),
                c.longest_in_doubt_s().unwrap_or(0.0),
                c.coordinator_down_s().unwrap_or(0.0),
                c.in_doubt_while_down().unwrap_or(0.0) * 100.0
            ),
        }
    }
}

/// A tick's number without trailing zeros: `2.5`, `5`, `0.75`.
fn short(v: f64) -> String {
    let text = format!("{v:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The smallest of 1, 2, 2.5 and 5 times a power of ten at or above `x` (at least 0.25): a
/// grid step that reads well.
fn round_step(x: f64) -> f64 {
    let x = x.max(0.25);
    let power = 10f64.powf(x.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|step| *step >= x - 1e-9)
        .unwrap_or(10.0 * power)
}

/// One measure against the first parameter's values, one line per combination of the others.
/// The x axis is numeric when every value of the first parameter is a number, else one evenly
/// spaced position per value, in the order given.
pub fn svg(s: &Sweep, chart: Chart) -> String {
    let (w, h) = (760.0, 440.0);
    let (left, right, top, bottom) = (70.0, 230.0, 44.0, 64.0);
    let (pw, ph) = (w - left - right, h - top - bottom);
    let first = &s.params[0];
    let numbers: Option<Vec<f64>> = first.values.iter().map(|v| v.number).collect();
    let n = first.values.len();
    let x_of = |i: usize| -> f64 {
        let t = match &numbers {
            Some(xs) => {
                let (lo, hi) = xs
                    .iter()
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
                        (lo.min(*x), hi.max(*x))
                    });
                if hi > lo {
                    (xs[i] - lo) / (hi - lo)
                } else {
                    0.5
                }
            }
            None if n > 1 => i as f64 / (n - 1) as f64,
            None => 0.5,
        };
        left + 20.0 + t * (pw - 40.0)
    };
    let y_top = chart.top(s);
    let y_of = |v: f64| top + ph - v / y_top * ph;
    let mut o = String::new();
    let _ = writeln!(
        o,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(o, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
    let _ = writeln!(
        o,
        r#"<text x="{}" y="24" text-anchor="middle" font-size="15">{}: {} by {}</text>"#,
        left + pw / 2.0,
        escape(&s.scenario),
        chart.title(),
        escape(&first.name)
    );
    // Axes, grid and ticks.
    for k in 0..=4 {
        let v = y_top * f64::from(k) / 4.0;
        let y = y_of(v);
        let _ = writeln!(
            o,
            r##"<line x1="{left}" y1="{y}" x2="{}" y2="{y}" stroke="#ddd"/><text x="{}" y="{}" text-anchor="end">{}</text>"##,
            left + pw,
            left - 8.0,
            y + 4.0,
            chart.tick(v)
        );
    }
    let _ = writeln!(
        o,
        r#"<line x1="{left}" y1="{top}" x2="{left}" y2="{}" stroke="black"/><line x1="{left}" y1="{}" x2="{}" y2="{}" stroke="black"/>"#,
        top + ph,
        top + ph,
        left + pw,
        top + ph
    );
    for (i, v) in first.values.iter().enumerate() {
        let x = x_of(i);
        let _ = writeln!(
            o,
            r#"<line x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="black"/><text x="{x}" y="{}" text-anchor="middle">{}</text>"#,
            top + ph,
            top + ph + 5.0,
            top + ph + 20.0,
            escape(&v.text)
        );
    }
    let _ = writeln!(
        o,
        r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
        left + pw / 2.0,
        h - 18.0,
        escape(&first.name)
    );
    let _ = writeln!(
        o,
        r#"<text transform="translate(18 {}) rotate(-90)" text-anchor="middle">{}</text>"#,
        top + ph / 2.0,
        chart.axis()
    );
    // One series per combination of the other parameters.
    let mut series: Vec<(Vec<usize>, Vec<&Cell>)> = Vec::new();
    for cell in &s.cells {
        let rest = cell.values[1..].to_vec();
        match series.iter_mut().find(|(r, _)| *r == rest) {
            Some((_, cells)) => cells.push(cell),
            None => series.push((rest, vec![cell])),
        }
    }
    for (k, (rest, cells)) in series.iter().enumerate() {
        let colour = COLOURS[k % COLOURS.len()];
        let mut points: Vec<(f64, f64, &Cell)> = cells
            .iter()
            .filter_map(|c| Some((x_of(c.values[0]), y_of(chart.value(c)?), *c)))
            .collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        let path: Vec<String> = points.iter().map(|(x, y, _)| format!("{x},{y}")).collect();
        let _ = writeln!(
            o,
            r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"/>"#,
            path.join(" ")
        );
        for (x, y, c) in &points {
            let _ = writeln!(
                o,
                r#"<circle cx="{x}" cy="{y}" r="4" fill="{colour}"><title>{}</title></circle>"#,
                escape(&chart.point(s, c))
            );
        }
        // Only the parameters that vary tell the lines apart.
        let (varying, values): (Vec<Param>, Vec<usize>) = s.params[1..]
            .iter()
            .zip(rest)
            .filter(|(p, _)| p.values.len() > 1)
            .map(|(p, &i)| (p.clone(), i))
            .unzip();
        let legend = if varying.is_empty() {
            chart.title().to_string()
        } else {
            params::label(&varying, &values)
        };
        let ly = top + 10.0 + k as f64 * 20.0;
        let lx = left + pw + 20.0;
        let _ = writeln!(
            o,
            r#"<line x1="{lx}" y1="{ly}" x2="{}" y2="{ly}" stroke="{colour}" stroke-width="2"/><text x="{}" y="{}">{}</text>"#,
            lx + 20.0,
            lx + 26.0,
            ly + 4.0,
            escape(&legend)
        );
    }
    o.push_str("</svg>\n");
    o
}

/// `run` relative to the sweep's folder (`<root>/sweeps/<scenario>/<time>/`), for a link.
fn link(s: &Sweep, run: &Path) -> String {
    let relative = run
        .strip_prefix(&s.root)
        .ok()
        .filter(|_| s.dir.starts_with(&s.root))
        .map(|rest| {
            let depth = s
                .dir
                .strip_prefix(&s.root)
                .map_or(0, |d| d.components().count());
            let mut up = PathBuf::new();
            for _ in 0..depth {
                up.push("..");
            }
            up.join(rest)
        });
    let path = relative.unwrap_or_else(|| run.to_path_buf());
    // Folder names are scenario names and stamps; escape what HTML needs all the same.
    escape(&path.display().to_string())
}

/// The index page: the chart, then every cell with links to its runs.
pub fn html(s: &Sweep) -> String {
    let mut o = String::new();
    let title = format!("sweep of {}", s.scenario);
    let _ = writeln!(
        o,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>",
        escape(&title)
    );
    o.push_str(
        "<style>\nbody{font-family:sans-serif;margin:2em;color:#222}\n\
         table{border-collapse:collapse;margin-top:1em}\n\
         th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}\n\
         th{background:#f4f4f4}\n.invalid{color:#b00}\n.unknown{color:#a60}\n.error{color:#b00;font-weight:bold}\n\
         td.num{text-align:right}\n</style>\n</head>\n<body>\n",
    );
    let _ = writeln!(o, "<h1>{}</h1>", escape(&title));
    let params: Vec<String> = s
        .params
        .iter()
        .map(|p| {
            let values: Vec<&str> = p.values.iter().map(|v| v.text.as_str()).collect();
            format!("{} = {}", p.name, values.join(", "))
        })
        .collect();
    let _ = writeln!(
        o,
        "<p>{} · {} · {} cells × {} runs (seeds {}…{}) · started {} UTC</p>",
        escape(&s.file.display().to_string()),
        escape(&params.join("; ")),
        s.cells.len(),
        s.runs_per_cell,
        s.seed,
        s.seed
            .wrapping_add(u64::from(s.runs_per_cell).saturating_sub(1)),
        escape(&s.started)
    );
    let charts = Chart::all(s);
    let links: Vec<String> = charts
        .iter()
        .map(|c| format!("<a href=\"{0}\">{0}</a>", c.file()))
        .collect();
    let _ = writeln!(
        o,
        "<p><a href=\"sweep.csv\">sweep.csv</a> · <a href=\"sweep.json\">sweep.json</a> · {}</p>",
        links.join(" · ")
    );
    for c in &charts {
        let _ = writeln!(o, "<img src=\"{}\" alt=\"{} chart\">", c.file(), c.title());
    }
    let in_doubt = s.measures_in_doubt();
    o.push_str("<table>\n<thead><tr>");
    for p in &s.params {
        let _ = write!(o, "<th>{}</th>", escape(&p.name));
    }
    o.push_str(
        "<th>runs</th><th>anomaly rate</th><th>availability</th><th>ok/s</th><th>p50</th><th>p99</th>",
    );
    if in_doubt {
        o.push_str(
            "<th>longest in doubt</th><th>coordinator down</th><th>in doubt while down</th>",
        );
    }
    o.push_str("<th>each run</th></tr></thead>\n<tbody>\n");
    for cell in &s.cells {
        o.push_str("<tr>");
        for (p, &i) in s.params.iter().zip(&cell.values) {
            let _ = write!(o, "<td>{}</td>", escape(&p.values[i].text));
        }
        let _ = write!(
            o,
            "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>",
            cell.checked().count(),
            cell.anomaly_rate().map_or("—".into(), |r| format!(
                "{:.0}% ({}/{})",
                r * 100.0,
                cell.count(Validity::Invalid),
                cell.checked().count()
            )),
            cell.availability()
                .map_or("—".into(), |a| format!("{:.1}%", a * 100.0)),
            number(cell.ok_per_s(), 1),
            number(cell.p50_ms(), 1) + " ms",
            number(cell.p99_ms(), 1) + " ms",
        );
        if in_doubt {
            let _ = write!(
                o,
                "<td class=\"num\">{} s</td><td class=\"num\">{} s</td><td class=\"num\">{}</td>",
                number(cell.longest_in_doubt_s(), 2),
                number(cell.coordinator_down_s(), 2),
                cell.in_doubt_while_down()
                    .map_or("—".into(), |r| format!("{:.0}%", r * 100.0))
            );
        }
        o.push_str("<td>");
        let runs: Vec<String> = cell
            .runs
            .iter()
            .enumerate()
            .map(|(k, r)| match &r.outcome {
                Ok(x) => {
                    let word = x.valid.word();
                    let mut a = format!(
                        "<a href=\"{}/\">#{} (seed {})</a> <span class=\"{word}\">{word}</span>",
                        link(s, &x.dir),
                        k + 1,
                        r.seed
                    );
                    if !x.anomalies.is_empty() {
                        let _ = write!(a, " ({})", escape(&x.anomalies));
                    }
                    if x.dir.join("report.html").is_file() {
                        let _ = write!(
                            a,
                            " · <a href=\"{}/report.html\">report</a>",
                            link(s, &x.dir)
                        );
                    }
                    a
                }
                Err(e) => format!(
                    "#{} (seed {}) <span class=\"error\">error</span>: {}",
                    k + 1,
                    r.seed,
                    escape(e)
                ),
            })
            .collect();
        o.push_str(&runs.join("<br>\n"));
        o.push_str("</td></tr>\n");
    }
    o.push_str("</tbody>\n</table>\n</body>\n</html>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::super::{RunRecord, RunStats};
    use super::*;

    fn stats(valid: Validity, dir: &str, p50: u64) -> RunStats {
        RunStats {
            valid,
            dir: dir.into(),
            availability: 0.5,
            ok_per_s: 12.5,
            p50_ns: Some(p50),
            p99_ns: Some(p50 * 10),
            anomalies: if valid == Validity::Invalid {
                "1 overlap".into()
            } else {
                String::new()
            },
            duration_s: 3.0,
            longest_in_doubt_ns: None,
            coordinator_down_ns: None,
            in_doubt_while_down: None,
        }
    }

    fn sweep() -> Sweep {
        let params = params::parse_all(&[
            "clock.jump=0s,2s".into(),
            "lock-algorithm=single,a<b".into(),
        ])
        .unwrap();
        let cells = params::grid(&params)
            .into_iter()
            .enumerate()
            .map(|(k, values)| Cell {
                values,
                runs: vec![
                    RunRecord {
                        seed: 1,
                        outcome: Ok(stats(
                            if k == 3 {
                                Validity::Invalid
                            } else {
                                Validity::Valid
                            },
                            &format!("/r/s/2026{k}"),
                            1_000_000,
                        )),
                    },
                    RunRecord {
                        seed: 2,
                        outcome: if k == 0 {
                            Err("node n1 never came up".into())
                        } else {
                            Ok(stats(
                                Validity::Invalid,
                                &format!("/r/s/2026{k}-2"),
                                3_000_000,
                            ))
                        },
                    },
                ],
            })
            .collect();
        Sweep {
            scenario: "s".into(),
            file: "s.toml".into(),
            seed: 1,
            runs_per_cell: 2,
            params,
            cells,
            root: "/r".into(),
            dir: "/r/sweeps/s/20261126T060000".into(),
            started: "20261126T060000".into(),
        }
    }

    #[test]
    fn grid_steps_read_well() {
        let steps: Vec<f64> = [0.0, 0.3, 1.0, 1.1, 2.1, 2.125, 3.0, 7.0, 12.5]
            .iter()
            .map(|x| round_step(*x))
            .collect();
        assert_eq!(steps, [0.25, 0.5, 1.0, 2.0, 2.5, 2.5, 5.0, 10.0, 20.0]);
    }

    #[test]
    fn csv_has_a_line_per_cell() {
        let csv = csv(&sweep());
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines[0],
            "clock.jump,lock-algorithm,runs,invalid,unknown,errors,anomaly_rate,availability,ok_per_s,latency_p50_ms,latency_p99_ms,longest_in_doubt_s,coordinator_down_s,in_doubt_while_down"
        );
        assert_eq!(
            lines[1],
            "0s,single,1,0,0,1,0.0000,0.5000,12.50,1.000,10.000,,,"
        );
        assert_eq!(
            lines[4],
            "2s,a<b,2,2,0,0,1.0000,0.5000,12.50,2.000,20.000,,,"
        );
        assert_eq!(lines.len(), 5);
    }

    #[test]
    fn json_svg_and_html_hold_every_cell() {
        let s = sweep();
        let j = json(&s);
        assert_eq!(j["cells"].as_array().unwrap().len(), 4);
        assert_eq!(j["cells"][1]["params"]["clock.jump"], 0);
        assert_eq!(j["cells"][3]["params"]["clock.jump"], 2000);
        assert_eq!(j["cells"][3]["anomaly_rate"], 1.0);
        assert_eq!(
            j["cells"][0]["run_results"][1]["error"],
            "node n1 never came up"
        );
        assert_eq!(
            Chart::all(&s),
            [Chart::AnomalyRate, Chart::Availability, Chart::OkPerSecond]
        );
        assert!(svg(&s, Chart::OkPerSecond).contains(">20<"));
        let svg = svg(&s, Chart::AnomalyRate);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains("lock-algorithm=a&lt;b"));
        assert!(!html(&s).contains("in doubt"));
        let html = html(&s);
        assert!(html.contains("href=\"../../../s/20263-2/\""), "{html}");
        assert!(html.contains("<td>a&lt;b</td>"));
        assert!(html.contains("never came up"));
    }

    #[test]
    fn transactions_get_their_time_in_doubt_and_the_coordinators_downtime() {
        let mut s = sweep();
        for (k, cell) in s.cells.iter_mut().enumerate() {
            for r in &mut cell.runs {
                if let Ok(x) = &mut r.outcome {
                    x.longest_in_doubt_ns = Some(1_000_000_000 * (k as u64 + 1));
                    x.coordinator_down_ns = Some(2_500_000_000);
                    x.in_doubt_while_down = Some(0.5);
                }
            }
        }
        assert!(s.measures_in_doubt());
        assert_eq!(s.cells[3].longest_in_doubt_s(), Some(4.0));
        let csv = csv(&s);
        assert!(
            csv.lines().nth(4).unwrap().ends_with(",4.000,2.500,0.5000"),
            "{csv}"
        );
        assert_eq!(json(&s)["cells"][3]["coordinator_down_s"], 2.5);
        assert_eq!(Chart::all(&s).last(), Some(&Chart::InDoubt));
        let svg = svg(&s, Chart::InDoubt);
        // A line per series; the axis up to the largest value, 4 s.
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains(">4 s<"), "{svg}");
        let html = html(&s);
        assert!(html.contains("<th>longest in doubt</th>") && html.contains("sweep-in-doubt.svg"));
        assert!(html.contains("<td class=\"num\">50%</td>"), "{html}");
        assert!(super::super::render_table(&s).contains("coordinator down"));
    }
}
