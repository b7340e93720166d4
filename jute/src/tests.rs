//! Layouts checked byte by byte against ZooKeeper's, round trips of every record, and bad
//! input turned into errors.

use proptest::prelude::*;

use crate::*;

/// The body of the one frame in `bytes`, which must be exactly one frame.
fn body(bytes: &[u8]) -> &[u8] {
    let (body, used) = FrameDecoder::default().decode(bytes).unwrap().unwrap();
    assert_eq!(used, bytes.len());
    body
}

fn stat_1_to_11() -> Stat {
    Stat {
        czxid: 1,
        mzxid: 2,
        ctime: 3,
        mtime: 4,
        version: 5,
        cversion: 6,
        aversion: 7,
        ephemeral_owner: 8,
        data_length: 9,
        num_children: 10,
        pzxid: 11,
    }
}

#[test]
fn stat_is_68_bytes_in_jute_order() {
    let mut want = Vec::new();
    for v in 1i64..=4 {
        want.extend(v.to_be_bytes());
    }
    want.extend(5i32.to_be_bytes());
    want.extend(6i32.to_be_bytes());
    want.extend(7i32.to_be_bytes());
    want.extend(8i64.to_be_bytes());
    want.extend(9i32.to_be_bytes());
    want.extend(10i32.to_be_bytes());
    want.extend(11i64.to_be_bytes());
    assert_eq!(want.len(), 68);
    assert_eq!(stat_1_to_11().encode(), want);
    assert_eq!(Stat::decode(&want), Ok(stat_1_to_11()));
    assert_eq!(
        Stat::decode(&want[..67]),
        Err(Error::Truncated { what: "stat.pzxid" })
    );
}

#[test]
fn connect_request_as_zookeeper_client_sends_it() {
    // protocolVersion 0, lastZxidSeen 0x10, timeOut 30000, sessionId 0, passwd empty, readOnly false.
    let wire = [
        0, 0, 0, 29, //
        0, 0, 0, 0, //
        0, 0, 0, 0, 0, 0, 0, 0x10, //
        0, 0, 0x75, 0x30, //
        0, 0, 0, 0, 0, 0, 0, 0, //
        0, 0, 0, 0, //
        0,
    ];
    let request = ConnectRequest::decode(body(&wire)).unwrap();
    assert_eq!(
        request,
        ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 0x10,
            timeout: 30000,
            session_id: 0,
            passwd: vec![],
            read_only: Some(false),
        }
    );
    let mut out = Vec::new();
    encode_connect_request(&mut out, &request);
    assert_eq!(out, wire);
}

#[test]
fn connect_request_without_read_only_is_an_old_client() {
    let old = ConnectRequest {
        protocol_version: 0,
        last_zxid_seen: 0,
        timeout: 4000,
        session_id: 0x0100_0000_0000_0001,
        passwd: vec![7; 16],
        read_only: None,
    };
    assert_eq!(old.encode().len(), 4 + 8 + 4 + 8 + 4 + 16);
    assert_eq!(ConnectRequest::decode(&old.encode()), Ok(old.clone()));
    assert_eq!(ConnectResponse::refused(&old).read_only, None);
}

#[test]
fn refusal_is_zookeepers_expired_session_answer() {
    let request = ConnectRequest {
        protocol_version: 0,
        last_zxid_seen: 0,
        timeout: 4000,
        session_id: 0x42,
        passwd: vec![1; 16],
        read_only: Some(false),
    };
    let mut out = Vec::new();
    encode_connect_response(&mut out, &ConnectResponse::refused(&request));
    let mut want = vec![0, 0, 0, 37];
    want.extend([0; 4]); // protocolVersion
    want.extend([0; 4]); // timeOut
    want.extend([0; 8]); // sessionId
    want.extend([0, 0, 0, 16]);
    want.extend([0; 16]); // passwd
    want.push(0); // readOnly
    assert_eq!(out, want);
    let back = ConnectResponse::decode(body(&out)).unwrap();
    assert_eq!(
        (back.session_id, back.timeout, back.passwd.len()),
        (0, 0, 16)
    );
}

#[test]
fn create2_request_layout() {
    let request = Request::Create2(CreateRequest {
        path: "/n".into(),
        data: b"x".to_vec(),
        acl: vec![Acl::open()],
        flags: create_flags::EPHEMERAL | create_flags::SEQUENTIAL,
    });
    let mut out = Vec::new();
    encode_request(&mut out, 3, &request);
    let mut want = vec![0, 0, 0, 0];
    want.extend([0, 0, 0, 3, 0, 0, 0, 15]); // xid, type
    want.extend([0, 0, 0, 2, b'/', b'n']);
    want.extend([0, 0, 0, 1, b'x']);
    want.extend([0, 0, 0, 1, 0, 0, 0, 31, 0, 0, 0, 5]);
    want.extend(b"world");
    want.extend([0, 0, 0, 6]);
    want.extend(b"anyone");
    want.extend([0, 0, 0, 3]);
    let len = (want.len() - 4) as u8;
    want[3] = len;
    assert_eq!(out, want);
    let (header, back) = decode_request(body(&out)).unwrap();
    assert_eq!(header, RequestHeader { xid: 3, op: 15 });
    assert_eq!(back, request);
    let Request::Create2(c) = back else {
        unreachable!()
    };
    assert!(c.ephemeral() && c.sequential());
}

#[test]
fn small_request_layouts() {
    let cases: Vec<(i32, Request, Vec<u8>)> = vec![
        (
            1,
            Request::GetData {
                path: "/a".into(),
                watch: true,
            },
            vec![0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 2, b'/', b'a', 1],
        ),
        (
            2,
            Request::Exists {
                path: "/a".into(),
                watch: false,
            },
            vec![0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 2, b'/', b'a', 0],
        ),
        (
            3,
            Request::Delete {
                path: "/a".into(),
                version: -1,
            },
            vec![
                0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2, b'/', b'a', 0xff, 0xff, 0xff, 0xff,
            ],
        ),
        (
            4,
            Request::SetData {
                path: "/a".into(),
                data: vec![9],
                version: 2,
            },
            vec![
                0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 2, b'/', b'a', 0, 0, 0, 1, 9, 0, 0, 0, 2,
            ],
        ),
        (
            5,
            Request::GetChildren2 {
                path: "/".into(),
                watch: true,
            },
            vec![0, 0, 0, 5, 0, 0, 0, 12, 0, 0, 0, 1, b'/', 1],
        ),
        (
            6,
            Request::Sync { path: "/".into() },
            vec![0, 0, 0, 6, 0, 0, 0, 9, 0, 0, 0, 1, b'/'],
        ),
        (
            PING_XID,
            Request::Ping,
            vec![0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 11],
        ),
        (
            7,
            Request::CloseSession,
            vec![0, 0, 0, 7, 0xff, 0xff, 0xff, 0xf5],
        ),
    ];
    for (xid, request, want) in cases {
        let mut out = Vec::new();
        encode_request(&mut out, xid, &request);
        assert_eq!(&out[4..], &want[..], "{request:?}");
        assert_eq!(
            decode_request(&want),
            Ok((
                RequestHeader {
                    xid,
                    op: request.op().to_i32()
                },
                request
            ))
        );
    }
}

#[test]
fn unknown_ops_decode_for_an_unimplemented_reply() {
    // getACL (6), body not read.
    let bytes = [0, 0, 0, 9, 0, 0, 0, 6, 0, 0, 0, 2, b'/', b'a'];
    let (header, request) = decode_request(&bytes).unwrap();
    assert_eq!(request, Request::Unknown(6));
    let mut out = Vec::new();
    encode_reply(
        &mut out,
        &Response::unimplemented(header.xid),
        &Response::Empty,
    );
    assert_eq!(
        out,
        [
            0, 0, 0, 16, 0, 0, 0, 9, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xff, 0xfa
        ]
    );
}

#[test]
fn reply_layouts() {
    let mut out = Vec::new();
    let header = ReplyHeader {
        xid: 3,
        zxid: 0x1_0000_0002,
        err: 0,
    };
    encode_reply(
        &mut out,
        &header,
        &Response::Create2 {
            path: "/n0000000000".into(),
            stat: stat_1_to_11(),
        },
    );
    let mut want = vec![0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 12];
    want.extend(b"/n0000000000");
    want.extend(stat_1_to_11().encode());
    assert_eq!(&out[4..], &want[..]);
    assert_eq!(
        decode_reply(body(&out), |_| OpCode::Create2),
        Ok(Reply::Response {
            header,
            response: Response::Create2 {
                path: "/n0000000000".into(),
                stat: stat_1_to_11()
            }
        })
    );

    // An error reply has no body, whatever the op.
    let header = ReplyHeader {
        xid: 4,
        zxid: 9,
        err: ErrorCode::NoNode.code(),
    };
    let mut out = Vec::new();
    encode_reply(&mut out, &header, &Response::Empty);
    assert_eq!(out.len(), 4 + 16);
    assert_eq!(
        decode_reply(body(&out), |_| OpCode::Exists),
        Ok(Reply::Response {
            header,
            response: Response::Empty
        })
    );

    // A notification: xid -1, then type, state, path.
    let event = WatcherEvent {
        kind: event_type::NODE_CHILDREN_CHANGED,
        state: keeper_state::SYNC_CONNECTED,
        path: "/a".into(),
    };
    let mut out = Vec::new();
    encode_notification(&mut out, -1, &event);
    assert_eq!(
        &out[4..],
        [
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0,
            0, 0, 4, 0, 0, 0, 3, 0, 0, 0, 2, b'/', b'a'
        ]
    );
    assert_eq!(
        decode_reply(body(&out), |_| unreachable!("notifications need no op")),
        Ok(Reply::Notification { zxid: -1, event })
    );
}

#[test]
fn every_response_round_trips() {
    let stat = stat_1_to_11();
    let cases = [
        (OpCode::Delete, Response::Empty),
        (OpCode::Create, Response::Create { path: "/x".into() }),
        (
            OpCode::Create2,
            Response::Create2 {
                path: "/x".into(),
                stat,
            },
        ),
        (OpCode::Exists, Response::Stat(stat)),
        (OpCode::SetData, Response::Stat(stat)),
        (
            OpCode::GetData,
            Response::GetData {
                data: vec![1, 2],
                stat,
            },
        ),
        (
            OpCode::GetChildren,
            Response::GetChildren {
                children: vec!["a".into(), "b".into()],
            },
        ),
        (
            OpCode::GetChildren2,
            Response::GetChildren2 {
                children: vec![],
                stat,
            },
        ),
        (OpCode::Sync, Response::Sync { path: "/".into() }),
        (OpCode::Ping, Response::Empty),
        (OpCode::CloseSession, Response::Empty),
    ];
    for (op, response) in cases {
        let header = ReplyHeader {
            xid: 1,
            zxid: 2,
            err: 0,
        };
        let mut out = Vec::new();
        encode_reply(&mut out, &header, &response);
        assert_eq!(
            decode_reply(body(&out), |_| op),
            Ok(Reply::Response { header, response })
        );
    }
    let response = ConnectResponse {
        protocol_version: 0,
        timeout: 4000,
        session_id: 5,
        passwd: vec![3; 16],
        read_only: Some(true),
    };
    assert_eq!(ConnectResponse::decode(&response.encode()), Ok(response));
}

#[test]
fn truncated_and_stray_bytes_are_errors() {
    let mut out = Vec::new();
    encode_request(
        &mut out,
        1,
        &Request::SetData {
            path: "/a".into(),
            data: vec![1, 2, 3],
            version: 0,
        },
    );
    let whole = &out[4..];
    for cut in 0..whole.len() {
        assert!(decode_request(&whole[..cut]).is_err(), "cut at {cut}");
    }
    let mut longer = whole.to_vec();
    longer.push(0);
    assert_eq!(
        decode_request(&longer),
        Err(Error::TrailingBytes {
            what: "request",
            count: 1
        })
    );
    assert!(ConnectRequest::decode(&[0, 0, 0, 0, 0]).is_err());
    // readOnly, then a stray byte.
    let mut connect = ConnectResponse::refused(&ConnectRequest {
        protocol_version: 0,
        last_zxid_seen: 0,
        timeout: 0,
        session_id: 0,
        passwd: vec![],
        read_only: Some(true),
    })
    .encode();
    connect.push(1);
    assert!(matches!(
        ConnectResponse::decode(&connect),
        Err(Error::TrailingBytes { .. })
    ));
}

#[test]
fn set_watches_both_versions_round_trip() {
    for persistent in [None, Some((vec!["/p".to_string()], vec![]))] {
        let request = Request::SetWatches(SetWatches {
            relative_zxid: 7,
            data: vec!["/a".into()],
            exist: vec![],
            child: vec!["/".into(), "/b".into()],
            persistent,
        });
        let mut out = Vec::new();
        encode_request(&mut out, SET_WATCHES_XID, &request);
        assert_eq!(decode_request(body(&out)).map(|(_, r)| r), Ok(request));
    }
}

fn path() -> impl Strategy<Value = String> + Clone {
    "(/[a-z0-9]{0,4}){1,3}"
}

fn request() -> impl Strategy<Value = Request> {
    let bytes = proptest::collection::vec(any::<u8>(), 0..16);
    let acl = (any::<i32>(), "[a-z]{0,5}", "[a-z:]{0,8}").prop_map(|(perms, scheme, id)| Acl {
        perms,
        scheme,
        id,
    });
    let create = (
        path(),
        bytes.clone(),
        proptest::collection::vec(acl, 0..3),
        any::<i32>(),
    )
        .prop_map(|(path, data, acl, flags)| CreateRequest {
            path,
            data,
            acl,
            flags,
        });
    let paths = proptest::collection::vec(path(), 0..3);
    prop_oneof![
        create.clone().prop_map(Request::Create),
        create.prop_map(Request::Create2),
        (path(), any::<i32>()).prop_map(|(path, version)| Request::Delete { path, version }),
        (path(), any::<bool>()).prop_map(|(path, watch)| Request::Exists { path, watch }),
        (path(), any::<bool>()).prop_map(|(path, watch)| Request::GetData { path, watch }),
        (path(), bytes, any::<i32>()).prop_map(|(path, data, version)| Request::SetData {
            path,
            data,
            version
        }),
        (path(), any::<bool>()).prop_map(|(path, watch)| Request::GetChildren { path, watch }),
        (path(), any::<bool>()).prop_map(|(path, watch)| Request::GetChildren2 { path, watch }),
        path().prop_map(|path| Request::Sync { path }),
        Just(Request::Ping),
        Just(Request::CloseSession),
        (
            any::<i64>(),
            paths.clone(),
            paths.clone(),
            paths.clone(),
            proptest::option::of((paths.clone(), paths))
        )
            .prop_map(|(relative_zxid, data, exist, child, persistent)| {
                Request::SetWatches(SetWatches {
                    relative_zxid,
                    data,
                    exist,
                    child,
                    persistent,
                })
            }),
        prop_oneof![Just(6), Just(14), Just(100), Just(-10), Just(0)].prop_map(Request::Unknown),
    ]
}

proptest! {
    #[test]
    fn requests_round_trip(xid in any::<i32>(), request in request()) {
        let mut out = Vec::new();
        encode_request(&mut out, xid, &request);
        let (header, back) = decode_request(body(&out)).unwrap();
        prop_assert_eq!(header.xid, xid);
        prop_assert_eq!(back, request);
    }

    #[test]
    fn arbitrary_request_bodies_never_panic_and_re_encode(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        if let Ok((header, request)) = decode_request(&bytes) {
            let mut out = Vec::new();
            encode_request(&mut out, header.xid, &request);
            prop_assert_eq!(decode_request(body(&out)), Ok((header, request)));
        }
        let _ = ConnectRequest::decode(&bytes);
        let _ = decode_reply(&bytes, OpCode::from_i32);
    }
}
