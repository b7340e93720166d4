//! Reading transactions: each operation's value as micro-ops, keys and values interned.
//!
//! An `ok` transaction is read from its completion (which carries what the reads returned);
//! any other from its invocation, whose writes are what it would have written and whose reads
//! are unknown. Keys are interned to dense `u32`s, so that the analyses can index by key;
//! values to `u32`s too — a small non-negative integer stands for itself, anything else is
//! interned — so that the analyses compare integers, whatever values the history used.

use hashbrown::HashMap;

use super::Workload;
use crate::error::InputError;
use crate::history::{History, Operation, Outcome};
use crate::value::Value;

/// A value read: what the analyses compare.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Seen {
    /// The transaction did not commit for sure, so what it read is not known.
    Unknown,
    /// list-append: the whole list (nil is the empty list).
    List(Box<[u32]>),
    /// rw-register: the value, `None` for nil (never written).
    Reg(Option<u32>),
}

/// One micro-op; `Write` is an append in list-append, a write in rw-register.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Mop {
    Write { key: u32, value: u32 },
    Read { key: u32, seen: Seen },
}

/// One transaction: an operation of the history.
#[derive(Clone, Debug)]
pub(super) struct Txn {
    /// Its place in the operations given to `check`.
    pub op: usize,
    pub outcome: Outcome,
    pub mops: Box<[Mop]>,
}

impl Txn {
    /// Whether it may have committed: only those take part in the graph.
    pub fn committed(&self) -> bool {
        self.outcome != Outcome::Fail
    }
}

/// Interned values, in order of first appearance.
///
/// Integers, by far the most common keys and values, have a table of their own: half the size
/// of one keyed by [`Value`] and cheaper to hash, which matters when a million transactions
/// look up tens of millions of read elements.
#[derive(Debug, Default)]
pub(super) struct Interner {
    ints: HashMap<i64, u32>,
    others: HashMap<Value, u32>,
    pub values: Vec<Value>,
}

impl Interner {
    fn intern(&mut self, v: &Value) -> u32 {
        let next = self.values.len() as u32;
        let id = match v {
            Value::Int(i) => *self.ints.entry(*i).or_insert(next),
            _ => match self.others.get(v) {
                Some(&id) => id,
                None => {
                    self.others.insert(v.clone(), next);
                    next
                }
            },
        };
        if id == next {
            self.values.push(v.clone());
        }
        id
    }

    pub fn get(&self, id: u32) -> &Value {
        &self.values[id as usize]
    }
}

/// Values as `u32`s: an integer in `0..2³¹` is itself (no lookup: a read of a list shows
/// many values, each again and again), anything else is interned above that.
#[derive(Debug, Default)]
pub(super) struct Values(Interner);

/// The first id of an interned value.
const INTERNED: u32 = 1 << 31;

impl Values {
    fn intern(&mut self, v: &Value) -> u32 {
        match v {
            Value::Int(i) if (0..i64::from(INTERNED)).contains(i) => *i as u32,
            _ => INTERNED + self.0.intern(v),
        }
    }

    pub fn get(&self, id: u32) -> Value {
        match id.checked_sub(INTERNED) {
            Some(i) => self.0.get(i).clone(),
            None => Value::Int(i64::from(id)),
        }
    }
}

/// Every transaction of the history, and what its ids stand for.
#[derive(Debug)]
pub(super) struct Parsed {
    /// One per operation, in the operations' order (invocation order).
    pub txns: Vec<Txn>,
    pub keys: Interner,
    pub values: Values,
}

impl Parsed {
    /// A list of interned values, as the history would write it.
    pub fn list(&self, ids: &[u32]) -> Value {
        Value::list(ids.iter().map(|&v| self.values.get(v)))
    }
}

/// Reads every operation of `ops` as a transaction of `workload`.
pub(super) fn parse(
    workload: Workload,
    history: &History,
    ops: &[Operation],
) -> Result<Parsed, InputError> {
    let mut parsed = Parsed {
        txns: Vec::with_capacity(ops.len()),
        keys: Interner::default(),
        values: Values::default(),
    };
    for (i, op) in ops.iter().enumerate() {
        // The completion of an ok transaction says what it read; otherwise the invocation
        // says what it meant to write.
        let event = match op.outcome {
            Outcome::Ok => op.completion(history).unwrap_or(op.invocation(history)),
            _ => op.invocation(history),
        };
        let err = |msg: String| InputError::new(&history.source, event.line as usize, msg);
        let Some(items) = event.value.as_list() else {
            return Err(err(format!(
                "expected a transaction: a list of micro-ops {}, found {}",
                shapes(workload),
                event.value.kind()
            )));
        };
        let mut mops = Vec::with_capacity(items.len());
        for (m, item) in items.iter().enumerate() {
            let mop = match item.as_list() {
                Some([f, k, v]) => mop(workload, op.outcome, f, k, v, &mut parsed),
                _ => Err(format!("expected a 3-element list {}", shapes(workload))),
            };
            mops.push(mop.map_err(|msg| err(format!("micro-op {m} ({item}): {msg}")))?);
        }
        parsed.txns.push(Txn {
            op: i,
            outcome: op.outcome,
            mops: mops.into(),
        });
    }
    Ok(parsed)
}

fn shapes(workload: Workload) -> &'static str {
    match workload {
        Workload::ListAppend => "[\"append\", k, v] or [\"r\", k, list]",
        Workload::RwRegister => "[\"w\", k, v] or [\"r\", k, v]",
    }
}

fn mop(
    workload: Workload,
    outcome: Outcome,
    f: &Value,
    k: &Value,
    v: &Value,
    parsed: &mut Parsed,
) -> Result<Mop, String> {
    let write = match workload {
        Workload::ListAppend => "append",
        Workload::RwRegister => "w",
    };
    let f = f.as_str();
    if f == Some(write) {
        if v.is_nil() {
            return Err(format!("expected a value to {write}, found nil"));
        }
        return Ok(Mop::Write {
            key: parsed.keys.intern(k),
            value: parsed.values.intern(v),
        });
    }
    if f != Some("r") {
        return Err(format!(
            "expected f \"{write}\" or \"r\" for {}",
            workload.name()
        ));
    }
    let key = parsed.keys.intern(k);
    let seen = match (outcome, workload) {
        (Outcome::Fail | Outcome::Info, _) => Seen::Unknown,
        (Outcome::Ok, Workload::ListAppend) => match v {
            Value::Nil => Seen::List(Box::default()),
            Value::List(items) => {
                Seen::List(items.iter().map(|e| parsed.values.intern(e)).collect())
            }
            other => {
                return Err(format!(
                    "expected a read of a list or nil, found {}",
                    other.kind()
                ));
            }
        },
        (Outcome::Ok, Workload::RwRegister) => {
            Seen::Reg((!v.is_nil()).then(|| parsed.values.intern(v)))
        }
    };
    Ok(Mop::Read { key, seen })
}
