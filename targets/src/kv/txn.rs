//! Transactions of the `raft-kv` state machine: a list of micro-operations on typed keys,
//! applied all together as one log entry (`POST /txn`, docs/protocols/http-kv.md).
//!
//! Keys live in a namespace of their own, apart from the `/kv/{key}` registers, and are JSON
//! integers or strings ([`Key`]). A key holds either a list, grown by appends (Elle's
//! list-append), or a register, set by writes (Elle's rw-register) — never both: a transaction
//! that appends to a register or writes to a list is refused whole, before any of it takes
//! effect, so every replica refuses it alike. A read answers the key's list or value, `null`
//! when the key holds nothing.
//!
//! ```text
//! [Micro…] ──Tables::apply──▶ Ok(the micro-ops as JSON, reads filled in) | Err(mismatch)
//!          ──Tables::read_only──▶ the same, without changing anything (the txn-local-reads bug)
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A transaction's key: a JSON integer or string (`3` and `"3"` are different keys).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Key {
    Int(i64),
    Str(String),
}

impl Key {
    /// A key from its JSON form; `None` for anything but an integer or a string.
    pub fn from_json(value: &Value) -> Option<Key> {
        match value {
            Value::Number(n) => n.as_i64().map(Key::Int),
            Value::String(s) => Some(Key::Str(s.clone())),
            _ => None,
        }
    }

    fn to_json(&self) -> Value {
        match self {
            Key::Int(i) => json!(i),
            Key::Str(s) => json!(s),
        }
    }
}

/// One micro-operation of a transaction.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Micro {
    /// Appends a value to the key's list (`["append", k, v]`).
    Append(Key, Value),
    /// Reads the key: its list or its value (`["r", k, null]`).
    Read(Key),
    /// Sets the key's register (`["w", k, v]`); writing `null` empties the key.
    Write(Key, Value),
}

impl Micro {
    /// Its wire form, with `read` as a read's value: `["append", k, v]`, `["r", k, read]`,
    /// `["w", k, v]`.
    pub fn to_json(&self, read: Value) -> Value {
        match self {
            Micro::Append(k, v) => json!(["append", k.to_json(), v]),
            Micro::Read(k) => json!(["r", k.to_json(), read]),
            Micro::Write(k, v) => json!(["w", k.to_json(), v]),
        }
    }

    /// Parses its wire form; the reason it is malformed otherwise.
    pub fn from_json(value: &Value) -> Result<Micro, String> {
        let parts = match value.as_array() {
            Some(parts) if parts.len() == 3 => parts,
            _ => return Err(format!("{value} is not [f, key, value]")),
        };
        let key = Key::from_json(&parts[1])
            .ok_or_else(|| format!("{value}: a key is an integer or a string"))?;
        match parts[0].as_str() {
            Some("append") => Ok(Micro::Append(key, parts[2].clone())),
            Some("r") => Ok(Micro::Read(key)),
            Some("w") => Ok(Micro::Write(key, parts[2].clone())),
            _ => Err(format!("{value}: f must be \"append\", \"r\" or \"w\"")),
        }
    }

    fn key(&self) -> &Key {
        match self {
            Micro::Append(k, _) | Micro::Read(k) | Micro::Write(k, _) => k,
        }
    }
}

/// What a key holds.
#[derive(Clone, Debug, PartialEq)]
enum Cell {
    List(Vec<Value>),
    Register(Value),
}

/// The transactions' keys and what they hold. Absent keys hold nothing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tables {
    cells: BTreeMap<Key, Cell>,
}

impl Tables {
    /// Applies `ops` in order, all or nothing: the micro-ops as their wire form with reads
    /// filled in, or why the transaction was refused (an append to a register, or a write to a
    /// list — including one this very transaction made), with nothing changed.
    pub fn apply(&mut self, ops: &[Micro]) -> Result<Vec<Value>, String> {
        // Work on the keys the transaction touches, and keep them only if all of it applies.
        let mut touched: BTreeMap<Key, Option<Cell>> = BTreeMap::new();
        for op in ops {
            let key = op.key();
            if !touched.contains_key(key) {
                touched.insert(key.clone(), self.cells.get(key).cloned());
            }
        }
        let mut results = Vec::with_capacity(ops.len());
        for op in ops {
            let cell = touched
                .get_mut(op.key())
                .expect("every key was taken above");
            let read = match (op, &mut *cell) {
                (Micro::Read(_), cell) => read(cell.as_ref()),
                (Micro::Append(_, v), None) => {
                    *cell = Some(Cell::List(vec![v.clone()]));
                    Value::Null
                }
                (Micro::Append(_, v), Some(Cell::List(list))) => {
                    list.push(v.clone());
                    Value::Null
                }
                (Micro::Write(_, v), None | Some(Cell::Register(_))) => {
                    *cell = (!v.is_null()).then(|| Cell::Register(v.clone()));
                    Value::Null
                }
                (Micro::Append(k, _), Some(Cell::Register(_))) => {
                    return Err(format!("key {} holds a register: no append", k.to_json()));
                }
                (Micro::Write(k, _), Some(Cell::List(_))) => {
                    return Err(format!("key {} holds a list: no write", k.to_json()));
                }
            };
            results.push(op.to_json(read));
        }
        for (key, cell) in touched {
            match cell {
                Some(cell) => self.cells.insert(key, cell),
                None => self.cells.remove(&key),
            };
        }
        Ok(results)
    }

    /// Whether `ops` only reads.
    pub fn is_read_only(ops: &[Micro]) -> bool {
        ops.iter().all(|op| matches!(op, Micro::Read(_)))
    }

    /// A read-only transaction's answer from the state as it is, without a log entry.
    pub fn read_only(&self, ops: &[Micro]) -> Vec<Value> {
        ops.iter()
            .map(|op| op.to_json(read(self.cells.get(op.key()))))
            .collect()
    }
}

/// What a read of `cell` answers: its list or its value, `null` for nothing.
fn read(cell: Option<&Cell>) -> Value {
    match cell {
        None => Value::Null,
        Some(Cell::List(list)) => Value::Array(list.clone()),
        Some(Cell::Register(v)) => v.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ops(wire: Value) -> Vec<Micro> {
        wire.as_array()
            .unwrap()
            .iter()
            .map(|op| Micro::from_json(op).unwrap())
            .collect()
    }

    #[test]
    fn appends_and_reads_apply_in_order() {
        let mut t = Tables::default();
        let txn = json!([
            ["r", 1, null],
            ["append", 1, 5],
            ["append", 1, 6],
            ["r", 1, null]
        ]);
        assert_eq!(
            t.apply(&ops(txn)).unwrap(),
            vec![
                json!(["r", 1, null]),
                json!(["append", 1, 5]),
                json!(["append", 1, 6]),
                json!(["r", 1, [5, 6]])
            ]
        );
        let later = ops(json!([["r", 1, null], ["r", "1", null]]));
        assert_eq!(
            t.apply(&later).unwrap(),
            vec![json!(["r", 1, [5, 6]]), json!(["r", "1", null])]
        );
        assert_eq!(t.read_only(&later), t.clone().apply(&later).unwrap());
    }

    #[test]
    fn writes_set_registers() {
        let mut t = Tables::default();
        let txn = ops(json!([["w", "x", 1], ["r", "x", null], ["w", "x", 2]]));
        assert_eq!(
            t.apply(&txn).unwrap(),
            vec![
                json!(["w", "x", 1]),
                json!(["r", "x", 1]),
                json!(["w", "x", 2])
            ]
        );
        assert_eq!(
            t.read_only(&ops(json!([["r", "x", null]]))),
            vec![json!(["r", "x", 2])]
        );
        t.apply(&ops(json!([["w", "x", null]]))).unwrap();
        assert_eq!(t, Tables::default(), "writing null empties the key");
    }

    #[test]
    fn mixing_lists_and_registers_refuses_the_whole_transaction() {
        let mut t = Tables::default();
        t.apply(&ops(json!([["append", 1, 1], ["w", 2, 1]])))
            .unwrap();
        let before = t.clone();
        for txn in [
            json!([["append", 3, 1], ["append", 2, 2]]),
            json!([["w", 3, 1], ["w", 1, 2]]),
            json!([["append", 4, 1], ["w", 4, 2]]),
        ] {
            assert!(t.apply(&ops(txn.clone())).is_err(), "{txn}");
            assert_eq!(t, before, "{txn} changed nothing");
        }
    }

    #[test]
    fn the_wire_form_parses_and_malformed_micro_ops_do_not() {
        let op = Micro::from_json(&json!(["append", "k", [1]])).unwrap();
        assert_eq!(op, Micro::Append(Key::Str("k".into()), json!([1])));
        assert_eq!(op.to_json(Value::Null), json!(["append", "k", [1]]));
        for bad in [
            json!(["append", 1]),
            json!(["x", 1, 1]),
            json!(["r", 1.5, null]),
            json!(["r", null, null]),
            json!({"f": "r"}),
        ] {
            assert!(Micro::from_json(&bad).is_err(), "{bad}");
        }
        assert!(Tables::is_read_only(&ops(json!([["r", 1, null]]))));
        assert!(!Tables::is_read_only(&ops(json!([
            ["r", 1, null],
            ["w", 1, 1]
        ]))));
    }
}
