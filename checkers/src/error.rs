//! The one error type for bad input: it names the file, the line and what was expected.

use std::fmt;

/// A history (or part of one) that could not be read or does not make sense.
///
/// Displayed as one line, `file:line: message`, so that a user can jump straight to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputError {
    /// The file name as the user gave it (or a label such as `<stdin>`).
    pub file: String,
    /// 1-based line number; 0 when the problem is about the file as a whole.
    pub line: usize,
    /// What was expected and what was found instead.
    pub message: String,
}

impl InputError {
    pub fn new(file: &str, line: usize, message: impl Into<String>) -> InputError {
        InputError {
            file: file.to_string(),
            line,
            message: message.into(),
        }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}:{}: {}", self.file, self.line, self.message)
        }
    }
}

impl std::error::Error for InputError {}

/// Shortens a piece of input for quoting in an error message, escaping control characters so
/// that the message stays on one line.
pub(crate) fn excerpt(text: &str) -> String {
    const MAX: usize = 40;
    let text = text.trim();
    if text.is_empty() {
        return "end of line".to_string();
    }
    let mut cut = String::new();
    for c in text.chars().take(MAX) {
        if c.is_control() {
            cut.extend(c.escape_debug());
        } else {
            cut.push(c);
        }
    }
    if text.chars().count() > MAX {
        cut.push('…');
    }
    format!("`{cut}`")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_short_one_line_and_marked_when_cut() {
        assert_eq!(excerpt("  "), "end of line");
        assert_eq!(excerpt("a\tb\rc"), "`a\\tb\\rc`");
        let long = "x".repeat(50);
        assert_eq!(excerpt(&long), format!("`{}…`", "x".repeat(40)));
        assert_eq!(excerpt("é"), "`é`");
    }
}
