//! The transactional workloads' client for etcd (v3 API, through its JSON gateway), as Jepsen's
//! etcd list-append test does it: optimistic concurrency over two etcd Txns. One etcd key per
//! key, `faultline-txn/<key>` (apart from the register's and the lock's keys), its value JSON
//! text: the list (list-append) or the value (rw-register).
//!
//! ```text
//! Txn ─▶ read phase:   kv/txn, a range of every touched key ─▶ Versions (value, mod_revision)
//!     ─▶ commit phase: kv/txn  compare: every touched key's mod_revision unchanged
//!                              success: range every read key, then put every written key
//!     ─▶ succeeded: the micro-ops replayed over the ranged values ─▶ `ok`, reads filled in
//!        not succeeded: someone wrote a key in between ─▶ `fail` "conflict"
//! ```
//!
//! The compare makes the commit happen at a revision where every key is as the read phase saw
//! it, so the transaction is atomic at that revision; its reads are the commit's own ranges
//! (taken before its puts), replayed in order with its writes, so that a read after the
//! transaction's own append sees it. Ranges are linearizable (etcd's default: a read index
//! first), never serializable, so a correct etcd gives a strictly serializable history.
//!
//! Outcomes follow the history's rules, sorted by [`crate::etcd`]: the read phase changes
//! nothing, so any failure there is a `fail`; a commit etcd refused, or whose compare failed,
//! certainly did not happen (`fail`); one that timed out or lost its connection may have
//! (`info`) — unless it only reads.

use std::collections::BTreeMap;
use std::time::Duration;

use checkers::history::EventType;
use serde_json::{Value, json};

use super::generator::{Kind, Micro, Txn};
use crate::etcd::{Etcd, Failure, b64, number, unb64};
use crate::register::client::Outcome;
use crate::workload::Node;

/// One client's connection to its home member (Jepsen binds clients to nodes; a member
/// forwards proposals to the leader itself).
pub struct EtcdTxn {
    node: String,
    etcd: Etcd,
}

/// A key as the read phase found it.
#[derive(Clone, Debug, PartialEq)]
struct Version {
    /// Its value, decoded from JSON; `null` when the key does not exist.
    value: Value,
    /// The revision of its last change; 0 when it does not exist (which is what etcd compares
    /// a missing key's `mod_revision` as).
    mod_revision: i64,
}

/// The etcd key of key `key`.
fn etcd_key(key: u64) -> String {
    format!("faultline-txn/{key}")
}

/// The keys `txn` reads, and the keys it writes: each once, in order.
fn touched(txn: &Txn) -> (Vec<u64>, Vec<u64>) {
    let (mut read, mut written) = (Vec::new(), Vec::new());
    for op in &txn.ops {
        let (keys, key) = match *op {
            Micro::Read(k) => (&mut read, k),
            Micro::Write(k, _) => (&mut written, k),
        };
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    (read, written)
}

/// Every key `txn` touches, each once, in order.
fn all_keys(txn: &Txn) -> Vec<u64> {
    let mut keys = Vec::new();
    for op in &txn.ops {
        let (Micro::Read(k) | Micro::Write(k, _)) = *op;
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    keys
}

/// A range of one key, as a Txn request; linearizable, as no `serializable` is asked for.
fn range(key: u64) -> Value {
    json!({ "request_range": { "key": b64(etcd_key(key)) } })
}

/// The read phase: one read-only Txn ranging every key in `keys`.
fn read_request(keys: &[u64]) -> Value {
    json!({ "success": keys.iter().map(|&k| range(k)).collect::<Vec<_>>() })
}

/// The keys of a Txn answer's first `responses`, all ranges, in order.
fn ranged(answer: &Value, count: usize) -> Result<Vec<Version>, String> {
    let responses = answer["responses"]
        .as_array()
        .map_or(&[][..], Vec::as_slice);
    if responses.len() < count {
        return Err(format!("{count} ranges asked, answered: {answer}"));
    }
    responses[..count]
        .iter()
        .map(|response| {
            let range = &response["response_range"];
            // The gateway leaves out empty fields: no `kvs` is no key.
            let Some(kv) = range["kvs"].as_array().and_then(|kvs| kvs.first()) else {
                return Ok(Version {
                    value: Value::Null,
                    mod_revision: 0,
                });
            };
            let data = unb64(&kv["value"])?;
            let value = serde_json::from_slice(&data)
                .map_err(|e| format!("a key holds {data:?}, not JSON: {e}"))?;
            Ok(Version {
                value,
                mod_revision: number(&kv["mod_revision"]),
            })
        })
        .collect()
}

/// `write` done to a key holding `value`: `v` appended to the list (list-append), or `v`
/// (rw-register).
fn apply(kind: Kind, value: &Value, v: u64) -> Value {
    match kind {
        Kind::ListAppend => {
            let mut list = value.as_array().cloned().unwrap_or_default();
            list.push(Value::from(v));
            Value::Array(list)
        }
        Kind::RwRegister => Value::from(v),
    }
}

/// Replays `txn` over the keys' values in `state`: the values its writes leave (written
/// keys, in order), and the transaction in its history form with each read filled in.
fn replay(txn: &Txn, mut state: BTreeMap<u64, Value>) -> (Vec<(u64, Value)>, Value) {
    let mut done = txn.to_json();
    for (op, out) in txn
        .ops
        .iter()
        .zip(done.as_array_mut().into_iter().flatten())
    {
        match *op {
            Micro::Read(k) => out[2] = state.get(&k).cloned().unwrap_or(Value::Null),
            Micro::Write(k, v) => {
                let old = state.get(&k).cloned().unwrap_or(Value::Null);
                state.insert(k, apply(txn.kind, &old, v));
            }
        }
    }
    let (_, written) = touched(txn);
    let puts = written
        .into_iter()
        .map(|k| (k, state.remove(&k).unwrap_or(Value::Null)))
        .collect();
    (puts, done)
}

/// The commit phase: a Txn that goes ahead only if every key in `seen` still has the
/// `mod_revision` the read phase saw; then ranges every key in `reads` — before the puts, so
/// they are the values the transaction starts from — and puts each of `puts`.
fn commit_request(seen: &[(u64, i64)], reads: &[u64], puts: &[(u64, Value)]) -> Value {
    let compare: Vec<Value> = seen
        .iter()
        .map(|&(k, revision)| {
            json!({
                "key": b64(etcd_key(k)),
                "target": "MOD",
                "result": "EQUAL",
                "mod_revision": revision.to_string(),
            })
        })
        .collect();
    let mut success: Vec<Value> = reads.iter().map(|&k| range(k)).collect();
    success.extend(puts.iter().map(|(k, value)| {
        json!({ "request_put": { "key": b64(etcd_key(*k)), "value": b64(value.to_string()) } })
    }));
    json!({ "compare": compare, "success": success })
}

impl EtcdTxn {
    pub fn new(node: Node, op_timeout: Duration) -> EtcdTxn {
        EtcdTxn {
            etcd: Etcd::new(node.addr, op_timeout),
            node: node.name,
        }
    }

    /// Performs `txn`.
    pub async fn perform(&self, txn: &Txn) -> Outcome {
        let (kind, value, error) = match self.attempt(txn).await {
            Ok(done) => (EventType::Ok, done, None),
            Err(Failure {
                error,
                definite: true,
            }) => (EventType::Fail, txn.to_json(), Some(error)),
            Err(Failure { error, .. }) => (EventType::Info, txn.to_json(), Some(error)),
        };
        Outcome {
            kind,
            value,
            error,
            node: self.node.clone(),
        }
    }

    /// The two phases: the transaction with its reads filled in, or why not.
    async fn attempt(&self, txn: &Txn) -> Result<Value, Failure> {
        let keys = all_keys(txn);
        let definite = |error| Failure {
            error,
            definite: true,
        };
        // The read phase changes nothing: whatever becomes of it, nothing was done.
        let versions = match self.etcd.call("kv/txn", &read_request(&keys)).await {
            Ok(answer) => ranged(&answer, keys.len()).map_err(definite)?,
            Err(failure) => return Err(definite(failure.error)),
        };
        let seen: Vec<(u64, i64)> = keys
            .iter()
            .zip(&versions)
            .map(|(&k, v)| (k, v.mod_revision))
            .collect();
        let state = keys
            .iter()
            .copied()
            .zip(versions.into_iter().map(|v| v.value));
        let (puts, _) = replay(txn, state.collect());
        let (reads, _) = touched(txn);
        let answer = match self
            .etcd
            .call("kv/txn", &commit_request(&seen, &reads, &puts))
            .await
        {
            Ok(answer) => answer,
            // A transaction that only reads changes nothing, however its commit failed.
            Err(failure) if txn.is_read_only() => return Err(definite(failure.error)),
            Err(failure) => return Err(failure),
        };
        // The gateway leaves out `succeeded` when it is false: a key changed since the read
        // phase, and the compare kept the whole Txn from happening.
        if answer["succeeded"] != json!(true) {
            return Err(definite("conflict".into()));
        }
        // Committed; what it read is in its ranges. Unreadable, the reads are unknown, and so
        // is the transaction's outcome as far as the history can tell.
        let committed = ranged(&answer, reads.len()).map_err(|error| Failure {
            error: format!("malformed answer: {error}"),
            definite: txn.is_read_only(),
        })?;
        // A read's result depends only on its key's value at the start and the transaction's
        // writes to it before the read: keys written but never read need no starting value.
        let state = reads
            .iter()
            .copied()
            .zip(committed.into_iter().map(|v| v.value));
        Ok(replay(txn, state.collect()).1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn txn(kind: Kind, ops: Vec<Micro>) -> Txn {
        Txn { kind, ops }
    }

    fn kv(key: u64, value: &str, mod_revision: i64) -> Value {
        json!({
            "key": b64(etcd_key(key)),
            "value": b64(value),
            "mod_revision": mod_revision.to_string(),
        })
    }

    #[test]
    fn the_read_phase_ranges_every_touched_key_once() {
        let t = txn(
            Kind::ListAppend,
            vec![Micro::Write(3, 1), Micro::Read(4), Micro::Read(3)],
        );
        assert_eq!(touched(&t), (vec![4, 3], vec![3]));
        assert_eq!(all_keys(&t), vec![3, 4]);
        assert_eq!(
            read_request(&all_keys(&t)),
            json!({"success": [
                {"request_range": {"key": b64("faultline-txn/3")}},
                {"request_range": {"key": b64("faultline-txn/4")}},
            ]})
        );
    }

    #[test]
    fn ranges_answer_values_and_revisions_and_a_missing_key_is_null_at_revision_0() {
        let answer = json!({"succeeded": true, "responses": [
            {"response_range": {"kvs": [kv(4, "[1,2]", 17)], "count": "1"}},
            {"response_range": {"header": {}}},
        ]});
        assert_eq!(
            ranged(&answer, 2),
            Ok(vec![
                Version {
                    value: json!([1, 2]),
                    mod_revision: 17
                },
                Version {
                    value: Value::Null,
                    mod_revision: 0
                },
            ])
        );
        assert!(ranged(&answer, 3).is_err());
        let junk = json!({"responses": [{"response_range": {"kvs": [kv(4, "[1,", 3)]}}]});
        assert!(ranged(&junk, 1).is_err());
    }

    #[test]
    fn a_replay_appends_in_order_and_a_read_sees_the_transactions_own_appends() {
        let t = txn(
            Kind::ListAppend,
            vec![
                Micro::Read(3),
                Micro::Write(3, 4),
                Micro::Read(3),
                Micro::Write(5, 1),
                Micro::Read(6),
            ],
        );
        let state = BTreeMap::from([(3, json!([1, 2, 3])), (6, Value::Null)]);
        let (puts, done) = replay(&t, state);
        assert_eq!(puts, vec![(3, json!([1, 2, 3, 4])), (5, json!([1]))]);
        assert_eq!(
            done,
            json!([
                ["r", 3, [1, 2, 3]],
                ["append", 3, 4],
                ["r", 3, [1, 2, 3, 4]],
                ["append", 5, 1],
                ["r", 6, null]
            ])
        );
        let t = txn(
            Kind::RwRegister,
            vec![Micro::Read(1), Micro::Write(1, 2), Micro::Read(1)],
        );
        let (puts, done) = replay(&t, BTreeMap::from([(1, json!(1))]));
        assert_eq!(puts, vec![(1, json!(2))]);
        assert_eq!(done, json!([["r", 1, 1], ["w", 1, 2], ["r", 1, 2]]));
    }

    #[test]
    fn the_commit_compares_every_revision_then_ranges_the_reads_before_the_puts() {
        let request = commit_request(&[(4, 17), (3, 0)], &[4], &[(3, json!([1]))]);
        assert_eq!(
            request,
            json!({
                "compare": [
                    {"key": b64("faultline-txn/4"), "target": "MOD", "result": "EQUAL",
                     "mod_revision": "17"},
                    {"key": b64("faultline-txn/3"), "target": "MOD", "result": "EQUAL",
                     "mod_revision": "0"},
                ],
                "success": [
                    {"request_range": {"key": b64("faultline-txn/4")}},
                    {"request_put": {"key": b64("faultline-txn/3"), "value": b64("[1]")}},
                ],
            })
        );
    }

    #[tokio::test]
    async fn a_refused_connection_fails_the_transaction() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = closed.local_addr().unwrap();
        drop(closed);
        let node = Node {
            name: "n1".into(),
            addr,
            from: None,
        };
        let t = txn(Kind::ListAppend, vec![Micro::Write(1, 1)]);
        let out = EtcdTxn::new(node, Duration::from_millis(500))
            .perform(&t)
            .await;
        assert_eq!(out.kind, EventType::Fail, "{:?}", out.error);
        assert_eq!(out.value, t.to_json());
        assert_eq!(out.node, "n1");
    }
}
