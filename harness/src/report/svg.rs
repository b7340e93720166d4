//! Drawing helpers shared by the charts: scales, axes, compact numbers, fault shading.

use maud::{Markup, Render, html};

use super::data::{Data, FaultKind, dur};

/// Width of every chart, in SVG units.
pub const WIDTH: f64 = 1100.0;
/// Left margin (row labels, axis labels).
pub const LEFT: f64 = 70.0;
/// Right margin.
pub const RIGHT: f64 = 15.0;

/// A coordinate, written with one decimal: SVG attributes stay short.
#[derive(Clone, Copy)]
pub struct C(pub f64);

impl Render for C {
    fn render_to(&self, w: &mut String) {
        use std::fmt::Write as _;
        let v = if self.0.is_finite() { self.0 } else { 0.0 };
        let r = (v * 10.0).round() / 10.0;
        if r.fract() == 0.0 {
            let _ = write!(w, "{}", r as i64);
        } else {
            let _ = write!(w, "{r:.1}");
        }
    }
}

/// Maps harness time (ns) on `[t0, t1]` to `[x0, x1]`.
#[derive(Clone, Copy, Debug)]
pub struct TimeScale {
    pub t0: u64,
    pub t1: u64,
    pub x0: f64,
    pub x1: f64,
}

impl TimeScale {
    pub fn new(t0: u64, t1: u64) -> TimeScale {
        TimeScale {
            t0,
            t1: t1.max(t0 + 1),
            x0: LEFT,
            x1: WIDTH - RIGHT,
        }
    }

    pub fn x(&self, t: u64) -> f64 {
        let f = (t.saturating_sub(self.t0)) as f64 / (self.t1 - self.t0) as f64;
        self.x0 + f.min(1.0) * (self.x1 - self.x0)
    }

    /// Whether `[a, b]` meets the scale's range.
    pub fn meets(&self, a: u64, b: u64) -> bool {
        b >= self.t0 && a <= self.t1
    }

    /// Tick times: a round step giving about `n` ticks.
    pub fn ticks(&self, n: u64) -> Vec<u64> {
        let span = self.t1 - self.t0;
        let step = nice_step(span / n.max(1));
        let first = self.t0.div_ceil(step) * step;
        (0..)
            .map(|i| first + i * step)
            .take_while(|&t| t <= self.t1)
            .collect()
    }
}

/// The smallest 1, 2 or 5 × 10^k that is at least `raw` (at least 1).
pub fn nice_step(raw: u64) -> u64 {
    let mut p = 1u64;
    loop {
        for m in [1, 2, 5] {
            if m * p >= raw.max(1) {
                return m * p;
            }
        }
        p = p.saturating_mul(10);
    }
}

/// A tick label for a time: seconds with as many decimals as the step needs.
pub fn tick_label(t: u64, step: u64) -> String {
    let decimals = match step {
        s if s >= 1_000_000_000 => 0,
        s if s >= 100_000_000 => 1,
        s if s >= 10_000_000 => 2,
        s if s >= 1_000_000 => 3,
        _ => 6,
    };
    format!("{:.*} s", decimals, t as f64 / 1e9)
}

/// A time axis along `y`, with grid lines up to `top`.
pub fn time_axis(scale: &TimeScale, top: f64, y: f64) -> Markup {
    let ticks = scale.ticks(10);
    let step = if ticks.len() > 1 {
        ticks[1] - ticks[0]
    } else {
        scale.t1 - scale.t0
    };
    html! {
        g class="axis" {
            line x1=(C(scale.x0)) x2=(C(scale.x1)) y1=(C(y)) y2=(C(y)) {}
            @for t in &ticks {
                line class="grid" x1=(C(scale.x(*t))) x2=(C(scale.x(*t))) y1=(C(top)) y2=(C(y)) {}
                text x=(C(scale.x(*t))) y=(C(y + 14.0)) text-anchor="middle" { (tick_label(*t, step)) }
            }
        }
    }
}

/// The faults in force over the scale's range, shaded from `top` to `bottom`, with instant
/// actions as lines; labels along the top when `labels`.
pub fn fault_shading(
    data: &Data<'_>,
    scale: &TimeScale,
    top: f64,
    bottom: f64,
    labels: bool,
) -> Markup {
    html! {
        g class="faults" {
            @for p in data.periods.iter().filter(|p| scale.meets(p.start, p.end)) {
                @let (a, b) = (scale.x(p.start), scale.x(p.end));
                rect class=(p.kind.class()) x=(C(a)) y=(C(top)) width=(C((b - a).max(1.0))) height=(C(bottom - top)) {
                    title { (p.label) " from " (super::data::secs(p.start)) " to " (super::data::secs(p.end)) " (" (dur(p.end - p.start)) ")" }
                }
                @if labels {
                    text class="flabel" x=(C(a + 2.0)) y=(C(top + 9.0)) { (p.label) }
                }
            }
            @for (t, label) in data.marks.iter().filter(|(t, _)| scale.meets(*t, *t)) {
                line class="mark" x1=(C(scale.x(*t))) x2=(C(scale.x(*t))) y1=(C(top)) y2=(C(bottom)) {
                    title { (label) " at " (super::data::secs(*t)) }
                }
            }
        }
    }
}

/// The legend of outcome colours and fault shades.
pub fn legend(faults: bool) -> Markup {
    html! {
        div class="legend" {
            span { i class="sw ok" {} "ok" }
            span { i class="sw fail" {} "fail" }
            span { i class="sw info" {} "info (unknown)" }
            @if faults {
                @for k in FaultKind::ALL {
                    span { i class=(format!("sw {}", k.class())) {} (k.word()) }
                }
            }
        }
    }
}
