//! [`RequestParser`]: how a server reads requests off a connection's input buffer.
//!
//! ```text
//!  socket bytes ──▶ BytesMut ──RequestParser::next──▶ Vec<Bytes> (one command's arguments)
//!                                                 └─▶ ProtocolError ──▶ reply, then close
//! ```
//!
//! Requests come in the two forms Redis accepts: a multibulk (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`,
//! what every client library sends) and an inline command (`GET k\r\n`, what telnet sends),
//! split on spaces with Redis's quoting rules. The parser keeps its place between calls, so a
//! request arriving a byte at a time is scanned once, and it allocates for a bulk string only
//! when all of its bytes are in the buffer: a peer that announces `$536870912` and then sends
//! nothing costs nothing. Limits and error messages are Redis 7's own (networking.c):
//!
//! * a bulk string is at most [`MAX_BULK`] (512 MB, `proto-max-bulk-len`) long;
//! * a multibulk has at most [`MAX_MULTIBULK`] (`INT_MAX`) elements, and room for at most 1024
//!   is reserved before they arrive;
//! * a count line, or an inline request, longer than [`MAX_INLINE`] (64 KB) with no end in
//!   sight is refused;
//! * one request's arguments may not add up to more than [`MAX_QUERY`] (1 GB,
//!   `client-query-buffer-limit`).
//!
//! After a [`ProtocolError`] the stream cannot be resynchronised: the server replies with the
//! error and closes the connection, as Redis does.

use bytes::{Buf, Bytes, BytesMut};

use crate::{Frame, PREALLOCATE, find_cr, string_to_i64};

/// The longest bulk string a request may carry (Redis's `proto-max-bulk-len`).
pub const MAX_BULK: usize = 512 * 1024 * 1024;
/// The most elements a multibulk request may announce (Redis: `INT_MAX`).
pub const MAX_MULTIBULK: i64 = i32::MAX as i64;
/// The longest line that may arrive without its end (Redis's `PROTO_INLINE_MAX_SIZE`).
pub const MAX_INLINE: usize = 64 * 1024;
/// The most bytes of arguments one request may carry (Redis's `client-query-buffer-limit`).
pub const MAX_QUERY: usize = 1024 * 1024 * 1024;

/// Why a request could not be read. The connection must be closed after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProtocolError {
    /// Reply with `-ERR Protocol error: <text>`, then close.
    Reply(String),
    /// Close without a reply (Redis does so when a client passes its query buffer limit).
    Close(String),
}

impl ProtocolError {
    fn reply(text: impl Into<String>) -> ProtocolError {
        ProtocolError::Reply(text.into())
    }

    /// The error reply to send before closing, if any.
    pub fn frame(&self) -> Option<Frame> {
        match self {
            ProtocolError::Reply(text) => Some(Frame::Error(format!("ERR Protocol error: {text}"))),
            ProtocolError::Close(_) => None,
        }
    }
}

impl std::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProtocolError::Reply(text) | ProtocolError::Close(text) => f.write_str(text),
        }
    }
}

/// Reads requests from a connection's input buffer, remembering where it is inside a
/// multibulk request between calls.
#[derive(Debug, Default)]
pub struct RequestParser {
    /// The arguments of the multibulk request being read.
    args: Vec<Bytes>,
    /// How many more arguments that request has; 0 between requests.
    remaining: usize,
    /// The announced length of the argument being read, once its `$` line has been read.
    bulk: Option<usize>,
    /// Bytes of arguments of the current request so far.
    size: usize,
}

impl RequestParser {
    pub fn new() -> RequestParser {
        RequestParser::default()
    }

    /// Takes the next complete request off the front of `buf`: its arguments (never empty),
    /// or `Ok(None)` until more bytes arrive. Empty inline lines and empty multibulks are
    /// skipped, as Redis does.
    pub fn next(&mut self, buf: &mut BytesMut) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        loop {
            if self.remaining == 0 {
                let Some(&first) = buf.first() else {
                    return Ok(None);
                };
                if first != b'*' {
                    match inline(buf)? {
                        None => return Ok(None),
                        Some(args) if args.is_empty() => continue,
                        Some(args) => return Ok(Some(args)),
                    }
                }
                // `*<count>\r\n`. Like Redis, the line ends at its `\r`, and the byte after it
                // is taken to be `\n` without looking.
                let Some(cr) = find_cr(buf, 0) else {
                    if buf.len() > MAX_INLINE {
                        return Err(ProtocolError::reply("too big mbulk count string"));
                    }
                    return Ok(None);
                };
                if cr + 1 >= buf.len() {
                    return Ok(None);
                }
                let count = match string_to_i64(&buf[1..cr]) {
                    Some(n) if n <= MAX_MULTIBULK => n,
                    _ => return Err(ProtocolError::reply("invalid multibulk length")),
                };
                buf.advance(cr + 2);
                if count <= 0 {
                    continue;
                }
                self.remaining = count as usize;
                self.args = Vec::with_capacity(self.remaining.min(PREALLOCATE));
                self.size = 0;
            }
            while self.remaining > 0 {
                let len = match self.bulk {
                    Some(len) => len,
                    None => {
                        let Some(cr) = find_cr(buf, 0) else {
                            if buf.len() > MAX_INLINE {
                                return Err(ProtocolError::reply("too big bulk count string"));
                            }
                            return Ok(None);
                        };
                        if cr + 1 >= buf.len() {
                            return Ok(None);
                        }
                        if buf[0] != b'$' {
                            return Err(ProtocolError::Reply(format!(
                                "expected '$', got '{}'",
                                buf[0] as char
                            )));
                        }
                        let len = match string_to_i64(&buf[1..cr]) {
                            Some(n) if (0..=MAX_BULK as i64).contains(&n) => n as usize,
                            _ => return Err(ProtocolError::reply("invalid bulk length")),
                        };
                        self.size += len;
                        if self.size > MAX_QUERY {
                            return Err(ProtocolError::Close(
                                "the request passed the query buffer limit".into(),
                            ));
                        }
                        buf.advance(cr + 2);
                        self.bulk = Some(len);
                        len
                    }
                };
                // Allocate only once every byte is here. Copy rather than split the buffer
                // off: a stored value must not pin the whole read buffer it arrived in.
                if buf.len() < len + 2 {
                    return Ok(None);
                }
                self.args.push(Bytes::copy_from_slice(&buf[..len]));
                // Redis skips the two bytes after the data without checking they are CRLF.
                buf.advance(len + 2);
                self.bulk = None;
                self.remaining -= 1;
            }
            return Ok(Some(std::mem::take(&mut self.args)));
        }
    }

    /// How many more bytes the request being read needs at least, to size the next read.
    pub fn wanted(&self, buffered: usize) -> usize {
        match self.bulk {
            Some(len) => (len + 2).saturating_sub(buffered),
            None => 0,
        }
    }
}

/// Reads one inline request (a line of space-separated, possibly quoted arguments).
fn inline(buf: &mut BytesMut) -> Result<Option<Vec<Bytes>>, ProtocolError> {
    let Some(newline) = buf.iter().position(|&b| b == b'\n') else {
        if buf.len() > MAX_INLINE {
            return Err(ProtocolError::reply("too big inline request"));
        }
        return Ok(None);
    };
    let mut line = &buf[..newline];
    if let Some(stripped) = line.strip_suffix(b"\r") {
        line = stripped;
    }
    let args =
        split_args(line).ok_or_else(|| ProtocolError::reply("unbalanced quotes in request"))?;
    buf.advance(newline + 1);
    Ok(Some(args))
}

/// Splits a line into arguments like Redis's `sdssplitargs`: spaces separate; `"…"` may hold
/// `\n \r \t \b \a \\ \"` and `\xHH` escapes; `'…'` may hold `\'`; a closing quote must be
/// followed by a space or the end. `None` for unbalanced quotes.
pub fn split_args(line: &[u8]) -> Option<Vec<Bytes>> {
    let mut args = Vec::new();
    let mut i = 0;
    loop {
        while i < line.len() && line[i].is_ascii_whitespace() {
            i += 1;
        }
        if i == line.len() {
            return Some(args);
        }
        let mut current = Vec::new();
        let mut in_double = false;
        let mut in_single = false;
        loop {
            if in_double {
                let c = *line.get(i)?;
                if c == b'\\' && i + 3 < line.len() && line[i + 1] == b'x' {
                    if let (Some(h), Some(l)) = (hex(line[i + 2]), hex(line[i + 3])) {
                        current.push(h * 16 + l);
                        i += 4;
                        continue;
                    }
                }
                if c == b'\\' && i + 1 < line.len() {
                    current.push(match line[i + 1] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        other => other,
                    });
                    i += 2;
                } else if c == b'"' {
                    // The closing quote must be followed by a space or nothing.
                    if i + 1 < line.len() && !line[i + 1].is_ascii_whitespace() {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    current.push(c);
                    i += 1;
                }
            } else if in_single {
                let c = *line.get(i)?;
                if c == b'\\' && i + 1 < line.len() && line[i + 1] == b'\'' {
                    current.push(b'\'');
                    i += 2;
                } else if c == b'\'' {
                    if i + 1 < line.len() && !line[i + 1].is_ascii_whitespace() {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    current.push(c);
                    i += 1;
                }
            } else {
                match line.get(i) {
                    None => break,
                    Some(c) if c.is_ascii_whitespace() => break,
                    Some(b'"') => in_double = true,
                    Some(b'\'') => in_single = true,
                    Some(&c) => current.push(c),
                }
                i += 1;
            }
        }
        args.push(Bytes::from(current));
    }
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse_all(input: &[u8]) -> (Vec<Vec<Bytes>>, Option<ProtocolError>, usize) {
        let mut buf = BytesMut::from(input);
        let mut parser = RequestParser::new();
        let mut requests = Vec::new();
        loop {
            match parser.next(&mut buf) {
                Ok(Some(args)) => requests.push(args),
                Ok(None) => return (requests, None, buf.len()),
                Err(e) => return (requests, Some(e), buf.len()),
            }
        }
    }

    fn args(list: &[&str]) -> Vec<Bytes> {
        list.iter()
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect()
    }

    #[test]
    fn multibulk_and_inline_requests_parse() {
        let input = b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\nset a 'b c'\r\n\r\n  \nECHO \"x\\x41\\n\\\"\"\n*0\r\n*-1\r\n*1\r\n$0\r\n\r\n";
        let (requests, error, left) = parse_all(input);
        assert_eq!(error, None);
        assert_eq!(left, 0);
        assert_eq!(
            requests,
            vec![
                args(&["GET", "k"]),
                args(&["PING"]),
                args(&["set", "a", "b c"]),
                args(&["ECHO", "xA\n\""]),
                args(&[""]),
            ]
        );
    }

    #[test]
    fn a_request_arriving_byte_by_byte_parses_once_complete() {
        let input = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n";
        let mut parser = RequestParser::new();
        let mut buf = BytesMut::new();
        for (i, &b) in input.iter().enumerate() {
            buf.extend_from_slice(&[b]);
            let got = parser.next(&mut buf).unwrap();
            if i + 1 < input.len() {
                assert_eq!(got, None, "complete after {} bytes", i + 1);
            } else {
                assert_eq!(got, Some(args(&["SET", "k", "hello"])));
            }
        }
    }

    #[test]
    fn malformed_requests_are_redis_protocol_errors() {
        let cases: &[(&[u8], &str)] = &[
            (b"*2\r\n$3\r\nGET\r\n:1\r\n", "expected '$', got ':'"),
            (b"*2\r\n$3\r\nGET\r\n$-1\r\n", "invalid bulk length"),
            (b"*1\r\n$abc\r\n", "invalid bulk length"),
            (b"*1\r\n$+4\r\nPING\r\n", "invalid bulk length"),
            (b"*1\r\n$04\r\nPING\r\n", "invalid bulk length"),
            (b"*1\r\n$536870913\r\n", "invalid bulk length"),
            (b"*abc\r\n", "invalid multibulk length"),
            (b"*2147483648\r\n", "invalid multibulk length"),
            (b"*01\r\n", "invalid multibulk length"),
            (b"*1\n$4\r\nPING\r\n", "invalid multibulk length"),
            (b"set a \"x\r\n", "unbalanced quotes in request"),
            (b"set a 'x\r\n", "unbalanced quotes in request"),
            (b"set a \"x\"y\r\n", "unbalanced quotes in request"),
        ];
        for (input, message) in cases {
            let (_, error, _) = parse_all(input);
            assert_eq!(
                error,
                Some(ProtocolError::Reply(message.to_string())),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
        let long = |prefix: &[u8]| {
            let mut v = prefix.to_vec();
            v.extend(std::iter::repeat_n(b'1', MAX_INLINE + 10));
            v
        };
        for (input, message) in [
            (long(b"*"), "too big mbulk count string"),
            (long(b"*1\r\n$"), "too big bulk count string"),
            (long(b"A"), "too big inline request"),
        ] {
            let (_, error, _) = parse_all(&input);
            assert_eq!(error, Some(ProtocolError::Reply(message.into())));
        }
        let frame = ProtocolError::reply("x").frame().unwrap();
        assert_eq!(frame, Frame::error("ERR Protocol error: x"));
    }

    #[test]
    fn announced_sizes_are_not_allocated_before_the_bytes_arrive() {
        // The largest legal bulk, and the largest legal multibulk: both wait, holding little.
        let mut parser = RequestParser::new();
        let mut buf = BytesMut::from(&b"*2147483647\r\n$536870912\r\nabc"[..]);
        assert_eq!(parser.next(&mut buf).unwrap(), None);
        assert!(parser.args.capacity() <= PREALLOCATE);
        assert_eq!(parser.wanted(buf.len()), 536870912 + 2 - 3);
        // Announcing more than a gigabyte of arguments in one request closes the connection.
        let mut parser = RequestParser::new();
        let mut buf = BytesMut::from(&b"*3\r\n$536870912\r\n"[..]);
        assert_eq!(parser.next(&mut buf).unwrap(), None);
        buf.extend_from_slice(&vec![b'x'; MAX_BULK + 2]);
        buf.extend_from_slice(b"$536870912\r\n");
        assert_eq!(parser.next(&mut buf).unwrap(), None);
        buf.extend_from_slice(&vec![b'x'; MAX_BULK + 2]);
        buf.extend_from_slice(b"$1\r\n");
        assert!(matches!(
            parser.next(&mut buf),
            Err(ProtocolError::Close(_))
        ));
    }

    #[test]
    fn inline_splitting_follows_sdssplitargs() {
        assert_eq!(split_args(b"  a  b ").unwrap(), args(&["a", "b"]));
        assert_eq!(split_args(b"a\"b c\"").unwrap(), args(&["ab c"]));
        assert_eq!(split_args(b"'it\\'s'").unwrap(), args(&["it's"]));
        assert_eq!(split_args(b"\"\"").unwrap(), args(&[""]));
        assert_eq!(split_args(b"").unwrap(), Vec::<Bytes>::new());
        assert_eq!(split_args(b"\"a"), None);
    }

    #[test]
    fn incomplete_requests_consume_nothing_they_cannot_keep() {
        // A count line without its end, an inline line without its newline: left in the
        // buffer until the rest arrives.
        for partial in [&b"*2"[..], b"*2\r", b"GET k", b"GET k\r"] {
            let mut buf = BytesMut::from(partial);
            assert_eq!(RequestParser::new().next(&mut buf).unwrap(), None);
            assert_eq!(&buf[..], partial);
        }
        // Inside a multibulk the parser keeps what it has read; the rest completes it.
        let mut parser = RequestParser::new();
        let mut buf = BytesMut::from(&b"*2\r\n$3\r\nGET\r\n$1\r\n"[..]);
        assert_eq!(parser.next(&mut buf).unwrap(), None);
        assert_eq!(parser.wanted(buf.len()), 3);
        buf.extend_from_slice(b"k\r\n");
        assert_eq!(parser.next(&mut buf).unwrap(), Some(args(&["GET", "k"])));
        assert!(buf.is_empty());
    }

    #[test]
    fn an_encoded_command_parses_back_as_its_arguments() {
        let command = args(&["SET", "k", "a\r\nb", ""]);
        let frame = Frame::Array(command.iter().cloned().map(Frame::Bulk).collect());
        let (requests, error, left) = parse_all(&frame.to_bytes());
        assert_eq!((requests, error, left), (vec![command], None, 0));
    }

    proptest! {
        #[test]
        fn commands_round_trip(
            command in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..32), 1..8)
        ) {
            let command: Vec<Bytes> = command.into_iter().map(Bytes::from).collect();
            let frame = Frame::Array(command.iter().cloned().map(Frame::Bulk).collect());
            let (requests, error, left) = parse_all(&frame.to_bytes());
            prop_assert_eq!((requests, error, left), (vec![command], None, 0));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            parse_all(&bytes);
        }
    }
}
