//! Latency and rate over time: a latency scatter (sampled), latency quantiles per second, and
//! throughput per second by outcome, each with the faults shaded behind.

use maud::{Markup, html};

use super::data::{Data, PerSecond, dur};
use super::svg::{C, LEFT, TimeScale, WIDTH, fault_shading, time_axis};

/// Most points the scatter draws.
pub const MAX_POINTS: usize = 20_000;
const HEIGHT: f64 = 240.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = HEIGHT - 24.0;

/// A logarithmic latency axis covering `[lo, hi]` ns in whole decades.
struct LogScale {
    lo: f64,
    hi: f64,
}

impl LogScale {
    fn new(lo: u64, hi: u64) -> LogScale {
        let lo = (lo.max(1) as f64).log10().floor();
        let hi = (hi.max(1) as f64).log10().ceil().max(lo + 1.0);
        LogScale { lo, hi }
    }

    fn y(&self, ns: u64) -> f64 {
        let v = (ns.max(1) as f64).log10();
        BOTTOM - (v - self.lo) / (self.hi - self.lo) * (BOTTOM - TOP)
    }

    fn axis(&self) -> Markup {
        let decades: Vec<u64> = (self.lo as u32..=self.hi as u32)
            .map(|e| 10u64.pow(e))
            .collect();
        html! {
            g class="axis" {
                @for d in decades {
                    line class="grid" x1=(LEFT) x2=(C(WIDTH - 15.0)) y1=(C(self.y(d))) y2=(C(self.y(d))) {}
                    text x=(C(LEFT - 4.0)) y=(C(self.y(d) + 4.0)) text-anchor="end" { (dur(d)) }
                }
            }
        }
    }
}

fn frame(data: &Data<'_>, scale: &TimeScale, body: Markup, y_axis: Markup) -> Markup {
    html! {
        svg class="chart" viewBox=(format!("0 0 {WIDTH} {HEIGHT}")) width=(WIDTH) height=(HEIGHT) {
            (fault_shading(data, scale, TOP, BOTTOM, false))
            (y_axis)
            (time_axis(scale, TOP, BOTTOM))
            (body)
        }
    }
}

/// The latency of every completed op (at most [`MAX_POINTS`] of them, evenly sampled) against
/// its completion time.
pub fn scatter(data: &Data<'_>) -> Markup {
    let total = data.latencies().count();
    if total == 0 {
        return html! { p { "No completed operations." } };
    }
    let stride = total.div_ceil(MAX_POINTS);
    let points: Vec<_> = data.latencies().step_by(stride).collect();
    let (lo, hi) = points
        .iter()
        .fold((u64::MAX, 0), |(lo, hi), p| (lo.min(p.1), hi.max(p.1)));
    let y = LogScale::new(lo, hi);
    let scale = TimeScale::new(0, data.end);
    let body = html! {
        g class="points" {
            @for (t, latency, outcome) in &points {
                circle class=(outcome.word()) cx=(C(scale.x(*t))) cy=(C(y.y(*latency))) r="1.6" {}
            }
        }
    };
    html! {
        @if stride > 1 {
            p class="note" { "Sampled: " (points.len()) " of " (total) " completed operations (every " (stride) "th)." }
        } @else {
            p class="note" { "All " (total) " completed operations." }
        }
        (frame(data, &scale, body, y.axis()))
    }
}

/// p50 and p99 latency per second of completion.
pub fn quantiles(data: &Data<'_>, per: &PerSecond) -> Markup {
    if per.quantiles.is_empty() {
        return html! { p { "No completed operations." } };
    }
    let lo = per.quantiles.iter().map(|q| q.1).min().unwrap_or(1);
    let hi = per.quantiles.iter().map(|q| q.2).max().unwrap_or(1);
    let y = LogScale::new(lo, hi);
    let scale = TimeScale::new(0, data.end.max(1_000_000_000));
    let x = |s: usize| scale.x(s as u64 * 1_000_000_000 + 500_000_000);
    let line = |pick: fn(&(usize, u64, u64)) -> u64| {
        per.quantiles
            .iter()
            .map(|q| {
                format!(
                    "{},{}",
                    C(x(q.0)).0.round(),
                    (y.y(pick(q)) * 10.0).round() / 10.0
                )
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let body = html! {
        polyline class="q50" points=(line(|q| q.1)) {}
        polyline class="q99" points=(line(|q| q.2)) {}
    };
    html! {
        div class="legend" { span { i class="sw q50" {} "p50" } span { i class="sw q99" {} "p99" } }
        (frame(data, &scale, body, y.axis()))
    }
}

/// Completions per second, by outcome.
pub fn throughput(data: &Data<'_>, per: &PerSecond) -> Markup {
    let max = per
        .counts
        .iter()
        .flat_map(|c| c.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1);
    let step = super::svg::nice_step(max.div_ceil(4));
    let top = max.div_ceil(step) * step;
    let y = |n: u64| BOTTOM - n as f64 / top as f64 * (BOTTOM - TOP);
    let scale = TimeScale::new(0, data.end.max(1_000_000_000));
    let line = |slot: usize| {
        let mut pts = Vec::with_capacity(per.counts.len() * 2);
        for (s, c) in per.counts.iter().enumerate() {
            let (a, b) = (
                scale.x(s as u64 * 1_000_000_000),
                scale.x((s as u64 + 1) * 1_000_000_000),
            );
            let v = (y(c[slot]) * 10.0).round() / 10.0;
            pts.push(format!(
                "{},{v} {},{v}",
                (a * 10.0).round() / 10.0,
                (b * 10.0).round() / 10.0
            ));
        }
        pts.join(" ")
    };
    let y_axis = html! {
        g class="axis" {
            @for n in (0..=top).step_by(step as usize) {
                line class="grid" x1=(LEFT) x2=(C(WIDTH - 15.0)) y1=(C(y(n))) y2=(C(y(n))) {}
                text x=(C(LEFT - 4.0)) y=(C(y(n) + 4.0)) text-anchor="end" { (n) "/s" }
            }
        }
    };
    let body = html! {
        polyline class="t-info" points=(line(2)) {}
        polyline class="t-fail" points=(line(1)) {}
        polyline class="t-ok" points=(line(0)) {}
    };
    html! {
        div class="legend" { span { i class="sw ok" {} "ok" } span { i class="sw fail" {} "fail" } span { i class="sw info" {} "info" } }
        (frame(data, &scale, body, y_axis))
    }
}
