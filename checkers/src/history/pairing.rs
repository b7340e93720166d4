//! Pairing invocations with completions.
//!
//! A process runs one operation at a time, so a completion belongs to the process's last
//! invocation. An `info` completion leaves the operation open to the end of the history (it may
//! take effect at any time after its invocation, or never); an invocation with no completion at
//! all is treated the same way.

use serde::{Deserialize, Serialize};

use super::{Event, EventType, History, Name, Process};
use crate::error::InputError;
use crate::value::Value;

/// How an operation ended; written `ok`, `fail` or `info`, as the history's `type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// It happened; its completion carries what came back.
    Ok,
    /// It definitely did not happen.
    Fail,
    /// Unknown (an `info` completion, or no completion at all).
    Info,
}

impl Outcome {
    /// `ok`, `fail` or `info`.
    pub fn word(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Fail => "fail",
            Outcome::Info => "info",
        }
    }
}

/// An invocation and its completion.
#[derive(Clone, Debug, PartialEq)]
pub struct Operation {
    pub process: u64,
    pub f: Name,
    pub key: Option<Value>,
    /// Position of the invocation in [`History::events`].
    pub invoke: usize,
    /// Position of the completion, if there was one.
    pub complete: Option<usize>,
    pub outcome: Outcome,
}

impl Operation {
    /// What was asked: the invocation's value.
    pub fn input<'h>(&self, history: &'h History) -> &'h Value {
        &history.events[self.invoke].value
    }

    /// What came back: the completion's value (`None` for an operation that never completed).
    pub fn output<'h>(&self, history: &'h History) -> Option<&'h Value> {
        self.complete.map(|c| &history.events[c].value)
    }

    pub fn invocation<'h>(&self, history: &'h History) -> &'h Event {
        &history.events[self.invoke]
    }

    pub fn completion<'h>(&self, history: &'h History) -> Option<&'h Event> {
        self.complete.map(|c| &history.events[c])
    }

    /// Whether the operation ends before `other` begins (real-time order).
    pub fn precedes(&self, other: &Operation) -> bool {
        match (self.outcome, self.complete) {
            (Outcome::Info, _) | (_, None) => false,
            (_, Some(c)) => c < other.invoke,
        }
    }
}

impl History {
    /// Pairs every client invocation with its completion, in invocation order.
    ///
    /// Events of named processes (the nemesis) are skipped. Fails, naming the line, on a
    /// completion with no invocation outstanding, an invocation while the process still has one
    /// outstanding, a completion whose `f` or `key` differs from its invocation's.
    pub fn operations(&self) -> Result<Vec<Operation>, InputError> {
        // Open operation per process: index into `ops`. Processes are usually small integers.
        let mut open: hashbrown::HashMap<u64, usize> = hashbrown::HashMap::new();
        let mut ops: Vec<Operation> = Vec::with_capacity(self.events.len() / 2 + 1);
        for (pos, event) in self.events.iter().enumerate() {
            let Process::Client(process) = event.process else {
                continue;
            };
            let err = |msg: String| InputError::new(&self.source, event.line as usize, msg);
            match event.kind {
                EventType::Invoke => {
                    if let Some(&prev) = open.get(&process) {
                        let prev = &ops[prev];
                        return Err(err(format!(
                            "process {process} invokes `{}` while its `{}` from line {} is still outstanding (expected a completion first)",
                            quoted(&event.f),
                            quoted(&prev.f),
                            self.events[prev.invoke].line
                        )));
                    }
                    open.insert(process, ops.len());
                    ops.push(Operation {
                        process,
                        f: event.f.clone(),
                        key: event.key.clone(),
                        invoke: pos,
                        complete: None,
                        outcome: Outcome::Info,
                    });
                }
                kind => {
                    let Some(i) = open.remove(&process) else {
                        return Err(err(format!(
                            "process {process} completes `{}` ({}) but has no invocation outstanding (expected an invoke first)",
                            quoted(&event.f),
                            kind.name()
                        )));
                    };
                    let op = &mut ops[i];
                    let invoked = &self.events[op.invoke];
                    if op.f != event.f {
                        return Err(err(format!(
                            "process {process} completes `{}` but invoked `{}` at line {} (expected the same f)",
                            quoted(&event.f),
                            quoted(&op.f),
                            invoked.line
                        )));
                    }
                    if event.key.is_some() && event.key != op.key {
                        return Err(err(format!(
                            "process {process} completes key {} but invoked key {} at line {} (expected the same key)",
                            show_key(&event.key),
                            show_key(&op.key),
                            invoked.line
                        )));
                    }
                    op.complete = Some(pos);
                    op.outcome = match kind {
                        EventType::Ok => Outcome::Ok,
                        EventType::Fail => Outcome::Fail,
                        _ => Outcome::Info,
                    };
                }
            }
        }
        Ok(ops)
    }
}

/// An operation name for an error message, with line breaks and other control characters
/// escaped so that the message stays on one line.
fn quoted(name: &str) -> std::str::EscapeDebug<'_> {
    name.escape_debug()
}

fn show_key(key: &Option<Value>) -> String {
    key.as_ref()
        .map_or_else(|| "(none)".to_string(), ToString::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::read_jsonl;

    fn history(text: &str) -> History {
        read_jsonl("h.jsonl", text).unwrap()
    }

    #[test]
    fn pairs_per_process_and_leaves_missing_completions_open() {
        let h = history(concat!(
            r#"{"index":0,"time":1,"process":0,"type":"invoke","f":"write","value":1}"#,
            "\n",
            r#"{"index":1,"time":2,"process":1,"type":"invoke","f":"read","value":null}"#,
            "\n",
            r#"{"index":2,"time":3,"process":0,"type":"ok","f":"write","value":1}"#,
            "\n",
            r#"{"index":3,"time":4,"process":"nemesis","type":"info","f":"kill","value":null}"#,
            "\n",
        ));
        let ops = h.operations().unwrap();
        assert_eq!(ops.len(), 2);
        assert_eq!((ops[0].outcome, ops[0].complete), (Outcome::Ok, Some(2)));
        assert_eq!((ops[1].outcome, ops[1].complete), (Outcome::Info, None));
        assert!(!ops[1].precedes(&ops[0]));
    }

    #[test]
    fn a_completion_without_invocation_names_its_line() {
        let h = history(concat!(
            r#"{"index":0,"time":1,"process":0,"type":"ok","f":"write","value":1}"#,
            "\n"
        ));
        let e = h.operations().unwrap_err();
        assert_eq!(e.line, 1);
        assert!(e.message.contains("no invocation outstanding"), "{e}");
    }

    #[test]
    fn a_second_invocation_while_outstanding_is_refused() {
        let h = history(concat!(
            r#"{"index":0,"time":1,"process":0,"type":"invoke","f":"write","value":1}"#,
            "\n",
            r#"{"index":1,"time":2,"process":0,"type":"invoke","f":"read","value":null}"#,
            "\n",
        ));
        let e = h.operations().unwrap_err();
        assert_eq!(e.to_string().split(':').nth(1), Some("2"));
        assert!(e.message.contains("still outstanding"), "{e}");
    }

    #[test]
    fn names_with_line_breaks_are_escaped_in_one_line_errors() {
        // Found with the fuzz targets' one-line-error invariant: `f` is free text in JSON Lines
        // and can be an EDN string, and was copied into the message as it was.
        let h = history(concat!(
            r#"{"process":0,"type":"invoke","f":"a\nb","value":1}"#,
            "\n",
            r#"{"process":0,"type":"ok","f":"c","value":1}"#,
            "\n",
        ));
        let e = h.operations().unwrap_err().to_string();
        assert!(!e.contains('\n'), "{e:?}");
        assert!(e.contains(r"invoked `a\nb` at line 1"), "{e}");
        let h = history(concat!(
            r#"{"process":0,"type":"invoke","f":"a\nb","value":1}"#,
            "\n",
            r#"{"process":0,"type":"invoke","f":"c\rd","value":1}"#,
            "\n",
            r#"{"process":1,"type":"ok","f":"e\nf","value":1}"#,
            "\n",
        ));
        let e = h.operations().unwrap_err().to_string();
        assert!(e.contains(r"invokes `c\rd` while its `a\nb`"), "{e}");
        let mut h = h;
        h.events.remove(0);
        let e = h.operations().unwrap_err().to_string();
        assert!(
            e.contains(r"completes `e\nf` (ok) but has no invocation"),
            "{e}"
        );
    }

    #[test]
    fn a_completion_of_another_f_is_refused() {
        let h = history(concat!(
            r#"{"index":0,"time":1,"process":0,"type":"invoke","f":"write","value":1}"#,
            "\n",
            r#"{"index":1,"time":2,"process":0,"type":"ok","f":"read","value":1}"#,
            "\n",
        ));
        assert!(
            h.operations()
                .unwrap_err()
                .message
                .contains("expected the same f")
        );
    }
}
