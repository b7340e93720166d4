//! The `jute` codec and the `zab` tree, sessions and watches against the real client the
//! workloads use (`zookeeper-client`), through a one-server stand-in for the `zab` node: every
//! write is prepared and applied at once, as a leader alone in its ensemble would. It checks
//! the byte layouts end to end — handshake, every request and reply, notifications, the
//! refusal — not the consensus, which is the node's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jute::{
    ConnectRequest, ErrorCode, FrameDecoder, OpCode, PING_XID, Record, ReplyHeader, Request,
    Response,
};
use targets::zab::prep::Preparer;
use targets::zab::sessions::{Connect, SessionTracker};
use targets::zab::tree::DataTree;
use targets::zab::txn::{Txn, TxnHeader, TxnOp};
use targets::zab::watches::{Watches, serve_read};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use zookeeper_client as zk;

struct State {
    tree: DataTree,
    watches: Watches,
    prep: Preparer,
    sessions: SessionTracker,
    zxid: i64,
    /// Each connected session's outgoing frames.
    outboxes: HashMap<i64, mpsc::UnboundedSender<Vec<u8>>>,
    start: Instant,
}

impl State {
    fn now(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    /// Applies a transaction as the next zxid and sends the notifications it fires.
    fn commit(&mut self, txn: &Txn) -> targets::zab::tree::Outcome {
        self.zxid += 1;
        let applied = self.tree.apply(self.zxid, txn);
        self.prep.applied(self.zxid);
        for (session, event) in self.watches.fire(&applied.triggers) {
            if let Some(out) = self.outboxes.get(&session) {
                let mut frame = Vec::new();
                jute::encode_notification(&mut frame, -1, &event);
                let _ = out.send(frame);
            }
        }
        if let TxnOp::CloseSession { session } = txn.op {
            self.sessions.remove(session);
            self.watches.remove_session(session);
        }
        applied.outcome
    }
}

async fn serve(listener: TcpListener, state: Arc<Mutex<State>>) {
    loop {
        let Ok((socket, _)) = listener.accept().await else {
            return;
        };
        tokio::spawn(connection(socket, state.clone()));
    }
}

/// Reads frames until one is whole; `None` when the peer is gone or sent garbage.
async fn next_frame(
    socket: &mut tokio::net::tcp::OwnedReadHalf,
    buf: &mut Vec<u8>,
) -> Option<Vec<u8>> {
    loop {
        match FrameDecoder::default().decode(buf) {
            Ok(Some((body, used))) => {
                let body = body.to_vec();
                buf.drain(..used);
                return Some(body);
            }
            Ok(None) => {}
            Err(_) => return None,
        }
        let mut chunk = [0; 4096];
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

async fn connection(socket: TcpStream, state: Arc<Mutex<State>>) {
    let (mut rd, mut wr) = socket.into_split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
    let writer = tokio::spawn(async move {
        while let Some(frame) = rx.recv().await {
            if frame.is_empty() || wr.write_all(&frame).await.is_err() {
                break; // An empty frame is the order to close.
            }
        }
    });
    let mut buf = Vec::new();
    let Some(body) = next_frame(&mut rd, &mut buf).await else {
        return;
    };
    let Ok(hello) = ConnectRequest::decode(&body) else {
        return;
    };
    let session = {
        let mut s = state.lock().unwrap();
        let (now, last) = (s.now(), s.tree.last_zxid());
        let mut out = Vec::new();
        let session = match s.sessions.connect(&hello, now, last) {
            Connect::Create {
                session,
                timeout_ms,
                response,
            } => {
                let header = TxnHeader {
                    session,
                    xid: 0,
                    time_ms: 0,
                };
                s.commit(&Txn {
                    header,
                    op: TxnOp::CreateSession {
                        session,
                        timeout_ms,
                    },
                });
                jute::encode_connect_response(&mut out, &response);
                Some(session)
            }
            Connect::Resume(response) => {
                jute::encode_connect_response(&mut out, &response);
                Some(response.session_id)
            }
            Connect::Refuse(response) => {
                jute::encode_connect_response(&mut out, &response);
                None
            }
            Connect::Behind => None,
        };
        let _ = tx.send(out);
        if let Some(session) = session {
            s.outboxes.insert(session, tx.clone());
        }
        session
    };
    let Some(session) = session else {
        let _ = tx.send(Vec::new());
        let _ = writer.await;
        return;
    };
    while let Some(body) = next_frame(&mut rd, &mut buf).await {
        let Ok((header, request)) = jute::decode_request(&body) else {
            break;
        };
        let mut s = state.lock().unwrap();
        let now = s.now();
        let mut out = Vec::new();
        let mut close = false;
        let (zxid, err, response) = if !s.sessions.touch(session, now) {
            (
                s.tree.last_zxid(),
                ErrorCode::SessionExpired.code(),
                Response::Empty,
            )
        } else if let Request::Unknown(_) = request {
            close = true;
            let h = Response::unimplemented(header.xid);
            (h.zxid, h.err, Response::Empty)
        } else if request.is_write() {
            let txn_header = TxnHeader {
                session,
                xid: header.xid,
                time_ms: 1_700_000_000_000,
            };
            let next = s.zxid + 1;
            let State { prep, tree, .. } = &mut *s;
            let txn = prep.prepare(tree, next, txn_header, &request).unwrap();
            close = request == Request::CloseSession;
            let outcome = s.commit(&txn);
            let (err, response) = outcome.reply(request.op());
            (s.zxid, err, response)
        } else {
            let last = s.tree.last_zxid();
            let State { tree, watches, .. } = &mut *s;
            match &request {
                Request::Ping => (last, 0, Response::Empty),
                Request::Sync { path } => (last, 0, Response::Sync { path: path.clone() }),
                Request::SetWatches(w) => {
                    for event in watches.restore(tree, session, w) {
                        jute::encode_notification(&mut out, -1, &event);
                    }
                    (last, 0, Response::Empty)
                }
                read => {
                    let (err, response) = serve_read(tree, watches, session, read).unwrap();
                    (last, err, response)
                }
            }
        };
        let xid = if request.op() == OpCode::Ping {
            PING_XID
        } else {
            header.xid
        };
        jute::encode_reply(&mut out, &ReplyHeader { xid, zxid, err }, &response);
        let _ = tx.send(out);
        if close {
            let _ = tx.send(Vec::new());
            break;
        }
    }
    state.lock().unwrap().outboxes.remove(&session);
    let _ = writer.await;
}

async fn start() -> (String, Arc<Mutex<State>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let state = Arc::new(Mutex::new(State {
        tree: DataTree::new(),
        watches: Watches::new(),
        prep: Preparer::new(),
        sessions: SessionTracker::new(1, 1_700_000_000_000, 42, 200),
        zxid: 0,
        outboxes: HashMap::new(),
        start: Instant::now(),
    }));
    tokio::spawn(serve(listener, state.clone()));
    (addr, state)
}

fn persistent() -> zk::CreateOptions<'static> {
    zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all())
}

async fn connect(addr: &str) -> zk::Client {
    zk::Client::connector()
        .with_session_timeout(Duration::from_secs(4))
        .connect(addr)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_real_client_reads_and_writes() {
    let (addr, _state) = start().await;
    let client = connect(&addr).await;
    assert_eq!(client.session_timeout(), Duration::from_secs(4));

    let (stat, _) = client.create("/a", b"one", &persistent()).await.unwrap();
    assert_eq!((stat.version, stat.data_length), (0, 3));
    assert!(matches!(
        client.create("/a", b"", &persistent()).await,
        Err(zk::Error::NodeExists)
    ));
    let (data, stat) = client.get_data("/a").await.unwrap();
    assert_eq!((data.as_slice(), stat.version), (&b"one"[..], 0));
    let stat = client.set_data("/a", b"two", Some(0)).await.unwrap();
    assert_eq!(stat.version, 1);
    assert!(matches!(
        client.set_data("/a", b"x", Some(0)).await,
        Err(zk::Error::BadVersion)
    ));

    let seq = zk::CreateMode::PersistentSequential.with_acls(zk::Acls::anyone_all());
    let (_, first) = client.create("/a/s-", b"", &seq).await.unwrap();
    let (_, second) = client.create("/a/s-", b"", &seq).await.unwrap();
    assert_eq!((first.into_i64(), second.into_i64()), (0, 1));
    let mut children = client.list_children("/a").await.unwrap();
    children.sort();
    assert_eq!(children, ["s-0000000000", "s-0000000001"]);
    let (_, stat) = client.get_children("/a").await.unwrap();
    assert_eq!((stat.num_children, stat.cversion), (2, 2));

    assert!(client.check_stat("/nope").await.unwrap().is_none());
    assert!(matches!(
        client.get_data("/nope").await,
        Err(zk::Error::NoNode)
    ));
    assert!(matches!(
        client.delete("/a", None).await,
        Err(zk::Error::NotEmpty)
    ));
    client.delete("/a/s-0000000000", Some(0)).await.unwrap();
    client.sync("/a").await.unwrap();
    let mut root = client.list_children("/").await.unwrap();
    root.sort();
    assert_eq!(root, ["a", "zookeeper"]);

    // An op the server does not know: UNIMPLEMENTED, then the connection closes and the
    // client comes back with its session.
    assert!(matches!(
        client.get_acl("/").await,
        Err(zk::Error::Unimplemented)
    ));
    let stat = tokio::time::timeout(
        Duration::from_secs(5),
        client.set_data("/a", b"three", Some(1)),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(stat.version, 2);

    // The client that spoke create (op 1) before ZooKeeper 3.5 gets no Stat back.
    let old = zk::Client::connector()
        .with_server_version(3, 4, 0)
        .connect(&addr)
        .await
        .unwrap();
    old.create("/old", b"", &persistent()).await.unwrap();
    assert!(old.check_stat("/old").await.unwrap().is_some());
}

#[tokio::test]
async fn watches_and_ephemerals_reach_the_real_client() {
    let (addr, _state) = start().await;
    let watcher = connect(&addr).await;
    let owner = connect(&addr).await;

    let (_, exists) = watcher.check_and_watch_stat("/lock").await.unwrap();
    let ephemeral = zk::CreateMode::Ephemeral.with_acls(zk::Acls::anyone_all());
    owner.create("/lock", b"", &ephemeral).await.unwrap();
    assert_eq!(
        exists.changed().await.event_type,
        zk::EventType::NodeCreated
    );

    let (_, stat, deleted) = watcher.get_and_watch_data("/lock").await.unwrap();
    assert_eq!(stat.ephemeral_owner, owner.session_id().0);
    assert!(matches!(
        owner.create("/lock/c", b"", &persistent()).await,
        Err(zk::Error::NoChildrenForEphemerals)
    ));
    // Closing the owner's session deletes its ephemeral, and the watch fires.
    let session = owner.session().clone();
    drop(owner);
    let event = tokio::time::timeout(Duration::from_secs(5), deleted.changed())
        .await
        .unwrap();
    assert_eq!(
        (event.event_type, event.path.as_str()),
        (zk::EventType::NodeDeleted, "/lock")
    );
    assert!(watcher.check_stat("/lock").await.unwrap().is_none());

    // The closed session cannot come back: ZooKeeper's refusal reads as "expired".
    let again = zk::Client::connector()
        .with_session(session)
        .connect(&addr)
        .await;
    assert!(matches!(again, Err(zk::Error::SessionExpired)), "{again:?}");
}

#[tokio::test]
async fn a_live_session_resumes_on_a_new_connection() {
    let (addr, state) = start().await;
    let first = connect(&addr).await;
    first
        .create(
            "/e",
            b"",
            &zk::CreateMode::Ephemeral.with_acls(zk::Acls::anyone_all()),
        )
        .await
        .unwrap();
    let session = first.session().clone();
    let resumed = zk::Client::connector()
        .with_session(session)
        .connect(&addr)
        .await
        .unwrap();
    assert_eq!(resumed.session_id(), first.session_id());
    assert!(resumed.check_stat("/e").await.unwrap().is_some());
    assert_eq!(state.lock().unwrap().tree.sessions().len(), 1);
}
