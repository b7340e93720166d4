//! The `http-ids` protocol (docs/protocols/http-ids.md) and the serving code the three bundled
//! ID servers share: [`snowflake`](crate::snowflake), [`uuid_ids`](crate::uuid_ids) and
//! [`segment`](crate::segment).
//!
//! ```text
//!  POST /ids {"count": n} ──▶ parse_count (pure) ──▶ Issuer::issue(n) ──▶ Ok(ids) ──▶ 200 {"ids": […]}
//!                                  │ Err                                 └▶ Err(Failure) ──▶ answer
//!                                  └──────────────▶ 400 bad-request
//!  GET /health ──▶ Issuer::health() ──▶ 200 {"node": …, …}
//! ```
//!
//! A server is an [`Issuer`]: given a count it answers all the IDs or one [`Failure`], never a
//! part of a batch, so every answer but a 200 is *definite* — the client was handed no ID, and
//! a history checker may record the operation `fail`. IDs travel as JSON strings (snowflake
//! IDs in decimal): a 64-bit integer does not survive every JSON reader (JavaScript's numbers
//! hold 53 bits), and a string compares exactly wherever it goes.
//!
//! `serve_http` serves an issuer until shutdown. The rest of the process — the command line,
//! [`Listener`], [`Error`], the log, `main` — is the [`shell`](crate::shell) every node
//! shares; [`ArgsError`], [`Error`] and [`Listener`] are re-exported here for the ID servers'
//! callers.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use serde_json::{Value, json};

use crate::shell::HttpServer;
pub use crate::shell::{ArgsError, Error, Listener};

/// The most IDs one request may ask for.
pub const MAX_COUNT: usize = 1000;

/// Why a request got no IDs. Every one is definite: nothing was handed out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// A malformed body, or a count out of `1..=MAX_COUNT` (400).
    BadRequest(String),
    /// The wall clock is behind the last timestamp issued by more than the server will wait
    /// out (503).
    ClockMovedBackwards { behind_ms: u64 },
    /// The wall clock is outside the range the ID's timestamp field can hold (500).
    TimestampExhausted { now_ms: i64 },
    /// The store the server takes its IDs from did not answer within the request's wait
    /// (503).
    StoreUnavailable { waited_ms: u64 },
    /// The server cannot record what it must before issuing (its high-water mark) (503).
    Unavailable(String),
}

/// The HTTP form of a failure: its status and body.
pub fn failure_answer(failure: &Failure) -> (StatusCode, Value) {
    match failure {
        Failure::BadRequest(message) => (
            StatusCode::BAD_REQUEST,
            json!({"error": "bad-request", "definite": true, "message": message}),
        ),
        Failure::ClockMovedBackwards { behind_ms } => (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"error": "clock-moved-backwards", "definite": true, "behind_ms": behind_ms}),
        ),
        Failure::TimestampExhausted { now_ms } => (
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"error": "timestamp-exhausted", "definite": true, "now_ms": now_ms}),
        ),
        Failure::StoreUnavailable { waited_ms } => (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"error": "store-unavailable", "definite": true, "waited_ms": waited_ms}),
        ),
        Failure::Unavailable(message) => (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"error": "unavailable", "definite": true, "message": message}),
        ),
    }
}

/// Parses `POST /ids`'s body: a JSON object whose optional `"count"` is an integer in
/// `1..=MAX_COUNT` (1 when absent). Other fields are ignored.
pub fn parse_count(body: &[u8]) -> Result<usize, String> {
    let body: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let Some(fields) = body.as_object() else {
        return Err("the body is not a JSON object".into());
    };
    match fields.get("count") {
        None => Ok(1),
        Some(count) => match count.as_u64() {
            Some(n) if (1..=MAX_COUNT as u64).contains(&n) => Ok(n as usize),
            _ => Err(format!(
                "\"count\" must be an integer from 1 to {MAX_COUNT}, not {count}"
            )),
        },
    }
}

/// An ID server, as the HTTP layer sees it.
pub trait Issuer: Send + Sync + 'static {
    /// Exactly `count` new IDs (`1..=MAX_COUNT`), as the strings sent, or why none.
    fn issue(&self, count: usize) -> impl Future<Output = Result<Vec<String>, Failure>> + Send;

    /// `GET /health`'s body: at least `{"node": name}`.
    fn health(&self) -> Value;
}

type Answer = (StatusCode, Json<Value>);

/// `POST /ids` and `GET /health`, answered by `issuer`.
pub fn router<I: Issuer>(issuer: Arc<I>) -> Router {
    Router::new()
        .route("/ids", post(ids::<I>))
        .route("/health", get(health::<I>))
        .with_state(issuer)
}

async fn ids<I: Issuer>(State(issuer): State<Arc<I>>, body: Bytes) -> Answer {
    let result = match parse_count(&body) {
        Ok(count) => issuer.issue(count).await,
        Err(message) => Err(Failure::BadRequest(message)),
    };
    match result {
        Ok(ids) => (StatusCode::OK, Json(json!({ "ids": ids }))),
        Err(failure) => {
            let (code, body) = failure_answer(&failure);
            (code, Json(body))
        }
    }
}

async fn health<I: Issuer>(State(issuer): State<Arc<I>>) -> Answer {
    (StatusCode::OK, Json(issuer.health()))
}

/// Serves `issuer` on `listener` until `shutdown` completes, then lets open connections
/// finish (for at most [`HTTP_DRAIN`](crate::shell::HTTP_DRAIN)).
pub(crate) async fn serve_http<I: Issuer>(
    listener: Listener,
    issuer: Arc<I>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    let mut http = HttpServer::spawn(listener, router(issuer));
    let ended = tokio::select! {
        () = shutdown => None,
        result = http.ended() => Some(result),
    };
    match ended {
        Some(result) => result,
        None => {
            http.stop().await;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_parse() {
        assert_eq!(parse_count(br#"{"count": 5}"#), Ok(5));
        assert_eq!(parse_count(br#"{}"#), Ok(1));
        assert_eq!(parse_count(br#"{"count": 1000, "other": 1}"#), Ok(1000));
        assert_eq!(parse_count(br#"{"count": 1}"#), Ok(1));
    }

    #[test]
    fn malformed_bodies_and_counts_are_refused() {
        for body in [
            &br#"{"count": 0}"#[..],
            br#"{"count": 1001}"#,
            br#"{"count": -1}"#,
            br#"{"count": 2.5}"#,
            br#"{"count": "3"}"#,
            br#"{"count": null}"#,
            br#"[1]"#,
            br#"3"#,
            b"{",
            b"",
            b"count=3",
        ] {
            let error = parse_count(body).unwrap_err();
            assert!(!error.is_empty(), "{body:?}");
        }
    }

    #[test]
    fn failures_take_the_protocols_statuses() {
        let answer = |f: Failure| failure_answer(&f);
        let (code, body) = answer(Failure::BadRequest("x".into()));
        assert_eq!(code, StatusCode::BAD_REQUEST);
        assert_eq!(
            body,
            json!({"error": "bad-request", "definite": true, "message": "x"})
        );
        let (code, body) = answer(Failure::ClockMovedBackwards { behind_ms: 2000 });
        assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            body,
            json!({"error": "clock-moved-backwards", "definite": true, "behind_ms": 2000})
        );
        let (code, body) = answer(Failure::TimestampExhausted { now_ms: 7 });
        assert_eq!(code, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body["error"], "timestamp-exhausted");
        assert_eq!(body["definite"], true);
        let (code, body) = answer(Failure::StoreUnavailable { waited_ms: 1000 });
        assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            body,
            json!({"error": "store-unavailable", "definite": true, "waited_ms": 1000})
        );
    }
}
