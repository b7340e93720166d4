//! The client API, exactly the `http-kv` protocol (docs/protocols/http-kv.md), served by axum on
//! `--client`.
//!
//! A handler parses the request ([`parse_request`], free of I/O), hands it to the event loop
//! with a oneshot for the answer, and waits at most [`REQUEST_TIMEOUT`]. The loop decides what
//! happened ([`Reply`]); this module only says it in HTTP ([`answer`]):
//!
//! | reply | status | body |
//! |---|---|---|
//! | done | 200 | `{"value": v}` — the value read, or written |
//! | cas compared false | 409 | `{"error": "cas-mismatch", "current": v}` |
//! | not the leader (nothing proposed) | 421 | `{"error": "not-leader", "leader": "n2" \| null}` |
//! | definitely not done otherwise | 503 | `{"error": "unavailable", "reason": …}` |
//! | no answer in time | 504 | `{"error": "timeout"}` |
//! | outcome unknown otherwise | 500 | `{"error": "superseded" \| "node-stopped" \| …}` |
//! | a malformed request (nothing proposed) | 400 | `{"error": "bad-request", "reason": …}` |
//!
//! 503's reasons: `overwritten` (the proposal's log entry was replaced by another leader's, so it
//! will never be applied), `overloaded` (the loop's queue was full, nothing proposed),
//! `shutting-down`.
//!
//! `GET /health` reports the node's role, term and leader from the loop's published status: 200
//! when a leader is known (this node included), 503 otherwise — "ready" means "the cluster has
//! a leader".

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::timeout;

use super::node::{Call, Reply, Request, Status, role_name};
use crate::kv::Op;

/// How long a request may wait for its fate before the answer is "timeout" (unknown).
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_millis(800);

/// What the handlers share.
#[derive(Clone, Debug)]
pub(crate) struct Api {
    pub(crate) name: Arc<str>,
    /// How node names start (`n`), for leader hints.
    pub(crate) prefix: Arc<str>,
    pub(crate) calls: mpsc::Sender<Call>,
    pub(crate) status: watch::Receiver<Status>,
}

pub(crate) fn router(api: Api) -> Router {
    Router::new()
        .route("/kv/{key}", post(kv))
        .route("/health", get(health))
        .with_state(api)
}

type Answer = (StatusCode, Json<Value>);

async fn kv(State(api): State<Api>, Path(key): Path<String>, body: Bytes) -> Answer {
    let request = match parse_request(key, &body) {
        Ok(request) => request,
        Err(reason) => {
            let body = json!({"error": "bad-request", "reason": reason});
            return (StatusCode::BAD_REQUEST, Json(body));
        }
    };
    let (tx, rx) = oneshot::channel();
    // Not waiting for room: a full queue means the node is far behind, and refusing now is a
    // definite answer where waiting would likely end in an unknown one.
    if let Err(e) = api.calls.try_send((request, tx)) {
        let reason = match e {
            TrySendError::Full(_) => "overloaded",
            TrySendError::Closed(_) => "shutting-down",
        };
        return answer(Reply::Unavailable { reason }, &api.prefix);
    }
    match timeout(REQUEST_TIMEOUT, rx).await {
        Ok(Ok(reply)) => answer(reply, &api.prefix),
        // The loop stopped holding the request, which may have been proposed.
        Ok(Err(_)) => answer(
            Reply::Unknown {
                reason: "node-stopped",
            },
            &api.prefix,
        ),
        Err(_) => (
            StatusCode::GATEWAY_TIMEOUT,
            Json(json!({"error": "timeout"})),
        ),
    }
}

async fn health(State(api): State<Api>) -> Answer {
    let status = *api.status.borrow();
    let body = json!({
        "node": &*api.name,
        "role": role_name(status.role),
        "term": status.term,
        "leader": status.leader.map(|l| format!("{}{l}", api.prefix)),
    });
    let code = match status.leader {
        Some(_) => StatusCode::OK,
        None => StatusCode::SERVICE_UNAVAILABLE,
    };
    (code, Json(body))
}

/// The HTTP form of a reply.
pub(crate) fn answer(reply: Reply, prefix: &str) -> Answer {
    let (code, body) = match reply {
        Reply::Value(value) => (StatusCode::OK, json!({"value": value})),
        Reply::CasMismatch { current } => (
            StatusCode::CONFLICT,
            json!({"error": "cas-mismatch", "current": current}),
        ),
        Reply::NotLeader { leader } => (
            StatusCode::MISDIRECTED_REQUEST,
            json!({"error": "not-leader", "leader": leader.map(|l| format!("{prefix}{l}"))}),
        ),
        Reply::Unavailable { reason } => (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"error": "unavailable", "reason": reason}),
        ),
        Reply::Unknown { reason } => (StatusCode::INTERNAL_SERVER_ERROR, json!({"error": reason})),
    };
    (code, Json(body))
}

/// Parses `POST /kv/{key}`'s body: `{"op": "read" | "write" | "cas", "value", "from", "to",
/// "client", "seq"}`. A write or cas must name its `client` and `seq` (they make retries safe);
/// a read never enters the log and may leave them out. `value`, `from` and `to` must be present
/// where the op needs them, `null` included.
pub(crate) fn parse_request(key: String, body: &[u8]) -> Result<Request, String> {
    let body: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let Some(fields) = body.as_object() else {
        return Err("the body is not a JSON object".into());
    };
    let field = |name: &str| {
        fields
            .get(name)
            .cloned()
            .ok_or_else(|| format!("missing \"{name}\""))
    };
    let id = |name: &str| match fields.get(name) {
        Some(v) => v
            .as_u64()
            .ok_or_else(|| format!("\"{name}\" is not an unsigned integer")),
        None => Err(format!("missing \"{name}\"")),
    };
    let op = match fields.get("op").and_then(Value::as_str) {
        Some("read") => Op::Read,
        Some("write") => Op::Write(field("value")?),
        Some("cas") => Op::Cas {
            from: field("from")?,
            to: field("to")?,
        },
        _ => return Err("\"op\" must be \"read\", \"write\" or \"cas\"".into()),
    };
    let (client, seq) = match op {
        Op::Read => (id("client").unwrap_or(0), id("seq").unwrap_or(0)),
        _ => (id("client")?, id("seq")?),
    };
    Ok(Request {
        key,
        client,
        seq,
        op,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: Value) -> Result<Request, String> {
        parse_request("k".into(), body.to_string().as_bytes())
    }

    #[test]
    fn the_three_operations_parse() {
        let read = parse(json!({"op": "read", "client": 7, "seq": 12})).unwrap();
        assert_eq!((read.op, read.client, read.seq), (Op::Read, 7, 12));
        assert_eq!(parse(json!({"op": "read"})).unwrap().op, Op::Read);
        let write = parse(json!({"op": "write", "value": 3, "client": 7, "seq": 13})).unwrap();
        assert_eq!(write.op, Op::Write(json!(3)));
        assert_eq!(write.key, "k");
        let cas = parse(json!({"op": "cas", "from": null, "to": 4, "client": 7, "seq": 14}));
        assert_eq!(
            cas.unwrap().op,
            Op::Cas {
                from: Value::Null,
                to: json!(4)
            }
        );
    }

    #[test]
    fn malformed_requests_are_refused() {
        assert!(parse_request("k".into(), b"{").is_err());
        assert!(parse(json!([1])).is_err());
        assert!(parse(json!({"op": "delete", "client": 1, "seq": 1})).is_err());
        assert!(parse(json!({"op": "write", "client": 1, "seq": 1})).is_err());
        assert!(parse(json!({"op": "write", "value": 1, "seq": 1})).is_err());
        assert!(parse(json!({"op": "cas", "to": 1, "client": 1, "seq": 1})).is_err());
        assert!(parse(json!({"op": "write", "value": 1, "client": -1, "seq": 1})).is_err());
    }

    #[test]
    fn replies_take_the_protocols_statuses() {
        let status = |reply| answer(reply, "n").0.as_u16();
        assert_eq!(status(Reply::Value(json!(1))), 200);
        assert_eq!(status(Reply::CasMismatch { current: json!(2) }), 409);
        assert_eq!(status(Reply::NotLeader { leader: Some(2) }), 421);
        assert_eq!(status(Reply::Unavailable { reason: "x" }), 503);
        let unknown = status(Reply::Unknown { reason: "x" });
        assert!(![200, 409, 421, 503].contains(&unknown));
        let (_, Json(body)) = answer(Reply::NotLeader { leader: Some(2) }, "n");
        assert_eq!(body, json!({"error": "not-leader", "leader": "n2"}));
        let (_, Json(body)) = answer(Reply::NotLeader { leader: Some(2) }, "s");
        assert_eq!(body, json!({"error": "not-leader", "leader": "s2"}));
        let (_, Json(body)) = answer(Reply::NotLeader { leader: None }, "n");
        assert_eq!(body, json!({"error": "not-leader", "leader": null}));
    }
}
