//! faultline's own history format: JSON Lines, one event per line (DESIGN.md, "The history
//! format").
//!
//! The reader is strict about the fields it knows (`index`, `time`, `process`, `type`, `f`,
//! `key`, `value`, `node`, `error`) and keeps any others in [`Event::extra`], so that reading and
//! writing a history loses nothing. `time` may be absent (the history is then untimed); `index`
//! may be absent (it is then the event's position) but, when present, must increase.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};

use super::{Event, EventType, History, Names, NilReads, Process};
use crate::error::{InputError, excerpt};
use crate::value::Value;

/// Reads a JSON Lines history. `file` names the source in error messages.
pub fn read_jsonl(file: &str, text: &str) -> Result<History, InputError> {
    let mut names = Names::default();
    let mut events = Vec::with_capacity(text.len() / 96);
    let mut timed = true;
    let mut last_index: Option<u64> = None;
    for (n, line) in text.lines().enumerate() {
        let line_no = n + 1;
        if line.trim().is_empty() {
            continue;
        }
        let err = |msg: String| InputError::new(file, line_no, msg);
        let raw: RawEvent<'_> = serde_json::from_str(line).map_err(|e| {
            err(format!(
                "column {}: expected one JSON object per line with process, type, f and value ({})",
                e.column(),
                strip_position(&e)
            ))
        })?;
        let Some(kind) = raw.kind else {
            return Err(err(
                "expected a \"type\" field (invoke, ok, fail or info)".into()
            ));
        };
        let kind = EventType::parse(&kind).ok_or_else(|| {
            err(format!(
                "expected \"type\" to be invoke, ok, fail or info, found {}",
                // Escaped, so that a line break inside the string cannot split the error.
                excerpt(&kind.escape_debug().to_string())
            ))
        })?;
        let Some(process) = raw.process else {
            return Err(err(
                "expected a \"process\" field (an integer, or \"nemesis\")".into(),
            ));
        };
        let Some(f) = raw.f else {
            return Err(err("expected an \"f\" field (the operation's name)".into()));
        };
        let index = raw.index.unwrap_or(events.len() as u64);
        if let Some(last) = last_index
            && index <= last
        {
            return Err(err(format!(
                "expected \"index\" to increase, found {index} after {last}"
            )));
        }
        last_index = Some(index);
        let time = match raw.time {
            Some(t) => t,
            None => {
                timed = false;
                events.len() as u64
            }
        };
        let process = match process {
            RawProcess::Client(p) => Process::Client(p),
            RawProcess::Named(name) => Process::Named(names.get(&name)),
        };
        events.push(Event {
            index,
            time,
            process,
            kind,
            f: names.get(&f),
            key: raw.key,
            value: raw.value,
            node: raw.node,
            error: raw.error,
            extra: raw.extra.into(),
            line: line_no as u32,
        });
    }
    Ok(History {
        source: file.to_string(),
        events,
        timed,
        nil_reads: NilReads::NeverWritten,
    })
}

/// Appends one event as a JSON line (with its newline) to `out`.
pub fn write_jsonl_line(event: &Event, out: &mut Vec<u8>) {
    // Serializing our own types into a Vec cannot fail.
    serde_json::to_writer(&mut *out, event).expect("an event always serializes");
    out.push(b'\n');
}

/// serde_json appends "at line 1 column N"; we report the line ourselves.
fn strip_position(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("index", &self.index)?;
        map.serialize_entry("time", &self.time)?;
        match &self.process {
            Process::Client(p) => map.serialize_entry("process", p)?,
            Process::Named(n) => map.serialize_entry("process", &**n)?,
        }
        map.serialize_entry("type", self.kind.name())?;
        map.serialize_entry("f", &*self.f)?;
        if let Some(key) = &self.key {
            map.serialize_entry("key", key)?;
        }
        map.serialize_entry("value", &self.value)?;
        if let Some(node) = &self.node {
            map.serialize_entry("node", &**node)?;
        }
        if let Some(error) = &self.error {
            map.serialize_entry("error", &**error)?;
        }
        for (k, v) in self.extra.iter() {
            map.serialize_entry(&**k, v)?;
        }
        map.end()
    }
}

enum RawProcess<'a> {
    Client(u64),
    Named(Cow<'a, str>),
}

impl<'de> Deserialize<'de> for RawProcess<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawProcess<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a process: a non-negative integer or a name such as \"nemesis\"")
            }
            fn visit_u64<E>(self, p: u64) -> Result<Self::Value, E> {
                Ok(RawProcess::Client(p))
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(RawProcess::Named(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
                Ok(RawProcess::Named(Cow::Owned(s.to_string())))
            }
        }
        d.deserialize_any(V)
    }
}

/// One line as written, before validation.
#[derive(Default)]
struct RawEvent<'a> {
    index: Option<u64>,
    time: Option<u64>,
    process: Option<RawProcess<'a>>,
    kind: Option<Cow<'a, str>>,
    f: Option<Cow<'a, str>>,
    key: Option<Value>,
    value: Value,
    node: Option<Box<str>>,
    error: Option<Box<str>>,
    extra: Vec<(Box<str>, Value)>,
}

impl<'de> Deserialize<'de> for RawEvent<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(RawEventVisitor)
    }
}

struct RawEventVisitor;

impl<'de> Visitor<'de> for RawEventVisitor {
    type Value = RawEvent<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawEvent<'de>, A::Error> {
        let mut raw = RawEvent::default();
        let mut seen = 0u16;
        while let Some(field) = map.next_key::<Cow<'de, str>>()? {
            let bit = match &*field {
                "index" => 1,
                "time" => 2,
                "process" => 4,
                "type" => 8,
                "f" => 16,
                "key" => 32,
                "value" => 64,
                "node" => 128,
                "error" => 256,
                _ => 0,
            };
            if bit != 0 {
                if seen & bit != 0 {
                    return Err(de::Error::custom(format!("duplicate field \"{field}\"")));
                }
                seen |= bit;
            }
            match &*field {
                "index" => raw.index = Some(map.next_value()?),
                "time" => raw.time = Some(map.next_value()?),
                "process" => raw.process = Some(map.next_value()?),
                "type" => raw.kind = Some(map.next_value()?),
                "f" => raw.f = Some(map.next_value()?),
                "key" => raw.key = Some(map.next_value()?),
                "value" => raw.value = map.next_value()?,
                "node" => raw.node = map.next_value::<Value>()?.into_text(),
                "error" => raw.error = map.next_value::<Value>()?.into_text(),
                _ => raw.extra.push((field.into(), map.next_value()?)),
            }
        }
        Ok(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{"index":0,"time":1200,"process":0,"type":"invoke","f":"write","key":"k1","value":3}
{"index":1,"time":5300,"process":0,"type":"ok","f":"write","key":"k1","value":3}
{"index":2,"time":6000,"process":1,"type":"invoke","f":"cas","key":"k1","value":[3,4]}
{"index":3,"time":9100,"process":1,"type":"fail","f":"cas","key":"k1","value":[3,4]}
{"index":4,"time":9950,"process":2,"type":"invoke","f":"read","key":"k1","value":null}
{"index":5,"time":19950,"process":2,"type":"info","f":"read","key":"k1","value":null,"error":"timeout"}
{"index":6,"time":20000,"process":"nemesis","type":"info","f":"start-partition","value":{"grudge":{"n1":["n2","n3"]}}}
"#;

    #[test]
    fn the_design_doc_sample_round_trips_byte_for_byte() {
        let h = read_jsonl("s.jsonl", SAMPLE).unwrap();
        assert_eq!(h.events.len(), 7);
        assert!(h.timed);
        assert_eq!(h.events[6].process, Process::Named("nemesis".into()));
        assert_eq!(h.events[5].error.as_deref(), Some("timeout"));
        let mut out = Vec::new();
        for e in &h.events {
            write_jsonl_line(e, &mut out);
        }
        assert_eq!(String::from_utf8(out).unwrap(), SAMPLE);
    }

    #[test]
    fn unknown_fields_are_kept() {
        let line =
            r#"{"index":0,"time":1,"process":3,"type":"ok","f":"acquire","value":null,"token":33}"#;
        let h = read_jsonl("t", line).unwrap();
        assert_eq!(&*h.events[0].extra[0].0, "token");
        let mut out = Vec::new();
        write_jsonl_line(&h.events[0], &mut out);
        assert_eq!(String::from_utf8(out).unwrap().trim_end(), line);
    }

    fn error_of(text: &str) -> String {
        read_jsonl("bad.jsonl", text).unwrap_err().to_string()
    }

    #[test]
    fn malformed_lines_name_file_line_and_expectation() {
        let ok = r#"{"process":0,"type":"invoke","f":"read","value":null}"#;
        let cases = [
            (format!("{ok}\n{{\"process\":0,"), "bad.jsonl:2: column"),
            (format!("{ok}\n[1,2]"), "bad.jsonl:2: column"),
            (
                r#"{"process":0,"type":"done","f":"read"}"#.to_string(),
                "bad.jsonl:1: expected \"type\" to be invoke, ok, fail or info, found `done`",
            ),
            (
                r#"{"type":"ok","f":"read"}"#.to_string(),
                "bad.jsonl:1: expected a \"process\" field",
            ),
            (
                r#"{"process":-1,"type":"ok","f":"read"}"#.to_string(),
                "bad.jsonl:1: column",
            ),
            (
                r#"{"process":1,"type":"ok"}"#.to_string(),
                "bad.jsonl:1: expected an \"f\" field",
            ),
            (
                r#"{"process":1,"f":"read","f":"write","type":"ok"}"#.to_string(),
                "duplicate field",
            ),
            (
                format!("{{\"index\":5,{}\n{{\"index\":5,{}", &ok[1..], &ok[1..]),
                "bad.jsonl:2: expected \"index\" to increase, found 5 after 5",
            ),
        ];
        for (text, want) in cases {
            let got = error_of(&text);
            assert!(got.contains(want), "for {text:?}\n got {got}\nwant {want}");
            assert!(!got.contains('\n'), "one line: {got}");
        }
    }

    #[test]
    fn a_type_with_a_line_break_is_quoted_on_one_line() {
        // Found with the `jsonl` fuzz target's one-line-error invariant.
        let got = error_of(r#"{"process":0,"type":"x\ny","f":"read"}"#);
        assert!(!got.contains('\n'), "{got:?}");
        assert!(got.ends_with(r"found `x\ny`"), "{got}");
    }

    #[test]
    fn missing_time_makes_the_history_untimed() {
        let h = read_jsonl(
            "t",
            r#"{"process":0,"type":"invoke","f":"read","value":null}"#,
        )
        .unwrap();
        assert!(!h.timed);
        assert_eq!(h.events[0].time, 0);
    }
}
