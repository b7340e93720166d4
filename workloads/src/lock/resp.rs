//! A small RESP2 client: commands as arrays of bulk strings, replies parsed as they arrive.
//!
//! Enough for the lock clients (SET, GET, INCR, EVAL); the same bytes go to the bundled
//! `redis-lock` server and to a real redis-server. A connection whose command timed out is
//! dropped: what it would read next might be the late answer to the old command.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// A reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    Simple(String),
    Error(String),
    Integer(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Reply>>),
}

/// Why a command has no reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The connection could not be made: nothing was sent.
    Refused,
    /// The command was sent (or may have been) and no reply came in time, or the connection
    /// broke: it may or may not have taken effect.
    Unknown(String),
}

/// Refuses replies longer than this (the lock clients never need more).
const MAX_REPLY: usize = 16 << 20;

/// One connection to one instance.
#[derive(Debug)]
pub struct Conn {
    addr: SocketAddr,
    stream: Option<BufReader<TcpStream>>,
}

impl Conn {
    pub fn new(addr: SocketAddr) -> Conn {
        Conn { addr, stream: None }
    }

    /// Sends `args` as one command and waits at most `timeout` for the reply.
    pub async fn command(&mut self, args: &[&[u8]], timeout: Duration) -> Result<Reply, Failure> {
        match tokio::time::timeout(timeout, self.exchange(args)).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(failure)) => {
                self.stream = None;
                Err(failure)
            }
            Err(_) => {
                self.stream = None;
                Err(Failure::Unknown("timeout".into()))
            }
        }
    }

    async fn exchange(&mut self, args: &[&[u8]]) -> Result<Reply, Failure> {
        if self.stream.is_none() {
            let s = TcpStream::connect(self.addr)
                .await
                .map_err(|_| Failure::Refused)?;
            let _ = s.set_nodelay(true);
            self.stream = Some(BufReader::new(s));
        }
        let Some(stream) = self.stream.as_mut() else {
            return Err(Failure::Refused);
        };
        stream
            .get_mut()
            .write_all(&encode(args))
            .await
            .map_err(|e| Failure::Unknown(e.to_string()))?;
        read_reply(stream, 0)
            .await
            .map_err(|e| Failure::Unknown(e.to_string()))
    }
}

/// A command as RESP: an array of bulk strings.
pub fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn bad(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string())
}

async fn read_line(r: &mut BufReader<TcpStream>) -> std::io::Result<String> {
    let mut line = Vec::new();
    let n = r.read_until(b'\n', &mut line).await?;
    if n == 0 {
        return Err(bad("connection closed"));
    }
    if !line.ends_with(b"\r\n") {
        return Err(bad("a line without CRLF"));
    }
    line.truncate(line.len() - 2);
    String::from_utf8(line).map_err(|_| bad("a line that is not UTF-8"))
}

fn length(s: &str) -> std::io::Result<i64> {
    s.parse::<i64>().map_err(|_| bad("a bad length"))
}

/// Reads one reply (arrays recursively, to a bounded depth).
fn read_reply<'a>(
    r: &'a mut BufReader<TcpStream>,
    depth: usize,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<Reply>> + Send + 'a>> {
    Box::pin(async move {
        if depth > 16 {
            return Err(bad("nested too deeply"));
        }
        let line = read_line(r).await?;
        let (kind, rest) = line.split_at(line.len().min(1));
        Ok(match kind {
            "+" => Reply::Simple(rest.to_string()),
            "-" => Reply::Error(rest.to_string()),
            ":" => Reply::Integer(length(rest)?),
            "$" => {
                let n = length(rest)?;
                if n < 0 {
                    Reply::Bulk(None)
                } else if n as usize > MAX_REPLY {
                    return Err(bad("a reply too large"));
                } else {
                    let mut data = vec![0u8; n as usize + 2];
                    r.read_exact(&mut data).await?;
                    data.truncate(n as usize);
                    Reply::Bulk(Some(data))
                }
            }
            "*" => {
                let n = length(rest)?;
                if n < 0 {
                    Reply::Array(None)
                } else if n as usize > MAX_REPLY {
                    return Err(bad("an array too large"));
                } else {
                    let mut items = Vec::with_capacity((n as usize).min(1024));
                    for _ in 0..n {
                        items.push(read_reply(r, depth + 1).await?);
                    }
                    Reply::Array(Some(items))
                }
            }
            _ => return Err(bad("an unknown reply type")),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// A server that answers every command with the next canned reply.
    async fn canned(replies: &'static [&'static [u8]]) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            for reply in replies {
                if s.read(&mut buf).await.unwrap_or(0) == 0 {
                    return;
                }
                s.write_all(reply).await.unwrap();
            }
        });
        addr
    }

    #[tokio::test]
    async fn parses_every_reply_type() {
        let addr = canned(&[
            b"+OK\r\n",
            b"-ERR nope\r\n",
            b":42\r\n",
            b"$3\r\nabc\r\n",
            b"$-1\r\n",
            b"*2\r\n:1\r\n$1\r\nx\r\n",
        ])
        .await;
        let mut c = Conn::new(addr);
        let t = Duration::from_secs(1);
        assert_eq!(
            c.command(&[b"PING"], t).await,
            Ok(Reply::Simple("OK".into()))
        );
        assert_eq!(
            c.command(&[b"X"], t).await,
            Ok(Reply::Error("ERR nope".into()))
        );
        assert_eq!(c.command(&[b"X"], t).await, Ok(Reply::Integer(42)));
        assert_eq!(
            c.command(&[b"X"], t).await,
            Ok(Reply::Bulk(Some(b"abc".to_vec())))
        );
        assert_eq!(c.command(&[b"X"], t).await, Ok(Reply::Bulk(None)));
        assert_eq!(
            c.command(&[b"X"], t).await,
            Ok(Reply::Array(Some(vec![
                Reply::Integer(1),
                Reply::Bulk(Some(b"x".to_vec()))
            ])))
        );
    }

    #[tokio::test]
    async fn a_timeout_is_unknown_and_a_refusal_is_refused() {
        let addr = canned(&[]).await;
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

    #[test]
    fn commands_are_arrays_of_bulk_strings() {
        assert_eq!(encode(&[b"GET", b"k"]), b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
    }
}
