//! The register workload's client for the `http-kv` protocol (docs/protocols/http-kv.md).
//!
//! It records outcomes honestly: `ok` only on a 200; `fail` only when every attempt was
//! definitely not done (a cas mismatch, a bad request, "not the leader", "unavailable", or a
//! connection refused before anything was sent); `info` as soon as any attempt may have reached the
//! system without an answer — a timeout after sending is never `fail`. Retries of one operation
//! carry the same `(client, seq)`, so a server that deduplicates applies it at most once.

use std::time::Duration;

use checkers::history::EventType;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::generator::{Invocation, Op};
pub use crate::workload::Node;

/// How an operation ended, as the history records it.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// `Ok`, `Fail` or `Info`.
    pub kind: EventType,
    /// What came back (a read's value), or the invocation's value.
    pub value: Value,
    pub error: Option<String>,
    /// The node that gave the final answer.
    pub node: String,
}

/// Talks `http-kv` to a cluster.
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    nodes: Vec<Node>,
    /// How long one operation may take, all attempts together.
    timeout: Duration,
}

/// Attempts per operation (the first, and retries after a redirect or a refusal).
const ATTEMPTS: usize = 3;

/// How a request ended, whatever it asked.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    /// `Ok`, `Fail` or `Info`.
    pub kind: EventType,
    /// The 200's body, when done.
    pub answer: Option<Value>,
    pub error: Option<String>,
    /// The node that gave the final answer.
    pub node: String,
}

/// What one attempt established.
enum Attempt {
    /// Done: the 200's body.
    Done(Value),
    /// Definitely not done; `leader` is a hint where to try next.
    Refused {
        error: String,
        leader: Option<String>,
    },
    /// Definitely not done, and retrying will not change that.
    Failed { error: String },
    /// May or may not have happened.
    Unknown { error: String },
}

impl Client {
    pub fn new(nodes: Vec<Node>, timeout: Duration) -> Client {
        let http = crate::http_client();
        Client {
            http,
            nodes,
            timeout,
        }
    }

    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Performs `inv` as `(client, seq)`, starting at node index `*preferred`, which is updated
    /// to follow the leader.
    pub async fn invoke(
        &self,
        client: u64,
        seq: u64,
        preferred: &mut usize,
        inv: Invocation,
    ) -> Outcome {
        let body = match inv.op {
            Op::Read => json!({"op": "read", "client": client, "seq": seq}),
            Op::Write(v) => json!({"op": "write", "value": v, "client": client, "seq": seq}),
            Op::Cas { from, to } => {
                json!({"op": "cas", "from": from, "to": to, "client": client, "seq": seq})
            }
        };
        let call = self
            .call(&format!("/kv/{}", inv.key), &body, preferred)
            .await;
        let value = match call.answer {
            Some(answer) if inv.op == Op::Read => answer.get("value").cloned().unwrap_or_default(),
            _ => inv.op.value(),
        };
        Outcome {
            kind: call.kind,
            value,
            error: call.error,
            node: call.node,
        }
    }

    /// Sends `body` to `path` (`/kv/3`, `/txn`), starting at node index `*preferred`, which is
    /// updated to follow the leader; retries after refusals, within the operation's timeout.
    pub async fn call(&self, path: &str, body: &Value, preferred: &mut usize) -> Call {
        let deadline = Instant::now() + self.timeout;
        let mut unknown: Option<String> = None;
        let mut last_error = String::new();
        let mut node = *preferred % self.nodes.len().max(1);
        for _ in 0..ATTEMPTS {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                break;
            }
            let target = &self.nodes[node];
            match self.attempt(target, path, body, remaining).await {
                Attempt::Done(answer) => {
                    *preferred = node;
                    return Call {
                        kind: EventType::Ok,
                        answer: Some(answer),
                        error: None,
                        node: target.name.clone(),
                    };
                }
                Attempt::Failed { error } if unknown.is_none() => {
                    return Call {
                        kind: EventType::Fail,
                        answer: None,
                        error: Some(error),
                        node: target.name.clone(),
                    };
                }
                Attempt::Failed { error } => {
                    last_error = error;
                    break;
                }
                Attempt::Refused { error, leader } => {
                    last_error = error;
                    match leader.and_then(|l| self.nodes.iter().position(|n| n.name == l)) {
                        Some(l) if l != node => node = l,
                        // No better idea: the next node, after a breath.
                        _ => {
                            node = (node + 1) % self.nodes.len();
                            tokio::time::sleep(Duration::from_millis(20).min(remaining)).await;
                        }
                    }
                    *preferred = node;
                }
                Attempt::Unknown { error } => {
                    last_error = error.clone();
                    unknown = Some(error);
                }
            }
        }
        let node = self.nodes[node].name.clone();
        let (kind, error) = match unknown {
            Some(error) => (EventType::Info, error),
            None => (EventType::Fail, last_error),
        };
        Call {
            kind,
            answer: None,
            error: Some(error),
            node,
        }
    }

    async fn attempt(&self, node: &Node, path: &str, body: &Value, timeout: Duration) -> Attempt {
        let url = format!("http://{}{path}", node.addr);
        let response = match self
            .http
            .post(&url)
            .json(body)
            .timeout(timeout)
            .send()
            .await
        {
            Ok(r) => r,
            // Refused before a byte was sent: definitely not done.
            Err(e) if e.is_connect() => {
                return Attempt::Refused {
                    error: "connection refused".into(),
                    leader: None,
                };
            }
            Err(e) if e.is_timeout() => {
                return Attempt::Unknown {
                    error: "timeout".into(),
                };
            }
            Err(e) => return Attempt::Unknown { error: short(&e) },
        };
        let status = response.status().as_u16();
        let answer: Value = match response.json().await {
            Ok(v) => v,
            Err(e) if e.is_timeout() => {
                return Attempt::Unknown {
                    error: "timeout".into(),
                };
            }
            Err(e) => return Attempt::Unknown { error: short(&e) },
        };
        let error = answer
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        match status {
            200 => Attempt::Done(answer),
            // A cas that compared false, or a request the server refused to take.
            400 | 409 => Attempt::Failed { error },
            421 => Attempt::Refused {
                error,
                leader: answer
                    .get("leader")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            },
            503 => Attempt::Refused {
                error,
                leader: None,
            },
            _ if error.is_empty() => Attempt::Unknown {
                error: format!("status {status}"),
            },
            _ => Attempt::Unknown { error },
        }
    }
}

/// The innermost cause of a request error, in one line.
pub(crate) fn short(e: &reqwest::Error) -> String {
    let mut source: &dyn std::error::Error = e;
    while let Some(next) = source.source() {
        source = next;
    }
    source.to_string()
}
