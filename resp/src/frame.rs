//! [`Frame`]: one RESP2 value, as a server replies it or a client sends a command.
//!
//! ```text
//!  Frame ──encode──▶ bytes appended to a BytesMut
//!  &[u8] ──Frame::parse──▶ Ok(Some((Frame, bytes used))) | Ok(None): incomplete | Err
//! ```
//!
//! [`Frame::parse`] reads replies (for clients: the lock workload, the tests, the benchmark);
//! a server reads requests with [`RequestParser`](crate::RequestParser), which keeps Redis's
//! limits and error texts and never looks at a request twice.

use std::fmt;

use bytes::{Bytes, BytesMut};

use crate::{PREALLOCATE, find_cr};

/// How deeply [`Frame::parse`] follows nested arrays before giving up. Parsing does not
/// recurse, but dropping, cloning and comparing a frame do: at 10 000 levels they overflow a
/// debug build's 2 MB thread stack, at this depth they do not.
pub const MAX_DEPTH: usize = 1_000;

/// One RESP2 value.
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

/// Why bytes are not a reply. The stream cannot be resynchronised after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError(String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParseError {}

fn invalid(text: impl Into<String>) -> ParseError {
    ParseError(text.into())
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

    /// Reads one frame from the front of `buf`: `Ok(None)` if it has not all arrived yet
    /// (read more and call again with the longer buffer), else the frame and how many bytes
    /// of `buf` it took. Allocates for a bulk string only once all of its bytes are there.
    pub fn parse(buf: &[u8]) -> Result<Option<(Frame, usize)>, ParseError> {
        // The arrays being filled, innermost last, each with how many elements it still
        // lacks. A loop and this stack rather than recursion: nesting costs heap, not the
        // caller's stack (recursion overflowed a debug build's 2 MB at under 1 000 levels).
        let mut open: Vec<(Vec<Frame>, usize)> = Vec::new();
        let mut at = 0;
        'frames: loop {
            if open.len() > MAX_DEPTH {
                return Err(invalid("reply nested too deeply"));
            }
            let mut frame = match item(buf, &mut at)? {
                None => return Ok(None),
                Some(Item::Frame(frame)) => frame,
                Some(Item::Array(0)) => Frame::Array(Vec::new()),
                Some(Item::Array(len)) => {
                    open.push((Vec::with_capacity(len.min(PREALLOCATE)), len));
                    continue;
                }
            };
            // Put the finished frame in its array; an array it completes is finished in turn.
            loop {
                let Some((mut items, lacking)) = open.pop() else {
                    return Ok(Some((frame, at)));
                };
                items.push(frame);
                if lacking > 1 {
                    open.push((items, lacking - 1));
                    continue 'frames;
                }
                frame = Frame::Array(items);
            }
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

/// What one line (with a bulk string's data) starting at `*at` holds.
enum Item {
    /// A whole frame.
    Frame(Frame),
    /// The header of an array of this many elements, which follow it.
    Array(usize),
}

/// Reads the item starting at `*at`, moving `*at` past it only if it is whole.
fn item(buf: &[u8], at: &mut usize) -> Result<Option<Item>, ParseError> {
    let Some(&kind) = buf.get(*at) else {
        return Ok(None);
    };
    let Some(cr) = find_cr(buf, *at + 1) else {
        return Ok(None);
    };
    let Some(&lf) = buf.get(cr + 1) else {
        return Ok(None);
    };
    if lf != b'\n' {
        return Err(invalid("a line does not end in CRLF"));
    }
    let text = &buf[*at + 1..cr];
    let number = || {
        std::str::from_utf8(text)
            .ok()
            .and_then(|t| t.parse::<i64>().ok())
            .ok_or_else(|| invalid(format!("bad number {:?}", String::from_utf8_lossy(text))))
    };
    let start = cr + 2;
    let item = match kind {
        b'+' => Item::Frame(Frame::Simple(String::from_utf8_lossy(text).into_owned())),
        b'-' => Item::Frame(Frame::Error(String::from_utf8_lossy(text).into_owned())),
        b':' => Item::Frame(Frame::Integer(number()?)),
        b'$' => match number()? {
            -1 => Item::Frame(Frame::Null),
            len => {
                let len =
                    usize::try_from(len).map_err(|_| invalid(format!("bad bulk length {len}")))?;
                // Checked: an announced length near usize::MAX must not wrap round to a
                // short one (it can on a 32-bit target).
                let Some(end) = start
                    .checked_add(len)
                    .filter(|end| end.checked_add(2).is_some())
                else {
                    return Err(invalid(format!("bad bulk length {len}")));
                };
                if buf.len() < end + 2 {
                    return Ok(None);
                }
                if &buf[end..end + 2] != b"\r\n" {
                    return Err(invalid("a bulk string does not end in CRLF"));
                }
                *at = end + 2;
                return Ok(Some(Item::Frame(Frame::bulk(&buf[start..end]))));
            }
        },
        b'*' => match number()? {
            -1 => Item::Frame(Frame::NullArray),
            len => Item::Array(
                usize::try_from(len).map_err(|_| invalid(format!("bad array length {len}")))?,
            ),
        },
        other => {
            return Err(invalid(format!(
                "unexpected reply type byte {:?}",
                other as char
            )));
        }
    };
    *at = start;
    Ok(Some(item))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every kind of frame, nested once.
    fn every_kind() -> Frame {
        Frame::Array(vec![
            Frame::Simple("PONG".into()),
            Frame::Integer(7),
            Frame::Integer(i64::MIN),
            Frame::bulk(b"a\r\nb"),
            Frame::bulk(b""),
            Frame::Null,
            Frame::Array(vec![Frame::error("ERR x"), Frame::NullArray]),
            Frame::Array(vec![]),
        ])
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
    fn each_kind_of_frame_parses() {
        let cases: &[(&[u8], Frame)] = &[
            (b"+OK\r\n", Frame::ok()),
            (b"-ERR nope\r\n", Frame::error("ERR nope")),
            (b":42\r\n", Frame::Integer(42)),
            (b":-42\r\n", Frame::Integer(-42)),
            (b"$3\r\nabc\r\n", Frame::bulk("abc")),
            (b"$0\r\n\r\n", Frame::bulk("")),
            (b"$-1\r\n", Frame::Null),
            (b"*-1\r\n", Frame::NullArray),
            (b"*0\r\n", Frame::Array(vec![])),
            (
                b"*2\r\n:1\r\n$1\r\nx\r\n",
                Frame::Array(vec![Frame::Integer(1), Frame::bulk("x")]),
            ),
        ];
        for (input, want) in cases {
            // What follows a frame is left alone.
            let mut buf = input.to_vec();
            buf.extend_from_slice(b"+next\r\n");
            assert_eq!(
                Frame::parse(&buf).unwrap(),
                Some((want.clone(), input.len())),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn a_frame_parses_whole_or_not_at_all() {
        let frame = every_kind();
        let bytes = frame.to_bytes();
        assert_eq!(Frame::parse(&bytes).unwrap(), Some((frame, bytes.len())));
        for cut in 0..bytes.len() {
            assert_eq!(Frame::parse(&bytes[..cut]).unwrap(), None, "cut at {cut}");
        }
    }

    #[test]
    fn an_announced_bulk_waits_for_its_bytes() {
        assert_eq!(Frame::parse(b"$536870912\r\nabc").unwrap(), None);
        assert_eq!(Frame::parse(b"*2147483647\r\n:1\r\n").unwrap(), None);
    }

    #[test]
    fn malformed_replies_are_errors() {
        let too_deep = "*1\r\n".repeat(MAX_DEPTH + 2);
        let cases: &[(&[u8], &str)] = &[
            (b"?x\r\n", "unexpected reply type byte '?'"),
            (b"+OK\rX", "a line does not end in CRLF"),
            (b"$1\r\nab\r\n", "a bulk string does not end in CRLF"),
            (b":12x\r\n", "bad number \"12x\""),
            (b":\r\n", "bad number \"\""),
            (b"$abc\r\n", "bad number \"abc\""),
            (b"$-2\r\n", "bad bulk length -2"),
            (b"*-2\r\n", "bad array length -2"),
            (b"*1\r\n?\r\n", "unexpected reply type byte '?'"),
            (too_deep.as_bytes(), "reply nested too deeply"),
        ];
        for (input, message) in cases {
            let short = String::from_utf8_lossy(&input[..input.len().min(40)]).into_owned();
            match Frame::parse(input) {
                Err(e) => assert_eq!(e.to_string(), *message, "{short:?}"),
                Ok(got) => panic!("{short:?} parsed: {got:?}"),
            }
        }
    }

    #[test]
    fn the_deepest_reply_allowed_parses_and_drops_on_a_threads_stack() {
        let deepest = "*1\r\n".repeat(MAX_DEPTH) + ":1\r\n";
        let (frame, used) = Frame::parse(deepest.as_bytes()).unwrap().unwrap();
        assert_eq!(used, deepest.len());
        assert_eq!(frame.clone(), frame);
    }

    fn frame() -> impl Strategy<Value = Frame> {
        let leaf = prop_oneof![
            "[^\r\n]*".prop_map(Frame::Simple),
            "[^\r\n]*".prop_map(Frame::Error),
            any::<i64>().prop_map(Frame::Integer),
            proptest::collection::vec(any::<u8>(), 0..64).prop_map(Frame::bulk),
            Just(Frame::Null),
            Just(Frame::NullArray),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            proptest::collection::vec(inner, 0..8).prop_map(Frame::Array)
        })
    }

    proptest! {
        #[test]
        fn encoded_frames_parse_back(frame in frame()) {
            let bytes = frame.to_bytes();
            prop_assert_eq!(Frame::parse(&bytes).unwrap(), Some((frame, bytes.len())));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(Some((_, used))) = Frame::parse(&bytes) {
                prop_assert!(used <= bytes.len());
            }
        }
    }
}
