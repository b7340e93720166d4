//! What the report draws, read from the history: client operations, the nemesis's actions and
//! the periods they shade, the clock offsets in force at any time, and per-second series.

use std::collections::BTreeMap;

use checkers::Value;
use checkers::history::{Event, History, Operation, Outcome};
use checkers::lock::Fault;

use super::text::text;

/// The kinds of fault a period shades, each with its colour (a CSS class).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FaultKind {
    Partition,
    Kill,
    Pause,
    Clock,
    ClientPause,
}

impl FaultKind {
    pub fn class(self) -> &'static str {
        match self {
            FaultKind::Partition => "n-partition",
            FaultKind::Kill => "n-kill",
            FaultKind::Pause => "n-pause",
            FaultKind::Clock => "n-clock",
            FaultKind::ClientPause => "n-client",
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            FaultKind::Partition => "partition",
            FaultKind::Kill => "node killed",
            FaultKind::Pause => "node paused",
            FaultKind::Clock => "clock skewed",
            FaultKind::ClientPause => "client paused",
        }
    }

    pub const ALL: [FaultKind; 5] = [
        FaultKind::Partition,
        FaultKind::Kill,
        FaultKind::Pause,
        FaultKind::Clock,
        FaultKind::ClientPause,
    ];
}

/// A fault in force from `start` to `end` (harness clock, ns).
#[derive(Clone, Debug, PartialEq)]
pub struct Period {
    pub kind: FaultKind,
    /// `partition isolate-leader`, `kill n1`, `clock n3 +5000 ms`, …
    pub label: String,
    pub start: u64,
    pub end: u64,
}

/// A node's clock, as the nemesis set it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    Offset(i64),
    /// Flipping between `+ms` and 0 every `period_ms`.
    Strobe {
        ms: i64,
        period_ms: i64,
    },
}

impl Clock {
    pub fn describe(self) -> String {
        match self {
            Clock::Offset(ms) => format!("{ms:+} ms"),
            Clock::Strobe { ms, period_ms } => {
                format!("flipping 0 / {ms:+} ms every {period_ms} ms")
            }
        }
    }
}

/// Everything the report reads from a history.
pub struct Data<'h> {
    pub history: &'h History,
    /// Client operations, in invocation order.
    pub ops: Vec<Operation>,
    /// The last event's time: the end of the test as the history saw it.
    pub end: u64,
    pub periods: Vec<Period>,
    /// Instant actions drawn as lines (restarts, anything unknown).
    pub marks: Vec<(u64, String)>,
    /// Each change of a node's clock, in time order: (time, node, clock).
    pub clocks: Vec<(u64, String, Clock)>,
}

/// The node names an action's value lists (`["n1","n2"]`, or `{"nodes": [..]}`).
fn nodes_of(v: &Value) -> Vec<String> {
    let list = match v {
        Value::List(items) => items,
        Value::Str(s) => return vec![s.to_string()],
        other => match other.get("nodes") {
            Some(Value::List(items)) => items,
            _ => return Vec::new(),
        },
    };
    list.iter().map(text).collect()
}

fn number(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Int(i) => Some(*i),
        Value::Float(f) if f.is_finite() => Some(f.round() as i64),
        _ => None,
    }
}

impl<'h> Data<'h> {
    pub fn new(history: &'h History) -> Result<Data<'h>, String> {
        let ops = history.operations().map_err(|e| e.to_string())?;
        let end = history.events.iter().map(|e| e.time).max().unwrap_or(0);
        let actions = checkers::lock::nemesis_faults(history);
        let (periods, marks, clocks) = periods(&actions, end);
        Ok(Data {
            history,
            ops,
            end,
            periods,
            marks,
            clocks,
        })
    }

    pub fn start(&self, op: &Operation) -> u64 {
        self.history.events[op.invoke].time
    }

    /// When the op completed, if it did.
    pub fn done(&self, op: &Operation) -> Option<u64> {
        op.complete.map(|c| self.history.events[c].time)
    }

    /// The event with history index `index` (indices increase through the history).
    pub fn event(&self, index: u64) -> Option<&'h Event> {
        let events = &self.history.events;
        let at = events.partition_point(|e| e.index < index);
        events.get(at).filter(|e| e.index == index)
    }

    /// Every node's clock in force just before `time` (nodes never moved are left out).
    pub fn clocks_at(&self, time: u64) -> BTreeMap<String, Clock> {
        let mut out = BTreeMap::new();
        for (t, node, clock) in &self.clocks {
            if *t >= time {
                break;
            }
            if *clock == Clock::Offset(0) {
                out.remove(node);
            } else {
                out.insert(node.clone(), *clock);
            }
        }
        out
    }

    /// Completed ops as (completion time, latency, outcome), in invocation order.
    pub fn latencies(&self) -> impl Iterator<Item = (u64, u64, Outcome)> + '_ {
        self.ops.iter().filter_map(|op| {
            let done = self.done(op)?;
            Some((done, done.saturating_sub(self.start(op)), op.outcome))
        })
    }
}

type Periods = (Vec<Period>, Vec<(u64, String)>, Vec<(u64, String, Clock)>);

/// Pairs the actions that start a fault with those that end it: start-partition ..
/// stop-partition, kill .. start, pause .. resume, clock-bump / clock-strobe .. clock-reset,
/// pause-client .. resume-client. Faults still in force at the end run to `end`.
fn periods(actions: &[Fault], end: u64) -> Periods {
    let mut periods = Vec::new();
    let mut marks = Vec::new();
    let mut clocks = Vec::new();
    // Open faults: (kind, who) → (label, start).
    let mut open: BTreeMap<(FaultKind, String), (String, u64)> = BTreeMap::new();
    let mut partitions = 0;
    let close = |open: &mut BTreeMap<(FaultKind, String), (String, u64)>,
                 periods: &mut Vec<Period>,
                 key: (FaultKind, String),
                 t: u64| {
        if let Some((label, start)) = open.remove(&key) {
            periods.push(Period {
                kind: key.0,
                label,
                start,
                end: t.max(start),
            });
        }
    };
    for a in actions {
        let t = a.time;
        match a.f.as_str() {
            "start-partition" => {
                let shape = a.value.get("shape").map(text);
                partitions += 1;
                let who = format!("partition {partitions}");
                let label = match shape {
                    Some(s) => format!("partition {s}"),
                    None => "partition".to_string(),
                };
                open.insert((FaultKind::Partition, who), (label, t));
            }
            "stop-partition" => {
                let keys: Vec<_> = open
                    .keys()
                    .filter(|k| k.0 == FaultKind::Partition)
                    .cloned()
                    .collect();
                for k in keys {
                    close(&mut open, &mut periods, k, t);
                }
            }
            "kill" | "pause" => {
                let kind = if a.f == "kill" {
                    FaultKind::Kill
                } else {
                    FaultKind::Pause
                };
                for n in nodes_of(&a.value) {
                    close(&mut open, &mut periods, (kind, n.clone()), t);
                    open.insert((kind, n.clone()), (format!("{} {n}", a.f), t));
                }
            }
            "start" | "resume" => {
                let kind = if a.f == "start" {
                    FaultKind::Kill
                } else {
                    FaultKind::Pause
                };
                for n in nodes_of(&a.value) {
                    close(&mut open, &mut periods, (kind, n), t);
                }
            }
            "clock-bump" => {
                if let Some(Value::Map(offsets)) = a.value.get("offsets_ms") {
                    for (node, off) in offsets.iter() {
                        let node = text(node);
                        let ms = number(Some(off)).unwrap_or(0);
                        close(&mut open, &mut periods, (FaultKind::Clock, node.clone()), t);
                        clocks.push((t, node.clone(), Clock::Offset(ms)));
                        if ms != 0 {
                            open.insert(
                                (FaultKind::Clock, node.clone()),
                                (format!("clock {node} {ms:+} ms"), t),
                            );
                        }
                    }
                }
            }
            "clock-strobe" => {
                let ms = number(a.value.get("ms")).unwrap_or(0);
                let period_ms = number(a.value.get("period_ms")).unwrap_or(0);
                for n in nodes_of(&a.value) {
                    close(&mut open, &mut periods, (FaultKind::Clock, n.clone()), t);
                    clocks.push((t, n.clone(), Clock::Strobe { ms, period_ms }));
                    open.insert(
                        (FaultKind::Clock, n.clone()),
                        (format!("clock {n} strobe {ms:+} ms"), t),
                    );
                }
            }
            "clock-reset" => {
                for n in nodes_of(&a.value) {
                    close(&mut open, &mut periods, (FaultKind::Clock, n.clone()), t);
                    clocks.push((t, n, Clock::Offset(0)));
                }
            }
            "pause-client" => {
                let who = a.value.get("process").map(text).unwrap_or_default();
                let ms = number(a.value.get("ms"));
                let label = match ms {
                    Some(ms) => format!("client {who} paused {ms} ms"),
                    None => format!("client {who} paused"),
                };
                close(
                    &mut open,
                    &mut periods,
                    (FaultKind::ClientPause, who.clone()),
                    t,
                );
                open.insert((FaultKind::ClientPause, who), (label, t));
            }
            "resume-client" => {
                let who = a.value.get("process").map(text).unwrap_or_default();
                close(&mut open, &mut periods, (FaultKind::ClientPause, who), t);
            }
            other => {
                let nodes = nodes_of(&a.value);
                marks.push((
                    t,
                    if nodes.is_empty() {
                        other.to_string()
                    } else {
                        format!("{other} {}", nodes.join(" "))
                    },
                ));
            }
        }
    }
    let keys: Vec<_> = open.keys().cloned().collect();
    for k in keys {
        close(&mut open, &mut periods, k, end);
    }
    periods.sort_by_key(|p| (p.start, p.end));
    (periods, marks, clocks)
}

/// Per-second series over a run: throughput by outcome, and latency quantiles.
pub struct PerSecond {
    /// Per second from 0: (ok, fail, info) completions.
    pub counts: Vec<[u64; 3]>,
    /// Per second with completions: (second, p50, p99) latency in ns.
    pub quantiles: Vec<(usize, u64, u64)>,
}

pub fn per_second(data: &Data<'_>) -> PerSecond {
    let seconds = (data.end / 1_000_000_000) as usize + 1;
    let mut counts = vec![[0u64; 3]; seconds];
    let mut lat: Vec<(u32, u64)> = Vec::with_capacity(data.ops.len());
    for (done, latency, outcome) in data.latencies() {
        let s = ((done / 1_000_000_000) as usize).min(seconds - 1);
        let slot = match outcome {
            Outcome::Ok => 0,
            Outcome::Fail => 1,
            Outcome::Info => 2,
        };
        counts[s][slot] += 1;
        lat.push((s as u32, latency));
    }
    lat.sort_unstable();
    let mut quantiles = Vec::new();
    let mut i = 0;
    while i < lat.len() {
        let s = lat[i].0;
        let j = i + lat[i..].partition_point(|&(t, _)| t == s);
        let bucket = &lat[i..j];
        let q = |q: f64| bucket[((bucket.len() - 1) as f64 * q).round() as usize].1;
        quantiles.push((s as usize, q(0.5), q(0.99)));
        i = j;
    }
    PerSecond { counts, quantiles }
}

/// `1.216 s`: a harness-clock time.
pub fn secs(ns: u64) -> String {
    format!("{:.3} s", ns as f64 / 1e9)
}

/// `113 ms`, `1.7 ms`, `850 µs`: a duration.
pub fn dur(ns: u64) -> String {
    let ms = ns as f64 / 1e6;
    if ms >= 10_000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else if ms >= 1.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{:.0} µs", ns as f64 / 1e3)
    }
}

/// `2026-11-26 05:37:02.123 UTC` for a Unix time in ms.
pub fn utc(ms: i64) -> String {
    let millis = ms.rem_euclid(1000);
    let (year, month, day, rem) = crate::civil::civil(ms.div_euclid(1000));
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}.{millis:03} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use checkers::history::read_jsonl;

    #[test]
    fn faults_pair_into_periods_and_clocks_are_tracked() {
        let h = read_jsonl(
            "h.jsonl",
            concat!(
                r#"{"time":10,"process":"nemesis","type":"invoke","f":"start-partition","value":{"shape":"halves","grudge":{}}}"#,
                "\n",
                r#"{"time":11,"process":"nemesis","type":"info","f":"start-partition","value":{"shape":"halves","grudge":{}}}"#,
                "\n",
                r#"{"time":20,"process":"nemesis","type":"invoke","f":"clock-bump","value":{"offsets_ms":{"n3":5000}}}"#,
                "\n",
                r#"{"time":30,"process":"nemesis","type":"invoke","f":"stop-partition","value":null}"#,
                "\n",
                r#"{"time":40,"process":"nemesis","type":"invoke","f":"kill","value":["n1"]}"#,
                "\n",
                r#"{"time":50,"process":"nemesis","type":"invoke","f":"clock-reset","value":["n3"]}"#,
                "\n",
                r#"{"time":60,"process":"nemesis","type":"invoke","f":"restart","value":["n2"]}"#,
                "\n",
                r#"{"time":90,"process":0,"type":"invoke","f":"read","value":null}"#,
                "\n",
            ),
        )
        .unwrap();
        let d = Data::new(&h).unwrap();
        let got: Vec<(&str, u64, u64)> = d
            .periods
            .iter()
            .map(|p| (p.label.as_str(), p.start, p.end))
            .collect();
        assert_eq!(
            got,
            [
                ("partition halves", 10, 30),
                ("clock n3 +5000 ms", 20, 50),
                ("kill n1", 40, 90)
            ]
        );
        assert_eq!(d.marks, [(60, "restart n2".to_string())]);
        assert_eq!(d.clocks_at(21).get("n3"), Some(&Clock::Offset(5000)));
        assert!(d.clocks_at(20).is_empty());
        assert!(d.clocks_at(51).is_empty());
    }

    #[test]
    fn times_read_well() {
        assert_eq!(secs(1_216_000_000), "1.216 s");
        assert_eq!(dur(113_000_000), "113 ms");
        assert_eq!(dur(1_700_000), "1.7 ms");
        assert_eq!(dur(850_000), "850 µs");
        assert_eq!(utc(0), "1970-01-01 00:00:00.000 UTC");
        assert_eq!(utc(1_795_660_000_123), "2026-11-26 02:26:40.123 UTC");
    }
}
