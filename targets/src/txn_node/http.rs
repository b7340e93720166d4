//! The client protocol ([`api`](crate::twopc::api)) in axum: the coordinator's `POST
//! /transfer` and `POST /read`, a participant's `GET /decisions`, and everyone's `GET
//! /health`. A handler parses the request (a malformed one is a 400, nothing begun), hands it
//! to the event loop with a oneshot, and says the loop's reply in HTTP. It waits as long as
//! the loop takes: the core answers every transaction it began within its vote timeout (a 3PC
//! one past `PreCommit`, once its participants' termination decided it), and a client that
//! gives up first sees an unknown outcome, which is the truth.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use super::coordinator::Request;
use crate::twopc::api::{Answer, Decisions, Refusal, TransferRequest};
use crate::twopc::core::Op;

/// The event loop's answer to a client.
#[derive(Debug)]
pub(super) enum Reply {
    /// The transaction began and ended (committed or aborted).
    Done(Answer),
    /// Refused before any transaction began.
    Refused(Refusal),
}

/// The coordinator's routes.
pub(super) fn coordinator(requests: mpsc::Sender<Request>) -> Router {
    Router::new()
        .route("/transfer", post(transfer))
        .route("/read", post(read))
        .route("/health", get(health))
        .with_state(requests)
}

/// A participant's routes.
pub(super) fn participant(queries: mpsc::Sender<oneshot::Sender<Decisions>>) -> Router {
    Router::new()
        .route("/decisions", get(decisions))
        .route("/health", get(health))
        .with_state(queries)
}

async fn health() -> StatusCode {
    StatusCode::OK
}

async fn transfer(State(requests): State<mpsc::Sender<Request>>, body: Bytes) -> Response {
    match parse_transfer(&body) {
        Ok(op) => perform(requests, op).await,
        Err(error) => refuse(StatusCode::BAD_REQUEST, error),
    }
}

async fn read(State(requests): State<mpsc::Sender<Request>>) -> Response {
    perform(requests, Op::ReadAll).await
}

/// A transfer request's operation, or why it is refused (free of I/O).
pub(crate) fn parse_transfer(body: &[u8]) -> Result<Op, String> {
    let request: TransferRequest = serde_json::from_slice(body).map_err(|e| {
        format!("malformed transfer request (expected {{\"from\":A,\"to\":B,\"amount\":N}}): {e}")
    })?;
    if request.amount <= 0 {
        return Err(format!(
            "a transfer's amount must be positive, not {}",
            request.amount
        ));
    }
    if request.from == request.to {
        return Err(format!(
            "a transfer from account {} to itself",
            request.from
        ));
    }
    Ok(Op::Transfer {
        from: request.from,
        to: request.to,
        amount: request.amount,
    })
}

async fn perform(requests: mpsc::Sender<Request>, op: Op) -> Response {
    let (reply, answer) = oneshot::channel();
    // Not waiting for room: a full queue means the coordinator is far behind, and refusing
    // now is a definite answer where waiting would likely end in an unknown one.
    if requests.try_send(Request { op, reply }).is_err() {
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded or stopping: nothing begun".into(),
        );
    }
    match answer.await {
        Ok(Reply::Done(answer)) if answer.committed => {
            (StatusCode::OK, Json(answer)).into_response()
        }
        Ok(Reply::Done(answer)) => (StatusCode::CONFLICT, Json(answer)).into_response(),
        Ok(Reply::Refused(refusal)) => (StatusCode::BAD_REQUEST, Json(refusal)).into_response(),
        // The loop stopped with the transaction begun: its fate is unknown.
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "stopping").into_response(),
    }
}

fn refuse(status: StatusCode, error: String) -> Response {
    (status, Json(Refusal { error })).into_response()
}

async fn decisions(State(queries): State<mpsc::Sender<oneshot::Sender<Decisions>>>) -> Response {
    let (tx, rx) = oneshot::channel();
    if queries.send(tx).await.is_err() {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    match rx.await {
        Ok(decisions) => Json(decisions).into_response(),
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}
