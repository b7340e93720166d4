//! The history model: events as the harness observed them, and operations (an invocation paired
//! with its completion).
//!
//! Data flows one way: an importer (`crate::import`) turns a file into a [`History`] of
//! [`Event`]s; [`History::operations`] pairs each invocation with its completion, per process,
//! giving [`Operation`]s; checkers read operations. Every event remembers the line it came from,
//! so that a checker that meets an operation it cannot interpret can still name the line.

mod jsonl;
mod pairing;

pub use jsonl::{read_jsonl, write_jsonl_line};
pub use pairing::{Operation, Outcome};

use std::fmt;
use std::sync::Arc;

use crate::value::Value;

/// An operation's name (`read`, `write`, `cas`, `acquire` …), shared between the events that
/// carry it.
pub type Name = Arc<str>;

/// Operation and process names seen so far: names repeat on every line, and each distinct one
/// is allocated once and shared.
#[derive(Clone, Debug, Default)]
pub struct Names(Vec<Name>);

impl Names {
    /// The shared name for `s`.
    pub fn get(&mut self, s: &str) -> Name {
        if let Some(n) = self.0.iter().find(|n| &***n == s) {
            return n.clone();
        }
        let n: Name = s.into();
        self.0.push(n.clone());
        n
    }
}

/// Who performed an event: a logical client, or a named actor such as the nemesis.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Process {
    Client(u64),
    /// `"nemesis"` and any other non-client actor; never part of a checked operation.
    Named(Name),
}

impl Process {
    pub fn client(&self) -> Option<u64> {
        match self {
            Process::Client(p) => Some(*p),
            Process::Named(_) => None,
        }
    }
}

impl fmt::Display for Process {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Process::Client(p) => write!(f, "{p}"),
            Process::Named(n) => f.write_str(n),
        }
    }
}

/// The `type` of an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventType {
    Invoke,
    /// It happened.
    Ok,
    /// It definitely did not happen.
    Fail,
    /// Unknown: it may take effect at any time after its invocation, or never.
    Info,
}

impl EventType {
    pub fn name(self) -> &'static str {
        match self {
            EventType::Invoke => "invoke",
            EventType::Ok => "ok",
            EventType::Fail => "fail",
            EventType::Info => "info",
        }
    }

    pub fn parse(s: &str) -> Option<EventType> {
        Some(match s {
            "invoke" => EventType::Invoke,
            "ok" => EventType::Ok,
            "fail" => EventType::Fail,
            "info" => EventType::Info,
            _ => return None,
        })
    }
}

/// One line of a history.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// Position in the history; real-time order is index order.
    pub index: u64,
    /// Nanoseconds since the test started, on the harness's monotonic clock.
    pub time: u64,
    pub process: Process,
    pub kind: EventType,
    pub f: Name,
    /// The independent key, when the workload has several.
    pub key: Option<Value>,
    pub value: Value,
    /// The node the client talked to.
    pub node: Option<Box<str>>,
    /// Why it failed or is unknown.
    pub error: Option<Box<str>>,
    /// Fields this model does not know, kept so that a history is written back unchanged.
    pub extra: Box<[(Box<str>, Value)]>,
    /// The line of the source file this event came from (1-based; 0 if it was not read from a
    /// file).
    pub line: u32,
}

/// A whole history, in the order the harness observed it.
#[derive(Clone, Debug, Default)]
pub struct History {
    /// Where the history came from (a file name), for error messages.
    pub source: String,
    pub events: Vec<Event>,
    /// False when the source carried no timestamps (Porcupine's kv logs, Jepsen's text logs):
    /// `time` then holds the event's position, which orders events but measures nothing.
    pub timed: bool,
    /// What an `ok` read of nil means in this history's format.
    pub nil_reads: NilReads,
}

/// What an `ok` read that returned nil says about the register it read.
///
/// faultline's own histories (and Porcupine's Jepsen logs, whose checker compares nil with the
/// initial value) say "never written". Jepsen's `history.edn` follows Knossos, whose register
/// models accept a read of nil in every state: the client did not learn what it read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NilReads {
    /// The register held nil: it was never written (or was written nil).
    #[default]
    NeverWritten,
    /// Nothing is known about what was read; the read constrains nothing (Knossos).
    Unknown,
}

impl History {
    /// The events of client processes (everything but the nemesis and other named actors).
    pub fn client_events(&self) -> impl Iterator<Item = &Event> {
        self.events
            .iter()
            .filter(|e| matches!(e.process, Process::Client(_)))
    }
}
