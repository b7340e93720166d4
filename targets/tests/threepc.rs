//! End-to-end tests of the `3pc` node: a coordinator and participants on loopback
//! ([`support::txn_bank`]), driven through the `txn-http` protocol with an HTTP client — and
//! the contrast with 2PC: participants whose coordinator is gone decide without it.

mod support;

use std::time::Duration;

use serde_json::json;
use support::txn_bank::{Bank, until_up};
use targets::threepc::node::ThreePc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_commits_and_a_read_sees_the_total() {
    let bank = Bank::<ThreePc>::start(2, "");
    until_up(&bank).await;
    let (status, answer) = bank
        .post("/transfer", json!({"from": 0, "to": 1, "amount": 5}))
        .await;
    assert_eq!(status, 200, "{answer}");
    let txn = answer["txn"].as_str().unwrap().to_string();
    let (status, read) = bank.post("/read", json!(null)).await;
    assert_eq!(status, 200, "{read}");
    let balances = read["balances"].as_object().unwrap();
    assert_eq!((&balances["0"], &balances["1"]), (&json!(11), &json!(17)));
    assert_eq!(
        balances.values().map(|b| b.as_i64().unwrap()).sum::<i64>(),
        100
    );
    // An overdraft is voted down: aborted, definitely.
    let (status, _) = bank
        .post("/transfer", json!({"from": 2, "to": 3, "amount": 1000}))
        .await;
    assert_eq!(status, 409);

    // Each participant journals the three steps: prepared, pre-committed, committed.
    for p in [1, 2] {
        let d = bank.decisions(p).await;
        let t = d.txns.iter().find(|t| t.txn == txn).expect("the transfer");
        assert_eq!(t.op, json!({"from": 0, "to": 1, "amount": 5}));
        assert_eq!(
            (t.vote.as_deref(), t.decision.as_deref()),
            (Some("yes"), Some("commit"))
        );
        let (prepared, precommitted, decided) =
            (t.prepared_ago_us, t.precommitted_ago_us, t.decided_ago_us);
        assert!(decided.is_some() && precommitted >= decided && prepared >= precommitted);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn participants_decide_by_termination_without_their_coordinator() {
    // Votes are held 400 ms at the coordinator (below its 0.5 s vote timeout, so that they
    // still count): it is stopped while both participants sit uncertain (voted yes, not
    // pre-committed) — where 2PC's participants would block.
    let mut bank = Bank::<ThreePc>::start(3, "--vote-delay-ms 400");
    until_up(&bank).await;
    let stopped = bank
        .stop_the_coordinator_mid_transfer(Duration::from_millis(200))
        .await;
    // Never restarted: they time out, gather their states and, all uncertain, abort — within
    // the 3PC timeout and one round of termination (about 1 s), well inside 2 s.
    loop {
        let mut decisions = Vec::new();
        for p in [1, 2] {
            let d = bank.decisions(p).await;
            let t = &d.txns[0];
            assert_eq!(t.vote.as_deref(), Some("yes"));
            assert_eq!(t.precommitted_ago_us, None, "nobody was pre-committed");
            decisions.push(t.decision.clone());
        }
        if decisions.iter().all(Option::is_some) {
            assert!(
                decisions.iter().all(|d| d.as_deref() == Some("abort")),
                "{decisions:?}"
            );
            break;
        }
        assert!(
            stopped.elapsed() < Duration::from_secs(2),
            "still undecided after 2 s: {decisions:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Their locks are free again: once the coordinator is back, accounts 0 and 1 take a new
    // transaction. (Tried a few times: the participants' first votes to the new coordinator
    // may be lost on their links' stale connections, aborting that try by vote timeout.)
    bank.restart(0);
    until_up(&bank).await;
    let mut answers = Vec::new();
    for _ in 0..5 {
        let (status, answer) = bank
            .post("/transfer", json!({"from": 0, "to": 1, "amount": 5}))
            .await;
        if status == 200 {
            return;
        }
        answers.push(answer);
    }
    panic!("no transfer commits after the coordinator's return: {answers:?}");
}
