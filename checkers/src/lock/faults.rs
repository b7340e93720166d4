//! The faults an anomaly names: the nemesis's events, paired (an invocation, then its `info`
//! completion, as the harness records them) and described in a few words.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::history::{EventType, History, Process};
use crate::value::Value;

/// One fault, as an anomaly shows it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Fault {
    /// `start-partition`, `kill`, `clock-bump`, `pause-client`, …
    pub f: String,
    pub value: Value,
    /// History index of the first event (the invocation, when there is one).
    pub index: u64,
    /// Harness-clock times (ns) of the invocation and of its completion.
    pub time: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complete_time: Option<u64>,
    /// What went wrong applying it, if the nemesis said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Source line of the first event.
    pub line: u32,
}

impl Fault {
    /// When it ended (its completion, else when it began).
    fn end(&self) -> u64 {
        self.complete_time.unwrap_or(self.time).max(self.time)
    }

    /// `clock-bump n3 +15000 ms`, `pause-client 3 for 1500 ms`, `kill "n1"`,
    /// `start-partition {"grudge":…}`.
    pub fn describe(&self) -> String {
        let mut s = self.f.clone();
        if let Some(Value::Map(offsets)) = self.value.get("offsets_ms") {
            for (node, off) in offsets.iter() {
                let node = node
                    .as_str()
                    .map_or_else(|| node.to_string(), str::to_string);
                match off {
                    Value::Int(0) => {}
                    Value::Int(d) => {
                        let _ = write!(s, " {node} {d:+} ms");
                    }
                    Value::Float(d) if *d != 0.0 => {
                        let _ = write!(s, " {node} {d:+} ms");
                    }
                    _ => {}
                }
            }
            return s;
        }
        // A partition by its shape when the nemesis named one (the grudge is long).
        if let Some(shape) = self.value.get("shape").and_then(Value::as_str) {
            let _ = write!(s, " {shape}");
            return s;
        }
        if let Some(p) = self.value.get("process") {
            let _ = write!(s, " {p}");
            if let Some(d) = self.value.get("ms")
                && !self.f.starts_with("resume")
            {
                let _ = write!(s, " for {d} ms");
            }
            return s;
        }
        match &self.value {
            Value::Nil => {}
            Value::Str(text) => {
                let _ = write!(s, " {text}");
            }
            Value::List(items) if items.iter().all(|v| v.as_str().is_some()) => {
                for item in items.iter() {
                    let _ = write!(s, " {}", item.as_str().unwrap_or_default());
                }
            }
            other => {
                const MAX: usize = 60;
                let text = other.to_string();
                if text.chars().count() > MAX {
                    let cut: String = text.chars().take(MAX).collect();
                    let _ = write!(s, " {cut}…");
                } else {
                    let _ = write!(s, " {text}");
                }
            }
        }
        s
    }
}

/// Every fault of the `nemesis` process, in history order. An invocation is paired with the
/// next nemesis completion of the same `f`; a completion without one stands alone.
pub fn collect(history: &History) -> Vec<Fault> {
    let mut out: Vec<Fault> = Vec::new();
    let mut open: Option<usize> = None;
    for e in &history.events {
        let Process::Named(name) = &e.process else {
            continue;
        };
        if &**name != "nemesis" {
            continue;
        }
        if e.kind != EventType::Invoke
            && let Some(i) = open
            && out[i].f == *e.f
        {
            out[i].complete_time = Some(e.time);
            out[i].error = e.error.as_deref().map(str::to_string);
            open = None;
            continue;
        }
        open = (e.kind == EventType::Invoke).then_some(out.len());
        out.push(Fault {
            f: e.f.to_string(),
            value: e.value.clone(),
            index: e.index,
            time: e.time,
            complete_time: None,
            error: e.error.as_deref().map(str::to_string),
            line: e.line,
        });
    }
    out
}

/// The faults active at some instant from `from` to `to` (both included).
pub(super) fn between(faults: &[Fault], from: u64, to: u64) -> Vec<Fault> {
    faults
        .iter()
        .enumerate()
        .filter(|(i, f)| f.time <= to && (f.end() >= from || in_force(faults, *i, from)))
        .map(|(_, f)| f.clone())
        .collect()
}

/// The action that ends what `f` starts, if `f` starts something that lasts.
fn ender(f: &str) -> Option<&'static str> {
    Some(match f {
        "start-partition" => "stop-partition",
        "kill" => "start",
        "pause" => "resume",
        "clock-bump" | "clock-strobe" => "clock-reset",
        "pause-client" => "resume-client",
        _ => return None,
    })
}

/// Whether fault `i`, begun before `at`, was still in force then: nothing of the kind that ends
/// it came between. (A clock that jumped just before a client acquired still matters to what
/// that client believed.)
fn in_force(faults: &[Fault], i: usize, at: u64) -> bool {
    let Some(end) = ender(&faults[i].f) else {
        return false;
    };
    !faults[i + 1..]
        .iter()
        .take_while(|g| g.time <= at)
        .any(|g| g.f == end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::read_jsonl;

    #[test]
    fn a_fault_still_in_force_counts_and_an_ended_one_does_not() {
        let fault = |f: &str, time: u64| Fault {
            f: f.into(),
            value: Value::Nil,
            index: time,
            time,
            complete_time: None,
            error: None,
            line: 0,
        };
        let faults = [
            fault("clock-bump", 10),
            fault("clock-reset", 20),
            fault("clock-bump", 30),
            fault("kill", 31),
            fault("start", 33),
        ];
        let names = |from, to| -> Vec<(String, u64)> {
            between(&faults, from, to)
                .into_iter()
                .map(|f| (f.f, f.time))
                .collect()
        };
        // The bump at 30 is still in force at 35; the kill ended at 33; the first bump at 20.
        assert_eq!(names(35, 40), vec![("clock-bump".to_string(), 30)]);
        assert_eq!(names(15, 16), vec![("clock-bump".to_string(), 10)]);
        assert!(names(21, 25).is_empty());
    }

    #[test]
    fn invocations_pair_with_their_completion_and_read_briefly() {
        let h = read_jsonl(
            "n.jsonl",
            concat!(
                r#"{"time":5,"process":"nemesis","type":"invoke","f":"clock-bump","value":{"offsets_ms":{"n1":0,"n3":15000}}}"#,
                "\n",
                r#"{"time":6,"process":0,"type":"invoke","f":"acquire","value":null}"#,
                "\n",
                r#"{"time":7,"process":"nemesis","type":"info","f":"clock-bump","value":{"offsets_ms":{"n1":0,"n3":15000}}}"#,
                "\n",
                r#"{"time":9,"process":"nemesis","type":"info","f":"pause-client","value":{"process":3,"ms":1500}}"#,
                "\n",
                r#"{"time":10,"process":"nemesis","type":"invoke","f":"kill","value":["n1","n2"]}"#,
                "\n",
            ),
        )
        .unwrap();
        let faults = collect(&h);
        let described: Vec<String> = faults.iter().map(Fault::describe).collect();
        assert_eq!(
            described,
            [
                "clock-bump n3 +15000 ms",
                "pause-client 3 for 1500 ms",
                "kill n1 n2"
            ]
        );
        assert_eq!((faults[0].time, faults[0].complete_time), (5, Some(7)));
        assert_eq!(faults[1].complete_time, None);
        assert_eq!(between(&faults, 6, 6).len(), 1);
        // The clock bump ended its action at 7, but n3's clock stays ahead: still in force.
        assert_eq!(between(&faults, 8, 9).len(), 2);
        assert_eq!(between(&faults, 0, 100).len(), 3);
    }
}
