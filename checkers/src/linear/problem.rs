//! One partition, prepared for the search: `ok` and `info` operations as integers, with the
//! lists and tables the search walks.
//!
//! Positions are event indices in the history, so real-time order is integer order: op `a`
//! precedes op `b` iff `a.ret < b.call`. `fail` operations are gone (they did not happen), and
//! the `info` operations that cannot matter are gone too ([`super::prune`]).

use hashbrown::HashMap;

use super::machine::{Kind, Machine};
use super::model::{Interner, Model};
use super::prune::{Fate, NEVER, prune};
use crate::error::InputError;
use crate::history::{History, Operation, Outcome};
use crate::value::Value;

/// Marks "none" in index fields.
pub const NONE: u32 = u32::MAX;

/// An operation that completed `ok`: it happened between `call` and `ret`.
#[derive(Clone, Copy, Debug)]
pub struct OkOp {
    pub call: u32,
    pub ret: u32,
    pub kind: u32,
}

/// An operation whose outcome is unknown: it may happen any time after `call`, or never.
#[derive(Clone, Copy, Debug)]
pub struct InfoOp {
    pub call: u32,
    pub kind: u32,
    /// The last `ok` op index that could observe it ([`NEVER`] if it never dies).
    pub horizon: u32,
    /// The previous `info` op of the same kind ([`NONE`] if this is the first): two such ops
    /// are interchangeable, so the search only ever takes them in invocation order.
    pub class_prev: u32,
    /// The next `info` op of the same kind ([`NONE`] if this is the last).
    pub class_next: u32,
}

/// One entry of the search's event list: an `ok` op's call or return.
#[derive(Clone, Copy, Debug)]
pub struct Entry {
    pub pos: u32,
    pub op: u32,
    pub is_call: bool,
}

/// What preparation removed, for the report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    /// `fail` ops: they did not happen.
    pub failed: usize,
    /// `info` ops that could not matter (rules 1 and 2 of [`super::prune`]).
    pub info: usize,
}

/// A partition ready to search.
pub struct Problem {
    pub ok: Vec<OkOp>,
    pub info: Vec<InfoOp>,
    /// Index into the partition's operations for each ok / info op (for reports).
    pub ok_origin: Vec<u32>,
    pub info_origin: Vec<u32>,
    /// For ok op `i`: the largest ok index `j` with `ok[j].call < ok[i].ret`. While `i` is not
    /// linearized, nothing beyond `reach[i]` can be.
    pub reach: Vec<u32>,
    /// Calls and returns of ok ops, in position order.
    pub entries: Vec<Entry>,
    pub call_entry: Vec<u32>,
    pub ret_entry: Vec<u32>,
    /// Info ops with a finite horizon, by horizon; `horizon_start[f]` = how many have a
    /// horizon below `f`.
    pub by_horizon: Vec<u32>,
    pub horizon_start: Vec<u32>,
    pub pruned: Pruned,
}

/// How keys map to slots of the model's state.
pub enum Slots {
    /// Every op in one slot: a per-key partition (or a history without keys).
    One,
    /// One slot per distinct key: the whole history against one map-valued state.
    PerKey,
}

/// Prepares the operations `members` (indices into `ops`) of one partition.
pub fn prepare(
    model: &dyn Model,
    history: &History,
    ops: &[Operation],
    members: &[u32],
    slots: Slots,
) -> Result<(Problem, Machine), InputError> {
    let mut values = Interner::default();
    let mut slot_keys: Vec<Option<Value>> = Vec::new();
    let mut slot_of: HashMap<Option<Value>, u32> = HashMap::new();
    let mut kinds: Vec<Kind> = Vec::new();
    let mut kind_of: HashMap<Kind, u32> = HashMap::new();
    let mut pruned = Pruned::default();
    // (position of call, position of return or NONE, kind, origin)
    let mut oks: Vec<(u32, u32, u32, u32)> = Vec::new();
    let mut infos: Vec<(u32, u32, u32)> = Vec::new();

    for &m in members {
        let op = &ops[m as usize];
        if op.outcome == Outcome::Fail {
            pruned.failed += 1;
            continue;
        }
        let effect = model.effect(op, history, &mut values).map_err(|msg| {
            let line = op
                .completion(history)
                .map_or(op.invocation(history).line, |e| e.line);
            InputError::new(
                &history.source,
                line as usize,
                format!("{} model: {msg}", model.name()),
            )
        })?;
        let slot = match slots {
            Slots::One => 0,
            Slots::PerKey => *slot_of.entry(op.key.clone()).or_insert_with(|| {
                slot_keys.push(op.key.clone());
                (slot_keys.len() - 1) as u32
            }),
        };
        let kind = Kind { slot, effect };
        let kind = *kind_of.entry(kind).or_insert_with(|| {
            kinds.push(kind);
            (kinds.len() - 1) as u32
        });
        match (op.outcome, op.complete) {
            (Outcome::Ok, Some(ret)) => oks.push((op.invoke as u32, ret as u32, kind, m)),
            _ => infos.push((op.invoke as u32, kind, m)),
        }
    }
    if matches!(slots, Slots::One) {
        slot_keys.push(members.first().and_then(|&m| ops[m as usize].key.clone()));
    }

    // Operations arrive in invocation order; keep it.
    let fates = prune(
        &kinds,
        &oks.iter().map(|o| o.2).collect::<Vec<_>>(),
        &infos.iter().map(|i| i.1).collect::<Vec<_>>(),
    );
    let mut info = Vec::new();
    let mut info_origin = Vec::new();
    let mut last_of_kind: HashMap<u32, u32> = HashMap::new();
    for (&(call, kind, origin), fate) in infos.iter().zip(&fates) {
        let Fate::Keep { horizon } = *fate else {
            pruned.info += 1;
            continue;
        };
        let j = info.len() as u32;
        let class_prev = last_of_kind.insert(kind, j).unwrap_or(NONE);
        if class_prev != NONE {
            let prev: &mut InfoOp = &mut info[class_prev as usize];
            prev.class_next = j;
        }
        info.push(InfoOp {
            call,
            kind,
            horizon,
            class_prev,
            class_next: NONE,
        });
        info_origin.push(origin);
    }

    let ok: Vec<OkOp> = oks
        .iter()
        .map(|&(call, ret, kind, _)| OkOp { call, ret, kind })
        .collect();
    let ok_origin = oks.iter().map(|o| o.3).collect();
    let calls: Vec<u32> = ok.iter().map(|o| o.call).collect();
    let reach = ok
        .iter()
        .map(|o| (calls.partition_point(|&c| c < o.ret) as u32).saturating_sub(1))
        .collect();

    // Merge calls (already in order) with returns (sorted here) into one list.
    let mut rets: Vec<u32> = (0..ok.len() as u32).collect();
    rets.sort_unstable_by_key(|&i| ok[i as usize].ret);
    let mut entries = Vec::with_capacity(ok.len() * 2);
    let (mut c, mut r) = (0, 0);
    while c < ok.len() || r < rets.len() {
        let take_call = c < ok.len() && (r == rets.len() || ok[c].call < ok[rets[r] as usize].ret);
        if take_call {
            entries.push(Entry {
                pos: ok[c].call,
                op: c as u32,
                is_call: true,
            });
            c += 1;
        } else {
            let i = rets[r];
            entries.push(Entry {
                pos: ok[i as usize].ret,
                op: i,
                is_call: false,
            });
            r += 1;
        }
    }
    let mut call_entry = vec![0; ok.len()];
    let mut ret_entry = vec![0; ok.len()];
    for (e, entry) in entries.iter().enumerate() {
        if entry.is_call {
            call_entry[entry.op as usize] = e as u32;
        } else {
            ret_entry[entry.op as usize] = e as u32;
        }
    }

    let mut by_horizon: Vec<u32> = (0..info.len() as u32)
        .filter(|&j| info[j as usize].horizon != NEVER)
        .collect();
    by_horizon.sort_by_key(|&j| info[j as usize].horizon);
    let mut horizon_start = Vec::with_capacity(ok.len() + 2);
    let mut h = 0;
    for f in 0..=ok.len() as u32 + 1 {
        while h < by_horizon.len() && info[by_horizon[h] as usize].horizon < f {
            h += 1;
        }
        horizon_start.push(h as u32);
    }

    let mut machine = Machine::new(model, values, slot_keys);
    machine.kinds = kinds;
    Ok((
        Problem {
            ok,
            info,
            ok_origin,
            info_origin,
            reach,
            entries,
            call_entry,
            ret_entry,
            by_horizon,
            horizon_start,
            pruned,
        },
        machine,
    ))
}
