//! Reading the participants' `decisions` events (their format: the module documentation),
//! with errors that name the line and what was expected.

use hashbrown::HashMap;

use super::{
    Account, DECISIONS, Decision, Decisions, Participant, Transfer, TxnId, TxnOp, TxnRecord, Vote,
};
use crate::error::{InputError, excerpt};
use crate::history::{Event, History, Process};
use crate::value::Value;

fn show(v: &Value) -> String {
    excerpt(&v.to_string())
}

fn found(v: Option<&Value>) -> String {
    v.map_or_else(|| "none".to_string(), show)
}

/// `v` as an account: an integer or a string.
pub(crate) fn account(v: &Value) -> Option<Account> {
    match v {
        Value::Int(i) => Some(i.to_string()),
        Value::Str(s) => Some(s.to_string()),
        _ => None,
    }
}

/// `v` as a transfer `{from, to, amount}`; `None` if it is not one.
pub(crate) fn transfer(v: &Value) -> Option<Transfer> {
    Some(Transfer {
        from: account(v.get("from")?)?,
        to: account(v.get("to")?)?,
        amount: v.get("amount")?.as_int()?,
    })
}

/// Every participant's decisions event (a named process's `decisions`), in history order.
/// Empty when the history records none. Fails, naming the line, on a value that is neither
/// null (unreachable) nor a record as the workload writes it, and on a participant recorded
/// twice.
pub fn participants(history: &History) -> Result<Vec<Participant>, InputError> {
    let mut out: Vec<Participant> = Vec::new();
    let mut seen: HashMap<String, u32> = HashMap::new();
    for e in &history.events {
        if !matches!(e.process, Process::Named(_)) || &*e.f != DECISIONS {
            continue;
        }
        let at = At { history, event: e };
        let Some(node) = e.node.as_deref() else {
            return Err(at.error("expected a decisions event to name its participant in \"node\""));
        };
        if let Some(first) = seen.insert(node.to_string(), e.line) {
            return Err(at.error(format!(
                "expected one decisions event per participant, found {} again (first at line {first})",
                excerpt(node)
            )));
        }
        let seen = match &e.value {
            Value::Nil => Err(e.error.as_deref().map(str::to_string)),
            v => Ok(at.decisions(node, v)?),
        };
        out.push(Participant {
            node: node.to_string(),
            index: e.index,
            time: e.time,
            line: e.line,
            seen,
        });
    }
    Ok(out)
}

/// The event being read, for errors.
struct At<'h> {
    history: &'h History,
    event: &'h Event,
}

impl At<'_> {
    fn error(&self, message: impl AsRef<str>) -> InputError {
        InputError::new(
            &self.history.source,
            self.event.line as usize,
            format!("decisions: {}", message.as_ref()),
        )
    }

    fn decisions(&self, node: &str, v: &Value) -> Result<Decisions, InputError> {
        let who = format!("participant {}", node.escape_debug());
        if !matches!(v, Value::Map(_)) {
            return Err(self.error(format!(
                "{who}: expected the value to be a map (or null when unreachable), found {}",
                show(v)
            )));
        }
        let coordinator = match v.get("coordinator") {
            Some(Value::Str(s)) => s.to_string(),
            other => {
                return Err(self.error(format!(
                    "{who}: expected \"coordinator\" to be a node name, found {}",
                    found(other)
                )));
            }
        };
        let initial = self.balances(&who, v, "initial")?;
        let balances = self.balances(&who, v, "balances")?;
        let refused_on_locks = self.count(&who, v, "refused-on-locks")?;
        let restarts = self.count(&who, v, "restarts")?;
        let items = match v.get("txns") {
            Some(Value::List(items)) => items,
            other => {
                return Err(self.error(format!(
                    "{who}: expected \"txns\" to be a list, found {}",
                    found(other)
                )));
            }
        };
        let mut txns: Vec<TxnRecord> = Vec::with_capacity(items.len());
        let mut ids: HashMap<TxnId, ()> = HashMap::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let record = self.record(&format!("{who}, txns[{i}]"), item)?;
            if ids.insert(record.txn, ()).is_some() {
                return Err(self.error(format!(
                    "{who}: expected each txn once, found {} twice",
                    record.txn
                )));
            }
            txns.push(record);
        }
        Ok(Decisions {
            coordinator,
            initial,
            balances,
            refused_on_locks,
            restarts,
            txns,
        })
    }

    /// A map of account → integer balance.
    fn balances(
        &self,
        who: &str,
        v: &Value,
        field: &str,
    ) -> Result<Vec<(Account, i64)>, InputError> {
        let pairs = match v.get(field) {
            Some(Value::Map(pairs)) => pairs,
            other => {
                return Err(self.error(format!(
                    "{who}: expected \"{field}\" to be a map of account to balance, found {}",
                    found(other)
                )));
            }
        };
        let mut out: Vec<(Account, i64)> = Vec::with_capacity(pairs.len());
        for (k, b) in pairs.iter() {
            let (Some(a), Some(b)) = (account(k), b.as_int()) else {
                return Err(self.error(format!(
                    "{who}: expected \"{field}\" to map accounts to integer balances, found {}: {}",
                    show(k),
                    show(b)
                )));
            };
            if out.iter().any(|(x, _)| *x == a) {
                return Err(self.error(format!(
                    "{who}: expected each account once in \"{field}\", found {} twice",
                    excerpt(&a)
                )));
            }
            out.push((a, b));
        }
        Ok(out)
    }

    /// A count: a non-negative integer, 0 when absent.
    fn count(&self, who: &str, v: &Value, field: &str) -> Result<u64, InputError> {
        match v.get(field) {
            None | Some(Value::Nil) => Ok(0),
            Some(Value::Int(n)) if *n >= 0 => Ok(*n as u64),
            other => Err(self.error(format!(
                "{who}: expected \"{field}\" to be a count (an integer ≥ 0), found {}",
                found(other)
            ))),
        }
    }

    /// A time: ns, or null when unknown.
    fn time(&self, who: &str, v: &Value, field: &str) -> Result<Option<u64>, InputError> {
        match v.get(field) {
            None | Some(Value::Nil) => Ok(None),
            Some(Value::Int(n)) if *n >= 0 => Ok(Some(*n as u64)),
            other => Err(self.error(format!(
                "{who}: expected \"{field}\" to be a time (ns, an integer ≥ 0) or null, found {}",
                found(other)
            ))),
        }
    }

    fn record(&self, who: &str, v: &Value) -> Result<TxnRecord, InputError> {
        if !matches!(v, Value::Map(_)) {
            return Err(self.error(format!(
                "{who}: expected a map with txn, op, vote, prepared, precommitted, decision and decided, found {}",
                show(v)
            )));
        }
        let raw = v.get("txn");
        let Some(txn) = raw.and_then(Value::as_str).and_then(TxnId::parse) else {
            return Err(self.error(format!(
                "{who}: expected \"txn\" to be an id \"incarnation.seq\" (such as \"1.7\"), found {}",
                found(raw)
            )));
        };
        let who = format!("{who} (txn {txn})");
        let op = match v.get("op") {
            None | Some(Value::Nil) => TxnOp::Unknown,
            Some(Value::Str(s)) if &**s == "read" => TxnOp::Read,
            other => match other.and_then(transfer) {
                Some(t) => TxnOp::Transfer(t),
                None => {
                    return Err(self.error(format!(
                        "{who}: expected \"op\" to be {{from, to, amount}}, \"read\" or null, found {}",
                        found(other)
                    )));
                }
            },
        };
        let vote = match v.get("vote") {
            None | Some(Value::Nil) => None,
            Some(Value::Str(s)) if &**s == "yes" => Some(Vote::Yes),
            Some(Value::Str(s)) if &**s == "no" => Some(Vote::No),
            other => {
                return Err(self.error(format!(
                    "{who}: expected \"vote\" to be \"yes\", \"no\" or null, found {}",
                    found(other)
                )));
            }
        };
        let decision = match v.get("decision") {
            None | Some(Value::Nil) => None,
            Some(Value::Str(s)) if &**s == "commit" => Some(Decision::Commit),
            Some(Value::Str(s)) if &**s == "abort" => Some(Decision::Abort),
            other => {
                return Err(self.error(format!(
                    "{who}: expected \"decision\" to be \"commit\", \"abort\" or null, found {}",
                    found(other)
                )));
            }
        };
        Ok(TxnRecord {
            txn,
            op,
            vote,
            prepared: self.time(&who, v, "prepared")?,
            precommitted: self.time(&who, v, "precommitted")?,
            decision,
            decided: self.time(&who, v, "decided")?,
        })
    }
}
