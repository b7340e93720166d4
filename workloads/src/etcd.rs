//! What the workloads' etcd clients share (the register in `register::etcd`, the lock in
//! `lock::etcd`): calls to etcd's v3 API through its JSON gateway over HTTP — `POST /v3/…`
//! with a JSON body, keys and values in base64, 64-bit numbers written as strings — and
//! sorting failures into "certainly not done" and "may have been done", which is what the
//! history's `fail` and `info` mean.
//!
//! The gateway, not gRPC: it is served on the same client port, it needs no protobuf
//! toolchain, and it is the HTTP stack (`reqwest`) the other HTTP clients use.

use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

/// A failed call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub error: String,
    /// Certainly not done: the request never left (connection refused), or etcd refused it
    /// before proposing it. Anything else — a timeout, a lost connection, etcd's own "request
    /// timed out" — may hide a request that was, or will be, applied.
    pub definite: bool,
}

/// The gRPC status codes etcd answers a request it refused outright with (invalid argument,
/// not found, permission denied, too many requests, failed precondition, unimplemented,
/// unauthenticated). `Unavailable` (14) is not among them: etcd says it for a proposal that
/// timed out, which may still commit.
const REFUSALS: &[u64] = &[3, 5, 7, 8, 9, 12, 16];

/// One client's connection to one member (its client link).
#[derive(Clone, Debug)]
pub struct Etcd {
    http: reqwest::Client,
    addr: SocketAddr,
}

impl Etcd {
    /// A client of the member at `addr` whose calls each give up after `timeout`.
    pub fn new(addr: SocketAddr, timeout: Duration) -> Etcd {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            // Straight to the member's link, whatever proxy the environment names.
            .no_proxy()
            .build()
            .expect("an HTTP client without TLS or proxies builds");
        Etcd { http, addr }
    }

    /// `POST /v3/{path}` with `body`: the answer's JSON.
    pub async fn call(&self, path: &str, body: &Value) -> Result<Value, Failure> {
        let sent = self
            .http
            .post(format!("http://{}/v3/{path}", self.addr))
            .json(body)
            .send()
            .await;
        let answer = match sent {
            Ok(answer) => answer,
            Err(e) => {
                return Err(Failure {
                    definite: e.is_connect() && !e.is_timeout(),
                    error: error_text(&e),
                });
            }
        };
        let status = answer.status();
        let json: Value = answer.json().await.map_err(|e| Failure {
            definite: false,
            error: format!("{path}: unreadable answer ({status}): {}", error_text(&e)),
        })?;
        if status.is_success() && json.get("error").is_none() {
            return Ok(json);
        }
        // A unary call's error: `{"error": "…", "code": N}`; a streaming call's (the lease
        // keepalive): `{"error": {"grpc_code": N, "message": "…"}}`.
        let error = &json["error"];
        let code = json["code"]
            .as_u64()
            .or(error["grpc_code"].as_u64())
            .unwrap_or(0);
        let message = error
            .as_str()
            .or(error["message"].as_str())
            .or(json["message"].as_str())
            .unwrap_or("no error message");
        Err(Failure {
            definite: REFUSALS.contains(&code),
            error: format!("{path}: {message}"),
        })
    }
}

/// A reqwest error in one line, with its cause.
fn error_text(e: &reqwest::Error) -> String {
    use std::error::Error;
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "failed"
    };
    match e.source() {
        Some(cause) => format!("{kind}: {cause}"),
        None => kind.to_string(),
    }
}

/// Bytes as the gateway wants them: base64.
pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    STANDARD.encode(bytes)
}

/// A base64 field of an answer, decoded (absent: empty).
pub fn unb64(field: &Value) -> Result<Vec<u8>, String> {
    match field.as_str() {
        None => Ok(Vec::new()),
        Some(text) => STANDARD
            .decode(text)
            .map_err(|e| format!("`{text}` is not base64: {e}")),
    }
}

/// A 64-bit number of an answer: the gateway writes them as strings (absent: 0).
pub fn number(field: &Value) -> i64 {
    field
        .as_str()
        .and_then(|s| s.parse().ok())
        .or_else(|| field.as_i64())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_values_and_numbers_come_as_the_gateway_writes_them() {
        assert_eq!(b64("register/1"), "cmVnaXN0ZXIvMQ==");
        assert_eq!(unb64(&json!("cmVnaXN0ZXIvMQ==")).unwrap(), b"register/1");
        assert_eq!(unb64(&Value::Null).unwrap(), b"");
        assert!(unb64(&json!("%%")).is_err());
        assert_eq!(number(&json!("12")), 12);
        assert_eq!(number(&json!(7)), 7);
    }

    #[tokio::test]
    async fn a_refused_connection_is_definite_and_a_timeout_is_not() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = closed.local_addr().unwrap();
        drop(closed);
        let failure = Etcd::new(addr, Duration::from_millis(500))
            .call("kv/range", &json!({}))
            .await
            .unwrap_err();
        assert!(failure.definite, "{failure:?}");
        // Accepts (into the backlog) and never answers.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let failure = Etcd::new(silent.local_addr().unwrap(), Duration::from_millis(200))
            .call("kv/range", &json!({}))
            .await
            .unwrap_err();
        assert!(!failure.definite, "{failure:?}");
    }
}
