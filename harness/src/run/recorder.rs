//! The recorder: every invocation, completion and fault, appended to `history.jsonl` the moment
//! it happens.
//!
//! Each event is one `write` of one complete line, so a harness killed at any instant leaves a
//! history whose lines are all whole; operations it never saw complete read back as `info`. The
//! recorder assigns indices and stamps times on the harness's monotonic clock, and keeps the
//! events in memory for the checker at the end.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use checkers::history::{Event, History, Names};
use workloads::history::{Record, Sink};

/// The test's history, being written.
#[derive(Clone, Debug)]
pub struct Recorder {
    inner: Arc<Mutex<Inner>>,
    start: Instant,
}

#[derive(Debug)]
struct Inner {
    file: File,
    events: Vec<Event>,
    names: Names,
    line: Vec<u8>,
    failed: Option<String>,
}

impl Recorder {
    /// Creates `path` and starts the test's clock.
    pub fn create(path: &Path) -> std::io::Result<Recorder> {
        let file = File::create(path)?;
        Ok(Recorder {
            inner: Arc::new(Mutex::new(Inner {
                file,
                events: Vec::new(),
                names: Names::default(),
                line: Vec::with_capacity(256),
                failed: None,
            })),
            start: Instant::now(),
        })
    }

    /// Nanoseconds since the test started.
    pub fn now(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    /// Appends one event, to the file first.
    pub fn record(&self, r: Record) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let f = inner.names.get(r.f);
        let event = Event {
            index: inner.events.len() as u64,
            time: self.now(),
            process: r.process,
            kind: r.kind,
            f,
            key: r.key,
            value: r.value,
            node: r.node.map(Into::into),
            error: r.error.map(Into::into),
            extra: Box::default(),
            line: inner.events.len() as u32 + 1,
        };
        let Inner {
            file, line, failed, ..
        } = &mut *inner;
        line.clear();
        checkers::history::write_jsonl_line(&event, line);
        if let Err(e) = file.write_all(line)
            && failed.is_none()
        {
            *failed = Some(e.to_string());
        }
        inner.events.push(event);
    }

    /// The history so far, and the first write error if the file could not keep up.
    pub fn history(&self, source: &str) -> (History, Option<String>) {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        (
            History {
                source: source.to_string(),
                events: inner.events.clone(),
                timed: true,
                ..History::default()
            },
            inner.failed.clone(),
        )
    }
}

impl Sink for Recorder {
    fn record(&self, record: Record) {
        Recorder::record(self, record);
    }

    fn now(&self) -> u64 {
        Recorder::now(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use checkers::Value;
    use checkers::history::{EventType, Process};

    #[test]
    fn every_event_is_on_disk_as_a_whole_line_as_soon_as_it_is_recorded() {
        let dir = std::env::temp_dir().join(format!("rec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("history.jsonl");
        let rec = Recorder::create(&path).unwrap();
        rec.record(Record {
            process: Process::Client(0),
            kind: EventType::Invoke,
            f: "write",
            key: Some(Value::Int(1)),
            value: Value::Int(3),
            node: None,
            error: None,
        });
        let on_disk = std::fs::read_to_string(&path).unwrap();
        assert!(on_disk.ends_with('\n'));
        let back = checkers::history::read_jsonl("h", &on_disk).unwrap();
        assert_eq!(back.events.len(), 1);
        // The invocation never completed: it reads back as an open (info) operation.
        let ops = back.operations().unwrap();
        assert_eq!(ops[0].outcome, checkers::history::Outcome::Info);
        let (h, err) = rec.history("h");
        assert_eq!((h.events.len(), err), (1, None));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
