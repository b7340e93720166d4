//! One directed link of the cluster's network: a TCP proxy the harness owns.
//!
//! Every byte from one endpoint to another (a client to a node, a node to a peer) passes
//! through a `Proxy`. Its [`LinkState`] decides what happens to those bytes:
//!
//! * `Open`: forwarded, after the configured latency (and, for a lost chunk, after a
//!   retransmission delay — TCP does not lose bytes, it is late with them);
//! * `Blackhole`: held, like an iptables DROP: nothing moves in either direction of the
//!   connection, new connections are accepted but go nowhere, and everything held flows again,
//!   in order, when the link opens (as retransmission would deliver it);
//! * `Reset`: every connection is closed with a reset, and new ones are reset at once.
//!
//! Each connection is two pumps, one per direction; a pump reads chunks, stamps each with its
//! delivery time, and delivers them in order. The state lives in a `watch` channel so that
//! pumps wake the moment it changes.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// What a link does with traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Open,
    Blackhole,
    Reset,
}

/// A link's configuration.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinkState {
    pub mode: Mode,
    /// Added to every chunk's delivery.
    pub latency: Duration,
    /// Probability that a chunk is "lost" and delivered only after a retransmission delay.
    pub loss: f64,
}

impl Default for LinkState {
    fn default() -> LinkState {
        LinkState {
            mode: Mode::Open,
            latency: Duration::ZERO,
            loss: 0.0,
        }
    }
}

/// How late a lost chunk arrives: TCP's minimum retransmission timeout on Linux.
pub const RETRANSMIT: Duration = Duration::from_millis(200);

/// Chunks a pump reads at once.
const CHUNK: usize = 64 * 1024;

/// A running proxy: listens on a loopback port, forwards to `upstream`.
#[derive(Debug)]
pub struct Proxy {
    addr: SocketAddr,
    upstream: SocketAddr,
    state: watch::Sender<LinkState>,
    accept: JoinHandle<()>,
}

impl Proxy {
    /// Starts a proxy on a free loopback port.
    pub async fn start(upstream: SocketAddr) -> std::io::Result<Proxy> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let (state, watcher) = watch::channel(LinkState::default());
        let accept = tokio::spawn(accept_loop(listener, upstream, watcher));
        Ok(Proxy {
            addr,
            upstream,
            state,
            accept,
        })
    }

    /// Where endpoints connect to reach `upstream` through this link.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn upstream(&self) -> SocketAddr {
        self.upstream
    }

    pub fn state(&self) -> LinkState {
        *self.state.borrow()
    }

    pub fn set(&self, state: LinkState) {
        self.state.send_replace(state);
    }

    pub fn set_mode(&self, mode: Mode) {
        self.state.send_modify(|s| s.mode = mode);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    state: watch::Receiver<LinkState>,
) {
    // A connection ends by itself when the proxy is dropped: its state channel closes.
    while let Ok((inbound, _)) = listener.accept().await {
        let _ = inbound.set_nodelay(true);
        tokio::spawn(connection(inbound, upstream, state.clone()));
    }
}

/// Closes a stream with a TCP reset rather than an orderly shutdown.
fn reset(stream: TcpStream) {
    let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
    drop(stream);
}

/// Waits while the link is a blackhole; false if it is (or becomes) a reset, or the proxy is
/// gone.
async fn passable(state: &mut watch::Receiver<LinkState>) -> bool {
    loop {
        match state.borrow_and_update().mode {
            Mode::Open => return true,
            Mode::Reset => return false,
            Mode::Blackhole => {}
        }
        if state.changed().await.is_err() {
            return false;
        }
    }
}

async fn connection(
    inbound: TcpStream,
    upstream: SocketAddr,
    mut state: watch::Receiver<LinkState>,
) {
    if !passable(&mut state).await {
        reset(inbound);
        return;
    }
    let Ok(outbound) = TcpStream::connect(upstream).await else {
        // The endpoint is down: the caller sees what it would see without a proxy.
        reset(inbound);
        return;
    };
    let _ = outbound.set_nodelay(true);
    let (in_read, in_write) = inbound.into_split();
    let (out_read, out_write) = outbound.into_split();
    let stop = Arc::new(Notify::new());
    let mut forward = tokio::spawn(pump(in_read, out_write, state.clone(), stop.clone()));
    let mut backward = tokio::spawn(pump(out_read, in_write, state, stop.clone()));
    let (first, forward_first) = tokio::select! {
        r = &mut forward => (r, true),
        r = &mut backward => (r, false),
    };
    let Ok(first) = first else { return };
    if first.end != End::Eof {
        // A reset or a broken socket ends both directions; after an end of stream the other
        // direction may still have things to say (a half-close).
        stop.notify_one();
    }
    let second = if forward_first {
        backward.await
    } else {
        forward.await
    };
    let Ok(second) = second else { return };
    let (fwd, bwd) = if forward_first {
        (first, second)
    } else {
        (second, first)
    };
    if fwd.end == End::Reset || bwd.end == End::Reset {
        // Inbound socket: forward's reader and backward's writer; outbound: the others.
        if let Ok(s) = fwd.read.reunite(bwd.write) {
            reset(s);
        }
        if let Ok(s) = bwd.read.reunite(fwd.write) {
            reset(s);
        }
    }
}

/// Why a pump stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    /// End of stream, everything delivered and the write side shut down.
    Eof,
    /// The link was set to reset.
    Reset,
    /// A socket failed, or the other direction did, or the proxy is gone.
    Broken,
}

/// A pump's halves come back so that a reset can close the sockets with RST.
struct Pumped {
    read: OwnedReadHalf,
    write: OwnedWriteHalf,
    end: End,
}

/// Chunks a pump holds (in a blackhole, or waiting out latency) before it stops reading and
/// lets the sender's buffers fill.
const HELD: usize = 256;

/// Moves bytes from `from` to `to` under the link's state: reads, stamps each chunk with its
/// delivery time, and delivers in order once due and while the link is open.
async fn pump(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    mut state: watch::Receiver<LinkState>,
    stop: Arc<Notify>,
) -> Pumped {
    let mut queue: VecDeque<(Instant, Vec<u8>)> = VecDeque::new();
    let mut buf = vec![0u8; CHUNK];
    let mut rng = ChaCha8Rng::seed_from_u64(from.peer_addr().map_or(1, |a| u64::from(a.port())));
    let mut eof = false;
    let end = 'pump: loop {
        let link = *state.borrow_and_update();
        if link.mode == Mode::Reset {
            break End::Reset;
        }
        // The common case — an open link without latency or loss, nothing held — forwards
        // straight from the read buffer: no copy, no queue, no timer, and the two wake-ups it
        // also waits for (a change of state, the other direction ending) are registered once
        // rather than once per chunk.
        let plain = link.mode == Mode::Open && link.latency.is_zero() && link.loss == 0.0;
        if plain && queue.is_empty() && !eof {
            let changed = state.changed();
            let stopped = stop.notified();
            tokio::pin!(changed, stopped);
            loop {
                tokio::select! {
                    r = from.read(&mut buf) => match r {
                        Ok(0) => {
                            eof = true;
                            break;
                        }
                        Ok(n) => {
                            if to.write_all(&buf[..n]).await.is_err() {
                                break 'pump End::Broken;
                            }
                        }
                        Err(_) => break 'pump End::Broken,
                    },
                    r = &mut changed => {
                        if r.is_err() {
                            break 'pump End::Broken;
                        }
                        break;
                    }
                    () = &mut stopped => break 'pump End::Broken,
                }
            }
            continue;
        }
        // Deliver what is due without waiting on a timer: the timer's millisecond granularity
        // would otherwise be every chunk's latency.
        if link.mode == Mode::Open {
            while queue.front().is_some_and(|c| c.0 <= Instant::now()) {
                if let Some((_, bytes)) = queue.pop_front()
                    && to.write_all(&bytes).await.is_err()
                {
                    break 'pump End::Broken;
                }
            }
        }
        if eof && queue.is_empty() {
            let _ = to.shutdown().await;
            break End::Eof;
        }
        let due = queue.front().map(|c| c.0);
        let waiting = link.mode == Mode::Open && due.is_some();
        tokio::select! {
            r = from.read(&mut buf), if !eof && queue.len() < HELD => match r {
                Ok(0) => eof = true,
                Ok(n) => {
                    let mut at = Instant::now() + link.latency;
                    if link.loss > 0.0 && rng.random::<f64>() < link.loss {
                        at += RETRANSMIT;
                    }
                    queue.push_back((at, buf[..n].to_vec()));
                }
                Err(_) => break End::Broken,
            },
            () = tokio::time::sleep_until(due.unwrap_or_else(Instant::now)), if waiting => {}
            changed = state.changed() => {
                if changed.is_err() {
                    break End::Broken;
                }
            }
            () = stop.notified() => break End::Broken,
        }
    };
    Pumped {
        read: from,
        write: to,
        end,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::time::timeout;

    /// An echo server on a free port.
    async fn echo() -> SocketAddr {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 1024];
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        addr
    }

    async fn round_trip(s: &mut TcpStream, msg: &[u8]) -> std::io::Result<Vec<u8>> {
        s.write_all(msg).await?;
        let mut got = vec![0u8; msg.len()];
        s.read_exact(&mut got).await?;
        Ok(got)
    }

    /// Nothing comes back while the link is a blackhole; once it opens, `expected` does.
    async fn held_then_delivered(proxy: &Proxy, s: &mut TcpStream, expected: &[u8]) {
        let mut got = vec![0u8; expected.len()];
        let early = timeout(Duration::from_millis(200), s.read_exact(&mut got)).await;
        assert!(early.is_err(), "delivered through a blackhole");
        proxy.set_mode(Mode::Open);
        timeout(Duration::from_secs(2), s.read_exact(&mut got))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got, expected);
    }

    #[tokio::test]
    async fn open_links_forward_both_ways() {
        let proxy = Proxy::start(echo().await).await.unwrap();
        let mut s = TcpStream::connect(proxy.addr()).await.unwrap();
        assert_eq!(round_trip(&mut s, b"hello").await.unwrap(), b"hello");
    }

    #[tokio::test]
    async fn a_blackhole_holds_bytes_and_delivers_them_on_heal() {
        let proxy = Proxy::start(echo().await).await.unwrap();
        let mut s = TcpStream::connect(proxy.addr()).await.unwrap();
        assert_eq!(round_trip(&mut s, b"one").await.unwrap(), b"one");
        proxy.set_mode(Mode::Blackhole);
        s.write_all(b"two").await.unwrap();
        held_then_delivered(&proxy, &mut s, b"two").await;
    }

    #[tokio::test]
    async fn a_new_connection_into_a_blackhole_waits_for_the_heal() {
        let proxy = Proxy::start(echo().await).await.unwrap();
        proxy.set_mode(Mode::Blackhole);
        let mut s = TcpStream::connect(proxy.addr()).await.unwrap();
        s.write_all(b"late").await.unwrap();
        held_then_delivered(&proxy, &mut s, b"late").await;
    }

    #[tokio::test]
    async fn reset_breaks_live_connections_and_refuses_new_ones() {
        let proxy = Proxy::start(echo().await).await.unwrap();
        let mut s = TcpStream::connect(proxy.addr()).await.unwrap();
        assert_eq!(round_trip(&mut s, b"x").await.unwrap(), b"x");
        proxy.set_mode(Mode::Reset);
        let err = timeout(Duration::from_secs(2), round_trip(&mut s, b"y"))
            .await
            .unwrap();
        assert!(err.is_err(), "{err:?}");
        let mut fresh = TcpStream::connect(proxy.addr()).await.unwrap();
        let err = timeout(Duration::from_secs(2), round_trip(&mut fresh, b"z"))
            .await
            .unwrap();
        assert!(err.is_err(), "{err:?}");
        proxy.set_mode(Mode::Open);
        let mut again = TcpStream::connect(proxy.addr()).await.unwrap();
        assert_eq!(round_trip(&mut again, b"ok").await.unwrap(), b"ok");
    }

    #[tokio::test]
    async fn latency_delays_each_direction() {
        let proxy = Proxy::start(echo().await).await.unwrap();
        proxy.set(LinkState {
            latency: Duration::from_millis(50),
            ..LinkState::default()
        });
        let mut s = TcpStream::connect(proxy.addr()).await.unwrap();
        let t = Instant::now();
        round_trip(&mut s, b"slow").await.unwrap();
        // Out through the proxy and back through it: two delays.
        assert!(
            t.elapsed() >= Duration::from_millis(100),
            "{:?}",
            t.elapsed()
        );
    }

    #[tokio::test]
    async fn a_lost_chunk_arrives_a_retransmission_later_in_order() {
        let proxy = Proxy::start(echo().await).await.unwrap();
        proxy.set(LinkState {
            loss: 1.0,
            ..LinkState::default()
        });
        let mut s = TcpStream::connect(proxy.addr()).await.unwrap();
        let t = Instant::now();
        assert_eq!(round_trip(&mut s, b"abc").await.unwrap(), b"abc");
        assert!(t.elapsed() >= RETRANSMIT, "{:?}", t.elapsed());
    }

    #[tokio::test]
    async fn an_unreachable_upstream_looks_like_a_refused_connection() {
        let dead = TcpListener::bind(("127.0.0.1", 0))
            .await
            .unwrap()
            .local_addr()
            .unwrap();
        let proxy = Proxy::start(dead).await.unwrap();
        let mut s = TcpStream::connect(proxy.addr()).await.unwrap();
        let r = timeout(Duration::from_secs(2), round_trip(&mut s, b"?"))
            .await
            .unwrap();
        assert!(r.is_err());
    }
}
