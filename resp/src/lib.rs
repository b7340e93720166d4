//! RESP2, the Redis protocol, free of I/O: bytes in a buffer in, frames out, and frames
//! encoded back into bytes. The bundled `redis-lock` server and the lock workload's client
//! both speak it through this crate, so there is one reading of the protocol, not two.
//!
//! ```text
//!  server:  socket bytes ──▶ BytesMut ──RequestParser::next──▶ Vec<Bytes> (one command)
//!           reply Frame ──Frame::encode──▶ BytesMut ──▶ socket
//!  client:  command Frame ──Frame::encode──▶ socket
//!           socket bytes ──▶ buffer ──Frame::parse──▶ (reply Frame, bytes used) | incomplete
//! ```
//!
//! Whoever owns the socket reads into a buffer and asks again when more bytes arrive: a
//! frame that has not all arrived is "incomplete" (`Ok(None)`), never an error, and nothing
//! is consumed until a whole frame is there. Malformed bytes are an error, never a panic.
//!
//! * [`frame`]: [`Frame`], its encoding, and [`Frame::parse`] for replies;
//! * [`request`]: [`RequestParser`], how a server reads requests (multibulk and inline), with
//!   Redis 7's limits and error texts;
//! * [`number`]: [`string_to_i64`], Redis's strict reading of a decimal integer, which the
//!   lengths in a request and every integer argument go through.

pub mod frame;
pub mod number;
pub mod request;

pub use frame::{Frame, ParseError};
pub use number::string_to_i64;
pub use request::{
    MAX_BULK, MAX_INLINE, MAX_MULTIBULK, MAX_QUERY, ProtocolError, RequestParser, split_args,
};

/// How many elements of an announced array are reserved for before they arrive: a peer that
/// announces two billion elements and sends none costs no more than one that announces 1024.
const PREALLOCATE: usize = 1024;

/// Finds the end of the line starting at `at`: the index of its `\r`.
fn find_cr(buf: &[u8], at: usize) -> Option<usize> {
    buf.get(at..)?
        .iter()
        .position(|&b| b == b'\r')
        .map(|i| at + i)
}
