//! Client connections: one task per socket that cuts ZooKeeper frames (the `jute` crate),
//! answers four-letter words, and passes the handshake and every request to the event loop
//! ([`server`](super::server)), which sends back the frames to write.
//!
//! ```text
//!  socket ──FrameDecoder──▶ ConnectRequest ──FromClient::Hello (with a ToClient sender)──▶ loop
//!         ──FrameDecoder──▶ (RequestHeader, Request) ──FromClient::Request──────────────▶ loop
//!  socket ◀── frames ◀── ToClient::Frame … ToClient::Close (or the sender dropped) ◀──── loop
//! ```
//!
//! As in ZooKeeper, a connection whose first four bytes are a four-letter word (`srvr`,
//! `ruok`, …) is a command, not a session: it is answered from the status the loop publishes
//! and closed. A server that is not serving (no established leader, or not synced with it)
//! answers `srvr` so and closes every other connection at once. Anything malformed — a frame
//! longer than `jute.maxbuffer`, a record that does not parse — closes the connection, which is
//! what ZooKeeper does; a frame that has not all arrived is waited for.

use bytes::{Buf, BytesMut};
use jute::{ConnectRequest, FrameDecoder, Record, Request, RequestHeader};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::sleep;

use super::wire::client_zxid;
use crate::shell::Logger;
use crate::zab::core::{Role, Status};

/// A connection's number, given by the acceptor.
pub(crate) type ConnId = u64;

/// From a connection to the event loop.
#[derive(Debug)]
pub(crate) enum FromClient {
    /// The handshake; `out` carries what to write back.
    Hello {
        conn: ConnId,
        request: ConnectRequest,
        out: mpsc::UnboundedSender<ToClient>,
    },
    /// A request after the handshake, decoded, and the frame body it came in (a follower
    /// forwards a write as it came).
    Request {
        conn: ConnId,
        header: RequestHeader,
        request: Request,
        body: Vec<u8>,
    },
    /// The connection is gone.
    Gone { conn: ConnId },
}

/// From the event loop to a connection.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ToClient {
    /// Bytes to write: whole frames.
    Frame(Vec<u8>),
    /// Close after what was written before.
    Close,
}

/// What ZooKeeper answers a four-letter word when it is not serving.
pub(crate) const NOT_SERVING: &str = "This ZooKeeper instance is not currently serving requests\n";

/// The answer to the four-letter word `word`, given the server's status.
pub(crate) fn four_letter_answer(word: &str, status: &Status) -> String {
    match word {
        "ruok" => "imok".to_string(),
        "srvr" | "stat" if !status.synced() => NOT_SERVING.to_string(),
        "srvr" | "stat" => {
            let mode = if status.role == Role::Leading {
                "leader"
            } else {
                "follower"
            };
            format!(
                "Zookeeper version: 3.8.0-faultline-zab\nZxid: {:#x}\nMode: {mode}\n",
                client_zxid(status.last_zxid)
            )
        }
        other => format!("{other} is not executed because it is not in the whitelist.\n"),
    }
}

/// Accepts client connections on `listener`, each served by [`connection`] on its own task.
/// Runs until aborted; dropping it drops every connection.
pub(crate) async fn listen(
    listener: TcpListener,
    loop_tx: mpsc::Sender<FromClient>,
    status: watch::Receiver<Status>,
    log: Logger,
) {
    let mut connections = JoinSet::new();
    let mut next: ConnId = 0;
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    next += 1;
                    connections.spawn(connection(next, stream, loop_tx.clone(), status.clone()));
                }
                Err(e) => {
                    // Out of descriptors, most likely: wait rather than spin.
                    log.line(format_args!("accepting a client connection failed: {e}"));
                    sleep(std::time::Duration::from_millis(100)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Serves one client connection until either side closes it.
async fn connection(
    conn: ConnId,
    mut stream: TcpStream,
    loop_tx: mpsc::Sender<FromClient>,
    status: watch::Receiver<Status>,
) {
    let _ = stream.set_nodelay(true);
    let mut buf = BytesMut::with_capacity(4096);
    while buf.len() < 4 {
        match stream.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
    if buf[..4].iter().all(u8::is_ascii_lowercase) {
        let word = String::from_utf8_lossy(&buf[..4]).into_owned();
        let answer = four_letter_answer(&word, &status.borrow());
        let _ = stream.write_all(answer.as_bytes()).await;
        let _ = stream.shutdown().await;
        return;
    }
    if !status.borrow().synced() {
        return;
    }
    let decoder = FrameDecoder::default();
    let (out, mut to_client) = mpsc::unbounded_channel();
    let mut out = Some(out);
    loop {
        // Every whole frame in the buffer first.
        loop {
            let (body, used) = match decoder.decode(&buf) {
                Ok(Some((body, used))) => (body.to_vec(), used),
                Ok(None) => break,
                Err(_) => return gone(conn, &loop_tx, out.is_none()).await,
            };
            buf.advance(used);
            let event = match out.take() {
                Some(out) => match ConnectRequest::decode(&body) {
                    Ok(request) => FromClient::Hello { conn, request, out },
                    Err(_) => return,
                },
                None => match jute::decode_request(&body) {
                    Ok((header, request)) => FromClient::Request {
                        conn,
                        header,
                        request,
                        body,
                    },
                    Err(_) => return gone(conn, &loop_tx, true).await,
                },
            };
            if loop_tx.send(event).await.is_err() {
                return;
            }
        }
        tokio::select! {
            read = stream.read_buf(&mut buf) => match read {
                Ok(0) | Err(_) => return gone(conn, &loop_tx, out.is_none()).await,
                Ok(_) => {}
            },
            next = to_client.recv() => {
                // Everything queued goes in one write, and a close right behind a reply
                // (UNIMPLEMENTED, a refusal) follows it at once: the client must not have
                // time to send its next request into a connection about to close.
                let mut bytes = Vec::new();
                let mut close = false;
                let mut next = next;
                loop {
                    match next {
                        Some(ToClient::Frame(frame)) => bytes.extend_from_slice(&frame),
                        Some(ToClient::Close) | None => {
                            close = true;
                            break;
                        }
                    }
                    let Ok(more) = to_client.try_recv() else { break };
                    next = Some(more);
                }
                if stream.write_all(&bytes).await.is_err() || close {
                    let _ = stream.shutdown().await;
                    return gone(conn, &loop_tx, true).await;
                }
            }
        }
    }
}

/// Tells the loop a connection it knows of (one that said hello) is gone.
async fn gone(conn: ConnId, loop_tx: &mpsc::Sender<FromClient>, known: bool) {
    if known {
        let _ = loop_tx.send(FromClient::Gone { conn }).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zab::core::{Phase, Zxid};

    fn status(role: Role, phase: Phase) -> Status {
        Status {
            id: 1,
            role,
            phase,
            leader: Some(1),
            accepted_epoch: 2,
            current_epoch: 2,
            last_zxid: Zxid::new(2, 3),
            committed: Zxid::new(2, 3),
        }
    }

    #[test]
    fn four_letter_words_are_answered_as_zookeeper_does() {
        let leading = status(Role::Leading, Phase::Broadcast);
        let srvr = four_letter_answer("srvr", &leading);
        assert!(srvr.starts_with("Zookeeper version: "), "{srvr}");
        assert!(srvr.contains("Mode: leader\n") && srvr.contains("Zxid: 0x200000003"));
        let following = status(Role::Following, Phase::Broadcast);
        assert!(four_letter_answer("srvr", &following).contains("Mode: follower\n"));
        for not_serving in [
            status(Role::Looking, Phase::Election),
            status(Role::Following, Phase::Synchronization),
            status(Role::Leading, Phase::Discovery),
        ] {
            assert_eq!(four_letter_answer("srvr", &not_serving), NOT_SERVING);
            assert_eq!(four_letter_answer("ruok", &not_serving), "imok");
        }
        assert!(four_letter_answer("kill", &leading).contains("not in the whitelist"));
    }
}
