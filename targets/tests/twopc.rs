//! End-to-end tests of the `2pc` node: a coordinator and participants on loopback
//! ([`support::txn_bank`]), driven through the `txn-http` protocol with an HTTP client.

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::txn_bank::{Bank, until_up};
use targets::twopc::node::TwoPc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfers_commit_reads_see_the_total_and_participants_say_what_they_decided() {
    let bank = Bank::<TwoPc>::start(2, "");
    until_up(&bank).await;
    // Accounts are dealt in turn: n2 owns 0, 2, 4, 6; n3 owns 1, 3, 5, 7. 100 / 8 = 12, and
    // the 4 left over open account 0.
    let (status, answer) = bank
        .post("/transfer", json!({"from": 0, "to": 1, "amount": 5}))
        .await;
    assert_eq!(
        (status, &answer["committed"]),
        (200, &json!(true)),
        "{answer}"
    );
    let txn = answer["txn"].as_str().unwrap().to_string();
    let (status, read) = bank.post("/read", json!(null)).await;
    assert_eq!(status, 200, "{read}");
    let balances = &read["balances"];
    assert_eq!((&balances["0"], &balances["1"]), (&json!(11), &json!(17)));
    let total: i64 = balances
        .as_object()
        .unwrap()
        .values()
        .map(|b| b.as_i64().unwrap())
        .sum();
    assert_eq!(total, 100);

    // Refused before anything begins: malformed, unknown account, to itself.
    for body in [
        json!({"from": 0, "to": 1}),
        json!({"from": 0, "to": 99, "amount": 1}),
        json!({"from": 1, "to": 1, "amount": 1}),
    ] {
        let (status, answer) = bank.post("/transfer", body).await;
        assert_eq!(status, 400, "{answer}");
        assert!(answer["error"].as_str().is_some_and(|e| !e.contains('\n')));
    }
    // An overdraft is voted down: aborted, definitely.
    let (status, answer) = bank
        .post("/transfer", json!({"from": 2, "to": 3, "amount": 1000}))
        .await;
    assert_eq!((status, &answer["committed"]), (409, &json!(false)));

    let n2 = bank.decisions(1).await;
    assert_eq!(n2.coordinator, "n1");
    assert_eq!(n2.initial.keys().collect::<Vec<_>>(), ["0", "2", "4", "6"]);
    assert_eq!(n2.balances["0"], 11);
    let t = n2.txns.iter().find(|t| t.txn == txn).expect("the transfer");
    assert_eq!(t.op, json!({"from": 0, "to": 1, "amount": 5}));
    assert_eq!(
        (t.vote.as_deref(), t.decision.as_deref()),
        (Some("yes"), Some("commit"))
    );
    assert!(t.prepared_ago_us >= t.decided_ago_us && t.decided_ago_us.is_some());
    let overdraft = n2.txns.last().unwrap();
    assert_eq!(
        (overdraft.vote.as_deref(), overdraft.decision.as_deref()),
        (Some("no"), Some("abort"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_coordinator_gone_after_the_votes_leaves_participants_in_doubt_until_it_returns() {
    // Votes are held 600 ms at the coordinator: it is stopped while both participants sit
    // prepared, before it decides.
    let mut bank = Bank::<TwoPc>::start(2, "--vote-delay-ms 600");
    until_up(&bank).await;
    bank.stop_the_coordinator_mid_transfer(Duration::from_millis(250))
        .await;
    // Blocked: in doubt, and still so a second later (they ask, nobody answers).
    for _ in 0..2 {
        for p in [1, 2] {
            let d = bank.decisions(p).await;
            let t = &d.txns[0];
            assert_eq!(
                (t.vote.as_deref(), t.decision.as_deref()),
                (Some("yes"), None)
            );
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    // Back: it has no commit logged, so the answer to their inquiries is abort (presumed).
    bank.restart(0);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let decided: Vec<Option<String>> = [
            bank.decisions(1).await.txns[0].decision.clone(),
            bank.decisions(2).await.txns[0].decision.clone(),
        ]
        .into();
        if decided.iter().all(|d| d.as_deref() == Some("abort")) {
            break;
        }
        assert!(Instant::now() < deadline, "still undecided: {decided:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // And the bank goes on, under a new incarnation.
    let (status, answer) = bank
        .post("/transfer", json!({"from": 0, "to": 1, "amount": 5}))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert!(
        answer["txn"].as_str().unwrap().starts_with("2."),
        "{answer}"
    );
}
