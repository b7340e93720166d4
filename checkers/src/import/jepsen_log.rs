//! Jepsen's text log: the `jepsen.util` lines of `jepsen.log`, as in Porcupine's
//! `test_data/jepsen/etcd_*.log`.
//!
//! ```text
//! INFO  jepsen.util - 3 :invoke :cas [1 2]
//! INFO  jepsen.util - 3 :fail :cas [1 2]
//! INFO  jepsen.util - 4 :info :write :timed-out
//! ```
//!
//! Fields are separated by tabs or runs of spaces; the value is EDN and may contain spaces. Lines
//! of other loggers (`INFO  jepsen.core - …`) are skipped. A `fail` or `info` completion whose
//! value is a keyword (`:timed-out`) carries an error, not a result: the keyword becomes the
//! event's `error` and the value is the invocation's. The log has no timestamps.

use super::edn::Reader;
use crate::error::{InputError, excerpt};
use crate::history::{Event, EventType, History, Names, NilReads, Process};
use crate::value::Value;

const EXPECTED: &str =
    "expected `LEVEL logger - message`, such as `INFO  jepsen.util - 3 :invoke :read nil`";

/// Reads a Jepsen text log.
pub fn read_jepsen_log(file: &str, text: &str) -> Result<History, InputError> {
    let mut names = Names::default();
    let mut events: Vec<Event> = Vec::new();
    // The value of each process's last invocation, for completions that carry only an error.
    let mut invoked: hashbrown::HashMap<Process, Value> = hashbrown::HashMap::new();
    for (n, line) in text.lines().enumerate() {
        let line_no = n + 1;
        if line.trim().is_empty() {
            continue;
        }
        let err = |m: String| InputError::new(file, line_no, m);
        let (level, rest) = split_field(line);
        let (logger, rest) = split_field(rest);
        let (dash, message) = split_field(rest);
        let is_level = !level.is_empty() && level.bytes().all(|b| b.is_ascii_uppercase());
        if !is_level || logger.is_empty() || dash != "-" {
            return Err(err(format!("{EXPECTED}, found {}", excerpt(line))));
        }
        if logger != "jepsen.util" {
            continue;
        }
        let (process, rest) = split_field(message);
        let (kind, rest) = split_field(rest);
        let (f, value_text) = split_field(rest);
        let process = match process.strip_prefix(':') {
            Some(name) if !name.is_empty() => Process::Named(names.get(name)),
            _ => Process::Client(process.parse().map_err(|_| {
                err(format!(
                    "expected a process number or a keyword such as :nemesis, found {}",
                    excerpt(process)
                ))
            })?),
        };
        let kind = kind
            .strip_prefix(':')
            .and_then(EventType::parse)
            .ok_or_else(|| {
                err(format!(
                    "expected the type :invoke, :ok, :fail or :info, found {}",
                    excerpt(kind)
                ))
            })?;
        let f = match f.strip_prefix(':') {
            Some(name) if !name.is_empty() => names.get(name),
            _ => {
                return Err(err(format!(
                    "expected the keyword :f, found {}",
                    excerpt(f)
                )));
            }
        };
        let mut reader = Reader::at_line(value_text, line_no);
        let mut value = reader
            .read()
            .map_err(|e| err(format!("in the value: {}", e.message)))?;
        match reader.peek() {
            Ok(None) => {}
            Ok(Some(_)) => {
                return Err(err(format!(
                    "expected one EDN value after the f, found {}",
                    excerpt(value_text)
                )));
            }
            // A bad form after the value, such as a discard `#_` with nothing to discard.
            Err(e) => return Err(err(format!("after the value: {}", e.message))),
        }
        let mut error = None;
        match kind {
            EventType::Invoke => {
                invoked.insert(process.clone(), value.clone());
            }
            EventType::Fail | EventType::Info if value_text.trim_start().starts_with(':') => {
                error = value.as_str().map(Into::into);
                value = invoked.get(&process).cloned().unwrap_or_default();
            }
            _ => {}
        }
        let position = events.len() as u64;
        events.push(Event {
            index: position,
            time: position,
            process,
            kind,
            f,
            key: None,
            value,
            node: None,
            error,
            extra: Box::default(),
            line: line_no as u32,
        });
    }
    Ok(History {
        source: file.to_string(),
        events,
        timed: false,
        // Porcupine's etcd checker, whose verdicts these logs carry, compares a nil read with
        // the register's initial nil: never written.
        nil_reads: NilReads::NeverWritten,
    })
}

/// The first whitespace-separated field and the rest (with leading whitespace removed).
fn split_field(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    match s.find(char::is_whitespace) {
        Some(i) => (&s[..i], s[i..].trim_start()),
        None => (s, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_tabs_and_spaces_and_turns_timeouts_into_errors() {
        let text = "INFO  jepsen.util - 4\t:invoke\t:cas\t[1 2]\n\
                    INFO  jepsen.core - Worker 4 starting\n\
                    INFO  jepsen.util - 3   :invoke :write  3\n\
                    INFO  jepsen.util - 4\t:info\t:cas\t:timed-out\n\
                    INFO  jepsen.util - :nemesis :info :start nil\n";
        let h = read_jepsen_log("e.log", text).unwrap();
        assert_eq!(h.events.len(), 4);
        assert_eq!(h.events[0].value.to_string(), "[1,2]");
        assert_eq!(h.events[1].value, Value::Int(3));
        assert_eq!(h.events[1].line, 3);
        assert_eq!(h.events[2].kind, EventType::Info);
        assert_eq!(h.events[2].error.as_deref(), Some("timed-out"));
        assert_eq!(h.events[2].value.to_string(), "[1,2]");
        assert_eq!(h.events[3].process, Process::Named("nemesis".into()));
    }

    #[test]
    fn malformed_lines_name_the_line() {
        let ok = "INFO  jepsen.util - 0\t:invoke\t:read\tnil";
        let cases = [
            (
                "garbage here",
                "bad.log:2: expected `LEVEL logger - message`",
            ),
            (
                "INFO  jepsen.util - x :invoke :read nil",
                "bad.log:2: expected a process number",
            ),
            (
                "INFO  jepsen.util - 1 :begin :read nil",
                "bad.log:2: expected the type",
            ),
            (
                "INFO  jepsen.util - 1 :invoke read nil",
                "bad.log:2: expected the keyword :f",
            ),
            (
                "INFO  jepsen.util - 1 :invoke :cas [1 2",
                "bad.log:2: in the value: expected `]`",
            ),
            (
                "INFO  jepsen.util - 1 :invoke :cas 1 2",
                "bad.log:2: expected one EDN value",
            ),
            (
                "INFO  jepsen.util - 1 :invoke :read",
                "bad.log:2: in the value: expected an EDN value",
            ),
            (
                "INFO  jepsen.util - 1 :invoke :write 3 #_",
                "bad.log:2: after the value: expected an EDN value",
            ),
        ];
        for (line, want) in cases {
            let got = read_jepsen_log("bad.log", &format!("{ok}\n{line}\n"))
                .unwrap_err()
                .to_string();
            assert!(
                got.starts_with(want),
                "for {line:?}\n got {got}\nwant {want}"
            );
        }
    }
}
