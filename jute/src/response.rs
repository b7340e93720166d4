//! What the server sends after the handshake: a [`ReplyHeader`] then, for a successful
//! request, the body its operation calls for; or a watch notification.
//!
//! ```text
//!  server:  (ReplyHeader, Response) ──encode_reply──▶ framed bytes appended to out
//!           (zxid, WatcherEvent) ──encode_notification──▶ framed bytes
//!  client:  frame body ──decode_reply(body, op of the pending xid)──▶ Reply
//! ```
//!
//! A reply has no body when its `err` is not 0, and the body's layout depends on the request,
//! which only the client's table of pending xids knows: [`decode_reply`] asks for it. Replies
//! come in request order on a connection, watch notifications (xid -1) interleaved.

use crate::records::{Record, ReplyHeader, Stat, WatcherEvent};
use crate::wire::{Reader, put_buffer, put_strings, put_ustring};
use crate::{ConnectRequest, ConnectResponse, Error, ErrorCode, NOTIFICATION_XID, OpCode, frame};

/// The body of a successful reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    /// No body: delete, ping, closeSession, setWatches, and every error reply.
    Empty,
    /// create: the created path (with its sequence suffix).
    Create { path: String },
    /// create2: the created path and the node's Stat.
    Create2 { path: String, stat: Stat },
    /// exists (of a node that exists) and setData.
    Stat(Stat),
    /// getData.
    GetData { data: Vec<u8>, stat: Stat },
    /// getChildren.
    GetChildren { children: Vec<String> },
    /// getChildren2.
    GetChildren2 { children: Vec<String>, stat: Stat },
    /// sync: the path it was asked for.
    Sync { path: String },
}

impl Response {
    /// Reads the body of a reply to an `op` request whose header carries `err`.
    pub fn read(op: OpCode, err: i32, r: &mut Reader<'_>) -> Result<Response, Error> {
        if err != ErrorCode::Ok.code() {
            return Ok(Response::Empty);
        }
        Ok(match op {
            OpCode::Create => Response::Create {
                path: r.ustring("path")?,
            },
            OpCode::Create2 => Response::Create2 {
                path: r.ustring("path")?,
                stat: Stat::read(r)?,
            },
            OpCode::Exists | OpCode::SetData => Response::Stat(Stat::read(r)?),
            OpCode::GetData => Response::GetData {
                data: r.buffer("data")?,
                stat: Stat::read(r)?,
            },
            OpCode::GetChildren => Response::GetChildren {
                children: r.strings("children")?,
            },
            OpCode::GetChildren2 => Response::GetChildren2 {
                children: r.strings("children")?,
                stat: Stat::read(r)?,
            },
            OpCode::Sync => Response::Sync {
                path: r.ustring("path")?,
            },
            OpCode::Delete
            | OpCode::Ping
            | OpCode::CloseSession
            | OpCode::SetWatches
            | OpCode::SetWatches2
            | OpCode::Other(_) => Response::Empty,
        })
    }

    pub fn write(&self, out: &mut Vec<u8>) {
        match self {
            Response::Empty => {}
            Response::Create { path } | Response::Sync { path } => put_ustring(out, path),
            Response::Create2 { path, stat } => {
                put_ustring(out, path);
                stat.write(out);
            }
            Response::Stat(stat) => stat.write(out),
            Response::GetData { data, stat } => {
                put_buffer(out, data);
                stat.write(out);
            }
            Response::GetChildren { children } => put_strings(out, children),
            Response::GetChildren2 { children, stat } => {
                put_strings(out, children);
                stat.write(out);
            }
        }
    }

    /// What ZooKeeper 3.8 answers a request of an unknown type
    /// (`UnimplementedRequestProcessor`): the request's xid, zxid -1 (the request never got
    /// one) and UNIMPLEMENTED, no body — after which it closes the connection (the session
    /// lives on until it expires or the client reconnects).
    pub fn unimplemented(xid: i32) -> ReplyHeader {
        ReplyHeader {
            xid,
            zxid: -1,
            err: ErrorCode::Unimplemented.code(),
        }
    }
}

/// One frame from the server after the handshake, as a client reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// A watch fired (xid -1).
    Notification { zxid: i64, event: WatcherEvent },
    /// The answer to the request numbered `header.xid`.
    Response {
        header: ReplyHeader,
        response: Response,
    },
}

/// Reads a reply frame's body. `op_of` names the operation of the pending request with a
/// given xid (a ping's is [`PING_XID`](crate::PING_XID)); it is not asked for notifications.
pub fn decode_reply(body: &[u8], op_of: impl FnOnce(i32) -> OpCode) -> Result<Reply, Error> {
    let mut r = Reader::new(body);
    let header = ReplyHeader::read(&mut r)?;
    let reply = if header.xid == NOTIFICATION_XID {
        Reply::Notification {
            zxid: header.zxid,
            event: WatcherEvent::read(&mut r)?,
        }
    } else {
        Reply::Response {
            header,
            response: Response::read(op_of(header.xid), header.err, &mut r)?,
        }
    };
    r.finish("reply")?;
    Ok(reply)
}

/// Appends a reply frame. With an error in `header.err`, pass [`Response::Empty`].
pub fn encode_reply(out: &mut Vec<u8>, header: &ReplyHeader, response: &Response) {
    frame(out, |out| {
        header.write(out);
        response.write(out);
    });
}

/// Appends a watch notification frame. ZooKeeper 3.8 sends zxid -1 in it; 3.9 sends the zxid
/// of the change that fired the watch.
pub fn encode_notification(out: &mut Vec<u8>, zxid: i64, event: &WatcherEvent) {
    frame(out, |out| {
        ReplyHeader {
            xid: NOTIFICATION_XID,
            zxid,
            err: 0,
        }
        .write(out);
        event.write(out);
    });
}

/// Appends the handshake frame of a client.
pub fn encode_connect_request(out: &mut Vec<u8>, request: &ConnectRequest) {
    frame(out, |out| request.write(out));
}

/// Appends the handshake answer of a server, including a refusal
/// ([`ConnectResponse::refused`]).
pub fn encode_connect_response(out: &mut Vec<u8>, response: &ConnectResponse) {
    frame(out, |out| response.write(out));
}
