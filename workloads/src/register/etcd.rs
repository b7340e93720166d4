//! The register workload's client for etcd (v3 API, through its JSON gateway): one etcd key
//! per register, `faultline-register/<key>`, its value the register's value in decimal.
//!
//! * **read** = `kv/range` on the key: linearizable by default (etcd confirms its leadership
//!   with a read index before answering); with the target option `serializable`, the range
//!   asks for `serializable: true` and the member answers from its own state, however stale;
//! * **write** = `kv/put`;
//! * **cas** = `kv/txn` comparing the key's value with `from`, putting `to` if it matches: one
//!   atomic request. A missing key fails the comparison (etcd fails a value comparison on a
//!   key that does not exist), as a register that was never written holds no `from`.
//!
//! Each client talks to one member, its home node (Jepsen binds clients to nodes): a member
//! forwards writes to the leader itself, and a member cut off from the quorum cannot serve
//! linearizable reads — but serves serializable ones. Outcomes follow the history's rules:
//! `ok` when etcd answered, `fail` when it certainly did nothing (reads always: a read changes
//! nothing), `info` when a write may have been applied.

use std::time::Duration;

use checkers::history::EventType;
use serde_json::{Value, json};

use super::client::Outcome;
use super::generator::{Invocation, Op};
use crate::etcd::{Etcd, Failure, b64, unb64};
use crate::workload::Node;

/// The target option that makes reads serializable.
pub const SERIALIZABLE: &str = "serializable";

/// One client's connection to its home member.
pub struct EtcdRegister {
    node: String,
    etcd: Etcd,
    serializable: bool,
}

/// The etcd key of register `key`.
fn etcd_key(key: u64) -> String {
    format!("faultline-register/{key}")
}

/// A register's value from a range answer (no kvs: the register was never written).
fn parse(answer: &Value) -> Result<Value, String> {
    let Some(kv) = answer["kvs"].as_array().and_then(|kvs| kvs.first()) else {
        return Ok(Value::Null);
    };
    let data = unb64(&kv["value"])?;
    std::str::from_utf8(&data)
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .map(Value::from)
        .ok_or_else(|| format!("a register holds {data:?}, not a number"))
}

impl EtcdRegister {
    pub fn new(node: Node, op_timeout: Duration, serializable: bool) -> EtcdRegister {
        EtcdRegister {
            etcd: Etcd::new(node.addr, op_timeout),
            node: node.name,
            serializable,
        }
    }

    /// Performs `inv`.
    pub async fn invoke(&mut self, inv: Invocation) -> Outcome {
        let key = b64(etcd_key(inv.key));
        let done = match inv.op {
            Op::Read => {
                let mut range = json!({ "key": key });
                if self.serializable {
                    range["serializable"] = json!(true);
                }
                match self.etcd.call("kv/range", &range).await {
                    Ok(answer) => parse(&answer).map_err(|error| Failure {
                        error,
                        definite: true,
                    }),
                    // A read that failed changed nothing.
                    Err(failure) => Err(Failure {
                        definite: true,
                        ..failure
                    }),
                }
            }
            Op::Write(v) => {
                let put = json!({ "key": key, "value": b64(v.to_string()) });
                self.etcd.call("kv/put", &put).await.map(|_| Value::Null)
            }
            Op::Cas { from, to } => {
                let txn = json!({
                    "compare": [{
                        "key": key,
                        "target": "VALUE",
                        "result": "EQUAL",
                        "value": b64(from.to_string()),
                    }],
                    "success": [{ "request_put": { "key": key, "value": b64(to.to_string()) } }],
                });
                match self.etcd.call("kv/txn", &txn).await {
                    // The gateway leaves out `succeeded` when it is false.
                    Ok(answer) if answer["succeeded"] == json!(true) => Ok(Value::Null),
                    Ok(_) => Err(Failure {
                        error: "cas-mismatch".into(),
                        definite: true,
                    }),
                    Err(failure) => Err(failure),
                }
            }
        };
        let (kind, value, error) = match done {
            Ok(v) if inv.op == Op::Read => (EventType::Ok, v, None),
            Ok(_) => (EventType::Ok, inv.op.value(), None),
            Err(Failure {
                error,
                definite: true,
            }) => (EventType::Fail, inv.op.value(), Some(error)),
            Err(Failure { error, .. }) => (EventType::Info, inv.op.value(), Some(error)),
        };
        Outcome {
            kind,
            value,
            error,
            node: self.node.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registers_value_is_read_from_the_first_kv_in_decimal() {
        let answer = json!({"kvs": [{"key": b64("faultline-register/1"), "value": b64("42")}]});
        assert_eq!(parse(&answer), Ok(Value::from(42)));
        assert_eq!(parse(&json!({"header": {}})), Ok(Value::Null));
        let junk = json!({"kvs": [{"value": b64("x")}]});
        assert!(parse(&junk).is_err());
    }
}
