//! RESP2 framing, free of I/O: requests in, [`Frame`]s out, as bytes in a buffer.
//!
//! ```text
//!  socket bytes ──▶ BytesMut ──RequestParser::next──▶ Vec<Bytes> (one command's arguments)
//!  Frame (a reply) ──Frame::encode──▶ BytesMut ──▶ socket
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
//!
//! [`Frame::parse`] reads replies, for clients of the server (the tests, the benchmark).

use bytes::{Buf, Bytes, BytesMut};

/// The longest bulk string a request may carry (Redis's `proto-max-bulk-len`).
pub const MAX_BULK: usize = 512 * 1024 * 1024;
/// The most elements a multibulk request may announce (Redis: `INT_MAX`).
pub const MAX_MULTIBULK: i64 = i32::MAX as i64;
/// The longest line that may arrive without its end (Redis's `PROTO_INLINE_MAX_SIZE`).
pub const MAX_INLINE: usize = 64 * 1024;
/// The most bytes of arguments one request may carry (Redis's `client-query-buffer-limit`).
pub const MAX_QUERY: usize = 1024 * 1024 * 1024;
/// How many elements of a multibulk are reserved for before they arrive.
const PREALLOCATE: usize = 1024;
/// How deeply [`Frame::parse`] follows nested arrays before giving up.
const MAX_DEPTH: usize = 10_000;

/// One RESP2 value: what the server replies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// `+OK`: a status reply.
    Simple(String),
    /// `-ERR …`: an error reply; the text starts with its code (`ERR`, `NOSCRIPT`, …).
    Error(String),
    /// `:42`.
    Integer(i64),
    /// `$3\r\nabc`.
    Bulk(Bytes),
    /// `$-1`: the nil bulk string.
    Null,
    /// `*2\r\n…`.
    Array(Vec<Frame>),
    /// `*-1`: the nil multibulk.
    NullArray,
}

impl Frame {
    /// The status reply `+OK`.
    pub fn ok() -> Frame {
        Frame::Simple("OK".into())
    }

    /// An error reply with the text `text` (which starts with its code).
    pub fn error(text: impl Into<String>) -> Frame {
        Frame::Error(text.into())
    }

    /// A bulk string copied from `bytes`.
    pub fn bulk(bytes: impl AsRef<[u8]>) -> Frame {
        Frame::Bulk(Bytes::copy_from_slice(bytes.as_ref()))
    }

    /// Whether this is an error reply.
    pub fn is_error(&self) -> bool {
        matches!(self, Frame::Error(_))
    }

    /// Appends the frame's encoding to `out`. Status and error texts have any CR or LF
    /// replaced by a space, as Redis does, so no text can break the framing.
    pub fn encode(&self, out: &mut BytesMut) {
        match self {
            Frame::Simple(text) => line(out, b'+', text.as_bytes()),
            Frame::Error(text) => line(out, b'-', text.as_bytes()),
            Frame::Integer(n) => header(out, b':', *n),
            Frame::Bulk(data) => {
                header(out, b'$', data.len() as i64);
                out.extend_from_slice(data);
                out.extend_from_slice(b"\r\n");
            }
            Frame::Null => out.extend_from_slice(b"$-1\r\n"),
            Frame::Array(items) => {
                header(out, b'*', items.len() as i64);
                for item in items {
                    item.encode(out);
                }
            }
            Frame::NullArray => out.extend_from_slice(b"*-1\r\n"),
        }
    }

    /// The frame's encoding, as a new buffer.
    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::new();
        self.encode(&mut out);
        out.freeze()
    }

    /// Reads one reply from the front of `buf`: `Ok(None)` if it has not all arrived yet,
    /// else the frame and how many bytes it took. For clients; the server reads requests
    /// with [`RequestParser`].
    pub fn parse(buf: &[u8]) -> Result<Option<(Frame, usize)>, String> {
        let mut at = 0;
        match parse_reply(buf, &mut at, 0)? {
            Some(frame) => Ok(Some((frame, at))),
            None => Ok(None),
        }
    }
}

fn line(out: &mut BytesMut, kind: u8, text: &[u8]) {
    out.reserve(text.len() + 3);
    out.extend_from_slice(&[kind]);
    if text.iter().any(|&b| b == b'\r' || b == b'\n') {
        let clean: Vec<u8> = text
            .iter()
            .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b })
            .collect();
        out.extend_from_slice(&clean);
    } else {
        out.extend_from_slice(text);
    }
    out.extend_from_slice(b"\r\n");
}

/// `<kind><n>\r\n`, formatted without allocating: this is on every reply's path.
fn header(out: &mut BytesMut, kind: u8, n: i64) {
    let mut digits = [0u8; 24];
    let mut i = digits.len();
    let mut v = n.unsigned_abs();
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if n < 0 {
        i -= 1;
        digits[i] = b'-';
    }
    out.reserve(digits.len() - i + 3);
    out.extend_from_slice(&[kind]);
    out.extend_from_slice(&digits[i..]);
    out.extend_from_slice(b"\r\n");
}

/// Finds the end of the line starting at `at`: the index of its `\r`.
fn find_cr(buf: &[u8], at: usize) -> Option<usize> {
    buf[at..].iter().position(|&b| b == b'\r').map(|i| at + i)
}

fn parse_reply(buf: &[u8], at: &mut usize, depth: usize) -> Result<Option<Frame>, String> {
    if depth > MAX_DEPTH {
        return Err("reply nested too deeply".into());
    }
    let Some(&kind) = buf.get(*at) else {
        return Ok(None);
    };
    let Some(cr) = find_cr(buf, *at + 1) else {
        return Ok(None);
    };
    if cr + 1 >= buf.len() {
        return Ok(None);
    }
    if buf[cr + 1] != b'\n' {
        return Err("a line does not end in CRLF".into());
    }
    let text = &buf[*at + 1..cr];
    let number = || {
        std::str::from_utf8(text)
            .ok()
            .and_then(|t| t.parse::<i64>().ok())
            .ok_or_else(|| format!("bad number {:?}", String::from_utf8_lossy(text)))
    };
    let start = cr + 2;
    let frame = match kind {
        b'+' => Frame::Simple(String::from_utf8_lossy(text).into_owned()),
        b'-' => Frame::Error(String::from_utf8_lossy(text).into_owned()),
        b':' => Frame::Integer(number()?),
        b'$' => {
            let len = number()?;
            if len == -1 {
                *at = start;
                return Ok(Some(Frame::Null));
            }
            let len = usize::try_from(len).map_err(|_| format!("bad bulk length {len}"))?;
            if buf.len() < start + len + 2 {
                return Ok(None);
            }
            if &buf[start + len..start + len + 2] != b"\r\n" {
                return Err("a bulk string does not end in CRLF".into());
            }
            *at = start + len + 2;
            return Ok(Some(Frame::bulk(&buf[start..start + len])));
        }
        b'*' => {
            let len = number()?;
            if len == -1 {
                *at = start;
                return Ok(Some(Frame::NullArray));
            }
            let len = usize::try_from(len).map_err(|_| format!("bad array length {len}"))?;
            let mut items = Vec::with_capacity(len.min(PREALLOCATE));
            let mut inner = start;
            for _ in 0..len {
                match parse_reply(buf, &mut inner, depth + 1)? {
                    Some(item) => items.push(item),
                    None => return Ok(None),
                }
            }
            *at = inner;
            return Ok(Some(Frame::Array(items)));
        }
        other => return Err(format!("unexpected reply type byte {:?}", other as char)),
    };
    *at = start;
    Ok(Some(frame))
}

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

/// Parses a decimal integer exactly as Redis's `string2ll` does: at most 20 characters, an
/// optional `-`, no `+`, no spaces, no leading zeros (so `-0` and `01` are refused), and in
/// range. Every integer argument (expiry times, key counts, `INCR`'s value) goes through it.
pub fn string_to_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s.strip_prefix(b"-") {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut value: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    if negative {
        if value > i64::MAX as u64 + 1 {
            return None;
        }
        Some((value as i64).wrapping_neg())
    } else {
        i64::try_from(value).ok()
    }
}

/// Formats a number as C's `printf("%.17g")` does, which is how Redis turns a Lua number into
/// a command argument (and a `double` reply into a bulk string).
pub fn format_g17(x: f64) -> String {
    if x.is_nan() {
        // glibc prints the sign of a NaN; Lua's 0/0 has it set.
        return if x.is_sign_negative() { "-nan" } else { "nan" }.into();
    }
    if x.is_infinite() {
        return if x < 0.0 { "-inf" } else { "inf" }.into();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0" } else { "0" }.into();
    }
    const PRECISION: i32 = 17;
    // Scientific form with 17 significant digits gives the decimal exponent after rounding.
    let sci = format!("{:.*e}", (PRECISION - 1) as usize, x);
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if (-4..PRECISION).contains(&exponent) {
        let decimals = (PRECISION - 1 - exponent).max(0) as usize;
        let fixed = format!("{x:.decimals$}");
        trim_fraction(&fixed).to_string()
    } else {
        let mantissa = trim_fraction(mantissa);
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exponent.abs())
    }
}

fn trim_fraction(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn frames_encode_as_redis_does() {
        let frame = Frame::Array(vec![
            Frame::ok(),
            Frame::error("ERR a\r\nb"),
            Frame::Integer(-3),
            Frame::bulk("hi"),
            Frame::Null,
            Frame::NullArray,
            Frame::Array(vec![]),
        ]);
        assert_eq!(
            &frame.to_bytes()[..],
            b"*7\r\n+OK\r\n-ERR a  b\r\n:-3\r\n$2\r\nhi\r\n$-1\r\n*-1\r\n*0\r\n"
        );
    }

    #[test]
    fn replies_parse_back_whole_or_not_at_all() {
        let frame = Frame::Array(vec![
            Frame::Simple("PONG".into()),
            Frame::Integer(7),
            Frame::bulk(b"a\r\nb"),
            Frame::Null,
            Frame::Array(vec![Frame::error("ERR x"), Frame::NullArray]),
        ]);
        let bytes = frame.to_bytes();
        assert_eq!(Frame::parse(&bytes).unwrap(), Some((frame, bytes.len())));
        for cut in 0..bytes.len() {
            assert_eq!(Frame::parse(&bytes[..cut]).unwrap(), None, "cut at {cut}");
        }
        assert!(Frame::parse(b"?x\r\n").is_err());
        assert!(Frame::parse(b"$1\r\nab\r\n").is_err());
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
    fn integers_parse_like_string2ll() {
        for (s, want) in [
            ("0", Some(0)),
            ("-1", Some(-1)),
            ("9223372036854775807", Some(i64::MAX)),
            ("-9223372036854775808", Some(i64::MIN)),
            ("9223372036854775808", None),
            ("-9223372036854775809", None),
            ("99999999999999999999", None),
            ("-0", None),
            ("01", None),
            ("+1", None),
            (" 1", None),
            ("1 ", None),
            ("1.5", None),
            ("", None),
            ("-", None),
        ] {
            assert_eq!(string_to_i64(s.as_bytes()), want, "{s:?}");
        }
    }

    #[test]
    fn numbers_format_like_printf_g17() {
        for (x, want) in [
            (3.0, "3"),
            (10.5, "10.5"),
            (0.1, "0.10000000000000001"),
            (1e20, "1e+20"),
            (1e-5, "1.0000000000000001e-05"),
            (1.5e300, "1.5000000000000001e+300"),
            (123456789.0, "123456789"),
            (-0.0, "-0"),
            (f64::INFINITY, "inf"),
            (-f64::INFINITY, "-inf"),
            (1e16, "10000000000000000"),
            (1e17, "1e+17"),
            (0.0001, "0.0001"),
            (-2.5, "-2.5"),
        ] {
            assert_eq!(format_g17(x), want, "{x}");
        }
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
}
