//! The transactional workloads' client: against scripted servers, each protocol answer is
//! recorded as the history requires (ok with the reads filled in, fail, info); against a real
//! single-node raft-kv, a transaction's reads come back filled in and a mixed one fails.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use checkers::history::EventType;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use workloads::register::client::{Client, Node};
use workloads::txn::client::perform;
use workloads::txn::generator::{Kind, Micro, Txn};

/// Answers every `POST /txn` with `status` and `body` after `delay`.
async fn server(status: u16, body: Value, delay: Duration) -> SocketAddr {
    let app = Router::new().route(
        "/txn",
        post(move || async move {
            tokio::time::sleep(delay).await;
            (StatusCode::from_u16(status).unwrap(), axum::Json(body))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

fn client(nodes: &[(&str, SocketAddr)]) -> Client {
    let nodes = nodes
        .iter()
        .map(|(name, addr)| Node {
            name: name.to_string(),
            addr: *addr,
            from: None,
        })
        .collect();
    Client::new(nodes, Duration::from_millis(500))
}

fn txn(kind: Kind) -> Txn {
    Txn {
        kind,
        ops: vec![Micro::Write(3, 1), Micro::Read(4)],
    }
}

#[tokio::test]
async fn a_200_is_ok_with_the_reads_filled_in() {
    let done = json!({"ops": [["append", 3, 1], ["r", 4, [1, 2]]]});
    let addr = server(200, done, Duration::ZERO).await;
    let out = perform(
        &client(&[("n1", addr)]),
        1,
        1,
        &mut 0,
        &txn(Kind::ListAppend),
    )
    .await;
    assert_eq!(out.kind, EventType::Ok);
    assert_eq!(out.value, json!([["append", 3, 1], ["r", 4, [1, 2]]]));
}

#[tokio::test]
async fn an_answer_that_is_not_the_transaction_is_info() {
    let wrong = json!({"ops": [["append", 3, 2], ["r", 4, [1, 2]]]});
    let addr = server(200, wrong, Duration::ZERO).await;
    let out = perform(
        &client(&[("n1", addr)]),
        1,
        1,
        &mut 0,
        &txn(Kind::ListAppend),
    )
    .await;
    assert_eq!(out.kind, EventType::Info, "{out:?}");
    assert_eq!(out.value, json!([["append", 3, 1], ["r", 4, null]]));
}

#[tokio::test]
async fn not_the_leader_redirects_and_a_bad_request_fails() {
    let done = json!({"ops": [["w", 3, 1], ["r", 4, 7]]});
    let leader = server(200, done, Duration::ZERO).await;
    let follower = server(
        421,
        json!({"error": "not-leader", "leader": "n2"}),
        Duration::ZERO,
    )
    .await;
    let mut node = 0;
    let c = client(&[("n1", follower), ("n2", leader)]);
    let out = perform(&c, 1, 1, &mut node, &txn(Kind::RwRegister)).await;
    assert_eq!((out.kind, out.node.as_str()), (EventType::Ok, "n2"));
    assert_eq!(out.value, json!([["w", 3, 1], ["r", 4, 7]]));

    let refused = json!({"error": "bad-request", "reason": "key 3 holds a list: no write"});
    let bad = server(400, refused, Duration::ZERO).await;
    let out = perform(
        &client(&[("n1", bad)]),
        1,
        2,
        &mut 0,
        &txn(Kind::RwRegister),
    )
    .await;
    assert_eq!(out.kind, EventType::Fail);
    assert_eq!(out.value, json!([["w", 3, 1], ["r", 4, null]]));
}

#[tokio::test]
async fn a_timeout_after_sending_is_info() {
    let addr = server(200, json!({"ops": []}), Duration::from_secs(5)).await;
    let out = perform(
        &client(&[("n1", addr)]),
        1,
        1,
        &mut 0,
        &txn(Kind::ListAppend),
    )
    .await;
    assert_eq!(out.kind, EventType::Info, "{out:?}");
    assert_eq!(out.error.as_deref(), Some("timeout"));
}

#[tokio::test]
async fn against_a_real_raft_kv_node() {
    let dir = std::env::temp_dir().join(format!("faultline-txn-client-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    // Bound here and handed over, so that no other test can take the ports in between.
    let bind = || std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let (client_socket, peer_socket) = (bind(), bind());
    let client_addr = client_socket.local_addr().unwrap();
    let peer_addr = peer_socket.local_addr().unwrap();
    let args = format!(
        "--id n1 --client {client_addr} --peer {peer_addr} --data-dir {}",
        dir.display()
    );
    let config =
        targets::raft_kv::Config::from_args(args.split_whitespace().map(str::to_string).collect())
            .unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let listeners = targets::shell::Listeners::from_std(client_socket, peer_socket).unwrap();
    let node = tokio::spawn(targets::raft_kv::serve_on(config, listeners, async {
        let _ = stopped.await;
    }));
    let c = Client::new(
        vec![Node {
            name: "n1".into(),
            addr: client_addr,
            from: None,
        }],
        Duration::from_secs(2),
    );
    // Until the single node elects itself and the transaction is applied.
    let mut first = None;
    for seq in 1..100 {
        let out = perform(&c, 1, seq, &mut 0, &txn(Kind::ListAppend)).await;
        if out.kind == EventType::Ok {
            first = Some(out);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let first = first.expect("the node applied the transaction");
    assert_eq!(first.value, json!([["append", 3, 1], ["r", 4, null]]));
    let read = Txn {
        kind: Kind::ListAppend,
        ops: vec![Micro::Read(3), Micro::Write(4, 1), Micro::Read(4)],
    };
    let out = perform(&c, 1, 100, &mut 0, &read).await;
    assert_eq!(
        (out.kind, out.value),
        (
            EventType::Ok,
            json!([["r", 3, [1]], ["append", 4, 1], ["r", 4, [1]]])
        )
    );
    // Key 3 holds a list: writing it as a register is refused, and nothing of it happens.
    let mixed = Txn {
        kind: Kind::RwRegister,
        ops: vec![Micro::Write(5, 1), Micro::Write(3, 2)],
    };
    let out = perform(&c, 1, 101, &mut 0, &mixed).await;
    assert_eq!(out.kind, EventType::Fail, "{out:?}");
    let out = perform(&c, 1, 102, &mut 0, &txn(Kind::RwRegister)).await;
    assert_eq!(out.kind, EventType::Fail, "key 3 is a list: {out:?}");
    let check = Txn {
        kind: Kind::RwRegister,
        ops: vec![Micro::Read(5)],
    };
    let out = perform(&c, 1, 103, &mut 0, &check).await;
    assert_eq!(out.value, json!([["r", 5, null]]));

    let _ = stop.send(());
    node.await.unwrap().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
