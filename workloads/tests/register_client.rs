//! The register client against scripted servers: each protocol answer is recorded as the
//! history requires (ok / fail / info), redirects are followed, and a timeout after sending is
//! never a failure.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use checkers::history::EventType;
use serde_json::{Value, json};
use workloads::register::client::{Client, Node};
use workloads::register::generator::{Invocation, Op};

/// Serves `answer` (status, body, delay) for every request; counts requests.
async fn server(answer: (u16, Value, Duration)) -> (SocketAddr, Arc<AtomicU32>) {
    let hits = Arc::new(AtomicU32::new(0));
    let state = (answer, hits.clone());
    let app = Router::new()
        .route(
            "/kv/{key}",
            post(
                |State(((status, body, delay), hits)): State<(
                    (u16, Value, Duration),
                    Arc<AtomicU32>,
                )>| async move {
                    hits.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(delay).await;
                    (StatusCode::from_u16(status).unwrap(), axum::Json(body))
                },
            ),
        )
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, hits)
}

fn client(nodes: &[(&str, SocketAddr)]) -> Client {
    Client::new(
        nodes
            .iter()
            .map(|(n, a)| Node {
                name: n.to_string(),
                addr: *a,
                from: None,
            })
            .collect(),
        Duration::from_millis(500),
    )
}

const WRITE: Invocation = Invocation {
    key: 1,
    op: Op::Write(3),
};

#[tokio::test]
async fn a_200_is_ok_and_a_read_records_what_it_read() {
    let (addr, _) = server((200, json!({"value": 4}), Duration::ZERO)).await;
    let c = client(&[("n1", addr)]);
    let mut pref = 0;
    let read = c
        .invoke(
            1,
            1,
            &mut pref,
            Invocation {
                key: 1,
                op: Op::Read,
            },
        )
        .await;
    assert_eq!((read.kind, read.value), (EventType::Ok, json!(4)));
    let write = c.invoke(1, 2, &mut pref, WRITE).await;
    assert_eq!((write.kind, write.value), (EventType::Ok, json!(3)));
}

#[tokio::test]
async fn a_cas_mismatch_is_a_failure() {
    let (addr, _) = server((
        409,
        json!({"error": "cas-mismatch", "current": 1}),
        Duration::ZERO,
    ))
    .await;
    let out = client(&[("n1", addr)])
        .invoke(
            1,
            1,
            &mut 0,
            Invocation {
                key: 1,
                op: Op::Cas { from: 0, to: 2 },
            },
        )
        .await;
    assert_eq!(out.kind, EventType::Fail);
    assert_eq!(out.value, json!([0, 2]));
}

#[tokio::test]
async fn not_the_leader_redirects_to_the_hinted_node() {
    let (leader, leader_hits) = server((200, json!({"value": 3}), Duration::ZERO)).await;
    let (follower, _) = server((
        421,
        json!({"error": "not-leader", "leader": "n2"}),
        Duration::ZERO,
    ))
    .await;
    let c = client(&[("n1", follower), ("n2", leader)]);
    let mut pref = 0;
    let out = c.invoke(1, 1, &mut pref, WRITE).await;
    assert_eq!((out.kind, out.node.as_str()), (EventType::Ok, "n2"));
    assert_eq!(pref, 1, "the client now prefers the leader");
    assert_eq!(leader_hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn refusals_everywhere_are_a_failure() {
    let (a, _) = server((503, json!({"error": "unavailable"}), Duration::ZERO)).await;
    let (b, _) = server((
        421,
        json!({"error": "not-leader", "leader": null}),
        Duration::ZERO,
    ))
    .await;
    let out = client(&[("n1", a), ("n2", b)])
        .invoke(1, 1, &mut 0, WRITE)
        .await;
    assert_eq!(out.kind, EventType::Fail, "{out:?}");
}

#[tokio::test]
async fn a_timeout_after_sending_is_info_never_fail() {
    let (addr, _) = server((200, json!({"value": 3}), Duration::from_secs(5))).await;
    let out = client(&[("n1", addr)]).invoke(1, 1, &mut 0, WRITE).await;
    assert_eq!(out.kind, EventType::Info, "{out:?}");
    assert_eq!(out.error.as_deref(), Some("timeout"));
}

#[tokio::test]
async fn a_504_is_unknown_and_retrying_keeps_it_unknown() {
    let (slow, _) = server((504, json!({"error": "timeout"}), Duration::ZERO)).await;
    let out = client(&[("n1", slow)]).invoke(1, 1, &mut 0, WRITE).await;
    assert_eq!(out.kind, EventType::Info);
}

#[tokio::test]
async fn a_refused_connection_is_a_failure() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let out = client(&[("n1", dead)]).invoke(1, 1, &mut 0, WRITE).await;
    assert_eq!(out.kind, EventType::Fail, "{out:?}");
}
