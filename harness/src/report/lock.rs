//! Lock anomalies: a Gantt chart of who believed it held the lock when — one row per client,
//! its belief windows as bars, its writes to the protected resource as ticks, overlaps in red,
//! faults as bands and clock jumps as lines — and a story in plain words for each anomaly.
//!
//! The lock checker reports the windows of the holders each anomaly names; the others are
//! rebuilt here from the history by the checker's rules (docs/workloads/lock.md, "Belief
//! windows"): a window opens at an acquire's `ok`, closes at the earliest of the next release's
//! invocation, `ok time + validity_ms`, a failed renew's completion and the next acquire's
//! invocation; an `ok` renew moves the close to its `ok time + validity_ms`.

use std::collections::{BTreeMap, BTreeSet};

use checkers::Value;
use checkers::history::Outcome;
use checkers::lock::{Anomaly, Close, Fault, Holder, Kind, Report};
use maud::{Markup, html};

use super::data::{Clock, Data, dur, secs};
use super::svg::{C, LEFT, TimeScale, WIDTH, fault_shading, time_axis};
use super::text::{clip, text};

/// Anomalies told and drawn one by one (the rest are listed).
const DRAWN: usize = 20;
/// Most windows the whole-run chart draws.
const MAX_WINDOWS: usize = 3000;
const TOP: f64 = 18.0;
const ROW: f64 = 22.0;

/// One belief window: `[start, end)`, and what closed it.
#[derive(Clone, Debug, PartialEq)]
pub struct Win {
    pub process: u64,
    pub start: u64,
    pub end: u64,
    pub closed_by: &'static str,
    /// The instances the acquire that began it reached.
    pub nodes: String,
}

/// A write to the protected resource.
#[derive(Clone, Debug)]
pub struct WriteMark {
    pub process: u64,
    pub time: u64,
    pub outcome: Outcome,
    pub order: Option<i64>,
    pub token: Option<i64>,
}

/// An acquire attempt.
#[derive(Clone, Debug)]
pub struct Attempt {
    pub process: u64,
    pub start: u64,
    pub end: Option<u64>,
    pub outcome: Outcome,
}

/// What the Gantt chart draws.
#[derive(Default)]
pub struct Lock {
    pub windows: Vec<Win>,
    pub writes: Vec<WriteMark>,
    pub attempts: Vec<Attempt>,
    /// Spans where two or more clients' windows overlap.
    pub overlaps: Vec<(u64, u64)>,
}

fn validity_ns(v: Option<&Value>) -> Option<u64> {
    match v?.get("validity_ms")? {
        Value::Int(ms) if *ms >= 0 => Some((*ms as u64).saturating_mul(1_000_000)),
        Value::Float(ms) if ms.is_finite() && *ms >= 0.0 => Some((ms * 1e6).round() as u64),
        _ => None,
    }
}

fn nodes_text(v: Option<&Value>) -> String {
    match v.and_then(|v| v.get("nodes")) {
        Some(Value::List(items)) => items
            .iter()
            .map(|n| n.as_str().map_or_else(|| n.to_string(), str::to_string))
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

/// Rebuilds the belief windows, writes and acquire attempts from the history.
pub fn read(data: &Data<'_>) -> Lock {
    let mut lock = Lock::default();
    // Per process: its latest window (index into `windows`) and whether still believed.
    let mut live: BTreeMap<u64, (usize, bool)> = BTreeMap::new();
    fn close(
        windows: &mut [Win],
        live: &mut BTreeMap<u64, (usize, bool)>,
        p: u64,
        t: u64,
        why: &'static str,
        end_holding: bool,
    ) {
        if let Some((w, alive)) = live.get_mut(&p) {
            if *alive && t < windows[*w].end {
                windows[*w].end = t.max(windows[*w].start);
                windows[*w].closed_by = why;
            }
            if end_holding {
                *alive = false;
            }
        }
    }
    for op in &data.ops {
        let p = op.process;
        let invoked = data.start(op);
        let done = data.done(op).unwrap_or(invoked);
        let output = op.output(data.history);
        match &*op.f {
            "acquire" => {
                lock.attempts.push(Attempt {
                    process: p,
                    start: invoked,
                    end: data.done(op),
                    outcome: op.outcome,
                });
                close(
                    &mut lock.windows,
                    &mut live,
                    p,
                    invoked,
                    "next acquire",
                    true,
                );
                if op.outcome == Outcome::Ok
                    && let Some(v) = validity_ns(output)
                {
                    live.insert(p, (lock.windows.len(), true));
                    lock.windows.push(Win {
                        process: p,
                        start: done,
                        end: done.saturating_add(v),
                        closed_by: "validity",
                        nodes: nodes_text(output),
                    });
                }
            }
            "renew" => match op.outcome {
                Outcome::Ok => {
                    if let (Some(v), Some(&(w, true))) = (validity_ns(output), live.get(&p)) {
                        let end = done.saturating_add(v);
                        if lock.windows[w].end >= done {
                            lock.windows[w].end = end.max(lock.windows[w].start);
                            lock.windows[w].closed_by = "renewed validity";
                        } else {
                            let nodes = lock.windows[w].nodes.clone();
                            live.insert(p, (lock.windows.len(), true));
                            lock.windows.push(Win {
                                process: p,
                                start: done,
                                end,
                                closed_by: "renewed validity",
                                nodes,
                            });
                        }
                    }
                }
                Outcome::Fail => close(
                    &mut lock.windows,
                    &mut live,
                    p,
                    done,
                    "failed renewal",
                    false,
                ),
                Outcome::Info => {}
            },
            "release" => close(&mut lock.windows, &mut live, p, invoked, "release", true),
            "write" => {
                let v = output.unwrap_or(op.input(data.history));
                lock.writes.push(WriteMark {
                    process: p,
                    time: done,
                    outcome: op.outcome,
                    order: v.get("order").and_then(Value::as_int),
                    token: v.get("token").and_then(Value::as_int),
                });
            }
            _ => {}
        }
    }
    lock.overlaps = overlaps(&lock.windows);
    lock
}

/// The spans during which at least two different clients' windows are open.
fn overlaps(windows: &[Win]) -> Vec<(u64, u64)> {
    let mut edges: Vec<(u64, bool, u64)> = Vec::new();
    for w in windows.iter().filter(|w| w.end > w.start) {
        edges.push((w.start, true, w.process));
        edges.push((w.end, false, w.process));
    }
    // Closings before openings at the same instant: touching is not overlapping.
    edges.sort_by_key(|&(t, open, p)| (t, open, p));
    let mut open: BTreeMap<u64, usize> = BTreeMap::new();
    let mut out: Vec<(u64, u64)> = Vec::new();
    let mut since: Option<u64> = None;
    for (t, opening, p) in edges {
        if opening {
            *open.entry(p).or_default() += 1;
        } else if let Some(n) = open.get_mut(&p) {
            *n -= 1;
            if *n == 0 {
                open.remove(&p);
            }
        }
        match (open.len() >= 2, since) {
            (true, None) => since = Some(t),
            (false, Some(s)) => {
                if t > s {
                    out.push((s, t));
                }
                since = None;
            }
            _ => {}
        }
    }
    out
}

/// The chart over `[t0, t1]`; the windows in `highlight` (process, start) are outlined.
fn gantt(data: &Data<'_>, lock: &Lock, t0: u64, t1: u64, highlight: &[(u64, u64)]) -> Markup {
    let scale = TimeScale::new(t0, t1);
    let mut rows: BTreeSet<u64> = BTreeSet::new();
    for w in &lock.windows {
        if scale.meets(w.start, w.end) {
            rows.insert(w.process);
        }
    }
    for w in &lock.writes {
        if scale.meets(w.time, w.time) {
            rows.insert(w.process);
        }
    }
    for &(p, _) in highlight {
        rows.insert(p);
    }
    let rows: Vec<u64> = rows.into_iter().collect();
    let row = |p: u64| rows.iter().position(|&q| q == p);
    let bottom = TOP + rows.len() as f64 * ROW;
    let height = bottom + 26.0;
    let clock_changes: Vec<&(u64, String, Clock)> = data
        .clocks
        .iter()
        .filter(|(t, _, _)| scale.meets(*t, *t))
        .collect();
    html! {
        svg class="chart gantt" viewBox=(format!("0 0 {WIDTH} {}", height.ceil())) width=(WIDTH) height=(C(height)) {
            (fault_shading(data, &scale, 0.0, bottom, true))
            (time_axis(&scale, TOP, bottom + 2.0))
            @for (a, b) in lock.overlaps.iter().filter(|(a, b)| scale.meets(*a, *b)) {
                @let (x, y) = (scale.x(*a), scale.x(*b));
                rect class="overlap" x=(C(x)) y=(C(TOP)) width=(C((y - x).max(1.5))) height=(C(bottom - TOP)) {
                    title { "two clients believed they held the lock: " (secs(*a)) " – " (secs(*b)) " (" (dur(b - a)) ")" }
                }
            }
            @for (t, node, clock) in &clock_changes {
                line class="clockline" x1=(C(scale.x(*t))) x2=(C(scale.x(*t))) y1="0" y2=(C(bottom)) {
                    title { "node " (node) "'s clock set to " (clock.describe()) " at " (secs(*t)) }
                }
            }
            @for p in &rows {
                @let y = TOP + row(*p).unwrap_or(0) as f64 * ROW;
                text class="rowlabel" x=(C(LEFT - 4.0)) y=(C(y + 12.0)) text-anchor="end" { "client " (p) }
            }
            @for a in lock.attempts.iter().filter(|a| scale.meets(a.start, a.end.unwrap_or(scale.t1))) {
                @if let Some(r) = row(a.process) {
                    @let y = TOP + r as f64 * ROW;
                    @let (x0, x1) = (scale.x(a.start), scale.x(a.end.unwrap_or(scale.t1)));
                    rect class=(format!("att {}", a.outcome.word())) x=(C(x0)) y=(C(y + 16.0)) width=(C((x1 - x0).max(1.0))) height="3" {
                        title { "client " (a.process) " acquire (" (a.outcome.word()) ") " (secs(a.start)) }
                    }
                }
            }
            @for w in lock.windows.iter().filter(|w| scale.meets(w.start, w.end)) {
                @if let Some(r) = row(w.process) {
                    @let y = TOP + r as f64 * ROW;
                    @let (x0, x1) = (scale.x(w.start), scale.x(w.end));
                    @let hl = highlight.iter().any(|&(p, s)| p == w.process && s == w.start);
                    rect class=(if hl { "win hl" } else { "win" }) x=(C(x0)) y=(C(y + 3.0)) width=(C((x1 - x0).max(1.0))) height="11" {
                        title { "client " (w.process) " believed it held the lock from " (secs(w.start)) " to " (secs(w.end)) " (" (dur(w.end - w.start)) ", closed by " (w.closed_by) ")" @if !w.nodes.is_empty() { ", via " (w.nodes) } }
                    }
                }
            }
            @for w in lock.writes.iter().filter(|w| scale.meets(w.time, w.time)) {
                @if let Some(r) = row(w.process) {
                    @let y = TOP + r as f64 * ROW;
                    @let x = scale.x(w.time);
                    @let class = match w.outcome { Outcome::Ok => "wr ok", Outcome::Fail => "wr rej", Outcome::Info => "wr info" };
                    line class=(class) x1=(C(x)) x2=(C(x)) y1=(C(y)) y2=(C(y + 17.0)) {
                        title {
                            "client " (w.process) " write"
                            @if let Some(o) = w.order { " #" (o) }
                            @if let Some(t) = w.token { ", token " (t) }
                            @match w.outcome { Outcome::Ok => " accepted", Outcome::Fail => " rejected", Outcome::Info => " unknown" }
                            " at " (secs(w.time))
                        }
                    }
                }
            }
        }
    }
}

fn closed_words(by: Close) -> &'static str {
    match by {
        Close::Validity => "when the validity it computed ran out",
        Close::RenewedValidity => "when its renewed validity ran out",
        Close::Release => "when it released it",
        Close::FailedRenewal => "when a renewal failed",
        Close::NextAcquire => "when it went to acquire again",
    }
}

/// A fault's value as a number (offsets are written as integers or floats).
fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(x) => Some(*x),
        _ => None,
    }
}

/// A fault in a few words: `node n3's clock jumped +5000 ms`.
fn fault_words(data: &Data<'_>, f: &Fault) -> String {
    let nodes = |v: &Value| -> Vec<String> {
        match v {
            Value::List(items) => items.iter().map(text).collect(),
            Value::Map(_) => match v.get("nodes") {
                Some(Value::List(items)) => items.iter().map(text).collect(),
                _ => Vec::new(),
            },
            Value::Str(s) => vec![s.to_string()],
            _ => Vec::new(),
        }
    };
    let each = |verb: &str| -> String {
        let ns = nodes(&f.value);
        match ns.as_slice() {
            [] => format!("the nemesis did {}", f.f),
            [one] => format!("node {one} {verb}"),
            many => format!("nodes {} {verb}", many.join(" ")),
        }
    };
    match f.f.as_str() {
        "clock-bump" => {
            let before = data.clocks_at(f.time);
            let mut parts = Vec::new();
            if let Some(Value::Map(offsets)) = f.value.get("offsets_ms") {
                for (node, off) in offsets.iter() {
                    let node = text(node);
                    let new = number(off).unwrap_or(0.0).round() as i64;
                    let prev = match before.get(&node) {
                        Some(Clock::Offset(ms)) => *ms,
                        _ => 0,
                    };
                    if new == prev {
                        continue;
                    }
                    let mut s = format!("node {node}'s clock jumped {:+} ms", new - prev);
                    if prev != 0 {
                        s.push_str(&format!(", to {new:+} ms"));
                    }
                    parts.push(s);
                }
            }
            if parts.is_empty() {
                "the nemesis set clocks again, to the offsets they had".into()
            } else {
                parts.join(" and ")
            }
        }
        "clock-reset" => each("had its clock set back to the true time"),
        "clock-strobe" => {
            let ms = f.value.get("ms").and_then(Value::as_int).unwrap_or(0);
            let period = f
                .value
                .get("period_ms")
                .and_then(Value::as_int)
                .unwrap_or(0);
            each(&format!(
                "began flipping its clock between 0 and {ms:+} ms every {period} ms"
            ))
        }
        "start-partition" => match f.value.get("shape") {
            Some(s) => format!("the network was partitioned ({})", text(s)),
            None => "the network was partitioned".into(),
        },
        "stop-partition" => "the partition healed".into(),
        "kill" => each("was killed"),
        "start" => each("was started again"),
        "restart" => each("was killed and restarted"),
        "pause" => each("was paused (SIGSTOP)"),
        "resume" => each("was resumed"),
        "pause-client" => {
            let who = f.value.get("process").map(text).unwrap_or_default();
            match f.value.get("ms") {
                Some(ms) => format!("client {who} was paused for {} ms", text(ms)),
                None => format!("client {who} was paused"),
            }
        }
        "resume-client" => {
            let who = f.value.get("process").map(text).unwrap_or_default();
            format!("client {who} resumed")
        }
        other => format!("the nemesis did {other} {}", clip(&f.value.to_string(), 60)),
    }
}

fn via(h: &Holder) -> String {
    if h.nodes.is_empty() {
        String::new()
    } else {
        format!(
            " via {}",
            h.nodes.iter().map(text).collect::<Vec<_>>().join(" ")
        )
    }
}

fn token(h: &Holder) -> String {
    h.token
        .map_or_else(String::new, |t| format!(" with fencing token {t}"))
}

/// When the holder's acquire completed (its window's opening, if the acquire is unknown).
fn acquired_at(h: &Holder) -> u64 {
    h.acquire.complete_time.unwrap_or(h.window.start_ns)
}

/// The anomaly in plain words, in the order things happened.
pub fn story(data: &Data<'_>, a: &Anomaly) -> String {
    let (first, second) = (&a.first, &a.second);
    let mut events: Vec<(u64, u8, String)> = Vec::new();
    let believed = |h: &Holder| {
        let mut s = format!(
            "believed it held it until {}",
            secs(h.window.end_ns.max(h.window.start_ns))
        );
        let why = closed_words(h.window.closed_by);
        if !why.is_empty() {
            s.push_str(&format!(" ({why})"));
        }
        s
    };
    let opened = |h: &Holder| {
        if h.window.start_ns > acquired_at(h) {
            format!(
                " (its window from {} after a renewal)",
                secs(h.window.start_ns)
            )
        } else {
            String::new()
        }
    };
    events.push((
        acquired_at(first),
        0,
        format!(
            "Client {} acquired the lock at {}{}{}{} and {}.",
            first.process,
            secs(acquired_at(first)),
            via(first),
            token(first),
            opened(first),
            believed(first)
        ),
    ));
    for f in &a.faults {
        events.push((
            f.time,
            1,
            format!("At {} {}.", secs(f.time), fault_words(data, f)),
        ));
    }
    let end = match a.kind {
        Kind::Overlap => format!(
            ": for {} both believed they held it.",
            dur(a.overlap_ns.unwrap_or(0))
        ),
        _ => format!(", and {}.", believed(second)),
    };
    let second_text = format!(
        "Client {} acquired the lock{}{} at {}{}{}",
        second.process,
        via(second),
        token(second),
        secs(acquired_at(second)),
        opened(second),
        end
    );
    events.push((acquired_at(second), 2, second_text));
    for (i, w) in a.writes.iter().enumerate() {
        let by = if w.process == first.process || w.process == second.process {
            format!("client {}", w.process)
        } else {
            format!("process {}", w.process)
        };
        let token = w
            .token
            .map_or_else(String::new, |t| format!(" (token {t})"));
        let lead = if i == 0 {
            "The resource accepted"
        } else {
            "The resource then accepted"
        };
        events.push((
            w.complete_time,
            3,
            format!(
                "{lead} write #{} from {by}{token} at {}.",
                w.order,
                secs(w.complete_time)
            ),
        ));
    }
    events.sort_by_key(|e| (e.0, e.1));
    let mut out: Vec<String> = events.into_iter().map(|e| e.2).collect();
    match a.kind {
        Kind::Interleaved => out.push(format!(
            "Both clients wrote as holders of the lock, and the resource could not tell{}.",
            if a.first.token.is_none() {
                " (there was no fencing token)"
            } else {
                ""
            }
        )),
        Kind::Fencing => out.push(
            "The resource accepted a lower fencing token after a higher one: fencing did not protect it."
                .into(),
        ),
        _ => {}
    }
    out.join(" ")
}

fn zoom(a: &Anomaly) -> (u64, u64) {
    let mut t0 = a.first.window.start_ns.min(a.second.window.start_ns);
    let mut t1 = a.first.window.end_ns.max(a.second.window.end_ns);
    for h in [&a.first, &a.second] {
        t0 = t0.min(h.acquire.time);
    }
    for w in &a.writes {
        t0 = t0.min(w.time);
        t1 = t1.max(w.complete_time);
    }
    let pad = (t1 - t0) / 12 + 1_000_000;
    (t0.saturating_sub(pad), t1 + pad)
}

pub fn render(data: &Data<'_>, r: &Report) -> Markup {
    let lock = read(data);
    let c = r.anomaly_counts;
    html! {
        p {
            "Lock safety: " b { (r.valid.word()) } " — "
            (c.overlap) " overlapping belief windows, " (c.interleaved) " interleaved holders, " (c.fencing) " broken fencing"
            @if r.fenced { " (writes carried fencing tokens)" } @else { " (no fencing tokens)" } "."
        }
        div class="legend" {
            span { i class="sw win" {} "belief window (acquire ok → release / validity end)" }
            span { i class="sw hls" {} "the anomaly's windows" }
            span { i class="sw overlap" {} "two clients believed they held it" }
            span { i class="tick ok" {} "write accepted" }
            span { i class="tick rej" {} "write rejected (stale token)" }
            span { i class="sw att" {} "acquire attempts" }
            span { i class="tick clock" {} "clock change" }
        }
        @for (i, a) in r.anomalies.iter().take(DRAWN).enumerate() {
            div class="anomaly" {
                h3 { "Anomaly " (i + 1) ": " (a.kind.name()) }
                p class="story" { (story(data, a)) }
                @let (t0, t1) = zoom(a);
                (gantt(data, &lock, t0, t1, &[(a.first.process, a.first.window.start_ns), (a.second.process, a.second.window.start_ns)]))
                details { summary { "The checker's words" } p class="mono" { (a.description) } }
            }
        }
        @if r.anomalies.len() > DRAWN {
            h3 { "More anomalies" }
            ul {
                @for a in r.anomalies.iter().skip(DRAWN) {
                    li { (a.kind.name()) ": " (a.description) }
                }
            }
        }
        h3 { "The whole run" }
        @if lock.windows.len() <= MAX_WINDOWS {
            (gantt(data, &lock, 0, data.end, &[]))
        } @else {
            p class="note" { (lock.windows.len()) " belief windows: too many to draw at once; each anomaly above has its own chart." }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use checkers::history::read_jsonl;

    #[test]
    fn windows_follow_the_checkers_rules_and_overlaps_are_found() {
        let h = read_jsonl(
            "l.jsonl",
            concat!(
                r#"{"time":0,"process":0,"type":"invoke","f":"acquire","value":null}"#,
                "\n",
                r#"{"time":10,"process":0,"type":"ok","f":"acquire","value":{"lock":"a","validity_ms":0.0001,"nodes":["n1"]}}"#,
                "\n",
                r#"{"time":50,"process":1,"type":"invoke","f":"acquire","value":null}"#,
                "\n",
                r#"{"time":60,"process":1,"type":"ok","f":"acquire","value":{"lock":"b","validity_ms":0.0001,"nodes":["n2"]}}"#,
                "\n",
                r#"{"time":80,"process":0,"type":"invoke","f":"release","value":{"lock":"a"}}"#,
                "\n",
                r#"{"time":85,"process":0,"type":"ok","f":"release","value":{"lock":"a"}}"#,
                "\n",
            ),
        )
        .unwrap();
        let d = Data::new(&h).unwrap();
        let l = read(&d);
        let spans: Vec<(u64, u64, &str)> = l
            .windows
            .iter()
            .map(|w| (w.start, w.end, w.closed_by))
            .collect();
        assert_eq!(spans, [(10, 80, "release"), (60, 160, "validity")]);
        assert_eq!(l.overlaps, [(60, 80)]);
        assert_eq!(l.windows[0].nodes, "n1");
    }
}
