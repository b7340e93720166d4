//! The fixed records of the protocol (ZooKeeper's `zookeeper.jute`): the connect handshake,
//! the headers in front of every request and reply, [`Stat`], [`Acl`] and [`WatcherEvent`].
//! Each is read from a [`Reader`] and written to a `Vec<u8>`, field by field, in jute's order.

use crate::Error;
use crate::wire::{Reader, put_bool, put_buffer, put_int, put_long, put_ustring};

/// A jute record: read field by field from a frame's body, written the same way.
pub trait Record: Sized {
    /// The record's name, for errors.
    const NAME: &'static str;

    fn read(r: &mut Reader<'_>) -> Result<Self, Error>;

    fn write(&self, out: &mut Vec<u8>);

    /// Reads the record from all of `body`: bytes left over are an error.
    fn decode(body: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(body);
        let record = Self::read(&mut r)?;
        r.finish(Self::NAME)?;
        Ok(record)
    }

    /// The record's bytes, unframed.
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(&mut out);
        out
    }
}

/// A znode's metadata. Jute's field order differs from the order ZooKeeper documents them in:
/// czxid, mzxid, ctime, mtime, version, cversion, aversion, ephemeralOwner, dataLength,
/// numChildren, pzxid — 68 bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Stat {
    /// The zxid that created the node.
    pub czxid: i64,
    /// The zxid that last set its data.
    pub mzxid: i64,
    /// When it was created, milliseconds since the epoch (the leader's clock).
    pub ctime: i64,
    /// When its data was last set.
    pub mtime: i64,
    /// How many times its data was set.
    pub version: i32,
    /// Its children's version: the count of children created under it, whose value names the
    /// next sequential child.
    pub cversion: i32,
    /// Its ACL's version.
    pub aversion: i32,
    /// The session owning an ephemeral node, 0 for a persistent one.
    pub ephemeral_owner: i64,
    pub data_length: i32,
    pub num_children: i32,
    /// The zxid that last added or removed a child.
    pub pzxid: i64,
}

impl Record for Stat {
    const NAME: &'static str = "Stat";

    fn read(r: &mut Reader<'_>) -> Result<Stat, Error> {
        Ok(Stat {
            czxid: r.long("stat.czxid")?,
            mzxid: r.long("stat.mzxid")?,
            ctime: r.long("stat.ctime")?,
            mtime: r.long("stat.mtime")?,
            version: r.int("stat.version")?,
            cversion: r.int("stat.cversion")?,
            aversion: r.int("stat.aversion")?,
            ephemeral_owner: r.long("stat.ephemeralOwner")?,
            data_length: r.int("stat.dataLength")?,
            num_children: r.int("stat.numChildren")?,
            pzxid: r.long("stat.pzxid")?,
        })
    }

    fn write(&self, out: &mut Vec<u8>) {
        put_long(out, self.czxid);
        put_long(out, self.mzxid);
        put_long(out, self.ctime);
        put_long(out, self.mtime);
        put_int(out, self.version);
        put_int(out, self.cversion);
        put_int(out, self.aversion);
        put_long(out, self.ephemeral_owner);
        put_int(out, self.data_length);
        put_int(out, self.num_children);
        put_long(out, self.pzxid);
    }
}

/// One entry of an access control list: permission bits (read 1, write 2, create 4, delete 8,
/// admin 16) for an identity `scheme:id` (`world:anyone`, `digest:user:hash`, …). The
/// bundled server keeps none of them; they are decoded so a request carrying them is read
/// whole.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Acl {
    pub perms: i32,
    pub scheme: String,
    pub id: String,
}

impl Acl {
    /// `world:anyone` with every permission: ZooKeeper's `OPEN_ACL_UNSAFE`, what clients send
    /// when they do not care.
    pub fn open() -> Acl {
        Acl {
            perms: 31,
            scheme: "world".into(),
            id: "anyone".into(),
        }
    }
}

impl Record for Acl {
    const NAME: &'static str = "ACL";

    fn read(r: &mut Reader<'_>) -> Result<Acl, Error> {
        Ok(Acl {
            perms: r.int("acl.perms")?,
            scheme: r.ustring("acl.scheme")?,
            id: r.ustring("acl.id")?,
        })
    }

    fn write(&self, out: &mut Vec<u8>) {
        put_int(out, self.perms);
        put_ustring(out, &self.scheme);
        put_ustring(out, &self.id);
    }
}

/// The first frame a client sends, without a request header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectRequest {
    /// 0: the only version there is.
    pub protocol_version: i32,
    /// The last zxid the client saw: a server that has not seen it yet must refuse the client.
    pub last_zxid_seen: i64,
    /// The session timeout the client asks for, in milliseconds.
    pub timeout: i32,
    /// 0 for a new session, else the session the client reconnects to.
    pub session_id: i64,
    /// The session's password (16 bytes), when reconnecting.
    pub passwd: Vec<u8>,
    /// Whether the client accepts a read-only server; `None` when it did not say (clients
    /// older than 3.4), and then the server's response must not say either.
    pub read_only: Option<bool>,
}

impl Record for ConnectRequest {
    const NAME: &'static str = "ConnectRequest";

    fn read(r: &mut Reader<'_>) -> Result<ConnectRequest, Error> {
        Ok(ConnectRequest {
            protocol_version: r.int("connect.protocolVersion")?,
            last_zxid_seen: r.long("connect.lastZxidSeen")?,
            timeout: r.int("connect.timeOut")?,
            session_id: r.long("connect.sessionId")?,
            passwd: r.buffer("connect.passwd")?,
            read_only: optional_bool(r, "connect.readOnly")?,
        })
    }

    fn write(&self, out: &mut Vec<u8>) {
        put_int(out, self.protocol_version);
        put_long(out, self.last_zxid_seen);
        put_int(out, self.timeout);
        put_long(out, self.session_id);
        put_buffer(out, &self.passwd);
        if let Some(read_only) = self.read_only {
            put_bool(out, read_only);
        }
    }
}

/// The trailing `readOnly` flag of the handshake, which old peers leave out.
fn optional_bool(r: &mut Reader<'_>, what: &'static str) -> Result<Option<bool>, Error> {
    if r.remaining() == 0 {
        Ok(None)
    } else {
        r.bool(what).map(Some)
    }
}

/// The server's answer to a [`ConnectRequest`], also without a header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectResponse {
    pub protocol_version: i32,
    /// The negotiated session timeout in milliseconds; 0 with `session_id` 0 refuses the
    /// session (see [`ConnectResponse::refused`]).
    pub timeout: i32,
    pub session_id: i64,
    /// The session's password, which the client presents when it reconnects.
    pub passwd: Vec<u8>,
    /// Whether the server is read-only; `None` (not written) for a client that did not send
    /// the flag.
    pub read_only: Option<bool>,
}

impl ConnectResponse {
    /// What ZooKeeper 3.8 answers a client whose session is unknown, expired or presented a
    /// wrong password (`ZooKeeperServer.finishSessionInit` with `valid == false`): protocol
    /// version 0, timeout 0, session 0 and 16 zero bytes of password, with `readOnly` only if
    /// the client sent it — and then it closes the connection. Clients read session 0 as
    /// "session expired" (the Java client and `zookeeper-client` alike; the latter rejects an
    /// empty password, hence the 16 bytes).
    pub fn refused(request: &ConnectRequest) -> ConnectResponse {
        ConnectResponse {
            protocol_version: 0,
            timeout: 0,
            session_id: 0,
            passwd: vec![0; 16],
            read_only: request.read_only.map(|_| false),
        }
    }
}

impl Record for ConnectResponse {
    const NAME: &'static str = "ConnectResponse";

    fn read(r: &mut Reader<'_>) -> Result<ConnectResponse, Error> {
        Ok(ConnectResponse {
            protocol_version: r.int("connect.protocolVersion")?,
            timeout: r.int("connect.timeOut")?,
            session_id: r.long("connect.sessionId")?,
            passwd: r.buffer("connect.passwd")?,
            read_only: optional_bool(r, "connect.readOnly")?,
        })
    }

    fn write(&self, out: &mut Vec<u8>) {
        put_int(out, self.protocol_version);
        put_int(out, self.timeout);
        put_long(out, self.session_id);
        put_buffer(out, &self.passwd);
        if let Some(read_only) = self.read_only {
            put_bool(out, read_only);
        }
    }
}

/// In front of every request after the handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestHeader {
    /// The client's number for the request, echoed in the reply.
    pub xid: i32,
    /// The operation (an [`OpCode`](crate::OpCode) number).
    pub op: i32,
}

impl Record for RequestHeader {
    const NAME: &'static str = "RequestHeader";

    fn read(r: &mut Reader<'_>) -> Result<RequestHeader, Error> {
        Ok(RequestHeader {
            xid: r.int("header.xid")?,
            op: r.int("header.type")?,
        })
    }

    fn write(&self, out: &mut Vec<u8>) {
        put_int(out, self.xid);
        put_int(out, self.op);
    }
}

/// In front of every reply and notification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplyHeader {
    /// The request's xid, or [`NOTIFICATION_XID`](crate::NOTIFICATION_XID) /
    /// [`PING_XID`](crate::PING_XID).
    pub xid: i32,
    /// The server's last processed zxid when it replied (the write's own zxid for a write).
    pub zxid: i64,
    /// An [`ErrorCode`](crate::ErrorCode) number; 0 is success. A reply with an error has no
    /// body.
    pub err: i32,
}

impl Record for ReplyHeader {
    const NAME: &'static str = "ReplyHeader";

    fn read(r: &mut Reader<'_>) -> Result<ReplyHeader, Error> {
        Ok(ReplyHeader {
            xid: r.int("reply.xid")?,
            zxid: r.long("reply.zxid")?,
            err: r.int("reply.err")?,
        })
    }

    fn write(&self, out: &mut Vec<u8>) {
        put_int(out, self.xid);
        put_long(out, self.zxid);
        put_int(out, self.err);
    }
}

/// A watch firing, sent after a [`ReplyHeader`] whose xid is
/// [`NOTIFICATION_XID`](crate::NOTIFICATION_XID).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct WatcherEvent {
    /// An [`event_type`](crate::event_type) number.
    pub kind: i32,
    /// A [`keeper_state`](crate::keeper_state) number: always SyncConnected from a server.
    pub state: i32,
    pub path: String,
}

impl Record for WatcherEvent {
    const NAME: &'static str = "WatcherEvent";

    fn read(r: &mut Reader<'_>) -> Result<WatcherEvent, Error> {
        Ok(WatcherEvent {
            kind: r.int("event.type")?,
            state: r.int("event.state")?,
            path: r.ustring("event.path")?,
        })
    }

    fn write(&self, out: &mut Vec<u8>) {
        put_int(out, self.kind);
        put_int(out, self.state);
        put_ustring(out, &self.path);
    }
}
