//! The key-value state machine of the `raft-kv` target: what every replica applies, in log
//! order, to the commands Raft has committed.
//!
//! A client's request becomes a [`Command`], serialized into a log entry's data
//! ([`Command::to_bytes`]); once committed, each replica decodes it and [`KvStore::apply`]s it,
//! and the replica that proposed it answers the client with the [`Response`]. Values are JSON;
//! `null` means absent, so writing `null` deletes a key. Reads can go through the log (an
//! [`Op::Read`] command) or, without a log entry, through Raft's read index and [`KvStore::get`].
//! A transaction ([`Action::Txn`], `POST /txn`) is one command too: its micro-operations on the
//! typed keys of [`txn`] apply together, as one log entry, or not at all.
//!
//! Every command carries its client's id and a sequence number. A client that got no answer
//! (a timeout, a leader change) may retry with the same `(client, seq)`, and the retry may
//! commit as a second log entry: the store applies it once and answers the copy with the first
//! one's response, so retries are safe. Like everything else here, this table is rebuilt by
//! replaying the log and is the same on every replica.

pub mod txn;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use txn::{Micro, Tables};

/// One client request, as it travels in a log entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Command {
    pub client: u64,
    /// Increases with each new request of `client`; a retry repeats it.
    pub seq: u64,
    pub action: Action,
}

/// What a command does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// An operation on one `/kv/{key}` register.
    Key { key: String, op: Op },
    /// A transaction: micro-operations on the transactions' keys, all or nothing.
    Txn(Vec<Micro>),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Read,
    Write(Value),
    /// Set the key to `to` if it holds `from`.
    Cas {
        from: Value,
        to: Value,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Response {
    /// The value read (`null`: absent).
    Read(Value),
    Written,
    CasOk,
    /// The key held `current`, not the expected value; nothing changed.
    CasMismatch {
        current: Value,
    },
    /// A transaction applied: its micro-operations, reads filled in.
    Txn(Vec<Value>),
    /// A transaction mixed a key's list and register: nothing changed.
    TxnRefused {
        reason: String,
    },
    /// The client had already moved on to a later request when this one was applied, so it was
    /// not applied now. An earlier copy of it may have been, and its response is no longer kept:
    /// for its client, the outcome is unknown.
    Superseded,
}

impl Command {
    /// The bytes of a log entry.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a command is plain data and always serializes")
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Command, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

/// The replicated map, and each client's last request with its response.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KvStore {
    values: BTreeMap<String, Value>,
    txns: Tables,
    sessions: BTreeMap<u64, Session>,
}

#[derive(Clone, Debug, PartialEq)]
struct Session {
    seq: u64,
    response: Response,
}

impl KvStore {
    pub fn new() -> KvStore {
        KvStore::default()
    }

    /// The value of `key`, `null` if absent.
    pub fn get(&self, key: &str) -> Value {
        self.values.get(key).cloned().unwrap_or(Value::Null)
    }

    /// A read-only transaction answered from the state as it is, without a log entry (what the
    /// `txn-local-reads` bug does).
    pub fn read_txn(&self, ops: &[Micro]) -> Vec<Value> {
        self.txns.read_only(ops)
    }

    /// Applies a committed command. A command whose `(client, seq)` was already applied changes
    /// nothing and gets the first application's response back; one older than its client's
    /// latest applied request is [`Response::Superseded`]. Only the latest request of each
    /// client is remembered: a client runs one request at a time.
    pub fn apply(&mut self, cmd: Command) -> Response {
        if let Some(session) = self.sessions.get(&cmd.client) {
            if cmd.seq == session.seq {
                return session.response.clone();
            }
            if cmd.seq < session.seq {
                return Response::Superseded;
            }
        }
        let response = match cmd.action {
            Action::Key { key, op } => self.execute(key, op),
            Action::Txn(ops) => match self.txns.apply(&ops) {
                Ok(done) => Response::Txn(done),
                Err(reason) => Response::TxnRefused { reason },
            },
        };
        self.sessions.insert(
            cmd.client,
            Session {
                seq: cmd.seq,
                response: response.clone(),
            },
        );
        response
    }

    fn execute(&mut self, key: String, op: Op) -> Response {
        match op {
            Op::Read => Response::Read(self.get(&key)),
            Op::Write(value) => {
                self.set(key, value);
                Response::Written
            }
            Op::Cas { from, to } => {
                let current = self.get(&key);
                if current != from {
                    return Response::CasMismatch { current };
                }
                self.set(key, to);
                Response::CasOk
            }
        }
    }

    fn set(&mut self, key: String, value: Value) {
        if value.is_null() {
            self.values.remove(&key);
        } else {
            self.values.insert(key, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn cmd(client: u64, seq: u64, op: Op) -> Command {
        Command {
            client,
            seq,
            action: Action::Key {
                key: "k".into(),
                op,
            },
        }
    }

    #[test]
    fn reads_writes_and_cas() {
        let mut kv = KvStore::new();
        assert_eq!(kv.apply(cmd(1, 1, Op::Read)), Response::Read(Value::Null));
        assert_eq!(kv.apply(cmd(1, 2, Op::Write(json!(3)))), Response::Written);
        assert_eq!(kv.apply(cmd(1, 3, Op::Read)), Response::Read(json!(3)));
        let cas = |from, to| Op::Cas { from, to };
        assert_eq!(
            kv.apply(cmd(1, 4, cas(json!(2), json!(5)))),
            Response::CasMismatch { current: json!(3) }
        );
        assert_eq!(
            kv.apply(cmd(1, 5, cas(json!(3), json!(5)))),
            Response::CasOk
        );
        assert_eq!(kv.get("k"), json!(5));
        assert_eq!(kv.get("other"), Value::Null);
    }

    #[test]
    fn null_means_absent() {
        let mut kv = KvStore::new();
        let cas = Op::Cas {
            from: Value::Null,
            to: json!("a"),
        };
        assert_eq!(
            kv.apply(cmd(1, 1, cas)),
            Response::CasOk,
            "an absent key holds null"
        );
        assert_eq!(
            kv.apply(cmd(1, 2, Op::Write(Value::Null))),
            Response::Written
        );
        assert_eq!(kv.get("k"), Value::Null);
        assert!(kv.values.is_empty(), "writing null deletes the key");
    }

    #[test]
    fn a_retried_command_is_applied_once() {
        let mut kv = KvStore::new();
        kv.apply(cmd(1, 1, Op::Write(json!(1))));
        let cas = Op::Cas {
            from: json!(1),
            to: json!(2),
        };
        assert_eq!(kv.apply(cmd(2, 7, cas.clone())), Response::CasOk);
        let after = kv.clone();
        // The retry commits as a second entry: same answer, no second effect (applied again, the
        // cas would now fail).
        assert_eq!(kv.apply(cmd(2, 7, cas)), Response::CasOk);
        assert_eq!(kv, after);
        // Another client's request with the same seq is its own.
        assert_eq!(kv.apply(cmd(3, 7, Op::Read)), Response::Read(json!(2)));
    }

    #[test]
    fn an_older_request_than_the_latest_is_not_applied() {
        let mut kv = KvStore::new();
        kv.apply(cmd(1, 5, Op::Write(json!(5))));
        kv.apply(cmd(1, 6, Op::Write(json!(6))));
        let after = kv.clone();
        assert_eq!(
            kv.apply(cmd(1, 5, Op::Write(json!(5)))),
            Response::Superseded
        );
        assert_eq!(kv, after);
    }

    #[test]
    fn commands_round_trip_through_log_entries() {
        let ops = [
            Op::Read,
            Op::Write(json!({"a": [1, null]})),
            Op::Cas {
                from: Value::Null,
                to: json!("x"),
            },
        ];
        for op in ops {
            let command = Command {
                client: u64::MAX,
                seq: 3,
                action: Action::Key {
                    key: "ключ".into(),
                    op,
                },
            };
            assert_eq!(
                Command::from_bytes(&command.to_bytes()).expect("decodes"),
                command
            );
        }
        assert!(Command::from_bytes(b"not json").is_err());
        let txn = Command {
            client: 1,
            seq: 2,
            action: Action::Txn(vec![
                Micro::Append(txn::Key::Int(-3), json!(1)),
                Micro::Read(txn::Key::Str("k".into())),
            ]),
        };
        assert_eq!(Command::from_bytes(&txn.to_bytes()).expect("decodes"), txn);
    }

    #[test]
    fn a_transaction_applies_once_and_a_refused_one_not_at_all() {
        let mut kv = KvStore::new();
        let append = |client, seq, v: i64| Command {
            client,
            seq,
            action: Action::Txn(vec![
                Micro::Append(txn::Key::Int(1), json!(v)),
                Micro::Read(txn::Key::Int(1)),
            ]),
        };
        let first = kv.apply(append(1, 1, 5));
        assert_eq!(
            first,
            Response::Txn(vec![json!(["append", 1, 5]), json!(["r", 1, [5]])])
        );
        // The retry gets the first answer, and appends nothing more.
        assert_eq!(kv.apply(append(1, 1, 5)), first);
        let write = Command {
            client: 2,
            seq: 1,
            action: Action::Txn(vec![Micro::Write(txn::Key::Int(1), json!(9))]),
        };
        assert!(matches!(kv.apply(write), Response::TxnRefused { .. }));
        let read = [Micro::Read(txn::Key::Int(1))];
        assert_eq!(kv.read_txn(&read), vec![json!(["r", 1, [5]])]);
        // The transactions' keys are not the registers'.
        assert_eq!(kv.get("1"), Value::Null);
    }

    #[test]
    fn replicas_applying_the_same_log_agree() {
        let log: Vec<Command> = (0..50u64)
            .map(|i| {
                let op = match i % 3 {
                    0 => Op::Write(json!(i % 4)),
                    1 => Op::Cas {
                        from: json!(i % 4),
                        to: json!(i),
                    },
                    _ => Op::Read,
                };
                Command {
                    client: i % 5,
                    seq: i / 5,
                    action: Action::Key {
                        key: format!("k{}", i % 2),
                        op,
                    },
                }
            })
            .collect();
        let (mut a, mut b) = (KvStore::new(), KvStore::new());
        let responses_a: Vec<Response> = log.iter().cloned().map(|c| a.apply(c)).collect();
        let responses_b: Vec<Response> = log.into_iter().map(|c| b.apply(c)).collect();
        assert_eq!((a, responses_a), (b, responses_b));
    }
}
