//! [`Error`]: why bytes are not a frame or not a record. After any of them the connection
//! cannot be trusted to be in step (ZooKeeper closes it), so there is no recovery inside a frame.

use std::fmt;

/// Why bytes are not a frame or a record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// A frame's length prefix is negative or above the maximum (`jute.maxbuffer`): refused
    /// before any of it is buffered.
    FrameLength { len: i32, max: usize },
    /// The record ended before the field `what`.
    Truncated { what: &'static str },
    /// The length or count of `what` is negative (other than -1, null) or larger than what is
    /// left of the frame.
    BadLength { what: &'static str, len: i32 },
    /// The string `what` is not UTF-8.
    InvalidUtf8 { what: &'static str },
    /// The record `what` ended with `count` bytes of the frame still unread.
    TrailingBytes { what: &'static str, count: usize },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::FrameLength { len, max } => {
                write!(f, "frame length {len} is outside 0..={max}")
            }
            Error::Truncated { what } => write!(f, "record truncated before {what}"),
            Error::BadLength { what, len } => write!(f, "bad length {len} for {what}"),
            Error::InvalidUtf8 { what } => write!(f, "{what} is not UTF-8"),
            Error::TrailingBytes { what, count } => {
                write!(f, "{count} bytes left over after {what}")
            }
        }
    }
}

impl std::error::Error for Error {}
