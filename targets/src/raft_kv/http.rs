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
//! | a transaction done | 200 | `{"ops": [...]}` — its micro-operations, reads filled in |
//! | cas compared false | 409 | `{"error": "cas-mismatch", "current": v}` |
//! | not the leader (nothing proposed) | 421 | `{"error": "not-leader", "leader": "n2" \| null}` |
//! | definitely not done otherwise | 503 | `{"error": "unavailable", "reason": …}` |
//! | no answer in time | 504 | `{"error": "timeout"}` |
//! | outcome unknown otherwise | 500 | `{"error": "superseded" \| "node-stopped" \| …}` |
//! | malformed (nothing proposed), or a txn mixing a key's list and register (applied as nothing) | 400 | `{"error": "bad-request", "reason": …}` |
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
use crate::kv::txn::Micro;
use crate::kv::{Action, Op};

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
        .route("/txn", post(txn))
        .route("/health", get(health))
        .with_state(api)
}

type Answer = (StatusCode, Json<Value>);

async fn kv(State(api): State<Api>, Path(key): Path<String>, body: Bytes) -> Answer {
    submit(&api, parse_request(key, &body)).await
}

async fn txn(State(api): State<Api>, body: Bytes) -> Answer {
    submit(&api, parse_txn(&body)).await
}

/// Hands a parsed request to the event loop and says what became of it.
async fn submit(api: &Api, request: Result<Request, String>) -> Answer {
    let request = match request {
        Ok(request) => request,
        Err(reason) => return answer(Reply::BadRequest { reason }, &api.prefix),
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
        Reply::Txn(ops) => (StatusCode::OK, json!({"ops": ops})),
        Reply::BadRequest { reason } => (
            StatusCode::BAD_REQUEST,
            json!({"error": "bad-request", "reason": reason}),
        ),
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
        client,
        seq,
        action: Action::Key { key, op },
    })
}

/// Parses `POST /txn`'s body: `{"ops": [["append", k, v], ["r", k, null], ["w", k, v], …],
/// "client", "seq"}`, at least one micro-op. `client` and `seq` are required: every
/// transaction, read-only or not, is a log entry.
pub(crate) fn parse_txn(body: &[u8]) -> Result<Request, String> {
    let body: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let id = |name: &str| {
        body.get(name)
            .ok_or_else(|| format!("missing \"{name}\""))?
            .as_u64()
            .ok_or_else(|| format!("\"{name}\" is not an unsigned integer"))
    };
    let ops = match body.get("ops").and_then(Value::as_array) {
        Some(ops) if !ops.is_empty() => ops
            .iter()
            .map(Micro::from_json)
            .collect::<Result<Vec<_>, _>>()?,
        _ => return Err("\"ops\" must be a list of at least one micro-op".into()),
    };
    Ok(Request {
        client: id("client")?,
        seq: id("seq")?,
        action: Action::Txn(ops),
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
        let key = |op| Action::Key {
            key: "k".into(),
            op,
        };
        let read = parse(json!({"op": "read", "client": 7, "seq": 12})).unwrap();
        assert_eq!((read.action, read.client, read.seq), (key(Op::Read), 7, 12));
        assert_eq!(parse(json!({"op": "read"})).unwrap().action, key(Op::Read));
        let write = parse(json!({"op": "write", "value": 3, "client": 7, "seq": 13})).unwrap();
        assert_eq!(write.action, key(Op::Write(json!(3))));
        let cas = parse(json!({"op": "cas", "from": null, "to": 4, "client": 7, "seq": 14}));
        assert_eq!(
            cas.unwrap().action,
            key(Op::Cas {
                from: Value::Null,
                to: json!(4)
            })
        );
    }

    #[test]
    fn transactions_parse() {
        let txn = |body: Value| parse_txn(body.to_string().as_bytes());
        let request =
            txn(json!({"ops": [["append", 3, 1], ["r", "k", null]], "client": 7, "seq": 2}))
                .unwrap();
        assert_eq!((request.client, request.seq), (7, 2));
        let Action::Txn(ops) = request.action else {
            panic!("a transaction")
        };
        assert_eq!(ops.len(), 2);
        for bad in [
            json!({"ops": [], "client": 1, "seq": 1}),
            json!({"ops": [["r", 1, null]], "client": 1}),
            json!({"ops": [["r", 1, null]], "seq": 1}),
            json!({"ops": [["cas", 1, 2]], "client": 1, "seq": 1}),
            json!({"ops": [["r", [1], null]], "client": 1, "seq": 1}),
            json!({"ops": "r", "client": 1, "seq": 1}),
        ] {
            assert!(txn(bad.clone()).is_err(), "{bad}");
        }
        assert!(parse_txn(b"[").is_err());
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
        assert_eq!(status(Reply::Txn(vec![json!(["r", 1, null])])), 200);
        let bad = Reply::BadRequest { reason: "x".into() };
        assert_eq!(status(bad), 400);
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
