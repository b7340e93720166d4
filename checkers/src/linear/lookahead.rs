//! Lookahead: recognising a configuration that cannot be extended before exploring it.
//!
//! Every `ok` op that is a candidate now (its call is before the first pending return) will
//! have to be linearized at some point before its own return, and only ops invoked before that
//! return can come first. If the op requires a value (a read, a cas, a kv get), the state must
//! reach that value by then, so a configuration is a dead end when, for some candidate `G` that
//! requires `r`:
//!
//! * in a slot of `Set` effects (registers, mutexes): the state is not `r`, and no op that
//!   sets `r` — not yet linearized, invoked before `G` returns — exists;
//! * in a slot with appends (kv), where the state only grows until a put resets it: the state
//!   is not a prefix of `r`, and no such put's value is a prefix of `r`.
//!
//! Both conditions only say a value cannot be reached by any order of the remaining ops, so
//! cutting the configuration loses no linearization. They catch a wrong order of concurrent
//! appends at the first read that contradicts it, instead of at the end of a subtree.
//!
//! The same argument holds for ops that are not candidates yet, and the search checks a few
//! beyond the candidates at every configuration. For reads of append slots it goes further:
//! [`Exhausted`] keeps, incrementally, the set of pending reads none of whose possible puts is
//! still pending — the state must grow into each of them by appends alone — and every one of
//! them is checked, however far ahead. That is what refutes a wrong order of puts long before
//! the read that exposes it comes into view.

use hashbrown::HashMap;

use super::interner::prefix_hashes;
use super::machine::Machine;
use super::model::Effect;
use super::problem::{NONE, Problem};
use crate::value::Value;

/// What an op kind needs and does, flattened.
#[derive(Clone, Copy, Debug)]
pub struct KindFacts {
    pub slot: u32,
    /// The value it requires, or [`NONE`].
    pub requires: u32,
    /// The value it sets, or [`NONE`].
    pub sets: u32,
    pub read_only: bool,
}

/// Indexes the lookahead consults, built once per partition.
pub struct Lookahead {
    pub facts: Vec<KindFacts>,
    /// Per slot: whether appends grow its state.
    append_slot: Vec<bool>,
    /// Ok ops that set each (slot, value), by ok index.
    ok_setters: HashMap<(u32, u32), Vec<u32>>,
    /// Info op kinds that set each (slot, value).
    info_setters: HashMap<(u32, u32), Vec<u32>>,
    /// For each ok op reading an append slot: the puts that could start the string it reads
    /// (ok puts invoked before it returns, and info put kinds, whose value is a prefix of it).
    bases: HashMap<u32, Bases>,
    /// Prefix hashes of the strings read in append slots.
    prefixes: HashMap<u32, Vec<u64>>,
    /// Info ops of each kind, in invocation order (they are linearized in this order).
    pub members: Vec<Vec<u32>>,
}

/// The pending reads of append slots that no pending put can serve: the state must already be
/// a prefix of what each of them read. Kept exactly as linearizations are pushed and popped.
pub struct Exhausted {
    /// Per ok op: how many of its possible puts are not linearized ([`NONE`] if untracked).
    pending: Vec<u32>,
    /// For each put (ok index): the reads it may serve.
    reads_of_put: HashMap<u32, Vec<u32>>,
    members: Vec<u32>,
    /// Per ok op: its position in `members` ([`NONE`] if absent).
    position: Vec<u32>,
}

impl Exhausted {
    fn new(look: &Lookahead, ops: usize) -> Exhausted {
        let mut e = Exhausted {
            pending: vec![NONE; ops],
            reads_of_put: HashMap::new(),
            members: Vec::new(),
            position: vec![NONE; ops],
        };
        for (&g, bases) in &look.bases {
            // A read an info put might serve is never certain to be exhausted.
            if !bases.info_kinds.is_empty() {
                continue;
            }
            e.pending[g as usize] = bases.ok.len() as u32;
            for &p in &bases.ok {
                e.reads_of_put.entry(p).or_default().push(g);
            }
            e.refresh(g, false);
        }
        e
    }

    fn refresh(&mut self, g: u32, linearized: bool) {
        let belongs = self.pending[g as usize] == 0 && !linearized;
        let at = self.position[g as usize];
        if belongs && at == NONE {
            self.position[g as usize] = self.members.len() as u32;
            self.members.push(g);
        } else if !belongs && at != NONE {
            let last = self.members.pop().unwrap_or(g);
            if last != g {
                self.members[at as usize] = last;
                self.position[last as usize] = at;
            }
            self.position[g as usize] = NONE;
        }
    }

    /// Ok op `i` was linearized (`done`) or un-linearized; `linearized` tells the others.
    pub fn update(&mut self, i: u32, done: bool, linearized: &dyn Fn(u32) -> bool) {
        if let Some(reads) = self.reads_of_put.get(&i) {
            for k in 0..reads.len() {
                let g = self.reads_of_put[&i][k];
                if done {
                    self.pending[g as usize] -= 1;
                } else {
                    self.pending[g as usize] += 1;
                }
                self.refresh(g, linearized(g));
            }
        }
        if self.pending[i as usize] != NONE {
            self.refresh(i, done);
        }
    }
}

/// Puts whose value a read's string starts with.
#[derive(Default)]
struct Bases {
    ok: Vec<u32>,
    info_kinds: Vec<u32>,
}

/// The parts of a search's configuration the lookahead reads.
pub struct View<'a> {
    pub problem: &'a Problem,
    pub machine: &'a Machine,
    pub state: u32,
    /// The first ok op not yet linearized.
    pub frontier: u32,
    /// The candidates: ok ops whose call is before the first pending return.
    pub window: &'a [u32],
    pub linearized: &'a dyn Fn(u32) -> bool,
    /// Per kind, how many of its info ops are linearized.
    pub taken: &'a [u32],
}

impl Lookahead {
    pub fn new(problem: &Problem, machine: &Machine) -> Lookahead {
        let facts: Vec<KindFacts> = machine
            .kinds
            .iter()
            .map(|k| {
                let (requires, sets) = match k.effect {
                    Effect::Set { requires, sets } => {
                        (requires.unwrap_or(NONE), sets.unwrap_or(NONE))
                    }
                    // Neither constrains one value of one slot.
                    Effect::Append { .. } | Effect::Txn { .. } => (NONE, NONE),
                };
                KindFacts {
                    slot: k.slot,
                    requires,
                    sets,
                    read_only: k.is_read_only(),
                }
            })
            .collect();
        let slots = machine.slot_keys.len().max(1);
        let mut append_slot = vec![false; slots];
        for k in &machine.kinds {
            if let Effect::Append { .. } = k.effect {
                append_slot[k.slot as usize] = true;
            }
        }
        let mut look = Lookahead {
            ok_setters: HashMap::new(),
            info_setters: HashMap::new(),
            bases: HashMap::new(),
            prefixes: HashMap::new(),
            members: vec![Vec::new(); facts.len()],
            facts,
            append_slot,
        };
        for (i, op) in problem.ok.iter().enumerate() {
            let k = look.facts[op.kind as usize];
            if k.sets == NONE {
                continue;
            }
            if !look.append_slot[k.slot as usize] {
                look.ok_setters
                    .entry((k.slot, k.sets))
                    .or_default()
                    .push(i as u32);
            }
        }
        for (j, op) in problem.info.iter().enumerate() {
            let kind = op.kind;
            if look.members[kind as usize].is_empty() {
                let k = look.facts[kind as usize];
                if k.sets != NONE && !look.append_slot[k.slot as usize] {
                    look.info_setters
                        .entry((k.slot, k.sets))
                        .or_default()
                        .push(kind);
                }
            }
            look.members[kind as usize].push(j as u32);
        }
        look.index_bases(problem, machine);
        look
    }

    /// Fills `bases` and `prefixes` for the reads of append slots.
    fn index_bases(&mut self, problem: &Problem, machine: &Machine) {
        let text = |v: u32| match machine.values.value(v) {
            Value::Str(s) => Some(&**s),
            _ => None,
        };
        let is_put = |kind: u32| {
            let k = self.facts[kind as usize];
            k.sets != NONE && self.append_slot[k.slot as usize]
        };
        let puts: Vec<u32> = (0..problem.ok.len() as u32)
            .filter(|&i| is_put(problem.ok[i as usize].kind))
            .collect();
        let info_puts: Vec<u32> = (0..self.facts.len() as u32)
            .filter(|&kind| is_put(kind) && !self.members[kind as usize].is_empty())
            .collect();
        for (i, op) in problem.ok.iter().enumerate() {
            let k = self.facts[op.kind as usize];
            if k.requires == NONE || !self.append_slot[k.slot as usize] {
                continue;
            }
            let Some(read) = text(k.requires) else {
                continue;
            };
            let starts = |kind: u32| {
                let put = self.facts[kind as usize];
                put.slot == k.slot && text(put.sets).is_some_and(|p| read.starts_with(p))
            };
            let bases = Bases {
                ok: puts
                    .iter()
                    .copied()
                    .take_while(|&p| problem.ok[p as usize].call < op.ret)
                    .filter(|&p| starts(problem.ok[p as usize].kind))
                    .collect(),
                info_kinds: info_puts
                    .iter()
                    .copied()
                    .filter(|&kind| starts(kind))
                    .collect(),
            };
            self.bases.insert(i as u32, bases);
            self.prefixes
                .entry(k.requires)
                .or_insert_with(|| prefix_hashes(read));
        }
    }

    /// Whether the string `a` is a prefix of the string `b`, a string some read returned.
    /// Decided on hashes: a collision can only make this say yes wrongly, which makes the
    /// lookahead cut less, never more.
    fn is_prefix(&self, machine: &Machine, a: u32, b: u32) -> bool {
        match (machine.values.text(a), self.prefixes.get(&b)) {
            (Some(t), Some(p)) => p.get(t.len as usize) == Some(&t.hash),
            _ => false,
        }
    }

    /// The exhausted-reads tracker for a search starting with nothing linearized.
    pub fn exhausted(&self, ops: usize) -> Exhausted {
        Exhausted::new(self, ops)
    }

    /// An ok op whose required value configuration `v` can no longer reach (so `v` cannot
    /// extend to a linearization), or `None`.
    pub fn unreachable(&self, v: &View<'_>, exhausted: &Exhausted) -> Option<u32> {
        let near = v.window.iter().copied().find(|&g| !self.reachable(v, g));
        near.or_else(|| {
            exhausted.members.iter().copied().find(|&g| {
                let k = self.facts[v.problem.ok[g as usize].kind as usize];
                let current = v.machine.slot_value(v.state, k.slot);
                current != k.requires && !self.is_prefix(v.machine, current, k.requires)
            })
        })
    }

    /// Whether candidate `g`'s required value can still be there when it is linearized.
    fn reachable(&self, v: &View<'_>, g: u32) -> bool {
        let op = v.problem.ok[g as usize];
        let k = self.facts[op.kind as usize];
        if k.requires == NONE {
            return true;
        }
        let current = v.machine.slot_value(v.state, k.slot);
        if current == k.requires {
            return true;
        }
        let before = op.ret;
        if self.append_slot[k.slot as usize] {
            if self.is_prefix(v.machine, current, k.requires) {
                return true;
            }
            let Some(bases) = self.bases.get(&g) else {
                return true;
            };
            bases.ok.iter().any(|&p| !(v.linearized)(p))
                || self.info_pending(v, &bases.info_kinds, before)
        } else {
            let key = (k.slot, k.requires);
            self.ok_setters
                .get(&key)
                .is_some_and(|s| self.ok_pending(v, s, before, g))
                || self
                    .info_setters
                    .get(&key)
                    .is_some_and(|kinds| self.info_pending(v, kinds, before))
        }
    }

    /// Whether some ok op of `ops` (ok indices in order), other than `except`, not yet
    /// linearized, was invoked before `before`.
    fn ok_pending(&self, v: &View<'_>, ops: &[u32], before: u32, except: u32) -> bool {
        // Every ok op before the frontier is linearized.
        let from = ops.partition_point(|&i| i < v.frontier);
        ops[from..]
            .iter()
            .take_while(|&&i| v.problem.ok[i as usize].call < before)
            .any(|&i| i != except && !(v.linearized)(i))
    }

    /// Whether some info op of the given kinds — the first not yet linearized of its kind —
    /// is alive and was invoked before `before`.
    fn info_pending(&self, v: &View<'_>, kinds: &[u32], before: u32) -> bool {
        kinds.iter().any(|&kind| {
            let members = &self.members[kind as usize];
            let Some(&j) = members.get(v.taken[kind as usize] as usize) else {
                return false;
            };
            let info = v.problem.info[j as usize];
            info.call < before && info.horizon >= v.frontier
        })
    }
}
