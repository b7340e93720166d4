//! The transactional workloads' client for the `http-kv` protocol's `POST /txn`
//! (docs/protocols/http-kv.md): the register's client ([`crate::register::client`]) carries the
//! request — the leader hints, the retries with one `(client, seq)`, the honest outcomes — and
//! this module says a transaction in it and reads the answer back.
//!
//! `ok` records the transaction as the server answered it, each read filled in; `fail` (every
//! attempt definitely not done) and `info` (maybe done) record it as invoked, reads `null`.

use checkers::history::EventType;
use serde_json::{Value, json};

use super::generator::Txn;
use crate::register::client::{Client as HttpKv, Outcome};

/// Performs `txn` as `(client, seq)` through `http`, starting at node index `*node`, which
/// follows the leader hints it gets.
pub async fn perform(http: &HttpKv, client: u64, seq: u64, node: &mut usize, txn: &Txn) -> Outcome {
    let invoked = txn.to_json();
    let body = json!({"ops": invoked, "client": client, "seq": seq});
    let call = http.call("/txn", &body, node).await;
    let Some(answer) = call.answer else {
        return Outcome {
            kind: call.kind,
            value: invoked,
            error: call.error,
            node: call.node,
        };
    };
    match completed(&invoked, answer.get("ops")) {
        Some(done) => Outcome {
            kind: EventType::Ok,
            value: done,
            error: None,
            node: call.node,
        },
        // Done, the server says, but not saying what it read: the reads are unknown, and so
        // the transaction's outcome as far as the history can tell.
        None => Outcome {
            kind: EventType::Info,
            value: invoked,
            error: Some(format!("malformed answer: {answer}")),
            node: call.node,
        },
    }
}

/// The server's answer, if it is the invoked transaction with its reads filled in.
fn completed(invoked: &Value, answer: Option<&Value>) -> Option<Value> {
    let (asked, done) = (invoked.as_array()?, answer?.as_array()?);
    let same = asked.len() == done.len()
        && asked.iter().zip(done).all(|(a, d)| {
            let (a, d) = (a.as_array(), d.as_array());
            matches!((a, d), (Some(a), Some(d)) if d.len() == 3
                && a[..2] == d[..2]
                && (a[0] == "r" || a[2] == d[2]))
        });
    same.then(|| Value::Array(done.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_must_be_the_transaction_with_its_reads_filled_in() {
        let invoked = json!([["append", 3, 1], ["r", 4, null]]);
        let done = json!([["append", 3, 1], ["r", 4, [1, 2]]]);
        assert_eq!(completed(&invoked, Some(&done)), Some(done));
        for wrong in [
            json!([["append", 3, 1]]),
            json!([["append", 3, 2], ["r", 4, null]]),
            json!([["append", 3, 1], ["r", 5, null]]),
            json!([["append", 3, 1], ["w", 4, null]]),
            json!("ok"),
        ] {
            assert_eq!(completed(&invoked, Some(&wrong)), None, "{wrong}");
        }
        assert_eq!(completed(&invoked, None), None);
    }
}
