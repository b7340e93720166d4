//! Importers: every history format faultline reads, turned into the one [`History`] model.
//!
//! | format | what it is | reader |
//! |---|---|---|
//! | `jsonl` | faultline's own (DESIGN.md) | [`crate::history::read_jsonl`] |
//! | `edn` | Jepsen's `history.edn`: a vector or a sequence of op maps | [`read_edn`] |
//! | `porcupine-kv` | Porcupine's `kv/*.txt`: one EDN op map per line | [`read_edn`] (the same reader) |
//! | `jepsen-log` | Jepsen's text log (Porcupine's `jepsen/etcd_*.log`) | [`read_jepsen_log`] |
//!
//! [`Format::detect`] picks the format from the file name and, failing that, the content.

mod edn;
mod jepsen_edn;
mod jepsen_log;

pub use edn::{EdnError, Reader as EdnReader};
pub use jepsen_edn::read_edn;
pub use jepsen_log::read_jepsen_log;

use crate::error::InputError;
use crate::history::{History, read_jsonl};

/// A history file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Jsonl,
    Edn,
    PorcupineKv,
    JepsenLog,
}

impl Format {
    pub const ALL: [Format; 4] = [
        Format::Jsonl,
        Format::Edn,
        Format::PorcupineKv,
        Format::JepsenLog,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Format::Jsonl => "jsonl",
            Format::Edn => "edn",
            Format::PorcupineKv => "porcupine-kv",
            Format::JepsenLog => "jepsen-log",
        }
    }

    pub fn parse(name: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The format of `file` holding `text`: by extension when it is unambiguous, else by the
    /// first non-blank line. `None` when neither says.
    pub fn detect(file: &str, text: &str) -> Option<Format> {
        let ext = file.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
        match ext.as_deref() {
            Some("jsonl" | "ndjson") => return Some(Format::Jsonl),
            Some("edn") => return Some(Format::Edn),
            _ => {}
        }
        let first = text.lines().map(str::trim).find(|l| !l.is_empty())?;
        if first.starts_with("{\"") || first.starts_with("{ \"") {
            Some(Format::Jsonl)
        } else if first.starts_with("{:process") {
            Some(Format::PorcupineKv)
        } else if first.starts_with(['{', '[', '(', '#']) {
            Some(Format::Edn)
        } else if first.contains(" - ") && first.starts_with(char::is_uppercase) {
            Some(Format::JepsenLog)
        } else {
            None
        }
    }

    /// Reads `text` in this format; `file` names the source in errors.
    pub fn read(self, file: &str, text: &str) -> Result<History, InputError> {
        match self {
            Format::Jsonl => read_jsonl(file, text),
            Format::Edn | Format::PorcupineKv => read_edn(file, text),
            Format::JepsenLog => read_jepsen_log(file, text),
        }
    }
}

/// Reads a history, detecting its format unless one is given.
pub fn read_history(file: &str, text: &str, format: Option<Format>) -> Result<History, InputError> {
    let format = match format.or_else(|| Format::detect(file, text)) {
        Some(f) => f,
        None if text.trim().is_empty() => {
            return Ok(History {
                source: file.to_string(),
                ..History::default()
            });
        }
        None => {
            return Err(InputError::new(
                file,
                1,
                "expected a history (JSON Lines, EDN, a Jepsen log or a Porcupine kv log); name the format with --format",
            ));
        }
    };
    format.read(file, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_each_format() {
        let cases = [
            ("a.jsonl", "", Some(Format::Jsonl)),
            ("history.edn", "", Some(Format::Edn)),
            (
                "x.txt",
                "{:process 0, :type :invoke}",
                Some(Format::PorcupineKv),
            ),
            ("x", "\n[{:type :invoke}]", Some(Format::Edn)),
            (
                "x.log",
                "INFO  jepsen.util - 0\t:invoke\t:read\tnil",
                Some(Format::JepsenLog),
            ),
            ("x.json", "{\"process\":0}", Some(Format::Jsonl)),
            ("x.txt", "hello", None),
        ];
        for (file, text, want) in cases {
            assert_eq!(Format::detect(file, text), want, "{file}");
        }
    }

    #[test]
    fn an_empty_file_is_an_empty_history_and_garbage_is_an_error() {
        assert!(read_history("e.log", "", None).unwrap().events.is_empty());
        let e = read_history("g.bin", "hello", None).unwrap_err();
        assert_eq!(e.line, 1);
        assert!(e.message.contains("--format"));
    }
}
