//! The lock clients' connection to one Redis instance: a command out, its reply in, framed by
//! the `resp` codec (the one the bundled server uses).
//!
//! ```text
//!  args ──Frame::Array of bulk strings──encode──▶ socket
//!  socket ──read──▶ buffer ──Frame::parse──▶ reply Frame
//!                     ▲                 └──▶ incomplete: read more, parse the buffer again
//! ```
//!
//! Enough for the lock clients (SET, GET, INCR, EVAL); the same bytes go to the bundled
//! `redis-lock` server and to a real redis-server. A connection whose command timed out is
//! dropped with its buffer: what it would read next might be the late answer to the old
//! command.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use resp::Frame;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// Why a command has no reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The connection could not be made: nothing was sent.
    Refused,
    /// The command was sent (or may have been) and no reply came in time, or the connection
    /// broke: it may or may not have taken effect.
    Unknown(String),
}

/// Refuses replies longer than this (the lock clients never need more): the codec waits for
/// as many bytes as a reply announces, so the limit is on what has been buffered.
const MAX_REPLY: usize = 16 << 20;
/// How much room to make in the buffer before each read.
const READ_CHUNK: usize = 4096;

/// One connection to one instance.
#[derive(Debug)]
pub struct Conn {
    addr: SocketAddr,
    /// The local address to connect from (the system's choice if none).
    from: Option<IpAddr>,
    open: Option<Open>,
}

/// A connected socket and what has been read from it but not yet parsed.
#[derive(Debug)]
struct Open {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    pub fn new(addr: SocketAddr) -> Conn {
        Conn {
            addr,
            from: None,
            open: None,
        }
    }

    /// The same connection, made from `from`'s address.
    pub fn from(self, from: Option<IpAddr>) -> Conn {
        Conn { from, ..self }
    }

    /// Sends `args` as one command and waits at most `timeout` for the reply.
    pub async fn command(&mut self, args: &[&[u8]], timeout: Duration) -> Result<Frame, Failure> {
        match tokio::time::timeout(timeout, self.exchange(args)).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(failure)) => {
                self.open = None;
                Err(failure)
            }
            Err(_) => {
                self.open = None;
                Err(Failure::Unknown("timeout".into()))
            }
        }
    }

    async fn exchange(&mut self, args: &[&[u8]]) -> Result<Frame, Failure> {
        if self.open.is_none() {
            let stream = connect(self.addr, self.from)
                .await
                .map_err(|_| Failure::Refused)?;
            let _ = stream.set_nodelay(true);
            self.open = Some(Open {
                stream,
                buf: Vec::new(),
            });
        }
        let Some(open) = self.open.as_mut() else {
            return Err(Failure::Refused);
        };
        let command = Frame::Array(args.iter().map(Frame::bulk).collect());
        open.stream
            .write_all(&command.to_bytes())
            .await
            .map_err(|e| Failure::Unknown(e.to_string()))?;
        open.read_reply().await.map_err(Failure::Unknown)
    }
}

/// Connects to `addr`, from `from`'s address if given.
async fn connect(addr: SocketAddr, from: Option<IpAddr>) -> std::io::Result<TcpStream> {
    let Some(from) = from else {
        return TcpStream::connect(addr).await;
    };
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.bind(SocketAddr::new(from, 0))?;
    socket.connect(addr).await
}

impl Open {
    /// Reads until the buffer starts with a whole reply, and takes it off.
    async fn read_reply(&mut self) -> Result<Frame, String> {
        loop {
            if let Some((reply, used)) = Frame::parse(&self.buf).map_err(|e| e.to_string())? {
                self.buf.drain(..used);
                return Ok(reply);
            }
            if self.buf.len() > MAX_REPLY {
                return Err("a reply too large".into());
            }
            self.buf.reserve(READ_CHUNK);
            match self.stream.read_buf(&mut self.buf).await {
                Ok(0) => return Err("connection closed".into()),
                Ok(_) => {}
                Err(e) => return Err(e.to_string()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// A server that answers every command with the next canned reply, each written in
    /// pieces of at most `piece` bytes with a pause between them.
    async fn canned(replies: &'static [&'static [u8]], piece: usize) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let _ = s.set_nodelay(true);
            let mut buf = [0u8; 1024];
            for reply in replies {
                if s.read(&mut buf).await.unwrap_or(0) == 0 {
                    return;
                }
                for chunk in reply.chunks(piece) {
                    s.write_all(chunk).await.unwrap();
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            }
        });
        addr
    }

    const EVERY_KIND: &[&[u8]] = &[
        b"+OK\r\n",
        b"-ERR nope\r\n",
        b":42\r\n",
        b"$3\r\nabc\r\n",
        b"$-1\r\n",
        b"*2\r\n:1\r\n$1\r\nx\r\n",
    ];

    #[tokio::test]
    async fn parses_every_reply_type_whole_or_in_pieces() {
        for piece in [usize::MAX, 1, 3] {
            let mut c = Conn::new(canned(EVERY_KIND, piece).await);
            let t = Duration::from_secs(1);
            assert_eq!(c.command(&[b"PING"], t).await, Ok(Frame::ok()));
            assert_eq!(c.command(&[b"X"], t).await, Ok(Frame::error("ERR nope")));
            assert_eq!(c.command(&[b"X"], t).await, Ok(Frame::Integer(42)));
            assert_eq!(c.command(&[b"X"], t).await, Ok(Frame::bulk("abc")));
            assert_eq!(c.command(&[b"X"], t).await, Ok(Frame::Null));
            assert_eq!(
                c.command(&[b"X"], t).await,
                Ok(Frame::Array(vec![Frame::Integer(1), Frame::bulk("x")]))
            );
        }
    }

    #[tokio::test]
    async fn a_malformed_reply_or_a_closed_connection_is_unknown() {
        let t = Duration::from_secs(1);
        let mut c = Conn::new(canned(&[b"?what\r\n"], usize::MAX).await);
        let r = c.command(&[b"PING"], t).await;
        assert!(
            matches!(&r, Err(Failure::Unknown(e)) if e.contains("type byte")),
            "{r:?}"
        );
        let mut c = Conn::new(canned(&[b"$5\r\nab"], usize::MAX).await);
        let r = c.command(&[b"GET", b"k"], t).await;
        assert_eq!(r, Err(Failure::Unknown("connection closed".into())));
    }

    #[tokio::test]
    async fn a_timeout_is_unknown_and_a_refusal_is_refused() {
        let addr = canned(&[], usize::MAX).await;
        let mut c = Conn::new(addr);
        let r = c.command(&[b"PING"], Duration::from_millis(100)).await;
        assert!(matches!(r, Err(Failure::Unknown(_))), "{r:?}");
        let dead = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let r = Conn::new(dead)
            .command(&[b"PING"], Duration::from_millis(100))
            .await;
        assert_eq!(r, Err(Failure::Refused));
    }
}
