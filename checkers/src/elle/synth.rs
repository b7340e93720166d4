//! Synthetic list-append histories from a simulated strict-serializable database, for tests
//! and benchmarks.
//!
//! Processes run transactions back to back; each transaction takes effect at one instant
//! strictly between its invocation and completion, all of it at once, so the history is
//! strict serializable by construction. Keys are drawn from a pool of active keys; a key that
//! has had its share of appends is retired for a fresh one (as Jepsen's generator does), so
//! that lists — and reads of them — stay short however long the history. Values are unique.
//! Everything is seeded: the same [`Config`] gives the same history.

use crate::history::{Event, EventType, History, Process};
use crate::synth::Rng;
use crate::value::Value;

/// What to simulate.
#[derive(Clone, Debug)]
pub struct Config {
    pub seed: u64,
    /// Transactions in all.
    pub txns: usize,
    /// Concurrent processes.
    pub processes: usize,
    /// Keys in use at any time.
    pub keys: usize,
    /// Appends a key gets before it is retired.
    pub max_writes_per_key: usize,
    /// Micro-ops per transaction: 1 to this many.
    pub max_mops: usize,
    /// Fraction of micro-ops that are reads.
    pub reads: f64,
    /// Longest transaction, in time units (a unit is one microsecond of harness time).
    pub max_latency: u64,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            seed: 1,
            txns: 1000,
            processes: 10,
            keys: 1000,
            max_writes_per_key: 32,
            max_mops: 4,
            reads: 0.5,
            max_latency: 100,
        }
    }
}

#[derive(Clone, Copy)]
enum Mop {
    Append(u64, i64),
    Read(u64),
}

struct Planned {
    process: u64,
    invoke: u64,
    complete: u64,
    effect: u64,
    mops: Vec<Mop>,
    /// What each read returned, in the order of the reads.
    seen: Vec<Vec<i64>>,
}

/// Simulates `cfg` and returns the history (`f` is `txn`).
pub fn list_append_history(cfg: &Config) -> History {
    let mut rng = Rng::new(cfg.seed);
    let processes = cfg.processes.max(1);
    let mut clock = vec![0u64; processes];
    // The active keys and how many appends each has had; retired keys are never used again.
    let mut pool: Vec<(u64, usize)> = (0..cfg.keys.max(1) as u64).map(|k| (k, 0)).collect();
    let mut next_key = pool.len() as u64;
    let mut next_value = 0i64;
    let mut planned: Vec<Planned> = Vec::with_capacity(cfg.txns);
    for _ in 0..cfg.txns {
        // The process free earliest goes next, so all stay busy.
        let p = (0..processes).min_by_key(|&p| clock[p]).unwrap_or(0);
        let invoke = clock[p] + rng.below(cfg.max_latency / 4 + 1);
        let latency = 2 + rng.below(cfg.max_latency.max(1));
        let complete = invoke + latency;
        let effect = invoke + 1 + rng.below(latency - 1);
        let mops = (0..1 + rng.below(cfg.max_mops.max(1) as u64))
            .map(|_| {
                let slot = rng.below(pool.len() as u64) as usize;
                let key = pool[slot].0;
                if rng.chance(cfg.reads) {
                    return Mop::Read(key);
                }
                next_value += 1;
                pool[slot].1 += 1;
                if pool[slot].1 >= cfg.max_writes_per_key.max(1) {
                    pool[slot] = (next_key, 0);
                    next_key += 1;
                }
                Mop::Append(key, next_value)
            })
            .collect();
        planned.push(Planned {
            process: p as u64,
            invoke,
            complete,
            effect,
            mops,
            seen: Vec::new(),
        });
        clock[p] = complete;
    }

    // Apply the transactions in effect order to compute what each read saw.
    let mut order: Vec<usize> = (0..planned.len()).collect();
    order.sort_unstable_by_key(|&i| (planned[i].effect, i));
    let mut lists: hashbrown::HashMap<u64, Vec<i64>> = hashbrown::HashMap::new();
    for i in order {
        let t = &mut planned[i];
        for mop in &t.mops {
            match *mop {
                Mop::Append(k, v) => lists.entry(k).or_default().push(v),
                Mop::Read(k) => t.seen.push(lists.get(&k).cloned().unwrap_or_default()),
            }
        }
    }

    let f: crate::history::Name = "txn".into();
    // (time, transaction, is completion); a completion sorts before an invocation at the same
    // time, which real time allows either way (effects are strictly inside).
    let mut stamps: Vec<(u64, bool, usize)> = Vec::with_capacity(planned.len() * 2);
    for (i, t) in planned.iter().enumerate() {
        stamps.push((t.invoke, true, i));
        stamps.push((t.complete, false, i));
    }
    stamps.sort_unstable();
    let events = stamps
        .iter()
        .enumerate()
        .map(|(n, &(time, invocation, i))| {
            let t = &planned[i];
            let mut seen = t.seen.iter();
            let value = Value::list(t.mops.iter().map(|mop| match *mop {
                Mop::Append(k, v) => {
                    Value::list([Value::str("append"), Value::Int(k as i64), Value::Int(v)])
                }
                Mop::Read(k) => {
                    let read = seen.next().expect("one result per read");
                    let read = if invocation {
                        Value::Nil
                    } else {
                        Value::list(read.iter().map(|&v| Value::Int(v)))
                    };
                    Value::list([Value::str("r"), Value::Int(k as i64), read])
                }
            }));
            Event {
                index: n as u64,
                time: time * 1000,
                process: Process::Client(t.process),
                kind: if invocation {
                    EventType::Invoke
                } else {
                    EventType::Ok
                },
                f: f.clone(),
                key: None,
                value,
                node: None,
                error: None,
                extra: Box::default(),
                line: 0,
            }
        })
        .collect();
    History {
        source: format!("synthetic list-append (seed {})", cfg.seed),
        events,
        timed: true,
        ..History::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elle::{Consistency, Options, Workload, check};
    use crate::verdict::Validity;

    #[test]
    fn same_seed_same_history_and_strict_serializable() {
        let cfg = Config {
            txns: 2000,
            keys: 20,
            max_writes_per_key: 8,
            ..Config::default()
        };
        let a = list_append_history(&cfg);
        assert_eq!(a.events, list_append_history(&cfg).events);
        let ops = a.operations().unwrap();
        assert_eq!(ops.len(), 2000);
        let r = check(Workload::ListAppend, &a, &ops, &Options::default()).unwrap();
        assert_eq!(r.valid, Validity::Valid, "{}", r.text());
        assert_eq!(r.consistency, Consistency::StrictSerializable);
    }
}
