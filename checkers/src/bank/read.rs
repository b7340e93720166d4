//! Reading the bank's operation values (docs/checker.md, "Bank"), with errors that name the
//! line.
//!
//! A `transfer` is invoked with `{"from": account, "to": account, "amount": integer}`; an `ok`
//! `read` returns a map of account → balance (an integer, or `null` for none). Jepsen's
//! `history.edn` writes the same with keywords and integer accounts (`{:from 1, :to 3,
//! :amount 5}`, `{0 10, 1 20}`). An account is text: an integer account is its decimal digits,
//! so Jepsen's `0` and a JSON object's key `"0"` are the same account.

use crate::error::{InputError, excerpt};
use crate::history::{History, Operation};
use crate::value::Value;

/// An account's name.
pub type Account = String;

/// What one `ok` read returned: each account it named with its balance (`None` for nil), in
/// the read's order.
pub(super) type Balances = Vec<(Account, Option<i64>)>;

pub(super) fn error(history: &History, line: usize, message: String) -> InputError {
    InputError::new(&history.source, line, format!("bank checker: {message}"))
}

/// The line to blame for what `op` returned: its completion's, else its invocation's.
pub(super) fn line(history: &History, op: &Operation) -> usize {
    op.completion(history)
        .unwrap_or_else(|| op.invocation(history))
        .line as usize
}

fn show(v: &Value) -> String {
    excerpt(&v.to_string())
}

/// `v` as an account: an integer or a string.
fn account(v: &Value) -> Option<Account> {
    match v {
        Value::Int(i) => Some(i.to_string()),
        Value::Str(s) => Some(s.to_string()),
        _ => None,
    }
}

/// An `ok` read's balances. Fails on a value that is not a map, on a key that is not an
/// account, on a balance that is neither an integer nor nil, and on an account named twice.
pub(super) fn balances(history: &History, op: &Operation) -> Result<Balances, InputError> {
    let bad = |message: String| error(history, line(history, op), message);
    let pairs = match op.output(history) {
        Some(Value::Map(pairs)) => pairs,
        other => {
            return Err(bad(format!(
                "process {}: expected an ok read's value to be a map of account to balance, found {}",
                op.process,
                other.map_or_else(|| "nothing".to_string(), show)
            )));
        }
    };
    let mut read: Balances = Vec::with_capacity(pairs.len());
    for (k, v) in pairs.iter() {
        let Some(name) = account(k) else {
            return Err(bad(format!(
                "process {}: expected the read's accounts to be integers or strings, found {}",
                op.process,
                show(k)
            )));
        };
        let balance = match v {
            Value::Int(b) => Some(*b),
            Value::Nil => None,
            other => {
                return Err(bad(format!(
                    "process {}: expected account {}'s balance to be an integer or nil, found {}",
                    op.process,
                    excerpt(&name),
                    show(other)
                )));
            }
        };
        // Linear: a bank has a handful of accounts.
        if read.iter().any(|(a, _)| *a == name) {
            return Err(bad(format!(
                "process {}: expected each account once in a read, found {} twice",
                op.process,
                excerpt(&name)
            )));
        }
        read.push((name, balance));
    }
    Ok(read)
}

/// Checks a `transfer`'s invocation: `{"from", "to", "amount"}`. The checker reads only the
/// balances, but a transfer that says something else is not a bank history.
pub(super) fn transfer(history: &History, op: &Operation) -> Result<(), InputError> {
    let asked = op.invocation(history);
    let bad = |message: String| error(history, asked.line as usize, message);
    let v = &asked.value;
    if !matches!(v, Value::Map(_)) {
        return Err(bad(format!(
            "process {}: expected a transfer's value to be a map with from, to and amount, found {}",
            op.process,
            show(v)
        )));
    }
    for field in ["from", "to"] {
        match v.get(field) {
            Some(a) if account(a).is_some() => {}
            found => {
                return Err(bad(format!(
                    "process {}: expected the transfer's {field} to be an account (an integer or a string), found {}",
                    op.process,
                    found.map_or_else(|| "none".to_string(), show)
                )));
            }
        }
    }
    match v.get("amount") {
        Some(Value::Int(_)) => Ok(()),
        found => Err(bad(format!(
            "process {}: expected the transfer's amount to be an integer, found {}",
            op.process,
            found.map_or_else(|| "none".to_string(), show)
        ))),
    }
}
