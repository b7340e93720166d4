//! The `txn-http` client (docs/protocols/txn-http.md): a transfer or a read-all at the
//! coordinator, and how each answer is recorded.
//!
//! | answer | recorded |
//! |---|---|
//! | 200 | `ok`: the transfer with its `txn`; the read's balances |
//! | 409 (aborted) | `fail`, with the `txn` |
//! | 400, 503 (refused before a transaction began), connection refused | `fail` |
//! | anything else, a dropped connection, a timeout | `info`: it may still commit |

use std::time::Duration;

use checkers::history::EventType;
use reqwest::StatusCode;
use serde_json::{Value, json};
use targets::twopc::api::{Answer, Refusal};

use crate::history::value;
use crate::register::client::short;
use crate::worker::Completion;
use crate::workload::Node;

/// What a client asks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Op {
    Transfer { from: u32, to: u32, amount: i64 },
    Read,
}

impl Op {
    /// The operation's name in the history.
    pub(super) fn f(&self) -> &'static str {
        match self {
            Op::Transfer { .. } => "transfer",
            Op::Read => "read",
        }
    }

    /// Its value at invocation, as the bank checker reads it.
    pub(super) fn value(&self) -> Value {
        match *self {
            Op::Transfer { from, to, amount } => json!({"from": from, "to": to, "amount": amount}),
            Op::Read => Value::Null,
        }
    }
}

/// A client of the coordinator.
#[derive(Clone)]
pub(super) struct TxnHttp {
    http: reqwest::Client,
    coordinator: Node,
    timeout: Duration,
}

impl TxnHttp {
    pub(super) fn new(coordinator: Node, timeout: Duration) -> TxnHttp {
        TxnHttp {
            http: crate::http_client(),
            coordinator,
            timeout,
        }
    }

    /// Performs `op` and says how it ended.
    pub(super) async fn perform(&self, op: &Op) -> Completion {
        let node = Some(self.coordinator.name.clone());
        let asked = op.value();
        let end = |kind, v: Value, error: Option<String>| Completion {
            kind,
            value: value(v),
            node: node.clone(),
            error,
        };
        let request = match op {
            Op::Transfer { .. } => self
                .http
                .post(format!("http://{}/transfer", self.coordinator.addr))
                .json(&asked),
            Op::Read => self
                .http
                .post(format!("http://{}/read", self.coordinator.addr)),
        };
        let response = match request.timeout(self.timeout).send().await {
            Ok(response) => response,
            Err(e) if e.is_connect() => {
                return end(EventType::Fail, asked, Some("connection refused".into()));
            }
            Err(e) if e.is_timeout() => return end(EventType::Info, asked, Some("timeout".into())),
            Err(e) => return end(EventType::Info, asked, Some(short(&e))),
        };
        let status = response.status();
        let body = match response.bytes().await {
            Ok(body) => body,
            Err(e) => return end(EventType::Info, asked, Some(short(&e))),
        };
        match status {
            StatusCode::OK | StatusCode::CONFLICT => {
                let Ok(answer) = serde_json::from_slice::<Answer>(&body) else {
                    let why = format!("unreadable answer ({status})");
                    return end(EventType::Info, asked, Some(why));
                };
                match (op, answer.committed) {
                    (Op::Transfer { .. }, committed) => {
                        let mut v = asked.clone();
                        v["txn"] = json!(answer.txn);
                        if committed {
                            end(EventType::Ok, v, None)
                        } else {
                            end(EventType::Fail, v, Some("aborted".into()))
                        }
                    }
                    (Op::Read, true) => match answer.balances {
                        Some(balances) => end(EventType::Ok, json!(balances), None),
                        None => end(
                            EventType::Info,
                            asked,
                            Some("a read without balances".into()),
                        ),
                    },
                    (Op::Read, false) => end(EventType::Fail, asked, Some("aborted".into())),
                }
            }
            StatusCode::BAD_REQUEST | StatusCode::SERVICE_UNAVAILABLE => {
                let why = serde_json::from_slice::<Refusal>(&body)
                    .map_or_else(|_| format!("refused ({status})"), |r| r.error);
                // A 503 without the protocol's refusal is some proxy's: unknown.
                let kind = if status == StatusCode::BAD_REQUEST
                    || serde_json::from_slice::<Refusal>(&body).is_ok()
                {
                    EventType::Fail
                } else {
                    EventType::Info
                };
                end(kind, asked, Some(why))
            }
            _ => end(EventType::Info, asked, Some(format!("answered {status}"))),
        }
    }
}
