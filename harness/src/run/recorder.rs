//! The recorder: every invocation, completion and fault, appended to `history.jsonl` as it
//! happens.
//!
//! Lines are gathered in a buffer and written whole, in order, when it fills, every
//! [`FLUSH_EVERY`] (by a thread of the recorder's), when the history is taken, and when the
//! last handle is dropped (the end of a run, Ctrl-C, a panic). A `write` per event cost more
//! than the rest of recording. A harness killed at any instant leaves a history whose lines are
//! all whole and which is a prefix of the run's (at most the last [`FLUSH_EVERY`] missing): a
//! prefix checks as the run did up to its end, since every completion follows its invocation
//! and every effect's cause; operations it never saw complete read back as `info`. The recorder
//! assigns indices and stamps times on the harness's monotonic clock, and keeps the events in
//! memory for the checker at the end.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use checkers::history::{Event, History, Names};
use workloads::history::{Record, Sink};

/// The test's history, being written.
#[derive(Clone, Debug)]
pub struct Recorder {
    inner: Arc<Mutex<Inner>>,
    start: Instant,
}

/// How long a recorded line may wait in the buffer.
pub const FLUSH_EVERY: Duration = Duration::from_millis(20);

/// A buffer this full is written at once.
const BUFFER: usize = 256 * 1024;

#[derive(Debug)]
struct Inner {
    file: File,
    events: Vec<Event>,
    names: Names,
    /// Whole lines not yet written.
    buffer: Vec<u8>,
    failed: Option<String>,
}

impl Inner {
    /// Writes the buffered lines; keeps the first error.
    fn flush(&mut self) {
        if self.buffer.is_empty() {
            return;
        }
        if let Err(e) = self.file.write_all(&self.buffer)
            && self.failed.is_none()
        {
            self.failed = Some(e.to_string());
        }
        self.buffer.clear();
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Writes `inner`'s buffer every [`FLUSH_EVERY`] until the recorder is gone.
fn flush_periodically(inner: Weak<Mutex<Inner>>) {
    loop {
        std::thread::sleep(FLUSH_EVERY);
        let Some(inner) = inner.upgrade() else {
            return;
        };
        inner.lock().unwrap_or_else(|e| e.into_inner()).flush();
    }
}

impl Recorder {
    /// Creates `path` and starts the test's clock.
    pub fn create(path: &Path) -> std::io::Result<Recorder> {
        let file = File::create(path)?;
        let inner = Arc::new(Mutex::new(Inner {
            file,
            events: Vec::new(),
            names: Names::default(),
            buffer: Vec::with_capacity(BUFFER),
            failed: None,
        }));
        let weak = Arc::downgrade(&inner);
        std::thread::Builder::new()
            .name("history-flush".into())
            .spawn(move || flush_periodically(weak))?;
        Ok(Recorder {
            inner,
            start: Instant::now(),
        })
    }

    /// Nanoseconds since the test started.
    pub fn now(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    /// Appends one event.
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
        checkers::history::write_jsonl_line(&event, &mut inner.buffer);
        if inner.buffer.len() >= BUFFER {
            inner.flush();
        }
        inner.events.push(event);
    }

    /// The history so far (all of it on disk), and the first write error if the file could not
    /// keep up.
    pub fn history(&self, source: &str) -> (History, Option<String>) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.flush();
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
    fn every_event_is_on_disk_as_a_whole_line_soon_after_it_is_recorded() {
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
        // Written by the flushing thread, not by a later event or the end of the run.
        let waited = std::time::Instant::now();
        let on_disk = loop {
            let text = std::fs::read_to_string(&path).unwrap();
            if !text.is_empty() {
                break text;
            }
            assert!(waited.elapsed() < Duration::from_secs(30), "never written");
            std::thread::sleep(FLUSH_EVERY);
        };
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
