//! The executable form of a model for one partition: op kinds (a slot and an [`Effect`]),
//! interned states, and a transition function.
//!
//! With one slot (a per-key partition) a state is the id of its value and a `Set` effect is an
//! integer comparison, so the common case never hashes. With several slots (a history checked
//! without splitting, one map-valued state) a state is an interned tuple of per-slot values, and
//! transitions are cached.

use hashbrown::HashMap;

use super::model::{Effect, Interner, Model};
use crate::value::Value;

/// Marks "no such state": the op is illegal here.
pub const ILLEGAL: u32 = u32::MAX;

/// An op kind: which slot it touches and what it does there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Kind {
    pub slot: u32,
    pub effect: Effect,
}

impl Kind {
    /// Legal in exactly the states it leaves unchanged.
    pub fn is_read_only(&self) -> bool {
        match self.effect {
            Effect::Set { requires, sets } => sets.is_none() || sets == requires,
            Effect::Append { .. } => false,
            Effect::Txn { writes, .. } => !writes,
        }
    }
}

/// Op kinds and states for one partition.
pub struct Machine {
    pub kinds: Vec<Kind>,
    pub values: Interner,
    /// The keys of the slots (`None` for a history without keys).
    pub slot_keys: Vec<Option<Value>>,
    pub init: u32,
    /// Tuples of per-slot value ids, when there is more than one slot.
    tuples: Vec<Box<[u32]>>,
    tuple_ids: HashMap<Box<[u32]>, u32>,
    /// Transitions that cost more than a comparison: `(state << 32 | kind) → state or ILLEGAL`.
    cache: HashMap<u64, u32>,
}

impl Machine {
    /// A machine whose slots start in the model's initial state.
    pub fn new(model: &dyn Model, values: Interner, slot_keys: Vec<Option<Value>>) -> Machine {
        let mut m = Machine {
            kinds: Vec::new(),
            values,
            slot_keys,
            init: 0,
            tuples: Vec::new(),
            tuple_ids: HashMap::new(),
            cache: HashMap::new(),
        };
        let v0 = model.init(&mut m.values);
        m.init = if m.slot_keys.len() <= 1 {
            v0
        } else {
            let tuple = vec![v0; m.slot_keys.len()];
            m.intern_tuple(tuple.into())
        };
        m
    }

    fn intern_tuple(&mut self, t: Box<[u32]>) -> u32 {
        if let Some(&id) = self.tuple_ids.get(&t) {
            return id;
        }
        let id = self.tuples.len() as u32;
        self.tuples.push(t.clone());
        self.tuple_ids.insert(t, id);
        id
    }

    /// The state after `kind` in `state`, or [`ILLEGAL`].
    #[inline]
    pub fn step(&mut self, state: u32, kind: u32) -> u32 {
        let k = self.kinds[kind as usize];
        if self.tuples.is_empty()
            && let Effect::Set { requires, sets } = k.effect
        {
            return match requires {
                Some(r) if r != state => ILLEGAL,
                _ => sets.unwrap_or(state),
            };
        }
        let key = (u64::from(state) << 32) | u64::from(kind);
        if let Some(&next) = self.cache.get(&key) {
            return next;
        }
        let next = self.compute(state, k);
        self.cache.insert(key, next);
        next
    }

    fn compute(&mut self, state: u32, k: Kind) -> u32 {
        let apply = |values: &mut Interner, v: u32| -> u32 {
            match k.effect {
                Effect::Set { requires, sets } => match requires {
                    Some(r) if r != v => ILLEGAL,
                    _ => sets.unwrap_or(v),
                },
                // Models only append strings to strings.
                Effect::Append { suffix } => values.append(v, suffix).unwrap_or(ILLEGAL),
                Effect::Txn { ops, .. } => transact(values, v, ops),
            }
        };
        if self.tuples.is_empty() {
            return apply(&mut self.values, state);
        }
        let slot = k.slot as usize;
        let current = self.tuples[state as usize][slot];
        let next = apply(&mut self.values, current);
        if next == ILLEGAL {
            return ILLEGAL;
        }
        if next == current {
            return state;
        }
        let mut t = self.tuples[state as usize].clone();
        t[slot] = next;
        self.intern_tuple(t)
    }

    /// The value a state holds in `slot`.
    #[inline]
    pub fn slot_value(&self, state: u32, slot: u32) -> u32 {
        if self.tuples.is_empty() {
            state
        } else {
            self.tuples[state as usize][slot as usize]
        }
    }

    /// A state as text: the value, or a map from key to value.
    pub fn describe(&self, model: &dyn Model, state: u32) -> String {
        if self.tuples.is_empty() {
            return model.describe_state(self.values.value(state));
        }
        let parts: Vec<String> = self.tuples[state as usize]
            .iter()
            .zip(&self.slot_keys)
            .map(|(&v, key)| {
                let key = key
                    .as_ref()
                    .map_or_else(|| "null".into(), ToString::to_string);
                format!("{key}: {}", model.describe_state(self.values.value(v)))
            })
            .collect();
        format!("{{{}}}", parts.join(", "))
    }

    /// Approximate heap bytes held.
    pub fn bytes(&self) -> usize {
        self.values.bytes()
            + self.tuples.len() * (self.slot_keys.len() * 4 * 2 + 48)
            + self.cache.capacity() * 16
    }
}

/// A multi-register transaction on the map `state`, its micro-ops applied in order:
/// [`ILLEGAL`] if a key read does not hold the value read (a key the map lacks holds nil), else
/// the map with the writes applied.
fn transact(values: &mut Interner, state: u32, ops: u32) -> u32 {
    let Value::Map(pairs) = values.value(state) else {
        return ILLEGAL;
    };
    let mut map = pairs.to_vec();
    let mut wrote = false;
    for m in values.value(ops).as_list().unwrap_or_default() {
        let Some([f, k, v]) = m.as_list() else {
            return ILLEGAL;
        };
        let at = map.binary_search_by(|(key, _)| key.cmp(k));
        if f.as_str() == Some("write") {
            wrote = true;
            match at {
                Ok(i) => map[i].1 = v.clone(),
                Err(i) => map.insert(i, (k.clone(), v.clone())),
            }
        } else if at.map_or(&Value::Nil, |i| &map[i].1) != v {
            return ILLEGAL;
        }
    }
    if !wrote {
        return state;
    }
    values.intern(&Value::Map(map.into()))
}
