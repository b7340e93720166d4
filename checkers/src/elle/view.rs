//! How transactions, keys and values are shown in explanations: the parsed transactions seen
//! together with the history they came from.

use super::report::{Rel, TxnRef, name};
use super::txn::{Parsed, Txn};
use crate::history::{History, Operation};
use crate::value::Value;

pub(super) struct View<'a> {
    pub history: &'a History,
    pub ops: &'a [Operation],
    pub parsed: &'a Parsed,
}

impl View<'_> {
    pub fn txns(&self) -> &[Txn] {
        &self.parsed.txns
    }

    /// `T` and the history index of the event that stands for transaction `t`.
    pub fn name(&self, t: u32) -> String {
        name(self.history, self.op(t))
    }

    pub fn txn(&self, t: u32) -> TxnRef {
        TxnRef::new(self.history, self.ops, &self.parsed.txns[t as usize])
    }

    pub fn op(&self, t: u32) -> &Operation {
        &self.ops[self.parsed.txns[t as usize].op]
    }

    /// The source line of transaction `t`'s invocation, for input errors.
    pub fn line(&self, t: u32) -> usize {
        self.op(t).invocation(self.history).line as usize
    }

    pub fn key(&self, k: u32) -> &Value {
        self.parsed.keys.get(k)
    }

    pub fn value(&self, v: u32) -> Value {
        self.parsed.values.get(v)
    }

    /// A list of interned values, as the history would write it.
    pub fn list(&self, ids: &[u32]) -> Value {
        self.parsed.list(ids)
    }

    /// Why `from` precedes `to` in process or real-time order.
    pub fn order_why(&self, from: u32, to: u32, rel: Rel) -> String {
        let (a, b) = (self.op(from), self.op(to));
        let (an, bn) = (self.name(from), self.name(to));
        match rel {
            Rel::Process => format!("process {} ran {an}, then {bn}", a.process),
            _ => {
                let done = a.completion(self.history).map_or(0, |e| e.index);
                let began = b.invocation(self.history).index;
                format!("{an} completed (index {done}) before {bn} was invoked (index {began})")
            }
        }
    }
}
