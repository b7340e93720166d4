//! Process and real-time order, as edges — for the models that promise them.
//!
//! Real-time order is `T1 completed before T2 was invoked`; all such pairs would be quadratic
//! in a long history, so, as Elle does, each transaction is linked only from the *frontier*:
//! the `ok` transactions that completed with no other completion after their own and before
//! the next one's invocation. A transaction that completes removes from the frontier those it
//! follows in real time (they reach it through its edges), so the frontier stays about as big
//! as the concurrency, and the edges give the same order transitively.
//!
//! Failed transactions take no part; an `info` one is ordered after what completed before
//! its invocation, but before nothing (it may take effect at any later time).

use hashbrown::HashMap;

use super::graph::{Edge, PROCESS, REALTIME};
use super::txn::Txn;
use crate::history::{Operation, Outcome};

/// Links each transaction of a process to the next one the process ran, when the first is
/// `ok` (a process runs one operation at a time, so the first ended before the next began).
pub(super) fn process_edges(ops: &[Operation], txns: &[Txn], edges: &mut Vec<Edge>) {
    let mut last: HashMap<u64, u32> = HashMap::new();
    for (t, txn) in txns.iter().enumerate() {
        if !txn.committed() {
            continue;
        }
        let process = ops[txn.op].process;
        if let Some(prev) = last.insert(process, t as u32)
            && txns[prev as usize].outcome == Outcome::Ok
        {
            edges.push((prev, t as u32, PROCESS));
        }
    }
}

/// Links each transaction from the `ok` ones that completed before its invocation, through
/// the frontier (see the module docs).
pub(super) fn realtime_edges(ops: &[Operation], txns: &[Txn], edges: &mut Vec<Edge>) {
    // (history position, transaction, is a completion), in history order.
    let mut events: Vec<(usize, u32, bool)> = Vec::with_capacity(txns.len() * 2);
    for (t, txn) in txns.iter().enumerate() {
        if !txn.committed() {
            continue;
        }
        let op = &ops[txn.op];
        events.push((op.invoke, t as u32, false));
        if let (Outcome::Ok, Some(c)) = (op.outcome, op.complete) {
            events.push((c, t as u32, true));
        }
    }
    events.sort_unstable();
    // (transaction, history position of its completion).
    let mut frontier: Vec<(u32, usize)> = Vec::new();
    for (pos, t, completion) in events {
        if completion {
            let invoked = ops[txns[t as usize].op].invoke;
            frontier.retain(|&(_, done)| done > invoked);
            frontier.push((t, pos));
        } else {
            edges.extend(frontier.iter().map(|&(f, _)| (f, t, REALTIME)));
        }
    }
}
