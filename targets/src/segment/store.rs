//! One `http-kv` request to one store node, over a fresh TCP connection, and what became of it
//! as an [`Outcome`]. A minimal HTTP/1.1 client: segments are fetched a few times a second at
//! most, so a connection per request costs nothing worth a connection pool, and a fresh
//! connection never carries a stale half-read answer across a timeout.
//!
//! Whether a failure is definite is decided by *when* it happened: a connection that could
//! not be made means nothing was sent ([`Outcome::Refused`]); once the request may have been
//! written, a failure or a timeout leaves the outcome unknown ([`Outcome::Unknown`]).

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::advance::{Op, Outcome, Request};

/// How long to wait for a connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
/// How long to wait for the whole answer once connected. raft-kv answers within 800 ms
/// (a 504 past that), so this only fires on a node that is paused or cut off.
pub const ANSWER_TIMEOUT: Duration = Duration::from_millis(1500);
/// The longest answer read.
const MAX_ANSWER: usize = 64 * 1024;

/// The JSON body of `request` from `client`.
pub fn body(client: u64, request: &Request) -> Value {
    let seq = request.seq;
    match &request.op {
        Op::Read => json!({"op": "read", "client": client, "seq": seq}),
        Op::Cas { from, to } => {
            json!({"op": "cas", "from": from, "to": to, "client": client, "seq": seq})
        }
        Op::Write { value } => {
            json!({"op": "write", "value": value, "client": client, "seq": seq})
        }
    }
}

/// Sends `request` for `key` to the node at `addr` and classifies the answer.
pub async fn call(addr: SocketAddr, key: u64, client: u64, request: &Request) -> Outcome {
    let mut stream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
        Ok(Ok(stream)) => stream,
        // Nothing was sent.
        Ok(Err(_)) | Err(_) => return Outcome::Refused,
    };
    let _ = stream.set_nodelay(true);
    let body = body(client, request).to_string();
    let head = format!(
        "POST /kv/{key} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let exchange = async {
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body.as_bytes()).await?;
        read_answer(&mut stream).await
    };
    match tokio::time::timeout(ANSWER_TIMEOUT, exchange).await {
        Ok(Ok((status, body))) => classify(status, &body),
        Ok(Err(_)) | Err(_) => Outcome::Unknown,
    }
}

/// Reads one HTTP/1.1 answer: its status and body (by `Content-Length`, chunked, or to EOF).
async fn read_answer(stream: &mut TcpStream) -> std::io::Result<(u16, Vec<u8>)> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    let mut eof = false;
    loop {
        if let Some(answer) = parse_answer(&buf, eof)? {
            return Ok(answer);
        }
        if eof {
            return Err(invalid("the connection closed before a whole answer"));
        }
        if buf.len() > MAX_ANSWER {
            return Err(invalid("an answer over 64 KiB"));
        }
        let n = stream.read(&mut chunk).await?;
        eof = n == 0;
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn invalid(message: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, message.to_string())
}

/// The status and body of the answer in `buf`, once it is all there (`eof`: nothing more
/// will come).
fn parse_answer(buf: &[u8], eof: bool) -> std::io::Result<Option<(u16, Vec<u8>)>> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = std::str::from_utf8(&buf[..end]).map_err(|_| invalid("a head not in UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| invalid("no status line"))?;
    let mut length = None;
    let mut chunked = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let (name, value) = (name.trim(), value.trim());
        if name.eq_ignore_ascii_case("content-length") {
            length = Some(
                value
                    .parse::<usize>()
                    .map_err(|_| invalid("a bad length"))?,
            );
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.to_ascii_lowercase().contains("chunked");
        }
    }
    let rest = &buf[end + 4..];
    if chunked {
        return Ok(unchunk(rest)?.map(|body| (status, body)));
    }
    match length {
        Some(length) if rest.len() >= length => Ok(Some((status, rest[..length].to_vec()))),
        Some(_) => Ok(None),
        None if eof => Ok(Some((status, rest.to_vec()))),
        None => Ok(None),
    }
}

/// A chunked body, once its last chunk is in.
fn unchunk(mut rest: &[u8]) -> std::io::Result<Option<Vec<u8>>> {
    let mut body = Vec::new();
    loop {
        let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") else {
            return Ok(None);
        };
        let size = std::str::from_utf8(&rest[..eol])
            .ok()
            .map(|s| s.split(';').next().unwrap_or("").trim())
            .and_then(|s| usize::from_str_radix(s, 16).ok())
            .ok_or_else(|| invalid("a bad chunk size"))?;
        rest = &rest[eol + 2..];
        if size == 0 {
            return Ok(Some(body));
        }
        if rest.len() < size + 2 {
            return Ok(None);
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

/// What an answer means (docs/protocols/http-kv.md).
pub fn classify(status: u16, body: &[u8]) -> Outcome {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let field = |name: &str| json.as_ref().and_then(|j| j.get(name)).cloned();
    match status {
        200 => match field("value") {
            Some(value) => Outcome::Value(value),
            None => Outcome::Malformed(format!(
                "a 200 without a value: {}",
                String::from_utf8_lossy(body)
            )),
        },
        409 if field("error").as_ref().and_then(Value::as_str) == Some("cas-mismatch") => {
            Outcome::CasMismatch
        }
        421 => Outcome::NotLeader {
            leader: field("leader").and_then(|l| l.as_str().map(str::to_string)),
        },
        503 => Outcome::Refused,
        504 => Outcome::Timeout,
        400 => Outcome::Malformed(format!(
            "the store refused the request as malformed: {}",
            String::from_utf8_lossy(body)
        )),
        _ => Outcome::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_the_protocols_bodies() {
        let request = |op, seq| Request { op, seq };
        assert_eq!(
            body(7, &request(Op::Read, 1)),
            json!({"op": "read", "client": 7, "seq": 1})
        );
        assert_eq!(
            body(7, &request(Op::Cas { from: None, to: 10 }, 2)),
            json!({"op": "cas", "from": null, "to": 10, "client": 7, "seq": 2})
        );
        assert_eq!(
            body(
                u64::MAX,
                &request(
                    Op::Cas {
                        from: Some(10),
                        to: 20
                    },
                    3
                )
            ),
            json!({"op": "cas", "from": 10, "to": 20, "client": u64::MAX, "seq": 3})
        );
        assert_eq!(
            body(7, &request(Op::Write { value: 20 }, 4)),
            json!({"op": "write", "value": 20, "client": 7, "seq": 4})
        );
    }

    #[test]
    fn answers_are_classified_as_the_protocol_says() {
        assert_eq!(
            classify(200, br#"{"value": null}"#),
            Outcome::Value(Value::Null)
        );
        assert_eq!(classify(200, br#"{"value": 5}"#), Outcome::Value(json!(5)));
        assert!(matches!(classify(200, b"{}"), Outcome::Malformed(_)));
        assert_eq!(
            classify(409, br#"{"error": "cas-mismatch", "current": 3}"#),
            Outcome::CasMismatch
        );
        assert_eq!(classify(409, b"?"), Outcome::Unknown);
        assert_eq!(
            classify(421, br#"{"error": "not-leader", "leader": "n2"}"#),
            Outcome::NotLeader {
                leader: Some("n2".into())
            }
        );
        assert_eq!(
            classify(421, br#"{"error": "not-leader", "leader": null}"#),
            Outcome::NotLeader { leader: None }
        );
        assert_eq!(classify(503, b""), Outcome::Refused);
        assert_eq!(classify(504, br#"{"error": "timeout"}"#), Outcome::Timeout);
        assert_eq!(
            classify(500, br#"{"error": "superseded"}"#),
            Outcome::Unknown
        );
        assert_eq!(classify(502, b""), Outcome::Unknown);
        assert!(matches!(classify(400, b"{}"), Outcome::Malformed(_)));
    }

    #[test]
    fn answers_parse_by_length_chunks_or_eof() {
        let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 11\r\n\r\n{\"value\":1}";
        assert_eq!(
            parse_answer(answer, false).unwrap(),
            Some((200, b"{\"value\":1}".to_vec()))
        );
        assert_eq!(
            parse_answer(&answer[..answer.len() - 1], false).unwrap(),
            None
        );
        assert_eq!(parse_answer(b"HTTP/1.1 200 OK\r\n", false).unwrap(), None);
        let chunked =
            b"HTTP/1.1 421 Misdirected\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n";
        assert_eq!(
            parse_answer(chunked, false).unwrap(),
            Some((421, b"{\"a\":1}".to_vec()))
        );
        assert_eq!(parse_answer(&chunked[..60], false).unwrap(), None);
        let close = b"HTTP/1.1 503 Service Unavailable\r\n\r\n{}";
        assert_eq!(parse_answer(close, false).unwrap(), None);
        assert_eq!(
            parse_answer(close, true).unwrap(),
            Some((503, b"{}".to_vec()))
        );
        assert!(parse_answer(b"garbage\r\n\r\n", false).is_err());
    }

    #[tokio::test]
    async fn a_port_nobody_listens_on_is_refused() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let request = Request {
            op: Op::Read,
            seq: 1,
        };
        assert_eq!(call(addr, 0, 1, &request).await, Outcome::Refused);
    }

    #[tokio::test]
    async fn a_node_that_takes_the_request_and_says_nothing_is_unknown() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let _ = socket.read(&mut buf).await;
            // Hang up without an answer.
        });
        let request = Request {
            op: Op::Cas { from: None, to: 1 },
            seq: 1,
        };
        assert_eq!(call(addr, 0, 1, &request).await, Outcome::Unknown);
        server.await.unwrap();
    }
}
