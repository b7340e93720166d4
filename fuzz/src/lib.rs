//! Invariants shared by the fuzz targets.
//!
//! Every parser must return, never panic; an error must be one line (`file:line: message`) and
//! name a line that exists (or 0 for the file as a whole); pairing a parsed history must return,
//! never panic, and obey the same rules for its errors.

use checkers::InputError;
use checkers::history::History;

/// The number of lines of `text`, as `str::lines` counts them.
pub fn line_count(text: &str) -> usize {
    text.lines().count()
}

/// Checks that `e`, an error about `text`, is one line and names a line of `text` (or the
/// position just past its last line, for "found end of input").
pub fn check_error(text: &str, e: &InputError) {
    let shown = e.to_string();
    assert!(!shown.contains('\n'), "error is not one line: {shown:?}");
    let lines = line_count(text);
    assert!(
        e.line <= lines + 1,
        "error names line {} of a {lines}-line input: {shown:?}",
        e.line
    );
}

/// Checks a parser's result: errors obey [`check_error`]; a history pairs without panicking, and
/// a pairing error obeys [`check_error`] too.
pub fn check_result(text: &str, result: Result<History, InputError>) {
    match result {
        Ok(history) => {
            if let Err(e) = history.operations() {
                check_error(text, &e);
            }
        }
        Err(e) => check_error(text, &e),
    }
}
