//! The event loop: the one task that owns the ZAB core, the data tree, the leader's preparer,
//! the session table, the watches and the storage — and the state of every client connection.
//!
//! Every input arrives here — a tick, a peer's message, a client's handshake or request — so
//! nothing needs a lock and the inputs have one order. After each batch of inputs the loop
//! drains the core's [`Ready`] exactly as the contract in [`core`](crate::zab::core) says:
//! persist and fsync ([`Storage`]); then send the messages; then apply the committed
//! transactions to the tree, answering the clients they decide and firing watches; then answer
//! the syncs that are done.
//!
//! # How a write flows
//!
//! ```text
//!  client ─▶ its server: queue the request on the connection (replies leave in request order)
//!    follower: PeerMessage::Request (the frame as it came) ─▶ leader
//!    leader:   touch the session, Preparer::prepare(tree, next zxid, header, request) ─▶ Txn
//!              ─▶ Zab::propose ─▶ … ZAB … ─▶ committed on every server
//!  every server: DataTree::apply(zxid, txn) ─▶ watches fire (notifications first) ─▶
//!    the server the client is on answers (session, xid) with the outcome and the zxid
//! ```
//!
//! A connection's replies leave in the order of its requests, as ZooKeeper's do: reads, pings
//! and syncs queue behind the writes before them, and a read is served from the tree when it
//! reaches the head of the queue — after the writes before it were applied.
//!
//! # Sessions
//!
//! Every server keeps a [`SessionTracker`] mirroring the tree's sessions (added when a
//! CreateSession is applied, removed with the CloseSession), so that any server can resume a
//! session and check its password (derived from the ensemble's secret). A new session's id is
//! drawn by the server the client asked — its server id is in the id's top byte, so ids never
//! clash — and its creation goes through the log; the client is answered once it is applied.
//! Only the leader's table expires sessions: followers pass on which sessions were active
//! (PeerMessage::Touch, every tick), and a new leader starts a fresh table in which every
//! session has a full timeout, as ZooKeeper's new leader gives them. A server that has not
//! applied a session's creation yet closes a reconnect to it unanswered (the client tries
//! again) rather than refuse it: only a session whose close it applied is refused.
//!
//! # Serving
//!
//! A server serves only while [`Status::synced`]: a leader established, or a follower in
//! broadcast. On leaving that state it closes every client connection (the clients move to a
//! server that serves, with their sessions), and the connections task refuses new ones.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use jute::{
    ConnectRequest, ConnectResponse, ErrorCode, OpCode, PING_XID, ReplyHeader, Request,
    RequestHeader, Response,
};
use tokio::sync::{mpsc, watch};
use tokio::time::{MissedTickBehavior, interval};

use super::clients::{ConnId, FromClient, ToClient};
use super::storage::Storage;
use super::wire::{PeerMessage, client_zxid};
use super::{Error, SECRET, SESSION_TICK_MS};
use crate::peers::{NodeId, Peers};
use crate::shell::Logger;
use crate::zab::core::{Ready, Role, Status, Zab};
use crate::zab::prep::Preparer;
use crate::zab::sessions::{Connect, SessionTracker, password};
use crate::zab::tree::DataTree;
use crate::zab::txn::{Txn, TxnHeader, TxnOp};
use crate::zab::watches::{Watches, serve_read};

/// Inputs taken from one channel before the loop drains a `Ready`: one fsync for many writes.
const BATCH: usize = 256;

/// A request waiting in its connection's queue.
#[derive(Debug)]
enum Queued {
    /// A reply ready to go once those before it have.
    Done(Vec<u8>),
    /// A read (or SetWatches), served from the tree when it reaches the head.
    Read(RequestHeader, Request),
    /// A write or sync waiting for its commit or its sync: `reply` is set then.
    Waiting { xid: i32, reply: Option<Vec<u8>> },
    /// RemoveWatches, done when it reaches the head (after the reads before it set theirs).
    RemoveWatch { xid: i32, path: String, kind: i32 },
    /// Close the connection here.
    Close,
}

/// ZooKeeper's RemoveWatches op, which `jute` leaves undecoded: `zookeeper-client` sends it
/// when a watcher is dropped before it fired (the lock recipe does, giving up on waiting).
const REMOVE_WATCHES: i32 = 18;

/// The path and watcher type of a RemoveWatches request's frame body (header included).
fn remove_watches(body: &[u8]) -> Option<(String, i32)> {
    let mut r = jute::Reader::new(body.get(8..)?);
    let path = r.ustring("removeWatches.path").ok()?;
    let kind = r.int("removeWatches.type").ok()?;
    r.finish("removeWatches").ok()?;
    Some((path, kind))
}

#[derive(Debug)]
struct Conn {
    out: mpsc::UnboundedSender<ToClient>,
    /// Set once the handshake is answered (or, for a new session, once its creation is
    /// proposed).
    session: Option<i64>,
    queue: VecDeque<Queued>,
}

/// The server's state, owned by [`Server::run`].
pub(crate) struct Server {
    id: NodeId,
    zab: Zab,
    tree: DataTree,
    prep: Preparer,
    tracker: SessionTracker,
    watches: Watches,
    storage: Storage,
    peers: Peers<PeerMessage>,
    log: Logger,
    status: watch::Sender<Status>,
    start: Instant,
    /// Whether this server was an established leader after the last `Ready`.
    leading: bool,
    conns: HashMap<ConnId, Conn>,
    /// The connection each session is on, at this server.
    sessions: HashMap<i64, ConnId>,
    /// New sessions waiting for their CreateSession to be applied: the connection, the answer.
    creating: HashMap<i64, (ConnId, ConnectResponse)>,
    /// Writes waiting for their transaction, by `(session, xid)`: the connection and the op.
    writes: HashMap<(i64, i32), (ConnId, OpCode)>,
    /// Syncs waiting for the core, by context: the connection, the xid and the path.
    syncs: HashMap<u64, (ConnId, i32, String)>,
    next_sync: u64,
    /// Sessions active here since the leader was last told (followers).
    touched: BTreeSet<i64>,
    /// Sessions whose close this server applied: a reconnect to one of them is refused.
    closed: HashSet<i64>,
}

/// Milliseconds since the Unix epoch on this machine's clock: a transaction's time.
fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn reply_frame(xid: i32, zxid: i64, err: i32, response: &Response) -> Vec<u8> {
    let mut out = Vec::new();
    jute::encode_reply(&mut out, &ReplyHeader { xid, zxid, err }, response);
    out
}

impl Server {
    pub(crate) fn new(
        zab: Zab,
        storage: Storage,
        peers: Peers<PeerMessage>,
        log: Logger,
        status: watch::Sender<Status>,
    ) -> Server {
        let id = zab.id();
        Server {
            id,
            zab,
            // Empty: the core delivers every committed transaction again after a restart.
            tree: DataTree::new(),
            prep: Preparer::new(),
            tracker: Self::fresh_tracker(id),
            watches: Watches::new(),
            storage,
            peers,
            log,
            status,
            start: Instant::now(),
            leading: false,
            conns: HashMap::new(),
            sessions: HashMap::new(),
            creating: HashMap::new(),
            writes: HashMap::new(),
            syncs: HashMap::new(),
            next_sync: 0,
            touched: BTreeSet::new(),
            closed: HashSet::new(),
        }
    }

    fn fresh_tracker(id: NodeId) -> SessionTracker {
        let server = u8::try_from(id).unwrap_or(u8::MAX);
        SessionTracker::new(server, wall_ms(), SECRET, SESSION_TICK_MS)
    }

    /// Milliseconds since the server started: the session table's clock.
    fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Runs until `shutdown` completes (`Ok`) or the disk fails (`Err`: a server that cannot
    /// persist must not go on).
    pub(crate) async fn run(
        mut self,
        tick: Duration,
        mut inbox: mpsc::Receiver<PeerMessage>,
        mut clients: mpsc::Receiver<FromClient>,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), Error> {
        let mut ticker = interval(tick);
        // After a pause (SIGSTOP), tick at the normal pace rather than all missed ticks at once.
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        tokio::pin!(shutdown);
        self.handle_ready()?;
        loop {
            tokio::select! {
                () = &mut shutdown => return Ok(()),
                _ = ticker.tick() => self.tick(),
                Some(msg) = inbox.recv() => {
                    self.peer(msg);
                    for _ in 1..BATCH {
                        let Ok(msg) = inbox.try_recv() else { break };
                        self.peer(msg);
                    }
                }
                Some(event) = clients.recv() => {
                    self.client(event);
                    for _ in 1..BATCH {
                        let Ok(event) = clients.try_recv() else { break };
                        self.client(event);
                    }
                }
            }
            self.handle_ready()?;
        }
    }

    fn tick(&mut self) {
        self.zab.tick();
        if self.leading {
            let now = self.now();
            for session in self.tracker.expired(now) {
                let Ok(next) = self.zab.next_zxid() else {
                    break;
                };
                let txn = self
                    .prep
                    .expire(&self.tree, client_zxid(next), session, wall_ms());
                self.propose(&txn);
            }
        } else if !self.touched.is_empty()
            && let Some(leader) = self.zab.leader()
        {
            let sessions = std::mem::take(&mut self.touched).into_iter().collect();
            self.peers.send(PeerMessage::Touch {
                from: self.id,
                to: leader,
                sessions,
            });
        }
    }

    fn propose(&mut self, txn: &Txn) {
        if self.zab.propose(txn.to_bytes()).is_err() {
            // Not leading after all: nothing prepared will be applied as prepared.
            self.prep.clear();
        }
    }

    /// A message from a peer: the core's, or a follower's on behalf of its clients.
    fn peer(&mut self, msg: PeerMessage) {
        match msg {
            PeerMessage::Zab(msg) => self.zab.step(msg),
            // Only an established leader takes requests; a follower that sent one to a
            // server that no longer leads loses it, and its client times out.
            _ if !self.leading => {}
            PeerMessage::Request { session, body, .. } => {
                if let Ok((header, request)) = jute::decode_request(&body) {
                    self.prepare(session, header.xid, &request);
                }
            }
            PeerMessage::CreateSession {
                session,
                timeout_ms,
                ..
            } => {
                let now = self.now();
                self.tracker.add(session, timeout_ms, now);
                self.create_session(session, timeout_ms);
            }
            PeerMessage::Touch { sessions, .. } => {
                let now = self.now();
                for session in sessions {
                    self.tracker.touch(session, now);
                }
            }
        }
    }

    /// The leader proposes a new session.
    fn create_session(&mut self, session: i64, timeout_ms: i32) {
        let txn = Txn {
            header: TxnHeader {
                session,
                xid: 0,
                time_ms: wall_ms(),
            },
            op: TxnOp::CreateSession {
                session,
                timeout_ms,
            },
        };
        self.propose(&txn);
    }

    /// The leader turns a client's write into a transaction and proposes it. A session that
    /// is not live gets its error in order, as a transaction too.
    fn prepare(&mut self, session: i64, xid: i32, request: &Request) {
        let Ok(next) = self.zab.next_zxid() else {
            return;
        };
        let header = TxnHeader {
            session,
            xid,
            time_ms: wall_ms(),
        };
        let now = self.now();
        let txn = if !self.tracker.touch(session, now) {
            Txn {
                header,
                op: TxnOp::Error {
                    code: ErrorCode::SessionExpired.code(),
                },
            }
        } else {
            if *request == Request::CloseSession {
                self.tracker.close(session);
            }
            match self
                .prep
                .prepare(&self.tree, client_zxid(next), header, request)
            {
                Some(txn) => txn,
                None => return,
            }
        };
        self.propose(&txn);
    }

    fn client(&mut self, event: FromClient) {
        match event {
            FromClient::Hello { conn, request, out } => {
                let mut c = Conn {
                    out,
                    session: None,
                    queue: VecDeque::new(),
                };
                if !self.zab.status().synced() || self.not_here_yet(&request) {
                    let _ = c.out.send(ToClient::Close);
                    return;
                }
                let now = self.now();
                match self.tracker.connect(&request, now, self.tree.last_zxid()) {
                    Connect::Create {
                        session,
                        timeout_ms,
                        response,
                    } => {
                        if self.leading {
                            self.create_session(session, timeout_ms);
                        } else if let Some(leader) = self.zab.leader() {
                            self.peers.send(PeerMessage::CreateSession {
                                from: self.id,
                                to: leader,
                                session,
                                timeout_ms,
                            });
                        }
                        self.creating.insert(session, (conn, response));
                    }
                    Connect::Resume(response) => {
                        let session = response.session_id;
                        let mut frame = Vec::new();
                        jute::encode_connect_response(&mut frame, &response);
                        let _ = c.out.send(ToClient::Frame(frame));
                        c.session = Some(session);
                        self.active(session);
                        self.bind(session, conn);
                    }
                    Connect::Refuse(response) => {
                        let mut frame = Vec::new();
                        jute::encode_connect_response(&mut frame, &response);
                        let _ = c.out.send(ToClient::Frame(frame));
                        let _ = c.out.send(ToClient::Close);
                        return;
                    }
                    Connect::Behind => {
                        let _ = c.out.send(ToClient::Close);
                        return;
                    }
                }
                self.conns.insert(conn, c);
            }
            FromClient::Request {
                conn,
                header,
                request,
                body,
            } => self.request(conn, header, request, body),
            FromClient::Gone { conn } => self.forget(conn),
        }
    }

    /// Whether `request` reconnects to a session this server has not applied the creation of
    /// yet. Its password is right, so some server answered its creation, which was therefore
    /// committed: this server is behind, and closes the connection without an answer so that
    /// the client tries again (ZooKeeper's follower asks its leader instead). Refusing would
    /// tell a live session it expired.
    fn not_here_yet(&self, request: &ConnectRequest) -> bool {
        let session = request.session_id;
        session != 0
            && self.tracker.timeout(session).is_none()
            && !self.closed.contains(&session)
            && request.passwd == password(SECRET, session)
    }

    /// Notes that `session` is active here: a follower tells its leader with the next tick
    /// (the leader's own table was touched already).
    fn active(&mut self, session: i64) {
        if !self.leading {
            self.touched.insert(session);
        }
    }

    /// Puts `session` on connection `conn`; a connection it was on before is closed, as
    /// ZooKeeper closes a session's old connection when it reconnects.
    fn bind(&mut self, session: i64, conn: ConnId) {
        if let Some(old) = self.sessions.insert(session, conn)
            && old != conn
            && let Some(c) = self.conns.remove(&old)
        {
            let _ = c.out.send(ToClient::Close);
        }
    }

    /// Drops a connection and what waits on it (a write may still commit, unanswered); its
    /// session lives on until it expires.
    fn forget(&mut self, conn: ConnId) {
        let Some(c) = self.conns.remove(&conn) else {
            return;
        };
        let _ = c.out.send(ToClient::Close);
        if let Some(session) = c.session
            && self.sessions.get(&session) == Some(&conn)
        {
            self.sessions.remove(&session);
            self.watches.remove_session(session);
        }
        self.creating.retain(|_, (c, _)| *c != conn);
        self.writes.retain(|_, (c, _)| *c != conn);
        self.syncs.retain(|_, (c, _, _)| *c != conn);
    }

    fn request(&mut self, conn: ConnId, header: RequestHeader, request: Request, body: Vec<u8>) {
        let Some(session) = self.conns.get(&conn).and_then(|c| c.session) else {
            // A request before the session exists: the client did not wait for the handshake.
            return self.forget(conn);
        };
        let now = self.now();
        let last = self.tree.last_zxid();
        let queued = if !self.tracker.touch(session, now) {
            let expired = ErrorCode::SessionExpired.code();
            vec![
                Queued::Done(reply_frame(header.xid, last, expired, &Response::Empty)),
                Queued::Close,
            ]
        } else {
            self.active(session);
            match request {
                Request::Ping => vec![Queued::Done(reply_frame(
                    PING_XID,
                    last,
                    0,
                    &Response::Empty,
                ))],
                Request::Unknown(op) => match (op, remove_watches(&body)) {
                    (REMOVE_WATCHES, Some((path, kind))) => vec![Queued::RemoveWatch {
                        xid: header.xid,
                        path,
                        kind,
                    }],
                    // What ZooKeeper 3.8 does with an op it does not know.
                    _ => {
                        let h = Response::unimplemented(header.xid);
                        vec![
                            Queued::Done(reply_frame(h.xid, h.zxid, h.err, &Response::Empty)),
                            Queued::Close,
                        ]
                    }
                },
                Request::Sync { path } => {
                    let ctx = self.next_sync;
                    self.next_sync += 1;
                    match self.zab.sync(ctx) {
                        Ok(()) => {
                            self.syncs.insert(ctx, (conn, header.xid, path));
                            vec![Queued::Waiting {
                                xid: header.xid,
                                reply: None,
                            }]
                        }
                        // Not serving: the connection is about to close anyway.
                        Err(_) => vec![Queued::Close],
                    }
                }
                request if request.is_write() => {
                    self.writes
                        .insert((session, header.xid), (conn, request.op()));
                    if self.leading {
                        self.prepare(session, header.xid, &request);
                    } else if let Some(leader) = self.zab.leader() {
                        self.peers.send(PeerMessage::Request {
                            from: self.id,
                            to: leader,
                            session,
                            body,
                        });
                    }
                    vec![Queued::Waiting {
                        xid: header.xid,
                        reply: None,
                    }]
                }
                read => vec![Queued::Read(header, read)],
            }
        };
        if let Some(c) = self.conns.get_mut(&conn) {
            c.queue.extend(queued);
        }
        self.flush(conn);
    }

    /// Sends a connection's replies that are ready, in order, up to the first still waiting.
    fn flush(&mut self, conn: ConnId) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let session = c.session.unwrap_or(0);
        let mut close = false;
        while let Some(front) = c.queue.front_mut() {
            let frame = match front {
                Queued::Done(frame) => std::mem::take(frame),
                Queued::Waiting { reply: None, .. } => break,
                Queued::Waiting { reply, .. } => reply.take().unwrap_or_default(),
                Queued::Read(header, request) => {
                    serve(&self.tree, &mut self.watches, session, header, request)
                }
                Queued::RemoveWatch { xid, path, kind } => {
                    let err = if self.watches.remove(session, path, *kind) {
                        0
                    } else {
                        ErrorCode::NoWatcher.code()
                    };
                    reply_frame(*xid, self.tree.last_zxid(), err, &Response::Empty)
                }
                Queued::Close => {
                    close = true;
                    break;
                }
            };
            c.queue.pop_front();
            if c.out.send(ToClient::Frame(frame)).is_err() {
                close = true;
                break;
            }
        }
        if close {
            self.forget(conn);
        }
    }

    /// Sets the reply of the write or sync `xid` waiting on `conn`, and sends what is ready.
    fn answer(&mut self, conn: ConnId, xid: i32, frame: Vec<u8>) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let waiting = c.queue.iter_mut().find_map(|q| match q {
            Queued::Waiting { xid: x, reply } if *x == xid && reply.is_none() => Some(reply),
            _ => None,
        });
        if let Some(reply) = waiting {
            *reply = Some(frame);
        }
        self.flush(conn);
    }

    /// Does everything the core asked for since the last call, in the contract's order.
    fn handle_ready(&mut self) -> Result<(), Error> {
        let Ready {
            truncate_after,
            append,
            epochs,
            messages,
            committed,
            synced,
            failed_syncs,
        } = self.zab.ready();
        self.storage
            .persist(truncate_after, &append, epochs)
            .map_err(|e| Error(format!("cannot persist the zab log: {e}")))?;
        for msg in messages {
            self.peers.send(PeerMessage::Zab(msg));
        }
        for txn in committed {
            self.apply(client_zxid(txn.zxid), &txn.payload);
        }
        for (ctx, _) in synced {
            if let Some((conn, xid, path)) = self.syncs.remove(&ctx) {
                let frame = reply_frame(xid, self.tree.last_zxid(), 0, &Response::Sync { path });
                self.answer(conn, xid, frame);
            }
        }
        for ctx in failed_syncs {
            if let Some((conn, _, _)) = self.syncs.remove(&ctx) {
                self.forget(conn);
            }
        }
        self.transitions();
        Ok(())
    }

    /// Applies one committed transaction, fires the watches it triggers and answers its client
    /// if the client is here.
    fn apply(&mut self, zxid: i64, payload: &[u8]) {
        let txn = match Txn::from_bytes(payload) {
            Ok(txn) => txn,
            Err(e) => {
                // Every replica skips it alike, so they stay in agreement.
                self.log
                    .line(format_args!("transaction {zxid:#x} is not one: {e}"));
                return;
            }
        };
        let applied = self.tree.apply(zxid, &txn);
        if self.leading {
            self.prep.applied(zxid);
        }
        for (session, event) in self.watches.fire(&applied.triggers) {
            if let Some(c) = self.sessions.get(&session).and_then(|c| self.conns.get(c)) {
                let mut frame = Vec::new();
                // ZooKeeper 3.8 sends -1 as a notification's zxid.
                jute::encode_notification(&mut frame, -1, &event);
                let _ = c.out.send(ToClient::Frame(frame));
            }
        }
        let now = self.now();
        match txn.op {
            TxnOp::CreateSession {
                session,
                timeout_ms,
            } => {
                if !self.tracker.is_live(session) {
                    self.tracker.add(session, timeout_ms, now);
                }
                if let Some((conn, response)) = self.creating.remove(&session)
                    && let Some(c) = self.conns.get_mut(&conn)
                {
                    let mut frame = Vec::new();
                    jute::encode_connect_response(&mut frame, &response);
                    let _ = c.out.send(ToClient::Frame(frame));
                    c.session = Some(session);
                    self.bind(session, conn);
                }
                return;
            }
            TxnOp::CloseSession { session } => {
                self.tracker.remove(session);
                self.closed.insert(session);
                self.watches.remove_session(session);
                let asked = self
                    .writes
                    .contains_key(&(txn.header.session, txn.header.xid));
                if !asked && let Some(conn) = self.sessions.remove(&session) {
                    // Expired: its connection here goes, and the client learns on reconnecting.
                    self.forget(conn);
                }
            }
            _ => {}
        }
        let Some((conn, op)) = self.writes.remove(&(txn.header.session, txn.header.xid)) else {
            return;
        };
        let (err, response) = applied.outcome.reply(op);
        self.answer(
            conn,
            txn.header.xid,
            reply_frame(txn.header.xid, zxid, err, &response),
        );
        if op == OpCode::CloseSession {
            self.sessions.remove(&txn.header.session);
            if let Some(c) = self.conns.get_mut(&conn) {
                c.queue.push_back(Queued::Close);
            }
            self.flush(conn);
        }
    }

    /// Reacts to changes of role: a new leader takes over the sessions; a server that stops
    /// serving drops its clients. Publishes the status.
    fn transitions(&mut self) {
        let status = self.zab.status();
        let leading = status.role == Role::Leading && status.synced();
        if leading != self.leading {
            // The table starts afresh from the tree: a new leader gives every session a full
            // timeout, and a deposed one forgets the closes it proposed, which may never
            // commit (it must not tell a live session it expired).
            let now = self.now();
            self.tracker = Self::fresh_tracker(self.id);
            self.tracker.adopt(self.tree.sessions(), now);
            self.touched.clear();
            // What it prepared may never be applied as prepared.
            self.prep.clear();
        }
        self.leading = leading;
        if !status.synced() && !self.conns.is_empty() {
            for (_, c) in self.conns.drain() {
                let _ = c.out.send(ToClient::Close);
            }
            self.sessions.clear();
            self.creating.clear();
            self.writes.clear();
            self.syncs.clear();
            self.watches = Watches::new();
        }
        let before = self.status.send_replace(status);
        if (before.role, before.phase, before.leader) != (status.role, status.phase, status.leader)
        {
            let leader = status
                .leader
                .map_or("none".to_string(), |l| format!("n{l}"));
            self.log.line(format_args!(
                "{:?} ({:?}) in epoch {} (leader: {leader})",
                status.role, status.phase, status.current_epoch
            ));
        }
    }
}

/// Serves a queued read (or SetWatches) from the tree: the reply frame, after the
/// notifications a SetWatches fires at once.
fn serve(
    tree: &DataTree,
    watches: &mut Watches,
    session: i64,
    header: &RequestHeader,
    request: &Request,
) -> Vec<u8> {
    let last = tree.last_zxid();
    if let Request::SetWatches(w) = request {
        let mut out = Vec::new();
        for event in watches.restore(tree, session, w) {
            jute::encode_notification(&mut out, -1, &event);
        }
        jute::encode_reply(
            &mut out,
            &ReplyHeader {
                xid: header.xid,
                zxid: last,
                err: 0,
            },
            &Response::Empty,
        );
        return out;
    }
    let (err, response) = serve_read(tree, watches, session, request)
        .unwrap_or((ErrorCode::Unimplemented.code(), Response::Empty));
    reply_frame(header.xid, last, err, &response)
}
