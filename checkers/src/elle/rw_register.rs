//! rw-register: what reads and writes of registers reveal.
//!
//! Each value is written at most once per key, so a read names the write it saw: a wr edge
//! from writer to reader. The order of versions is known only in part; the two sound rules
//! used here are Elle's basic ones: the initial state (nil) precedes every write, and a
//! transaction that read `a` from a key and then wrote `b` to it put `b` right after `a`.
//! For each such pair of versions `a < b`: ww from the writer of `a` to the writer of `b`,
//! and rw from each transaction that read `a` to the writer of `b`. (Elle can also take the
//! order from process or real-time order, assuming each key linearizable; not done here.)
//!
//! Only a transaction's last write to a key installs a version; only its reads before its
//! own first write to a key say something about others. Seen directly: G1a (reading a failed
//! transaction's write), G1b (reading a write its transaction overwrote), and within one
//! transaction `internal` (a read that differs from what the transaction last read or wrote)
//! and `future-read` (reading a value the transaction writes only later).
//!
//! Reads of the initial state give rw edges to every writer of the key: quadratic in a key's
//! history, which the short keys of Jepsen's rw-register workload keep small.

use hashbrown::HashMap;

use super::graph::{Edge, Explain, RW, WR, WW};
use super::report::{Collector, Rel};
use super::txn::{Mop, Seen, Txn};
use super::view::View;
use crate::error::InputError;
use crate::history::Outcome;

/// Who wrote a value to a key.
#[derive(Clone, Copy, Debug)]
struct Write {
    txn: u32,
    /// The transaction's last write to the key: only that one installs a version.
    last: bool,
}

/// A version of a key: `None` for the initial state.
type Version = Option<u32>;

/// What the analysis learned; it explains the edges it found.
pub(super) struct RwRegister<'a> {
    view: &'a View<'a>,
    writes: HashMap<(u32, u32), Write>,
}

/// A transaction's reads of keys it had not written before (what it saw of others): (key,
/// version).
fn external_reads(txn: &Txn) -> impl Iterator<Item = (u32, Version)> + '_ {
    txn.mops
        .iter()
        .enumerate()
        .filter_map(|(m, mop)| match mop {
            Mop::Read {
                key,
                seen: Seen::Reg(v),
            } if !txn.mops[..m]
                .iter()
                .any(|b| matches!(b, Mop::Write { key: k, .. } if k == key)) =>
            {
                Some((*key, *v))
            }
            _ => None,
        })
}

/// A transaction's last write to `key`.
fn final_write(txn: &Txn, key: u32) -> Option<u32> {
    txn.mops.iter().rev().find_map(|mop| match mop {
        Mop::Write { key: k, value } if *k == key => Some(*value),
        _ => None,
    })
}

/// Analyzes the transactions of `view`, pushing the edges found to `edges` and the anomalies
/// seen directly to `found`. Fails on a value written twice to a key.
pub(super) fn analyze<'a>(
    view: &'a View<'a>,
    edges: &mut Vec<Edge>,
    found: &mut Collector,
) -> Result<RwRegister<'a>, InputError> {
    let txns = view.txns();
    let mut rr = RwRegister {
        view,
        writes: HashMap::with_capacity(txns.len()),
    };
    for (t, txn) in txns.iter().enumerate() {
        let t = t as u32;
        for (m, mop) in txn.mops.iter().enumerate() {
            if let Mop::Write { key, value } = mop {
                let last = !txn.mops[m + 1..]
                    .iter()
                    .any(|later| matches!(later, Mop::Write { key: k, .. } if k == key));
                if let Some(before) = rr.writes.insert((*key, *value), Write { txn: t, last }) {
                    return Err(InputError::new(
                        &view.history.source,
                        view.line(t),
                        format!(
                            "expected each value to be written to a key at most once (versions are told apart by their values), found {} written to key {} again (first at line {})",
                            view.value(*value),
                            view.key(*key),
                            view.line(before.txn)
                        ),
                    ));
                }
            }
        }
        if txn.outcome == Outcome::Ok {
            internal(view, t, found);
        }
    }
    // The ok readers of each version, and the versions known to follow each other.
    let mut readers: HashMap<(u32, Version), Vec<u32>> = HashMap::new();
    let mut follows: Vec<(u32, Version, u32)> = Vec::new();
    for (t, txn) in txns.iter().enumerate() {
        let t = t as u32;
        if txn.committed() {
            for mop in txn.mops.iter() {
                if let Mop::Write { key, value } = mop
                    && final_write(txn, *key) == Some(*value)
                {
                    follows.push((*key, None, *value));
                }
            }
        }
        if txn.outcome != Outcome::Ok {
            continue;
        }
        for (key, version) in external_reads(txn) {
            readers.entry((key, version)).or_default().push(t);
            if let Some(b) = final_write(txn, key)
                && version.is_some()
            {
                follows.push((key, version, b));
            }
            let Some(v) = version else { continue };
            let Some(w) = rr.writer(key, v) else { continue };
            rr.wrote(t, key, v, w, edges, found);
        }
    }
    for (key, a, b) in follows {
        let Some(wb) = rr.writer(key, b) else {
            continue;
        };
        if let Some(wa) = a.and_then(|a| rr.writer(key, a))
            && wa.txn != wb.txn
            && txns[wa.txn as usize].committed()
        {
            edges.push((wa.txn, wb.txn, WW));
        }
        for &r in readers.get(&(key, a)).into_iter().flatten() {
            if r != wb.txn {
                edges.push((r, wb.txn, RW));
            }
        }
    }
    Ok(rr)
}

/// Within transaction `t`: each read must show what the transaction last read or wrote to
/// the key (`internal`), and never a value it writes only later (`future-read`).
fn internal(view: &View<'_>, t: u32, found: &mut Collector) {
    let mops = &view.txns()[t as usize].mops;
    let mut known: Vec<(u32, Version)> = Vec::new();
    for (m, mop) in mops.iter().enumerate() {
        let (key, now) = match mop {
            Mop::Write { key, value } => (*key, Some(*value)),
            Mop::Read {
                key,
                seen: Seen::Reg(v),
            } => {
                let before = known.iter().find(|k| k.0 == *key).map(|k| k.1);
                let future = v.is_some()
                    && before != Some(*v)
                    && mops[m + 1..]
                        .iter()
                        .any(|later| matches!(later, Mop::Write { key: k, value } if k == key && Some(*value) == *v));
                let shown = |v: Version| v.map_or("nil".to_string(), |v| view.value(v).to_string());
                if future {
                    found.add("future-read", || {
                        let name = view.name(t);
                        (
                            format!(
                                "{name} read key {} = {}, a value {name} itself wrote only later",
                                view.key(*key),
                                shown(*v)
                            ),
                            vec![view.txn(t)],
                            Vec::new(),
                        )
                    });
                } else if let Some(before) = before
                    && before != *v
                {
                    found.add("internal", || {
                        let name = view.name(t);
                        (
                            format!(
                                "{name} read key {} = {}, but it had last read or written {} there",
                                view.key(*key),
                                shown(*v),
                                shown(before)
                            ),
                            vec![view.txn(t)],
                            Vec::new(),
                        )
                    });
                }
                (*key, *v)
            }
            Mop::Read { .. } => continue,
        };
        match known.iter_mut().find(|k| k.0 == key) {
            Some(k) => k.1 = now,
            None => known.push((key, now)),
        }
    }
}

impl RwRegister<'_> {
    fn writer(&self, key: u32, value: u32) -> Option<Write> {
        self.writes.get(&(key, value)).copied()
    }

    /// Transaction `t` read `value` of `key`, written by `w`: a wr edge, or G1a / G1b.
    fn wrote(
        &self,
        t: u32,
        key: u32,
        value: u32,
        w: Write,
        edges: &mut Vec<Edge>,
        found: &mut Collector,
    ) {
        let view = self.view;
        if w.txn == t {
            return;
        }
        let describe = |what: &str| {
            (
                format!(
                    "{} read key {} = {}, written by {}, {what}",
                    view.name(t),
                    view.key(key),
                    view.value(value),
                    view.name(w.txn)
                ),
                vec![view.txn(t), view.txn(w.txn)],
                Vec::new(),
            )
        };
        if !view.txns()[w.txn as usize].committed() {
            found.add("G1a", || describe("which failed (aborted read)"));
            return;
        }
        edges.push((w.txn, t, WR));
        if !w.last {
            found.add("G1b", || {
                describe("which overwrote it later in the same transaction (intermediate read)")
            });
        }
    }

    fn why(&self, a: u32, b: u32, rel: Rel) -> Option<String> {
        let view = self.view;
        let (ta, tb) = (&view.txns()[a as usize], &view.txns()[b as usize]);
        let (an, bn) = (view.name(a), view.name(b));
        let shown = |v: Version| v.map_or("nil".to_string(), |v| view.value(v).to_string());
        match rel {
            Rel::Wr => external_reads(tb).find_map(|(key, v)| {
                let v = v?;
                (self.writer(key, v)?.txn == a)
                    .then(|| format!("{bn} read key {} = {}, which {an} wrote", view.key(key), view.value(v)))
            }),
            Rel::Ww => external_reads(tb).find_map(|(key, v)| {
                let x = v?;
                let y = final_write(tb, key)?;
                (self.writer(key, x)?.txn == a).then(|| {
                    format!(
                        "{bn} read key {} = {} (which {an} wrote) and then wrote {}",
                        view.key(key),
                        view.value(x),
                        view.value(y)
                    )
                })
            }),
            Rel::Rw => external_reads(ta).find_map(|(key, v)| {
                let y = final_write(tb, key)?;
                match v {
                    None => Some(format!(
                        "{an} read key {} = nil, the initial state, which {bn}'s write of {} follows",
                        view.key(key),
                        view.value(y)
                    )),
                    Some(_) => external_reads(tb).any(|(k, w)| k == key && w == v).then(|| {
                        format!(
                            "{an} read key {} = {}, which {bn} read too and then overwrote with {}",
                            view.key(key),
                            shown(v),
                            view.value(y)
                        )
                    }),
                }
            }),
            Rel::Process | Rel::Realtime => None,
        }
    }
}

impl Explain for RwRegister<'_> {
    fn why(&self, from: u32, to: u32, rel: Rel) -> String {
        RwRegister::why(self, from, to, rel).unwrap_or_else(|| {
            format!(
                "{} {} {}",
                self.view.name(from),
                rel.name(),
                self.view.name(to)
            )
        })
    }
}
