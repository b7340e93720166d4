//! list-append: what the reads of lists reveal.
//!
//! Every read of a key returns the whole list, so it reveals a prefix of the key's version
//! order; the longest read of the key reveals the most, and every other read must be a prefix
//! of it (else `incompatible-order`). From that order:
//!
//! * ww: the appender of each element precedes the appender of the next;
//! * wr: the appender of a read's last element precedes the reader;
//! * rw: a reader precedes the appender of the first element after what it read (skipping
//!   further appends of the transaction it read last, which it saw in part: G1b).
//!
//! Appends that no read shows are not ordered (Elle's rule: nothing says where they went).
//! Seen directly, without a cycle: `duplicate-elements` (a read showing a value twice), G1a
//! (reading an append of a failed transaction), G1b (a read ending at an append that its
//! transaction followed with another to the same key), `dirty-update` (in the order, a
//! committed append after a failed one), and within one transaction `internal` (a read that
//! does not show what the transaction itself read and appended before) and `future-read` (a
//! read showing what the transaction appends only later).

use hashbrown::HashMap;

use super::graph::{Edge, Explain, RW, WR, WW};
use super::report::{Collector, Rel};
use super::txn::{Mop, Seen};
use super::view::View;
use crate::error::InputError;
use crate::history::Outcome;

/// Who appended a value to a key.
#[derive(Clone, Copy, Debug)]
struct Append {
    txn: u32,
    /// It was the transaction's last append to the key: reading up to an earlier one is G1b.
    last: bool,
}

/// What the analysis learned; it explains the edges it found.
pub(super) struct ListAppend<'a> {
    view: &'a View<'a>,
    /// (key, value) → who appended it.
    appends: HashMap<(u32, u32), Append>,
    /// Per key, the longest read: (reader, index of the micro-op).
    longest: Vec<Option<(u32, usize)>>,
}

/// Analyzes the transactions of `view`, pushing the edges found to `edges` and the anomalies
/// seen directly to `found`. Fails on a value appended twice to a key.
pub(super) fn analyze<'a>(
    view: &'a View<'a>,
    edges: &mut Vec<Edge>,
    found: &mut Collector,
) -> Result<ListAppend<'a>, InputError> {
    let txns = view.txns();
    let mut la = ListAppend {
        view,
        appends: HashMap::with_capacity(txns.len()),
        longest: vec![None; view.parsed.keys.values.len()],
    };
    for (t, txn) in txns.iter().enumerate() {
        let t = t as u32;
        for (m, mop) in txn.mops.iter().enumerate() {
            match mop {
                Mop::Write { key, value } => {
                    let last = !txn.mops[m + 1..]
                        .iter()
                        .any(|later| matches!(later, Mop::Write { key: k, .. } if k == key));
                    if let Some(before) = la.appends.insert((*key, *value), Append { txn: t, last })
                    {
                        return Err(InputError::new(
                            &view.history.source,
                            view.line(t),
                            format!(
                                "expected each value to be appended to a key at most once (versions are told apart by their values), found {} appended to key {} again (first at line {})",
                                view.value(*value),
                                view.key(*key),
                                view.line(before.txn)
                            ),
                        ));
                    }
                }
                Mop::Read {
                    key,
                    seen: Seen::List(list),
                } => {
                    let longest = &mut la.longest[*key as usize];
                    if longest.is_none_or(|(r, i)| read(view, r, i).len() < list.len()) {
                        *longest = Some((t, m));
                    }
                }
                Mop::Read { .. } => {}
            }
        }
        if txn.outcome == Outcome::Ok {
            internal(view, t, found);
        }
    }
    la.versions(edges, found);
    la.reads(edges, found);
    Ok(la)
}

/// The list that micro-op `m` of transaction `t` read.
fn read<'a>(view: &'a View<'_>, t: u32, m: usize) -> &'a [u32] {
    match &view.txns()[t as usize].mops[m] {
        Mop::Read {
            seen: Seen::List(list),
            ..
        } => list,
        _ => &[],
    }
}

/// A key a transaction touched so far: the key, the list it last read there (if any), and
/// what it appended since.
type Touched<'a> = (u32, Option<&'a [u32]>, Vec<u32>);

/// Within transaction `t`: each read must show what the transaction read and appended before
/// (`internal`), and nothing it appends only later (`future-read`).
fn internal(view: &View<'_>, t: u32, found: &mut Collector) {
    let mops = &view.txns()[t as usize].mops;
    let mut state: Vec<Touched<'_>> = Vec::new();
    for (m, mop) in mops.iter().enumerate() {
        match mop {
            Mop::Write { key, value } => match state.iter_mut().find(|s| s.0 == *key) {
                Some(s) => s.2.push(*value),
                None => state.push((*key, None, vec![*value])),
            },
            Mop::Read {
                key,
                seen: Seen::List(list),
            } => {
                let future = mops[m + 1..].iter().find_map(|later| match later {
                    Mop::Write { key: k, value } if k == key && list.contains(value) => {
                        Some(*value)
                    }
                    _ => None,
                });
                let s = match state.iter_mut().position(|s| s.0 == *key) {
                    Some(i) => &mut state[i],
                    None => {
                        state.push((*key, None, Vec::new()));
                        state.last_mut().expect("just pushed")
                    }
                };
                if let Some(v) = future {
                    found.add("future-read", || {
                        let name = view.name(t);
                        (
                            format!(
                                "{name} read key {} = {}, which shows {}, an append {name} itself made only later",
                                view.key(*key),
                                view.list(list),
                                view.value(v)
                            ),
                            vec![view.txn(t)],
                            Vec::new(),
                        )
                    });
                } else {
                    let consistent = match s.1 {
                        Some(before) => {
                            list.len() == before.len() + s.2.len()
                                && list.starts_with(before)
                                && list.ends_with(&s.2)
                        }
                        None => list.ends_with(&s.2),
                    };
                    if !consistent {
                        let expected = match s.1 {
                            Some(before) => {
                                let whole: Vec<u32> = before.iter().chain(&s.2).copied().collect();
                                format!("{}", view.list(&whole))
                            }
                            None => format!("a list ending in {}", view.list(&s.2)),
                        };
                        found.add("internal", || {
                            let name = view.name(t);
                            (
                                format!(
                                    "{name} read key {} = {}, but given what it read and appended before, it should have read {expected}",
                                    view.key(*key),
                                    view.list(list),
                                ),
                                vec![view.txn(t)],
                                Vec::new(),
                            )
                        });
                    }
                }
                s.1 = Some(list);
                s.2.clear();
            }
            Mop::Read { .. } => {}
        }
    }
}

impl ListAppend<'_> {
    fn writer(&self, key: u32, value: u32) -> Option<Append> {
        self.appends.get(&(key, value)).copied()
    }

    fn committed(&self, t: u32) -> bool {
        self.view.txns()[t as usize].committed()
    }

    /// The version order of `key`: its longest read.
    fn order(&self, key: u32) -> &[u32] {
        match self.longest[key as usize] {
            Some((r, m)) => read(self.view, r, m),
            None => &[],
        }
    }

    /// The reader of `key`'s longest read, and what it read.
    fn longest_reader(&self, key: u32) -> (String, String) {
        match self.longest[key as usize] {
            Some((r, _)) => (
                self.view.name(r),
                self.view.list(self.order(key)).to_string(),
            ),
            None => (String::from("no transaction"), String::from("[]")),
        }
    }

    /// ww edges along each key's order, and dirty updates.
    fn versions(&self, edges: &mut Vec<Edge>, found: &mut Collector) {
        // Who appended each element of the key's order (one buffer for all keys).
        let mut writers: Vec<Option<Append>> = Vec::new();
        for key in 0..self.longest.len() as u32 {
            let order = self.order(key);
            writers.clear();
            writers.extend(order.iter().map(|&v| self.writer(key, v)));
            for pair in writers.windows(2) {
                if let [Some(a), Some(b)] = pair
                    && a.txn != b.txn
                    && self.committed(a.txn)
                    && self.committed(b.txn)
                {
                    edges.push((a.txn, b.txn, WW));
                }
            }
            let aborted = writers
                .iter()
                .position(|w| w.is_some_and(|w| !self.committed(w.txn)));
            if let Some(i) = aborted
                && let Some(j) = (i + 1..order.len())
                    .find(|&j| writers[j].is_some_and(|w| self.committed(w.txn)))
            {
                found.add("dirty-update", || {
                    let (reader, list) = self.longest_reader(key);
                    let (a, b) = (writers[i].expect("found").txn, writers[j].expect("found").txn);
                    (
                        format!(
                            "{reader} read key {} = {list}: {}, appended by {} which failed, comes before {}, appended by {}, which may have committed",
                            self.view.key(key),
                            self.view.value(order[i]),
                            self.view.name(a),
                            self.view.value(order[j]),
                            self.view.name(b)
                        ),
                        vec![self.view.txn(a), self.view.txn(b)],
                        Vec::new(),
                    )
                });
            }
        }
    }

    /// Each `ok` read against its key's order: wr and rw edges, and what is wrong with it.
    fn reads(&self, edges: &mut Vec<Edge>, found: &mut Collector) {
        let view = self.view;
        let mut incompatible = vec![false; self.longest.len()];
        // A sorted copy of each read, to spot duplicates (one buffer for all).
        let mut sorted: Vec<u32> = Vec::new();
        for (t, txn) in view.txns().iter().enumerate() {
            let t = t as u32;
            for mop in txn.mops.iter() {
                let Mop::Read {
                    key,
                    seen: Seen::List(list),
                } = mop
                else {
                    continue;
                };
                let key = *key;
                let shown = |list: &[u32]| view.list(list);
                sorted.clear();
                sorted.extend_from_slice(list);
                sorted.sort_unstable();
                if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
                    found.add("duplicate-elements", || {
                        (
                            format!(
                                "{} read key {} = {}, which shows {} more than once",
                                view.name(t),
                                view.key(key),
                                shown(list),
                                view.value(w[0])
                            ),
                            vec![view.txn(t)],
                            Vec::new(),
                        )
                    });
                }
                for &v in list.iter() {
                    if let Some(w) = self.writer(key, v)
                        && !self.committed(w.txn)
                    {
                        found.add("G1a", || {
                            (
                                format!(
                                    "{} read key {} = {}, which shows {}, appended by {}, which failed (aborted read)",
                                    view.name(t),
                                    view.key(key),
                                    shown(list),
                                    view.value(v),
                                    view.name(w.txn)
                                ),
                                vec![view.txn(t), view.txn(w.txn)],
                                Vec::new(),
                            )
                        });
                    }
                }
                let order = self.order(key);
                let last = list.last().and_then(|&v| self.writer(key, v));
                if let Some(w) = last
                    && w.txn != t
                    && self.committed(w.txn)
                {
                    edges.push((w.txn, t, WR));
                    if !w.last {
                        found.add("G1b", || {
                            (
                                format!(
                                    "{} read key {} = {}, ending at {}, which {} followed with another append to the key (intermediate read)",
                                    view.name(t),
                                    view.key(key),
                                    shown(list),
                                    view.value(*list.last().expect("has a last")),
                                    view.name(w.txn)
                                ),
                                vec![view.txn(t), view.txn(w.txn)],
                                Vec::new(),
                            )
                        });
                    }
                }
                if !order.starts_with(list) {
                    if !std::mem::replace(&mut incompatible[key as usize], true) {
                        found.add("incompatible-order", || {
                            let (reader, longest) = self.longest_reader(key);
                            (
                                format!(
                                    "{} read key {} = {}, but {reader} read {longest}: neither is a prefix of the other, so no one order of appends explains both",
                                    view.name(t),
                                    view.key(key),
                                    shown(list)
                                ),
                                vec![view.txn(t)],
                                Vec::new(),
                            )
                        });
                    }
                    continue;
                }
                // The first append after what was read, by another transaction than the one
                // read last (whose further appends the read missed: G1b above).
                let next = order[list.len()..]
                    .iter()
                    .filter_map(|&v| self.writer(key, v))
                    .find(|w| last.is_none_or(|l| l.txn != w.txn));
                if let Some(w) = next
                    && w.txn != t
                    && self.committed(w.txn)
                {
                    edges.push((t, w.txn, RW));
                }
            }
        }
    }

    /// A read by `reader` of `key` that shows exactly `list`.
    fn reads_of(&self, reader: u32, key: u32) -> impl Iterator<Item = &[u32]> + '_ {
        self.view.txns()[reader as usize]
            .mops
            .iter()
            .filter_map(move |mop| match mop {
                Mop::Read {
                    key: k,
                    seen: Seen::List(list),
                } if *k == key => Some(&**list),
                _ => None,
            })
    }

    /// The keys `t` appended to.
    fn keys_written(&self, t: u32) -> impl Iterator<Item = u32> + '_ {
        self.view.txns()[t as usize]
            .mops
            .iter()
            .filter_map(|mop| match mop {
                Mop::Write { key, .. } => Some(*key),
                Mop::Read { .. } => None,
            })
    }

    /// The keys `t` read.
    fn keys_read(&self, t: u32) -> impl Iterator<Item = u32> + '_ {
        self.view.txns()[t as usize]
            .mops
            .iter()
            .filter_map(|mop| match mop {
                Mop::Read { key, .. } => Some(*key),
                Mop::Write { .. } => None,
            })
    }

    fn why_ww(&self, a: u32, b: u32) -> Option<String> {
        let view = self.view;
        self.keys_written(a).find_map(|key| {
            let order = self.order(key);
            let i = order.windows(2).position(|p| {
                self.writer(key, p[0]).is_some_and(|w| w.txn == a)
                    && self.writer(key, p[1]).is_some_and(|w| w.txn == b)
            })?;
            let (reader, list) = self.longest_reader(key);
            Some(format!(
                "{} appended {} after {} appended {} to key {}, because {reader} read {list}",
                view.name(b),
                view.value(order[i + 1]),
                view.name(a),
                view.value(order[i]),
                view.key(key)
            ))
        })
    }

    fn why_wr(&self, a: u32, b: u32) -> Option<String> {
        let view = self.view;
        self.keys_read(b).find_map(|key| {
            let list = self.reads_of(b, key).find(|l| {
                l.last()
                    .and_then(|&v| self.writer(key, v))
                    .is_some_and(|w| w.txn == a)
            })?;
            Some(format!(
                "{} read key {} = {}, whose last element {} was appended by {}",
                view.name(b),
                view.key(key),
                view.list(list),
                view.value(*list.last()?),
                view.name(a)
            ))
        })
    }

    fn why_rw(&self, a: u32, b: u32) -> Option<String> {
        let view = self.view;
        self.keys_read(a).find_map(|key| {
            let order = self.order(key);
            self.reads_of(a, key).find_map(|list| {
                let v = *order
                    .get(list.len()..)?
                    .iter()
                    .find(|&&v| self.writer(key, v).is_some_and(|w| w.txn == b))?;
                let (reader, longest) = self.longest_reader(key);
                Some(format!(
                    "{} read key {} = {}, which did not include {}'s append of {} ({reader} read {longest})",
                    view.name(a),
                    view.key(key),
                    view.list(list),
                    view.name(b),
                    view.value(v)
                ))
            })
        })
    }
}

impl Explain for ListAppend<'_> {
    fn why(&self, from: u32, to: u32, rel: Rel) -> String {
        match rel {
            Rel::Ww => self.why_ww(from, to),
            Rel::Wr => self.why_wr(from, to),
            Rel::Rw => self.why_rw(from, to),
            Rel::Process | Rel::Realtime => None,
        }
        .unwrap_or_else(|| {
            format!(
                "{} {} {}",
                self.view.name(from),
                rel.name(),
                self.view.name(to)
            )
        })
    }
}
