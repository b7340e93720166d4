//! The `unique-ids` client for the `http-ids` protocol (docs/protocols/http-ids.md).
//!
//! One request per operation, never retried: an ID request is not idempotent, and a retry
//! would be a second request. `ok` only on a 200 with a list of IDs; `fail` only when the
//! request definitely did not hand out IDs (a definite error from the server, or a connection
//! refused before anything was sent); `info` otherwise — a timeout after sending may have
//! consumed IDs the client never saw, which cannot make the history invalid but must not be
//! called a failure.

use std::time::Duration;

use checkers::history::EventType;
use serde_json::{Value, json};

use crate::register::client::{Node, Outcome, short};

/// Talks `http-ids` to independent ID servers.
#[derive(Clone, Debug)]
pub struct IdClient {
    http: reqwest::Client,
    nodes: Vec<Node>,
    /// Each node's `/ids`, parsed once: formatting and parsing a URL per request cost a
    /// twentieth of the harness's time at full rate.
    urls: Vec<reqwest::Url>,
    timeout: Duration,
}

impl IdClient {
    pub fn new(nodes: Vec<Node>, timeout: Duration) -> IdClient {
        let http = crate::http_client();
        let urls = nodes
            .iter()
            .map(|n| {
                reqwest::Url::parse(&format!("http://{}/ids", n.addr))
                    .expect("a socket address makes a valid URL")
            })
            .collect();
        IdClient {
            http,
            nodes,
            urls,
            timeout,
        }
    }

    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Asks node `node` (an index, wrapped) for `count` IDs.
    pub async fn generate(&self, node: usize, count: u32) -> Outcome {
        let node = node % self.nodes.len().max(1);
        let (url, node) = (self.urls[node].clone(), &self.nodes[node]);
        let asked = json!(count);
        let outcome = |kind, value, error: Option<String>| Outcome {
            kind,
            value,
            error,
            node: node.name.clone(),
        };
        let response = match self
            .http
            .post(url)
            .json(&json!({ "count": count }))
            .timeout(self.timeout)
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) if e.is_connect() => {
                return outcome(EventType::Fail, asked, Some("connection refused".into()));
            }
            Err(e) if e.is_timeout() => {
                return outcome(EventType::Info, asked, Some("timeout".into()));
            }
            Err(e) => return outcome(EventType::Info, asked, Some(short(&e))),
        };
        let status = response.status().as_u16();
        let answer: Value = match response.json().await {
            Ok(v) => v,
            Err(e) if e.is_timeout() => {
                return outcome(EventType::Info, asked, Some("timeout".into()));
            }
            Err(_) => {
                return outcome(
                    EventType::Info,
                    asked,
                    Some(format!("unreadable answer (status {status})")),
                );
            }
        };
        match (status, answer.get("ids")) {
            (200, Some(Value::Array(ids))) if ids.iter().all(Value::is_string) => {
                outcome(EventType::Ok, Value::Array(ids.clone()), None)
            }
            _ if answer["definite"] == json!(true) => {
                let error = answer["error"].as_str().unwrap_or("error").to_string();
                outcome(EventType::Fail, asked, Some(error))
            }
            _ => outcome(
                EventType::Info,
                asked,
                Some(format!("unexpected answer (status {status})")),
            ),
        }
    }
}
