//! [`Request`]: what a client asks after the handshake, one per frame, behind a
//! [`RequestHeader`].
//!
//! ```text
//!  server:  frame body ──decode_request──▶ (RequestHeader, Request)
//!           (or RequestHeader::read, then Request::read_body, to answer a bad body with its xid)
//!  client:  (xid, Request) ──encode_request──▶ framed bytes appended to out
//! ```
//!
//! An operation this codec does not know decodes to [`Request::Unknown`] with its body
//! skipped, so the server can answer UNIMPLEMENTED as ZooKeeper does (see
//! [`Response::unimplemented`](crate::Response::unimplemented)).

use crate::records::{Acl, Record, RequestHeader};
use crate::wire::{
    Reader, put_bool, put_buffer, put_int, put_long, put_strings, put_ustring, put_vector,
};
use crate::{Error, OpCode, create_flags, frame};

/// A create or create2 request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateRequest {
    pub path: String,
    pub data: Vec<u8>,
    pub acl: Vec<Acl>,
    /// [`create_flags`] bits: ephemeral 1, sequential 2 (other `CreateMode`s are other bits).
    pub flags: i32,
}

impl CreateRequest {
    pub fn ephemeral(&self) -> bool {
        self.flags & create_flags::EPHEMERAL != 0
    }

    pub fn sequential(&self) -> bool {
        self.flags & create_flags::SEQUENTIAL != 0
    }
}

/// The watches a reconnecting client re-registers (`SetWatches`, and `SetWatches2` which adds
/// the persistent kinds), each list of paths relative to `relative_zxid`: a watch whose
/// node changed after that zxid fires at once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SetWatches {
    pub relative_zxid: i64,
    pub data: Vec<String>,
    pub exist: Vec<String>,
    pub child: Vec<String>,
    /// Only in `SetWatches2` (op 105); `None` for `SetWatches` (op 101).
    pub persistent: Option<(Vec<String>, Vec<String>)>,
}

/// A request after the handshake.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// Op 1: replies the created path.
    Create(CreateRequest),
    /// Op 15: replies the created path and its [`Stat`](crate::Stat).
    Create2(CreateRequest),
    /// Op 2. `version` -1 matches any version.
    Delete { path: String, version: i32 },
    /// Op 3: a Stat, or NONODE (which sets an existence watch if `watch`).
    Exists { path: String, watch: bool },
    /// Op 4: data and Stat.
    GetData { path: String, watch: bool },
    /// Op 5: the new Stat. `version` -1 matches any version.
    SetData {
        path: String,
        data: Vec<u8>,
        version: i32,
    },
    /// Op 8: the children's names.
    GetChildren { path: String, watch: bool },
    /// Op 12: the children's names and the node's Stat.
    GetChildren2 { path: String, watch: bool },
    /// Op 9: replies the path once the server has caught up with the leader.
    Sync { path: String },
    /// Op 11, xid -2: keeps the session alive.
    Ping,
    /// Op -11: ends the session (its ephemerals go with it).
    CloseSession,
    /// Op 101 or 105.
    SetWatches(SetWatches),
    /// Any other op: its body is not read. Decoding gives it only numbers no other variant
    /// has; built by hand with a known number, it would encode as that op with no body.
    Unknown(i32),
}

impl Request {
    pub fn op(&self) -> OpCode {
        match self {
            Request::Create(_) => OpCode::Create,
            Request::Create2(_) => OpCode::Create2,
            Request::Delete { .. } => OpCode::Delete,
            Request::Exists { .. } => OpCode::Exists,
            Request::GetData { .. } => OpCode::GetData,
            Request::SetData { .. } => OpCode::SetData,
            Request::GetChildren { .. } => OpCode::GetChildren,
            Request::GetChildren2 { .. } => OpCode::GetChildren2,
            Request::Sync { .. } => OpCode::Sync,
            Request::Ping => OpCode::Ping,
            Request::CloseSession => OpCode::CloseSession,
            Request::SetWatches(w) if w.persistent.is_some() => OpCode::SetWatches2,
            Request::SetWatches(_) => OpCode::SetWatches,
            Request::Unknown(op) => OpCode::from_i32(*op),
        }
    }

    /// Whether the request changes the tree or the sessions (goes through the leader and the
    /// log) rather than being answered by the server the client is connected to.
    pub fn is_write(&self) -> bool {
        matches!(
            self,
            Request::Create(_)
                | Request::Create2(_)
                | Request::Delete { .. }
                | Request::SetData { .. }
                | Request::CloseSession
        )
    }

    /// Reads the body of a request of operation `op` (the header's type): all of `r`
    /// must be the request. An unknown `op` reads nothing and leaves the body unchecked.
    pub fn read_body(op: i32, r: &mut Reader<'_>) -> Result<Request, Error> {
        let request = match OpCode::from_i32(op) {
            OpCode::Create => Request::Create(read_create(r)?),
            OpCode::Create2 => Request::Create2(read_create(r)?),
            OpCode::Delete => Request::Delete {
                path: r.ustring("path")?,
                version: r.int("version")?,
            },
            OpCode::Exists => Request::Exists {
                path: r.ustring("path")?,
                watch: r.bool("watch")?,
            },
            OpCode::GetData => Request::GetData {
                path: r.ustring("path")?,
                watch: r.bool("watch")?,
            },
            OpCode::SetData => Request::SetData {
                path: r.ustring("path")?,
                data: r.buffer("data")?,
                version: r.int("version")?,
            },
            OpCode::GetChildren => Request::GetChildren {
                path: r.ustring("path")?,
                watch: r.bool("watch")?,
            },
            OpCode::GetChildren2 => Request::GetChildren2 {
                path: r.ustring("path")?,
                watch: r.bool("watch")?,
            },
            OpCode::Sync => Request::Sync {
                path: r.ustring("path")?,
            },
            OpCode::Ping => Request::Ping,
            OpCode::CloseSession => Request::CloseSession,
            OpCode::SetWatches => Request::SetWatches(read_set_watches(r, false)?),
            OpCode::SetWatches2 => Request::SetWatches(read_set_watches(r, true)?),
            OpCode::Other(op) => return Ok(Request::Unknown(op)),
        };
        r.finish("request")?;
        Ok(request)
    }

    /// Writes the body (not the header).
    pub fn write_body(&self, out: &mut Vec<u8>) {
        match self {
            Request::Create(c) | Request::Create2(c) => {
                put_ustring(out, &c.path);
                put_buffer(out, &c.data);
                put_vector(out, &c.acl, |out, acl| acl.write(out));
                put_int(out, c.flags);
            }
            Request::Delete { path, version } => {
                put_ustring(out, path);
                put_int(out, *version);
            }
            Request::Exists { path, watch }
            | Request::GetData { path, watch }
            | Request::GetChildren { path, watch }
            | Request::GetChildren2 { path, watch } => {
                put_ustring(out, path);
                put_bool(out, *watch);
            }
            Request::SetData {
                path,
                data,
                version,
            } => {
                put_ustring(out, path);
                put_buffer(out, data);
                put_int(out, *version);
            }
            Request::Sync { path } => put_ustring(out, path),
            Request::SetWatches(w) => {
                put_long(out, w.relative_zxid);
                put_strings(out, &w.data);
                put_strings(out, &w.exist);
                put_strings(out, &w.child);
                if let Some((persistent, recursive)) = &w.persistent {
                    put_strings(out, persistent);
                    put_strings(out, recursive);
                }
            }
            Request::Ping | Request::CloseSession | Request::Unknown(_) => {}
        }
    }
}

fn read_create(r: &mut Reader<'_>) -> Result<CreateRequest, Error> {
    Ok(CreateRequest {
        path: r.ustring("path")?,
        data: r.buffer("data")?,
        acl: r.vector("acl", Acl::read)?,
        flags: r.int("flags")?,
    })
}

fn read_set_watches(r: &mut Reader<'_>, two: bool) -> Result<SetWatches, Error> {
    Ok(SetWatches {
        relative_zxid: r.long("relativeZxid")?,
        data: r.strings("dataWatches")?,
        exist: r.strings("existWatches")?,
        child: r.strings("childWatches")?,
        persistent: if two {
            Some((
                r.strings("persistentWatches")?,
                r.strings("persistentRecursiveWatches")?,
            ))
        } else {
            None
        },
    })
}

/// Reads a request frame's body: its header, then the request the header's type names.
pub fn decode_request(body: &[u8]) -> Result<(RequestHeader, Request), Error> {
    let mut r = Reader::new(body);
    let header = RequestHeader::read(&mut r)?;
    let request = Request::read_body(header.op, &mut r)?;
    Ok((header, request))
}

/// Appends a request frame: the header (`xid`, the request's op) and the body. Give pings
/// [`PING_XID`](crate::PING_XID): ZooKeeper answers them with that xid whatever they carry.
pub fn encode_request(out: &mut Vec<u8>, xid: i32, request: &Request) {
    frame(out, |out| {
        RequestHeader {
            xid,
            op: request.op().to_i32(),
        }
        .write(out);
        request.write_body(out);
    });
}
