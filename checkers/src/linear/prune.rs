//! Pruning `info` operations before the search, and deciding when a kept one stops mattering.
//!
//! An `info` operation may take effect at any time after its invocation, or never. The search
//! must consider both, which makes crashed operations the main source of its cost (Porcupine
//! keeps every one of them in play to the end of the history). Three rules shrink that, each
//! sound for the [`Effect::Set`] family (reads, writes, cas, mutex); a slot that has an
//! [`Effect::Append`] gets only the first.
//!
//! 1. **Unknown reads are dropped.** An `info` op whose effect is read-only (a read, a
//!    `cas(v, v)`) changes no state when it happens, and "never" is always allowed.
//!
//! 2. **An `info` op whose value nobody observes is dropped.** Say `w` leaves value `v` (a
//!    write of `v`, a cas to `v`), no `ok` op requires `v` and no kept `info` op requires `v`.
//!    Take any valid linearization that includes `w`. Until the next op that changes the state,
//!    the state is `v`; every op in that stretch is legal in `v` and leaves it alone, so it is
//!    neither an `ok` op (none requires `v`) nor an `info` op requiring `v` (none is kept): it is
//!    an `info` op that did nothing, which we may as well leave out. Removing `w` and those ops
//!    leaves the state before the stretch's end as it was before `w`, and the op that ends the
//!    stretch sets the state without requiring anything (it cannot require `v`), so everything
//!    after is unchanged: the shorter linearization is valid. Dropping an op can make another
//!    unobserved (a cas `v → x` that is dropped no longer observes `v`), so the rule runs to a
//!    fixpoint.
//!
//! 3. **An `info` op dies at its horizon.** If `w` leaves `v`, no kept `info` op requires `v`,
//!    and the last `ok` op requiring `v` (in invocation order) is number `h`, then once every
//!    `ok` op up to `h` is linearized, the argument of rule 2 applies to the rest of the search:
//!    whether `w` happens later, or happened already, makes no difference. The search keeps the
//!    `ok` ops in invocation order and knows the first one not yet linearized (its *frontier*);
//!    when the frontier passes `h`, `w` leaves the candidates and leaves the memo key, so
//!    configurations that differ only in dead `info` ops are recognised as the same.
//!
//! Rule 3 is what keeps a long history with many crashed writes cheap: each crashed write is in
//! play only while someone might still read what it wrote.

use super::machine::Kind;
use super::model::Effect;

/// What to do with one `info` op.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    Drop,
    /// Keep it; it dies once the frontier passes this `ok` index ([`NEVER`] = it never dies).
    Keep {
        horizon: u32,
    },
}

/// A horizon that is never passed.
pub const NEVER: u32 = u32::MAX;

/// Decides the fate of each `info` op. `ok` and `info` list kinds in invocation order; `kinds`
/// says what each kind does.
pub fn prune(kinds: &[Kind], ok: &[u32], info: &[u32]) -> Vec<Fate> {
    let mut fate: Vec<Fate> = info
        .iter()
        .map(|&k| {
            if kinds[k as usize].is_read_only() {
                Fate::Drop
            } else {
                Fate::Keep { horizon: NEVER }
            }
        })
        .collect();

    // Slots with an append are left alone by rules 2 and 3.
    let mut opaque_slots: Vec<u32> = ok
        .iter()
        .chain(info)
        .map(|&k| kinds[k as usize])
        .filter(|k| matches!(k.effect, Effect::Append { .. } | Effect::Txn { .. }))
        .map(|k| k.slot)
        .collect();
    opaque_slots.sort_unstable();
    opaque_slots.dedup();
    let set_effect = |k: u32| -> Option<(u32, Option<u32>, Option<u32>)> {
        let kind = kinds[k as usize];
        match kind.effect {
            Effect::Set { requires, sets } if opaque_slots.binary_search(&kind.slot).is_err() => {
                Some((kind.slot, requires, sets))
            }
            _ => None,
        }
    };

    // The last ok op requiring each (slot, value).
    let mut last_ok: hashbrown::HashMap<(u32, u32), u32> = hashbrown::HashMap::new();
    for (i, &k) in ok.iter().enumerate() {
        if let Some((slot, Some(v), _)) = set_effect(k) {
            last_ok.insert((slot, v), i as u32);
        }
    }
    // Kept info ops requiring each (slot, value), and the info ops setting each.
    let mut info_observers: hashbrown::HashMap<(u32, u32), u32> = hashbrown::HashMap::new();
    let mut setters: hashbrown::HashMap<(u32, u32), Vec<usize>> = hashbrown::HashMap::new();
    for (j, &k) in info.iter().enumerate() {
        if fate[j] == Fate::Drop {
            continue;
        }
        if let Some((slot, requires, sets)) = set_effect(k) {
            if let Some(r) = requires {
                *info_observers.entry((slot, r)).or_default() += 1;
            }
            if let Some(s) = sets {
                setters.entry((slot, s)).or_default().push(j);
            }
        }
    }

    // Rule 2, to a fixpoint.
    let mut work: Vec<usize> = (0..info.len()).collect();
    while let Some(j) = work.pop() {
        if fate[j] == Fate::Drop {
            continue;
        }
        let Some((slot, requires, Some(sets))) = set_effect(info[j]) else {
            continue;
        };
        let observed = last_ok.contains_key(&(slot, sets))
            || info_observers.get(&(slot, sets)).copied().unwrap_or(0) > 0;
        if observed {
            continue;
        }
        fate[j] = Fate::Drop;
        if let Some(r) = requires {
            let n = info_observers.entry((slot, r)).or_default();
            *n -= 1;
            if *n == 0
                && let Some(s) = setters.get(&(slot, r))
            {
                work.extend(s.iter().copied());
            }
        }
    }

    // Rule 3: horizons.
    for (j, &k) in info.iter().enumerate() {
        if fate[j] == Fate::Drop {
            continue;
        }
        if let Some((slot, _, Some(sets))) = set_effect(k)
            && info_observers.get(&(slot, sets)).copied().unwrap_or(0) == 0
            && let Some(&h) = last_ok.get(&(slot, sets))
        {
            fate[j] = Fate::Keep { horizon: h };
        }
    }
    fate
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(requires: Option<u32>, sets: Option<u32>) -> Kind {
        Kind {
            slot: 0,
            effect: Effect::Set { requires, sets },
        }
    }

    #[test]
    fn drops_unknown_reads_and_unobserved_writes_and_dates_the_rest() {
        let kinds = [
            set(Some(1), None),    // 0: read 1
            set(None, Some(1)),    // 1: write 1
            set(None, Some(2)),    // 2: write 2 (nobody reads 2)
            set(Some(2), Some(3)), // 3: cas 2→3 (nobody reads 3)
            set(None, Some(4)),    // 4: write 4, read by an info cas
            set(Some(4), Some(1)), // 5: cas 4→1
        ];
        let ok = [0, 1, 0]; // read 1, write 1, read 1 (ok index 2 is the last reader of 1)
        let info = [0, 1, 2, 3, 4, 5];
        let fate = prune(&kinds, &ok, &info);
        assert_eq!(
            fate,
            vec![
                Fate::Drop,                    // unknown read
                Fate::Keep { horizon: 2 },     // write 1: last read at ok index 2
                Fate::Drop,                    // write 2: only the cas 2→3 observed it, dropped
                Fate::Drop,                    // cas 2→3: nobody observes 3
                Fate::Keep { horizon: NEVER }, // write 4: an info op (cas 4→1) may observe it
                Fate::Keep { horizon: 2 },     // cas 4→1 leaves 1, last read at 2
            ]
        );
    }

    #[test]
    fn appends_make_a_slot_opaque() {
        let kinds = [
            set(None, Some(1)),
            Kind {
                slot: 0,
                effect: Effect::Append { suffix: 2 },
            },
        ];
        assert_eq!(
            prune(&kinds, &[1], &[0]),
            vec![Fate::Keep { horizon: NEVER }]
        );
    }
}
