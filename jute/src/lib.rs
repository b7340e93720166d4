//! ZooKeeper's client protocol — jute records in length-prefixed frames — free of I/O: bytes
//! in a buffer in, typed records out, and records encoded back into bytes. The bundled
//! ZooKeeper-like server (`targets::zab`) decodes requests and encodes replies with it; tests
//! and small clients do the reverse. The layouts are those of ZooKeeper 3.8's
//! `zookeeper.jute`, as the `zookeeper-client` crate and the Java client speak them.
//!
//! ```text
//!  server:  socket bytes ──▶ buffer ──FrameDecoder::decode──▶ frame body
//!           first frame:   ConnectRequest::decode ──▶ ConnectRequest
//!                          ConnectResponse (or ConnectResponse::refused) ──encode_connect_response──▶ socket
//!           then:          decode_request ──▶ (RequestHeader, Request)
//!                          (ReplyHeader, Response) ──encode_reply──▶ socket
//!                          (zxid, WatcherEvent) ──encode_notification──▶ socket
//!  client:  the mirror: encode_connect_request, ConnectResponse::decode, encode_request,
//!           decode_reply (given the op of each pending xid)
//! ```
//!
//! Whoever owns the socket reads into a buffer and asks again when more bytes arrive: a frame
//! that has not all arrived is "need more" (`Ok(None)`), never an error. Anything malformed
//! — an oversized or negative length, a record cut short or followed by stray bytes, bad
//! UTF-8 — is an [`Error`], never a panic; ZooKeeper closes the connection on it.
//!
//! * [`frame`](mod@frame): [`FrameDecoder`], [`frame()`](frame::frame), [`MAX_BUFFER`];
//! * [`wire`]: jute's primitives and the [`Reader`] every record reads from;
//! * [`records`]: the handshake, the headers, [`Stat`], [`Acl`], [`WatcherEvent`];
//! * [`request`]: [`Request`] and its encoding both ways;
//! * [`response`]: [`Response`], [`Reply`], and the server's encoders;
//! * [`codes`]: op codes, error codes, event types and states, reserved xids.

pub mod codes;
pub mod error;
pub mod frame;
pub mod records;
pub mod request;
pub mod response;
pub mod wire;

pub use codes::{
    AUTH_XID, ErrorCode, NOTIFICATION_XID, OpCode, PING_XID, SET_WATCHES_XID, create_flags,
    event_type, keeper_state,
};
pub use error::Error;
pub use frame::{FrameDecoder, MAX_BUFFER, frame};
pub use records::{
    Acl, ConnectRequest, ConnectResponse, Record, ReplyHeader, RequestHeader, Stat, WatcherEvent,
};
pub use request::{CreateRequest, Request, SetWatches, decode_request, encode_request};
pub use response::{
    Reply, Response, decode_reply, encode_connect_request, encode_connect_response,
    encode_notification, encode_reply,
};
pub use wire::Reader;

#[cfg(test)]
mod tests;
