//! A small EDN reader: just enough of the format for Jepsen's histories, with line numbers.
//!
//! Reads nil, booleans, integers (with an optional `N`), floats (with an optional `M`), strings,
//! characters, keywords, symbols, lists, vectors, maps, sets, tagged literals and `#_` discards,
//! skipping whitespace, commas and `;` comments. Keywords, symbols and characters become
//! strings; sets become lists; a tagged literal becomes the value it tags (so a record such as
//! `#jepsen.history.Op{…}` reads as its map). Nesting deeper than [`MAX_DEPTH`] is refused
//! rather than overflowing the stack, and map keys inside map keys deeper than [`MAX_KEY_DEPTH`]
//! are refused rather than printing exponentially large text.

use crate::value::Value;

/// Deepest nesting accepted. Jepsen histories nest three or four levels.
pub const MAX_DEPTH: usize = 200;

/// Deepest nesting of map keys inside map keys accepted. A [`Value`] prints as JSON, where a key
/// that is not a string is written as its own JSON text, escaped; every level of keys inside keys
/// escapes that text once more and can double its size. Jepsen's keys are keywords or integers.
pub const MAX_KEY_DEPTH: usize = 4;

/// A syntax error at a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdnError {
    pub line: usize,
    pub message: String,
}

type Result<T> = std::result::Result<T, EdnError>;

/// A cursor over EDN text.
pub struct Reader<'a> {
    text: &'a [u8],
    pos: usize,
    line: usize,
    depth: usize,
    /// How many map keys the cursor is inside.
    key_depth: usize,
}

impl<'a> Reader<'a> {
    pub fn new(text: &'a str) -> Reader<'a> {
        Reader::at_line(text, 1)
    }

    /// A reader whose first line is numbered `line`.
    pub fn at_line(text: &'a str, line: usize) -> Reader<'a> {
        Reader {
            text: text.as_bytes(),
            pos: 0,
            line,
            depth: 0,
            key_depth: 0,
        }
    }

    /// The line the cursor is on.
    pub fn line(&self) -> usize {
        self.line
    }

    /// Skips whitespace, commas, comments and discarded forms; returns the next byte, if any.
    pub fn peek(&mut self) -> Result<Option<u8>> {
        loop {
            let Some(&b) = self.text.get(self.pos) else {
                return Ok(None);
            };
            match b {
                b'\n' => {
                    self.line += 1;
                    self.pos += 1;
                }
                b' ' | b'\t' | b'\r' | b',' | 0x0c => self.pos += 1,
                b';' => {
                    while let Some(&c) = self.text.get(self.pos) {
                        if c == b'\n' {
                            break;
                        }
                        self.pos += 1;
                    }
                }
                b'#' if self.text.get(self.pos + 1) == Some(&b'_') => {
                    self.pos += 2;
                    self.enter()?;
                    self.read()?;
                    self.depth -= 1;
                }
                _ => return Ok(Some(b)),
            }
        }
    }

    /// Consumes `byte`, which the caller has just peeked.
    pub fn bump(&mut self) {
        self.pos += 1;
    }

    fn error<T>(&self, message: impl Into<String>) -> Result<T> {
        Err(EdnError {
            line: self.line,
            message: message.into(),
        })
    }

    /// The character starting at byte `pos` (a character boundary), decoding only its own
    /// bytes rather than the rest of the input.
    fn char_at(&self, pos: usize) -> Option<char> {
        let bytes = self.text.get(pos..self.text.len().min(pos + 4))?;
        let valid = match std::str::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => std::str::from_utf8(&bytes[..e.valid_up_to()]).ok()?,
        };
        valid.chars().next()
    }

    /// What the cursor is looking at, quoted for an error message.
    fn found(&self) -> String {
        let rest = &self.text[self.pos.min(self.text.len())..];
        let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        crate::error::excerpt(&String::from_utf8_lossy(&rest[..end]))
    }

    /// Reads one value.
    pub fn read(&mut self) -> Result<Value> {
        let Some(b) = self.peek()? else {
            return self.error("expected an EDN value, found end of input");
        };
        match b {
            b'(' | b'[' => {
                self.bump();
                let close = if b == b'(' { b')' } else { b']' };
                Ok(Value::List(self.read_seq(close, false)?.into()))
            }
            b'{' => {
                self.bump();
                self.read_map()
            }
            b'"' => {
                self.bump();
                Ok(Value::Str(self.read_string()?.into()))
            }
            b'\\' => {
                self.bump();
                self.read_char()
            }
            b':' => {
                self.bump();
                let name = self.read_token();
                if name.is_empty() {
                    return self.error(format!(
                        "expected a keyword name after `:`, found {}",
                        self.found()
                    ));
                }
                Ok(Value::str(name))
            }
            b'#' => {
                self.bump();
                match self.text.get(self.pos) {
                    Some(b'{') => {
                        self.bump();
                        Ok(Value::List(self.read_seq(b'}', false)?.into()))
                    }
                    Some(c) if is_symbol_start(*c) => {
                        // A tagged literal: the tag is dropped, the tagged value kept.
                        self.read_token();
                        self.enter()?;
                        let tagged = self.read()?;
                        self.depth -= 1;
                        Ok(tagged)
                    }
                    _ => self.error(format!(
                        "expected a set `#{{`, a tag or a discard `#_` after `#`, found {}",
                        self.found()
                    )),
                }
            }
            b')' | b']' | b'}' => self.error(format!(
                "expected an EDN value, found an unmatched `{}`",
                b as char
            )),
            _ => self.read_atom(),
        }
    }

    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.error(format!("expected at most {MAX_DEPTH} levels of nesting"));
        }
        Ok(())
    }

    /// The forms up to `close`; in a `map`, every other form is a key.
    fn read_seq(&mut self, close: u8, map: bool) -> Result<Vec<Value>> {
        self.enter()?;
        let start = self.line;
        let mut items = Vec::new();
        loop {
            match self.peek()? {
                None => {
                    return self.error(format!(
                        "expected `{}` to close the collection opened on line {start}, found end of input",
                        close as char
                    ));
                }
                Some(b) if b == close => {
                    self.bump();
                    self.depth -= 1;
                    return Ok(items);
                }
                Some(b @ (b')' | b']' | b'}')) => {
                    return self.error(format!(
                        "expected `{}` to close the collection opened on line {start}, found `{}`",
                        close as char, b as char
                    ));
                }
                Some(_) if map && items.len() % 2 == 0 => {
                    self.key_depth += 1;
                    if self.key_depth > MAX_KEY_DEPTH {
                        return self.error(format!(
                            "expected at most {MAX_KEY_DEPTH} levels of map keys inside map keys"
                        ));
                    }
                    items.push(self.read()?);
                    self.key_depth -= 1;
                }
                Some(_) => items.push(self.read()?),
            }
        }
    }

    fn read_map(&mut self) -> Result<Value> {
        let start = self.line;
        let items = self.read_seq(b'}', true)?;
        if items.len() % 2 != 0 {
            return Err(EdnError {
                line: start,
                message: "expected a map with an even number of forms (a value for every key)"
                    .into(),
            });
        }
        let mut pairs = Vec::with_capacity(items.len() / 2);
        let mut it = items.into_iter();
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            pairs.push((k, v));
        }
        Ok(Value::Map(pairs.into()))
    }

    fn read_string(&mut self) -> Result<String> {
        let start = self.line;
        let mut out: Vec<u8> = Vec::new();
        loop {
            let Some(&b) = self.text.get(self.pos) else {
                return Err(EdnError {
                    line: start,
                    message: "expected `\"` to close the string, found end of input".into(),
                });
            };
            self.pos += 1;
            match b {
                b'"' => break,
                b'\n' => {
                    self.line += 1;
                    out.push(b);
                }
                b'\\' => {
                    let Some(&e) = self.text.get(self.pos) else {
                        continue;
                    };
                    self.pos += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        b'r' => out.push(b'\r'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'\\' | b'"' | b'\'' => out.push(e),
                        b'u' => {
                            let c = self.read_hex4()?;
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => {
                            // Quote the whole character; a line break or other control
                            // character is named, not copied, so the error stays one line.
                            let c = self.char_at(self.pos - 1).unwrap_or(e as char);
                            let found = if c.is_control() || c.is_whitespace() {
                                format!("`\\` followed by {c:?}")
                            } else {
                                format!("`\\{c}`")
                            };
                            return self.error(format!(
                                "expected a string escape (\\n, \\t, \\\", \\\\, \\uXXXX …), found {found}"
                            ));
                        }
                    }
                }
                _ => out.push(b),
            }
        }
        // The input is a &str and we only split it at ASCII bytes, so this is valid UTF-8.
        String::from_utf8(out).or_else(|_| self.error("expected valid UTF-8 in a string"))
    }

    fn read_hex4(&mut self) -> Result<char> {
        let hex = self.text.get(self.pos..self.pos + 4).unwrap_or(&[]);
        let code = std::str::from_utf8(hex)
            .ok()
            .filter(|h| h.len() == 4)
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .and_then(char::from_u32);
        match code {
            Some(c) => {
                self.pos += 4;
                Ok(c)
            }
            None => self.error("expected four hex digits naming a character after `\\u`"),
        }
    }

    fn read_char(&mut self) -> Result<Value> {
        let token = self.read_token();
        let c = match token {
            "newline" => '\n',
            "space" => ' ',
            "tab" => '\t',
            "return" => '\r',
            "formfeed" => '\x0c',
            "backspace" => '\x08',
            t if t.starts_with('u') && t.len() == 5 => {
                match u32::from_str_radix(&t[1..], 16)
                    .ok()
                    .and_then(char::from_u32)
                {
                    Some(c) => c,
                    None => return self.error(format!("expected a character, found `\\{t}`")),
                }
            }
            t if t.chars().count() == 1 => t.chars().next().unwrap_or(' '),
            "" => {
                // A character that is not a token character, such as `\(`.
                match self.char_at(self.pos) {
                    Some(c) if !c.is_whitespace() => {
                        self.pos += c.len_utf8();
                        c
                    }
                    _ => return self.error("expected a character after `\\`"),
                }
            }
            t => return self.error(format!("expected a character, found `\\{t}`")),
        };
        Ok(Value::Str(c.to_string().into()))
    }

    /// A run of symbol characters (possibly empty).
    fn read_token(&mut self) -> &'a str {
        let start = self.pos;
        while let Some(&b) = self.text.get(self.pos) {
            if is_symbol_char(b) {
                self.pos += 1;
            } else {
                break;
            }
        }
        // Token characters are ASCII or parts of multi-byte characters, which are taken whole.
        std::str::from_utf8(&self.text[start..self.pos]).unwrap_or("")
    }

    fn read_atom(&mut self) -> Result<Value> {
        let token = self.read_token();
        if token.is_empty() {
            return self.error(format!("expected an EDN value, found {}", self.found()));
        }
        match token {
            "nil" => return Ok(Value::Nil),
            "true" => return Ok(Value::Bool(true)),
            "false" => return Ok(Value::Bool(false)),
            _ => {}
        }
        let b = token.as_bytes();
        let numeric = b[0].is_ascii_digit()
            || (b.len() > 1 && (b[0] == b'-' || b[0] == b'+') && b[1].is_ascii_digit());
        if !numeric {
            return Ok(Value::str(token));
        }
        let digits = token.strip_suffix('N').unwrap_or(token);
        if let Ok(i) = digits.parse::<i64>() {
            return Ok(Value::Int(i));
        }
        if digits.bytes().skip(1).all(|c| c.is_ascii_digit()) {
            return self.error(format!(
                "expected an integer that fits in 64 signed bits, found `{token}`"
            ));
        }
        let float = token.strip_suffix('M').unwrap_or(token);
        match float.parse::<f64>() {
            Ok(x)
                if float
                    .bytes()
                    .all(|c| c.is_ascii_digit() || b"+-.eE".contains(&c)) =>
            {
                Ok(Value::Float(x))
            }
            _ => self.error(format!("expected a number, found `{token}`")),
        }
    }
}

fn is_symbol_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b >= 0x80 || b"*+!-_?$%&=<>.".contains(&b)
}

fn is_symbol_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b >= 0x80 || b"*+!-_?$%&=<>./:#'".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Value {
        let mut r = Reader::new(text);
        let v = r.read().unwrap();
        assert_eq!(r.peek().unwrap(), None, "trailing input in {text:?}");
        v
    }

    fn fails(text: &str) -> EdnError {
        let mut r = Reader::new(text);
        match r.read() {
            Err(e) => e,
            Ok(v) => panic!("{text:?} read as {v}"),
        }
    }

    #[test]
    fn reads_the_values_jepsen_writes() {
        assert_eq!(read("nil"), Value::Nil);
        assert_eq!(read("-42"), Value::Int(-42));
        assert_eq!(read("7N"), Value::Int(7));
        assert_eq!(read("1.5"), Value::Float(1.5));
        assert_eq!(read("2.5M"), Value::Float(2.5));
        assert_eq!(read(":timed-out"), Value::str("timed-out"));
        assert_eq!(read("jepsen.util/foo"), Value::str("jepsen.util/foo"));
        assert_eq!(read(r#""a\"b\u00e9""#), Value::str("a\"bé"));
        assert_eq!(read(r"\a"), Value::str("a"));
        assert_eq!(read(r"\newline"), Value::str("\n"));
        assert_eq!(read("[1 [2 3]]").to_string(), "[1,[2,3]]");
        assert_eq!(read("#{1}").to_string(), "[1]");
        assert_eq!(read("(1, 2 ; comment\n 3)").to_string(), "[1,2,3]");
        assert_eq!(read("[1 #_ 2 3]").to_string(), "[1,3]");
        assert_eq!(read("#inst \"2020\"").to_string(), "\"2020\"");
        assert_eq!(
            read("#jepsen.history.Op{:type :ok, :f :read}").to_string(),
            r#"{"type":"ok","f":"read"}"#
        );
        assert_eq!(read("{:a nil 1 2}").to_string(), r#"{"a":null,"1":2}"#);
    }

    #[test]
    fn errors_name_the_line_and_what_was_expected() {
        let e = fails("[1\n2\n");
        assert_eq!(e.line, 3);
        assert!(
            e.message.contains("close the collection opened on line 1"),
            "{e:?}"
        );
        assert!(fails("{:a}").message.contains("even number"));
        assert!(fails("\"abc").message.contains("close the string"));
        assert!(fails("]").message.contains("unmatched"));
        assert!(
            fails("99999999999999999999")
                .message
                .contains("64 signed bits")
        );
        assert!(fails("1.2.3").message.contains("expected a number"));
        assert!(fails("#").message.contains("after `#`"));
        assert!(fails("\"\\q\"").message.contains("string escape"));
    }

    #[test]
    fn a_bad_escape_before_a_line_break_is_a_one_line_error() {
        // Found by the `edn_value` fuzz target: the escaped byte was copied into the message.
        let e = fails("\"\\\n\"");
        assert_eq!(e.line, 1);
        assert!(!e.message.contains('\n'), "{e:?}");
        assert!(e.message.contains("followed by '\\n'"), "{e:?}");
        // A multi-byte character is quoted whole.
        assert!(fails("\"\\é\"").message.ends_with("found `\\é`"));
    }

    #[test]
    fn keys_nested_in_keys_are_bounded_so_printing_stays_linear() {
        // Found by the `edn` fuzz target (a timeout): a map whose key is a map whose key is a
        // map … prints each key as escaped JSON text, doubling at every level, so printing a
        // 30-level value (in an error message) never finished.
        let nested = |levels: usize| {
            let mut text = "{\"q\" 1}".to_string();
            for _ in 0..levels {
                text = format!("{{{text} 1}}");
            }
            text
        };
        let ok = read(&nested(MAX_KEY_DEPTH - 1));
        assert!(ok.to_string().len() < 200, "{ok}");
        for levels in [MAX_KEY_DEPTH, 30, 150] {
            let e = fails(&nested(levels));
            assert!(e.message.contains("map keys inside map keys"), "{e:?}");
        }
        // Keys that are vectors of keywords, and values nested as deep as they like, are fine.
        assert_eq!(
            read("{[:a :b] {:c {:d 1}}}").to_string(),
            r#"{"[\"a\",\"b\"]":{"c":{"d":1}}}"#
        );
    }

    #[test]
    fn deep_nesting_is_refused_not_a_stack_overflow() {
        for deep in [
            "[".repeat(100_000),
            "#_".repeat(100_000),
            "#a ".repeat(100_000),
        ] {
            assert!(fails(&deep).message.contains("levels of nesting"));
        }
    }
}
