//! The numbers of the protocol: operation codes, error codes (ZooKeeper's
//! `KeeperException.Code`), watch event types and states, and the reserved xids.

/// The xid of a watch notification (server → client, in a [`ReplyHeader`](crate::ReplyHeader)).
pub const NOTIFICATION_XID: i32 = -1;
/// The xid of a ping and of its reply: ZooKeeper replies to pings with this fixed xid.
pub const PING_XID: i32 = -2;
/// The xid of an authentication packet.
pub const AUTH_XID: i32 = -4;
/// The xid the client gives `setWatches` when it re-registers its watches on reconnect.
pub const SET_WATCHES_XID: i32 = -8;

/// A request's type, the second int of its [`RequestHeader`](crate::RequestHeader).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpCode {
    Create,
    Delete,
    Exists,
    GetData,
    SetData,
    GetChildren,
    Sync,
    Ping,
    GetChildren2,
    Create2,
    SetWatches,
    SetWatches2,
    CloseSession,
    /// Any other number (ACLs, multi, containers, TTLs, auth, …): the server answers
    /// UNIMPLEMENTED.
    Other(i32),
}

impl OpCode {
    pub fn from_i32(op: i32) -> OpCode {
        match op {
            1 => OpCode::Create,
            2 => OpCode::Delete,
            3 => OpCode::Exists,
            4 => OpCode::GetData,
            5 => OpCode::SetData,
            8 => OpCode::GetChildren,
            9 => OpCode::Sync,
            11 => OpCode::Ping,
            12 => OpCode::GetChildren2,
            15 => OpCode::Create2,
            101 => OpCode::SetWatches,
            105 => OpCode::SetWatches2,
            -11 => OpCode::CloseSession,
            other => OpCode::Other(other),
        }
    }

    pub fn to_i32(self) -> i32 {
        match self {
            OpCode::Create => 1,
            OpCode::Delete => 2,
            OpCode::Exists => 3,
            OpCode::GetData => 4,
            OpCode::SetData => 5,
            OpCode::GetChildren => 8,
            OpCode::Sync => 9,
            OpCode::Ping => 11,
            OpCode::GetChildren2 => 12,
            OpCode::Create2 => 15,
            OpCode::SetWatches => 101,
            OpCode::SetWatches2 => 105,
            OpCode::CloseSession => -11,
            OpCode::Other(op) => op,
        }
    }
}

macro_rules! error_codes {
    ($($(#[$doc:meta])* $name:ident = $code:literal,)*) => {
        /// ZooKeeper's `KeeperException.Code`: the `err` of a [`ReplyHeader`](crate::ReplyHeader).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[$doc])* $name,)*
        }

        impl ErrorCode {
            /// Every code, in ZooKeeper's order.
            pub const ALL: &[ErrorCode] = &[$(ErrorCode::$name,)*];

            /// The number on the wire.
            pub fn code(self) -> i32 {
                match self {
                    $(ErrorCode::$name => $code,)*
                }
            }

            /// The code with this number, if ZooKeeper has one.
            pub fn from_code(code: i32) -> Option<ErrorCode> {
                match code {
                    $($code => Some(ErrorCode::$name),)*
                    _ => None,
                }
            }
        }
    };
}

error_codes! {
    Ok = 0,
    SystemError = -1,
    RuntimeInconsistency = -2,
    DataInconsistency = -3,
    ConnectionLoss = -4,
    /// A request's body could not be decoded.
    MarshallingError = -5,
    /// An operation the server does not know.
    Unimplemented = -6,
    OperationTimeout = -7,
    /// A malformed path, or one that may not be used (deleting `/`).
    BadArguments = -8,
    UnknownSession = -12,
    NewConfigNoQuorum = -13,
    ReconfigInProgress = -14,
    ApiError = -100,
    NoNode = -101,
    NoAuth = -102,
    BadVersion = -103,
    NoChildrenForEphemerals = -108,
    NodeExists = -110,
    NotEmpty = -111,
    SessionExpired = -112,
    InvalidCallback = -113,
    InvalidAcl = -114,
    AuthFailed = -115,
    SessionMoved = -118,
    NotReadOnly = -119,
    EphemeralOnLocalSession = -120,
    NoWatcher = -121,
    RequestTimeout = -122,
    ReconfigDisabled = -123,
    SessionClosedRequireSaslAuth = -124,
    QuotaExceeded = -125,
    Throttled = -127,
}

/// The `type` of a [`WatcherEvent`](crate::WatcherEvent) (`Watcher.Event.EventType`).
pub mod event_type {
    /// A change of connection state, no path.
    pub const NONE: i32 = -1;
    pub const NODE_CREATED: i32 = 1;
    pub const NODE_DELETED: i32 = 2;
    pub const NODE_DATA_CHANGED: i32 = 3;
    pub const NODE_CHILDREN_CHANGED: i32 = 4;
}

/// The `state` of a [`WatcherEvent`](crate::WatcherEvent) (`Watcher.Event.KeeperState`).
pub mod keeper_state {
    pub const DISCONNECTED: i32 = 0;
    /// The state of every node event a server sends.
    pub const SYNC_CONNECTED: i32 = 3;
    pub const AUTH_FAILED: i32 = 4;
    pub const CONNECTED_READ_ONLY: i32 = 5;
    pub const EXPIRED: i32 = -112;
    pub const CLOSED: i32 = 7;
}

/// The `flags` of a create request (`CreateMode`): ephemeral and sequential bits.
pub mod create_flags {
    pub const EPHEMERAL: i32 = 1;
    pub const SEQUENTIAL: i32 = 2;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn op_codes_round_trip_through_their_numbers() {
        for op in [
            1,
            2,
            3,
            4,
            5,
            8,
            9,
            11,
            12,
            15,
            101,
            105,
            -11,
            6,
            14,
            0,
            i32::MIN,
        ] {
            assert_eq!(OpCode::from_i32(op).to_i32(), op);
        }
        assert_eq!(OpCode::from_i32(6), OpCode::Other(6));
    }

    #[test]
    fn error_codes_have_zookeepers_numbers() {
        for &code in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_code(code.code()), Some(code));
        }
        assert_eq!(ErrorCode::NoNode.code(), -101);
        assert_eq!(ErrorCode::NodeExists.code(), -110);
        assert_eq!(ErrorCode::SessionExpired.code(), -112);
        assert_eq!(ErrorCode::NotReadOnly.code(), -119);
        assert_eq!(ErrorCode::from_code(-109), None);
    }
}
