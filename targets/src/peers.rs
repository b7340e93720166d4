//! The peer transport of the targets whose nodes talk (`raft-kv`, `zab`, `2pc`, `3pc`): their
//! messages between nodes, over one-way TCP connections. A message is anything serde can carry that names its
//! addressee ([`Addressed`]).
//!
//! To send to peer P, a node dials the address it was given for P — the harness's proxy for the
//! link from this node to P — and writes frames; it never reads from that connection. P's
//! messages to this node come on P's own connection, accepted on this node's `--peer` address.
//! So each direction of a pair is its own connection through its own proxy, and the harness can
//! cut one direction and leave the other: a one-way partition is exactly that, and replies
//! riding back on the request's connection would defeat it.
//!
//! ```text
//!  node loop ──Peers::send──▶ bounded queue per peer ──sender task──▶ TCP ──▶ proxy ──▶ peer
//!  node loop ◀──mpsc────────── reader task per connection ◀── TCP ◀── listener (--peer)
//! ```
//!
//! Delivery is best effort, which is all Raft and ZAB ask: a full queue drops the message (the core
//! retransmits whatever matters on its next heartbeat), and a failed connection is redialled
//! after a short backoff, losing whatever was in flight.
//!
//! A frame is a 4-byte big-endian length and that many bytes of a serde_json message.
//! [`encode`] and [`parse`] do no I/O.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep, timeout};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::shell::Logger;

/// A node's number: `n3` is node 3, in `raft-kv` and `zab` alike.
pub(crate) type NodeId = u64;

/// A message the transport can carry: serializable, and addressed to one node. `pub` (in a
/// private module) because the transaction shell's public `Protocol` trait names it.
pub trait Addressed: Serialize + DeserializeOwned + Send + 'static {
    /// The node it goes to.
    fn to(&self) -> NodeId;
}

/// The 2PC and 3PC messages alike.
impl<B: Serialize + DeserializeOwned + Send + 'static> Addressed
    for crate::twopc::core::Envelope<B>
{
    fn to(&self) -> NodeId {
        self.to
    }
}

/// `n3` → 3: a node's name on the command line of `zab` and the 2PC and 3PC nodes (n1 to n255).
pub(crate) fn parse_name(name: &str) -> Result<NodeId, String> {
    match name.strip_prefix('n').map(str::parse::<u8>) {
        Some(Ok(id)) if id > 0 && !name[1..].starts_with('+') => Ok(NodeId::from(id)),
        _ => Err(format!("{name:?} is not a node name like n1 (n1 to n255)")),
    }
}

/// A `--peers` list, `n1=HOST:PORT,n2=HOST:PORT` (may be empty): where node `me` sends to
/// each other node. Each named once, never `me`.
pub(crate) fn parse_peers(text: &str, me: NodeId) -> Result<Vec<(NodeId, SocketAddr)>, String> {
    let mut peers = Vec::new();
    for item in text.split(',').filter(|s| !s.trim().is_empty()) {
        let (name, addr) = item
            .split_once('=')
            .ok_or_else(|| format!("--peers: {item:?} is not NAME=HOST:PORT"))?;
        let peer = parse_name(name.trim())?;
        let addr: SocketAddr = addr
            .trim()
            .parse()
            .map_err(|e| format!("--peers: {addr:?}: {e}"))?;
        if peer == me || peers.iter().any(|&(p, _)| p == peer) {
            return Err(format!("--peers: n{peer} appears twice"));
        }
        peers.push((peer, addr));
    }
    Ok(peers)
}

impl Addressed for crate::raft::Message {
    fn to(&self) -> NodeId {
        self.to
    }
}

/// Messages waiting for one peer's connection. A leader sends a few per tick to each peer, so
/// this is seconds of traffic: beyond it the link is down or the peer stalled, and old messages
/// are worth little.
const QUEUE: usize = 1024;
/// The largest frame accepted. A Raft append carries at most 256 small entries; a ZAB
/// synchronization may carry a whole history (serde_json spells bytes as numbers, so a long
/// run's history is megabytes). Anything larger is a broken stream.
const MAX_FRAME: usize = 64 << 20;
/// Redial delays, doubling from the first to the last while dials keep failing.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(10), Duration::from_millis(320));
/// A connection that lived this long was healthy: the next failure starts the backoff afresh.
const HEALTHY: Duration = Duration::from_secs(1);
/// How long a dial may take. Loopback dials finish at once or are refused; this only bounds a
/// pathological case.
const DIAL_TIMEOUT: Duration = Duration::from_secs(1);
/// Queued frames are gathered into one write up to about this many bytes.
const BATCH_BYTES: usize = 64 << 10;

/// Why a byte stream is not a sequence of frames.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum FrameError {
    TooLarge(usize),
    Malformed(String),
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::TooLarge(len) => write!(f, "frame of {len} bytes"),
            FrameError::Malformed(why) => write!(f, "malformed message: {why}"),
        }
    }
}

/// Appends `msg`, framed, to `out`.
pub(crate) fn encode<M: Addressed>(msg: &M, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    serde_json::to_writer(&mut *out, msg).expect("a message is plain data and always serializes");
    let len = u32::try_from(out.len() - start - 4).expect("a message is far below 4 GiB");
    out[start..start + 4].copy_from_slice(&len.to_be_bytes());
}

/// Takes one whole frame off the front of `buf`: `Ok(None)` if `buf` does not hold one yet.
pub(crate) fn parse<M: Addressed>(buf: &mut BytesMut) -> Result<Option<M>, FrameError> {
    if buf.len() < 4 {
        return Ok(None);
    }
    let len = u32::from_be_bytes(buf[..4].try_into().expect("4 bytes")) as usize;
    if len > MAX_FRAME {
        return Err(FrameError::TooLarge(len));
    }
    if buf.len() < 4 + len {
        // Room for the rest, so that the next read can complete the frame.
        buf.reserve(4 + len - buf.len());
        return Ok(None);
    }
    let msg =
        serde_json::from_slice(&buf[4..4 + len]).map_err(|e| FrameError::Malformed(e.to_string()));
    buf.advance(4 + len);
    msg.map(Some)
}

/// The sending side: one queue, and one task draining it, per peer.
#[derive(Debug)]
pub(crate) struct Peers<M> {
    queues: BTreeMap<NodeId, mpsc::Sender<M>>,
}

impl<M: Addressed> Peers<M> {
    /// Starts a sender task for each `(peer, address)` in `tasks`.
    pub(crate) fn start(
        peers: &[(NodeId, SocketAddr)],
        log: &Logger,
        tasks: &mut JoinSet<()>,
    ) -> Peers<M> {
        let mut queues = BTreeMap::new();
        for &(id, addr) in peers {
            let (tx, rx) = mpsc::channel(QUEUE);
            queues.insert(id, tx);
            tasks.spawn(sender(id, addr, rx, log.clone()));
        }
        Peers { queues }
    }

    /// Queues `msg` for its addressee; drops it if the queue is full or the addressee unknown.
    pub(crate) fn send(&self, msg: M) {
        if let Some(queue) = self.queues.get(&msg.to()) {
            // Full: the link is down or slow, and the core will say it again.
            let _ = queue.try_send(msg);
        }
    }
}

/// Delivers the queue for `peer` over connections to `addr`, redialling as needed. Ends when the
/// queue closes.
async fn sender<M: Addressed>(
    peer: NodeId,
    addr: SocketAddr,
    mut queue: mpsc::Receiver<M>,
    log: Logger,
) {
    let mut backoff = BACKOFF.0;
    // Whether the link was last seen up, so that changes are logged, not every failed dial.
    let mut up = true;
    let mut buf = Vec::new();
    loop {
        // An idle link costs nothing: dial only once there is something to say.
        let Some(first) = queue.recv().await else {
            return;
        };
        let dialed = match timeout(DIAL_TIMEOUT, TcpStream::connect(addr)).await {
            Ok(dialed) => dialed,
            Err(_) => Err(std::io::ErrorKind::TimedOut.into()),
        };
        let mut stream = match dialed {
            Ok(stream) => stream,
            Err(e) => {
                if std::mem::replace(&mut up, false) {
                    log.line(format_args!("link to n{peer} ({addr}) down: {e}"));
                }
                backoff = pause(backoff).await;
                continue;
            }
        };
        // Heartbeats are tiny and latency-bound.
        let _ = stream.set_nodelay(true);
        let connected = Instant::now();
        let mut next = Some(first);
        let error = loop {
            let msg = match next.take() {
                Some(msg) => msg,
                None => match queue.recv().await {
                    Some(msg) => msg,
                    None => return,
                },
            };
            buf.clear();
            encode(&msg, &mut buf);
            while buf.len() < BATCH_BYTES {
                let Ok(msg) = queue.try_recv() else { break };
                encode(&msg, &mut buf);
            }
            if let Err(e) = stream.write_all(&buf).await {
                break e;
            }
            // Through a proxy, a dial succeeds even when the link is cut; only a connection
            // that keeps carrying traffic shows the link is up (and logging it once per such
            // connection keeps a cut link from flooding the log).
            if !up && connected.elapsed() >= HEALTHY {
                up = true;
                log.line(format_args!("link to n{peer} ({addr}) up"));
            }
        };
        if std::mem::replace(&mut up, false) {
            log.line(format_args!("link to n{peer} ({addr}) down: {error}"));
        }
        if connected.elapsed() >= HEALTHY {
            backoff = BACKOFF.0;
        }
        backoff = pause(backoff).await;
    }
}

/// Sleeps `backoff`; returns the next one.
async fn pause(backoff: Duration) -> Duration {
    sleep(backoff).await;
    (backoff * 2).min(BACKOFF.1)
}

/// Accepts peers' connections on `listener` and hands every message read to `inbox`. Runs until
/// aborted; dropping it drops every connection it accepted.
pub(crate) async fn listen<M: Addressed>(
    listener: TcpListener,
    inbox: mpsc::Sender<M>,
    log: Logger,
) {
    let mut readers = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, from)) => {
                    readers.spawn(receive(stream, from, inbox.clone(), log.clone()));
                }
                Err(e) => {
                    // Out of descriptors, most likely: wait rather than spin.
                    log.line(format_args!("accepting a peer connection failed: {e}"));
                    sleep(BACKOFF.1).await;
                }
            },
            // Reap finished readers so the set does not grow with every reconnection.
            Some(_) = readers.join_next(), if !readers.is_empty() => {}
        }
    }
}

/// Reads frames from one inbound connection until it closes or breaks.
async fn receive<M: Addressed>(
    mut stream: TcpStream,
    from: SocketAddr,
    inbox: mpsc::Sender<M>,
    log: Logger,
) {
    let mut buf = BytesMut::with_capacity(8 << 10);
    loop {
        loop {
            match parse(&mut buf) {
                Ok(Some(msg)) => {
                    // Waiting here when the node is busy pushes back on the sender through TCP.
                    if inbox.send(msg).await.is_err() {
                        return;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    log.line(format_args!("dropping peer connection from {from}: {e}"));
                    return;
                }
            }
        }
        match stream.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::{AppendResult, Body, Entry, Message};

    fn messages() -> Vec<Message> {
        vec![
            Message {
                from: 1,
                to: 2,
                term: 3,
                body: Body::Heartbeat {
                    commit: 4,
                    round: 5,
                },
            },
            Message {
                from: 2,
                to: 1,
                term: 3,
                body: Body::Append {
                    prev_index: 1,
                    prev_term: 1,
                    entries: vec![Entry {
                        term: 3,
                        index: 2,
                        data: b"{\"x\":1}".to_vec(),
                    }],
                    commit: 1,
                },
            },
            Message {
                from: 3,
                to: 1,
                term: 9,
                body: Body::AppendResp(AppendResult::Accepted { index: 7 }),
            },
        ]
    }

    #[test]
    fn frames_round_trip_however_the_bytes_arrive() {
        let mut wire = Vec::new();
        messages().iter().for_each(|m| encode(m, &mut wire));
        for chunk in [1, 3, 7, wire.len()] {
            let mut buf = BytesMut::new();
            let mut got = Vec::new();
            for piece in wire.chunks(chunk) {
                buf.extend_from_slice(piece);
                while let Some(msg) = parse::<Message>(&mut buf).unwrap() {
                    got.push(msg);
                }
            }
            assert_eq!(got, messages(), "chunks of {chunk}");
            assert!(buf.is_empty());
        }
    }

    #[test]
    fn broken_streams_are_refused() {
        let mut huge = BytesMut::from(&u32::MAX.to_be_bytes()[..]);
        assert!(matches!(
            parse::<Message>(&mut huge),
            Err(FrameError::TooLarge(_))
        ));
        let mut junk = BytesMut::from(&b"\0\0\0\x03abc"[..]);
        assert!(matches!(
            parse::<Message>(&mut junk),
            Err(FrameError::Malformed(_))
        ));
    }

    #[tokio::test]
    async fn messages_cross_a_one_way_connection() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (inbox, mut received) = mpsc::channel(16);
        let log = Logger::new("n1");
        let mut tasks = JoinSet::new();
        tasks.spawn(listen(listener, inbox, log.clone()));
        let peers = Peers::start(&[(2, addr)], &log, &mut tasks);
        // A message to an unknown node goes nowhere, quietly.
        peers.send(Message {
            to: 7,
            ..messages()[0].clone()
        });
        for msg in messages() {
            peers.send(Message { to: 2, ..msg });
        }
        for msg in messages() {
            assert_eq!(received.recv().await, Some(Message { to: 2, ..msg }));
        }
        tasks.shutdown().await;
    }
}
