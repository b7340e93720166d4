//! Synthetic histories from a simulated linearizable register, for tests and benchmarks.
//!
//! Workers run operations back to back against registers (one per key). Each operation takes
//! effect at one instant between its invocation and completion, so the history is linearizable
//! by construction; a crashed operation completes `info` and takes effect later or never, and
//! its worker continues as a fresh process (Jepsen's rule). A cas whose expected value is not
//! the current one completes `fail`. Everything is seeded: the same [`Config`] gives the same
//! history.

use crate::history::{Event, EventType, History, Name, Process};
use crate::value::Value;

/// What to simulate.
#[derive(Clone, Debug)]
pub struct Config {
    pub seed: u64,
    /// Operations in all.
    pub ops: usize,
    /// Independent keys; 0 writes no `key` field (one register).
    pub keys: usize,
    /// Concurrent workers.
    pub workers: usize,
    /// Fraction of operations that crash (end `info`).
    pub crash: f64,
    /// Relative weights of read, write and cas.
    pub mix: [u32; 3],
    /// Values written: `None` for unique values (a counter), `Some(n)` for values in `0..n`.
    pub value_range: Option<u32>,
    /// Longest operation, in time units (a unit is one microsecond of harness time).
    pub max_latency: u64,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            seed: 1,
            ops: 1000,
            keys: 0,
            workers: 5,
            crash: 0.0,
            mix: [2, 2, 1],
            value_range: None,
            max_latency: 100,
        }
    }
}

/// A small, fast, seedable generator (SplitMix64).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p && p > 0.0
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum F {
    Read,
    Write,
    Cas,
}

struct Planned {
    process: u64,
    key: usize,
    f: F,
    invoke: u64,
    complete: u64,
    /// When it takes effect; `None` for a crashed op that never does.
    effect: Option<u64>,
    crashed: bool,
    input: Value,
    output: Value,
    failed: bool,
}

/// A register history of `ops` operations on 100 keys by 10 workers, a few of them crashing,
/// as JSON Lines: the scale of the report's benchmark and tests.
pub fn register_jsonl(ops: usize) -> Vec<u8> {
    let h = register_history(&Config {
        ops,
        keys: 100,
        workers: 10,
        crash: 0.002,
        max_latency: 20_000,
        ..Config::default()
    });
    let mut out = Vec::with_capacity(ops * 200);
    for e in &h.events {
        crate::history::write_jsonl_line(e, &mut out);
    }
    out
}

/// Simulates `cfg` and returns the history.
pub fn register_history(cfg: &Config) -> History {
    let mut rng = Rng::new(cfg.seed);
    let mut counter: i64 = 0;
    let mut fresh_value = |rng: &mut Rng| -> i64 {
        match cfg.value_range {
            Some(n) => rng.below(u64::from(n.max(1))) as i64,
            None => {
                counter += 1;
                counter
            }
        }
    };
    let workers = cfg.workers.max(1);
    let total_weight: u32 = cfg.mix.iter().sum::<u32>().max(1);
    let mut clock = vec![0u64; workers];
    let mut process: Vec<u64> = (0..workers as u64).collect();
    let mut planned: Vec<Planned> = Vec::with_capacity(cfg.ops);
    for _ in 0..cfg.ops {
        // The worker that is free earliest goes next, so all stay busy.
        let w = (0..workers).min_by_key(|&w| clock[w]).unwrap_or(0);
        let invoke = clock[w] + rng.below(cfg.max_latency / 4 + 1);
        let latency = 1 + rng.below(cfg.max_latency.max(1));
        let complete = invoke + latency;
        let crashed = rng.chance(cfg.crash);
        let effect = if !crashed {
            Some(invoke + rng.below(latency))
        } else if rng.chance(0.5) {
            Some(invoke + rng.below(latency * 3))
        } else {
            None
        };
        let pick = rng.below(u64::from(total_weight)) as u32;
        let f = if pick < cfg.mix[0] {
            F::Read
        } else if pick < cfg.mix[0] + cfg.mix[1] {
            F::Write
        } else {
            F::Cas
        };
        let input = match f {
            F::Read => Value::Nil,
            F::Write => Value::Int(fresh_value(&mut rng)),
            // The expected value is chosen when the op takes effect (below).
            F::Cas => Value::Nil,
        };
        planned.push(Planned {
            process: process[w],
            key: if cfg.keys == 0 {
                0
            } else {
                rng.below(cfg.keys as u64) as usize
            },
            f,
            invoke,
            complete,
            effect,
            crashed,
            input,
            output: Value::Nil,
            failed: false,
        });
        clock[w] = complete + 1;
        if crashed {
            process[w] += workers as u64;
        }
    }

    // Apply the effects in time order to compute what each op saw.
    let mut order: Vec<usize> = (0..planned.len()).collect();
    order.sort_by_key(|&i| (planned[i].effect.unwrap_or(u64::MAX), i));
    let mut registers: Vec<Value> = vec![Value::Nil; cfg.keys.max(1)];
    for i in order {
        let p = &mut planned[i];
        let reg = &mut registers[p.key];
        match (p.f, p.effect) {
            (F::Read, Some(_)) => p.output = reg.clone(),
            (F::Write, Some(_)) => *reg = p.input.clone(),
            (F::Cas, effect) => {
                let new = Value::Int(fresh_value(&mut rng));
                let hit = effect.is_some() && rng.chance(0.5);
                let expected = if hit {
                    reg.clone()
                } else {
                    // A value other than the current one.
                    match reg {
                        Value::Int(v) => Value::Int(*v + 1 + rng.below(3) as i64),
                        _ => Value::Int(rng.below(3) as i64),
                    }
                };
                if hit {
                    *reg = new.clone();
                } else if effect.is_some() {
                    p.failed = true;
                }
                p.input = Value::list([expected, new]);
            }
            _ => {}
        }
    }

    let read: Name = "read".into();
    let write: Name = "write".into();
    let cas: Name = "cas".into();
    // (time, op, is completion)
    let mut stamps: Vec<(u64, usize, bool)> = Vec::with_capacity(planned.len() * 2);
    for (i, p) in planned.iter().enumerate() {
        stamps.push((p.invoke, i, false));
        stamps.push((p.complete, i, true));
    }
    stamps.sort_unstable();
    let mut events = Vec::with_capacity(stamps.len());
    for (n, &(time, i, done)) in stamps.iter().enumerate() {
        let p = &planned[i];
        let (kind, value) = match (done, p.crashed, p.failed) {
            (false, _, _) => (EventType::Invoke, p.input.clone()),
            (true, true, _) => (EventType::Info, p.input.clone()),
            (true, false, true) => (EventType::Fail, p.input.clone()),
            (true, false, false) if p.f == F::Read => (EventType::Ok, p.output.clone()),
            (true, false, false) => (EventType::Ok, p.input.clone()),
        };
        events.push(Event {
            index: n as u64,
            time: time * 1000,
            process: Process::Client(p.process),
            kind,
            f: match p.f {
                F::Read => read.clone(),
                F::Write => write.clone(),
                F::Cas => cas.clone(),
            },
            key: (cfg.keys > 0).then_some(Value::Int(p.key as i64)),
            value: if done || p.f != F::Read {
                value
            } else {
                Value::Nil
            },
            node: None,
            error: (done && p.crashed).then(|| "timeout".into()),
            extra: Box::default(),
            line: 0,
        });
    }
    History {
        source: format!("synthetic(seed {})", cfg.seed),
        events,
        timed: true,
        ..History::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Outcome;

    #[test]
    fn same_seed_same_history_and_every_op_pairs() {
        let cfg = Config {
            ops: 500,
            keys: 3,
            crash: 0.05,
            ..Config::default()
        };
        let a = register_history(&cfg);
        let b = register_history(&cfg);
        assert_eq!(a.events, b.events);
        let ops = a.operations().unwrap();
        assert_eq!(ops.len(), 500);
        assert!(ops.iter().any(|o| o.outcome == Outcome::Info));
        assert!(ops.iter().any(|o| o.outcome == Outcome::Fail));
    }
}
