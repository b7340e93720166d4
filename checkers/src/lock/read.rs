//! Reading the lock workload's operation values (docs/workloads/lock.md, "History"), with errors
//! that name the line.
//!
//! Only what the checker needs is required: an `ok` acquire's and an `ok` renew's
//! `validity_ms`, an accepted write's `order`. `token` may be absent (read as `null`), `nodes`
//! too (read as none); when present they must have the documented types.

use crate::error::{InputError, excerpt};
use crate::history::{History, Operation};
use crate::value::Value;

/// What an `ok` acquire returned.
pub(super) struct Acquired {
    pub lock: Value,
    pub token: Option<i64>,
    pub validity_ns: u64,
    pub nodes: Vec<Value>,
}

/// What an accepted (`ok`) write returned.
pub(super) struct Accepted {
    pub token: Option<i64>,
    pub seq: Option<i64>,
    pub order: u64,
}

/// The line to blame for what `op` returned: its completion's, else its invocation's.
pub(super) fn line(history: &History, op: &Operation) -> usize {
    op.completion(history)
        .unwrap_or_else(|| op.invocation(history))
        .line as usize
}

pub(super) fn error(history: &History, line: usize, message: String) -> InputError {
    InputError::new(&history.source, line, format!("lock checker: {message}"))
}

fn bad(history: &History, op: &Operation, message: String) -> InputError {
    error(history, line(history, op), message)
}

fn show(v: &Value) -> String {
    excerpt(&v.to_string())
}

/// The completion value of an `ok` op, which must be a map.
fn map<'h>(history: &'h History, op: &Operation, fields: &str) -> Result<&'h Value, InputError> {
    match op.output(history) {
        Some(v @ Value::Map(_)) => Ok(v),
        other => Err(bad(
            history,
            op,
            format!(
                "process {}: expected an ok {}'s value to be a map with {fields}, found {}",
                op.process,
                op.f,
                other.map_or_else(|| "nothing".to_string(), show)
            ),
        )),
    }
}

fn validity_ns(history: &History, op: &Operation, v: &Value) -> Result<u64, InputError> {
    match v.get("validity_ms") {
        Some(Value::Int(ms)) if *ms >= 0 => Ok((*ms as u64).saturating_mul(1_000_000)),
        // `as` saturates: a huge float is a (very) long window, never a panic.
        Some(Value::Float(ms)) if ms.is_finite() && *ms >= 0.0 => Ok((ms * 1e6).round() as u64),
        None => Err(bad(
            history,
            op,
            format!(
                "process {}: expected an ok {}'s value to have validity_ms (the validity the client computed, in ms), found none",
                op.process, op.f
            ),
        )),
        Some(other) => Err(bad(
            history,
            op,
            format!(
                "process {}: expected validity_ms to be a non-negative number of milliseconds, found {}",
                op.process,
                show(other)
            ),
        )),
    }
}

fn token(history: &History, op: &Operation, v: &Value) -> Result<Option<i64>, InputError> {
    match v.get("token") {
        None | Some(Value::Nil) => Ok(None),
        Some(Value::Int(t)) => Ok(Some(*t)),
        Some(other) => Err(bad(
            history,
            op,
            format!(
                "process {}: expected the {}'s token to be an integer or null, found {}",
                op.process,
                op.f,
                show(other)
            ),
        )),
    }
}

/// An `ok` acquire: `{"lock", "token", "validity_ms", "nodes"}`.
pub(super) fn acquired(history: &History, op: &Operation) -> Result<Acquired, InputError> {
    let v = map(history, op, "lock, token, validity_ms and nodes")?;
    let nodes = match v.get("nodes") {
        None | Some(Value::Nil) => Vec::new(),
        Some(Value::List(items)) => items.to_vec(),
        Some(other) => {
            return Err(bad(
                history,
                op,
                format!(
                    "process {}: expected the acquire's nodes to be a list of instances, found {}",
                    op.process,
                    show(other)
                ),
            ));
        }
    };
    Ok(Acquired {
        lock: v.get("lock").cloned().unwrap_or_default(),
        token: token(history, op, v)?,
        validity_ns: validity_ns(history, op, v)?,
        nodes,
    })
}

/// An `ok` renew: `{"lock", "validity_ms"}`; the new validity, in ns.
pub(super) fn renewed(history: &History, op: &Operation) -> Result<u64, InputError> {
    let v = map(history, op, "lock and validity_ms")?;
    validity_ns(history, op, v)
}

/// An accepted write: `{"token", "seq", "order"}`.
pub(super) fn accepted(history: &History, op: &Operation) -> Result<Accepted, InputError> {
    let v = map(history, op, "token, seq and order")?;
    let order = match v.get("order") {
        Some(Value::Int(n)) if *n >= 1 => *n as u64,
        None => {
            return Err(bad(
                history,
                op,
                format!(
                    "process {}: expected an accepted write's value to have order (the resource's count of accepted writes), found none",
                    op.process
                ),
            ));
        }
        Some(other) => {
            return Err(bad(
                history,
                op,
                format!(
                    "process {}: expected the write's order to be a positive integer, found {}",
                    op.process,
                    show(other)
                ),
            ));
        }
    };
    Ok(Accepted {
        token: token(history, op, v)?,
        seq: v.get("seq").and_then(Value::as_int),
        order,
    })
}
