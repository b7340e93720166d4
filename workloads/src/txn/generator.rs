//! The transactional workloads' generator, as Elle's: which transaction a client performs next.
//! Pure and seeded.
//!
//! A small set of active keys (`key-count`); each transaction is `min-txn-length` to
//! `max-txn-length` micro-operations, each a read or — as often — an append (list-append) or a
//! write (rw-register) on an active key drawn at random. The values written to a key are 1, 2,
//! 3, … — unique per key, which is what lets the checker tell every write's reads apart — and
//! after `max-writes-per-key` writes a key is retired and a fresh one takes its place, so that
//! lists stay short and each key's versions few, however long the test.
//!
//! ```text
//! seed ─▶ Generator::next_txn ─▶ Txn [Micro…] ─▶ to_json: [["append", 3, 1], ["r", 4, null]]
//! ```

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

/// Which of Elle's workloads: what a transaction's writes are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Writes append to a list; reads return the list.
    ListAppend,
    /// Writes set a register; reads return its value.
    RwRegister,
}

/// What to generate.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub seed: u64,
    pub kind: Kind,
    /// Keys active at once.
    pub key_count: usize,
    /// Micro-operations per transaction: from `min_txn_length` to `max_txn_length`.
    pub min_txn_length: usize,
    pub max_txn_length: usize,
    /// Writes to a key before it is retired.
    pub max_writes_per_key: u64,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            seed: 0,
            kind: Kind::ListAppend,
            key_count: 8,
            min_txn_length: 1,
            max_txn_length: 4,
            max_writes_per_key: 32,
        }
    }
}

/// One micro-operation: on a key, a read, or a write of a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Micro {
    Read(u64),
    /// An append (list-append) or a write (rw-register) of the value.
    Write(u64, u64),
}

/// A transaction of its kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Txn {
    pub kind: Kind,
    pub ops: Vec<Micro>,
}

impl Txn {
    /// Its history and wire form: `[["append", 3, 1], ["r", 4, null]]` (`["w", 3, 1]` for
    /// rw-register), reads unfilled.
    pub fn to_json(&self) -> Value {
        let write = match self.kind {
            Kind::ListAppend => "append",
            Kind::RwRegister => "w",
        };
        self.ops
            .iter()
            .map(|op| match *op {
                Micro::Read(k) => json!(["r", k, null]),
                Micro::Write(k, v) => json!([write, k, v]),
            })
            .collect()
    }

    /// Whether it only reads.
    pub fn is_read_only(&self) -> bool {
        self.ops.iter().all(|op| matches!(op, Micro::Read(_)))
    }
}

/// An active key and the writes it has had.
#[derive(Clone, Copy, Debug)]
struct Active {
    key: u64,
    writes: u64,
}

/// The stream of transactions.
#[derive(Clone, Debug)]
pub struct Generator {
    config: Config,
    rng: ChaCha8Rng,
    active: Vec<Active>,
    /// The key the next retirement brings in.
    next_key: u64,
}

impl Generator {
    pub fn new(config: Config) -> Generator {
        let keys = config.key_count.max(1) as u64;
        Generator {
            rng: ChaCha8Rng::seed_from_u64(config.seed ^ 0x6c69_7374_6170_7064),
            active: (0..keys).map(|key| Active { key, writes: 0 }).collect(),
            next_key: keys,
            config,
        }
    }

    pub fn next_txn(&mut self) -> Txn {
        let min = self.config.min_txn_length.max(1);
        let max = self.config.max_txn_length.max(min);
        let length = self.rng.random_range(min..=max);
        let ops = (0..length).map(|_| self.next_micro()).collect();
        Txn {
            kind: self.config.kind,
            ops,
        }
    }

    fn next_micro(&mut self) -> Micro {
        let slot = self.rng.random_range(0..self.active.len());
        if self.rng.random_bool(0.5) {
            return Micro::Read(self.active[slot].key);
        }
        let active = &mut self.active[slot];
        active.writes += 1;
        let op = Micro::Write(active.key, active.writes);
        if active.writes >= self.config.max_writes_per_key.max(1) {
            // Retired: its last value is written; a fresh key takes the slot.
            *active = Active {
                key: self.next_key,
                writes: 0,
            };
            self.next_key += 1;
        }
        op
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;

    fn config(seed: u64) -> Config {
        Config {
            seed,
            key_count: 3,
            max_writes_per_key: 5,
            ..Config::default()
        }
    }

    fn txns(config: Config, n: usize) -> Vec<Txn> {
        let mut g = Generator::new(config);
        (0..n).map(|_| g.next_txn()).collect()
    }

    #[test]
    fn the_seed_decides_the_stream() {
        assert_eq!(txns(config(7), 200), txns(config(7), 200));
        assert_ne!(txns(config(7), 200), txns(config(8), 200));
    }

    #[test]
    fn lengths_stay_within_bounds_and_both_kinds_of_micro_op_appear() {
        let all = txns(config(1), 500);
        let lengths: BTreeSet<usize> = all.iter().map(|t| t.ops.len()).collect();
        assert_eq!(lengths, (1..=4).collect());
        let ops = all.iter().flat_map(|t| &t.ops);
        assert!(ops.clone().any(|op| matches!(op, Micro::Read(_))));
        assert!(ops.clone().any(|op| matches!(op, Micro::Write(..))));
        assert!(all.iter().any(Txn::is_read_only));
        let fixed = Config {
            min_txn_length: 2,
            max_txn_length: 2,
            ..config(1)
        };
        assert!(txns(fixed, 50).iter().all(|t| t.ops.len() == 2));
    }

    #[test]
    fn values_are_unique_per_key_and_keys_retire_after_their_writes() {
        let all = txns(config(2), 2000);
        let mut writes: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
        let mut last_seen: BTreeMap<u64, usize> = BTreeMap::new();
        let mut first_seen: BTreeMap<u64, usize> = BTreeMap::new();
        for (i, t) in all.iter().enumerate() {
            for op in &t.ops {
                let key = match *op {
                    Micro::Read(k) => k,
                    Micro::Write(k, v) => {
                        writes.entry(k).or_default().push(v);
                        k
                    }
                };
                first_seen.entry(key).or_insert(i);
                last_seen.insert(key, i);
            }
        }
        // Each key's values: 1, 2, 3, … and never more than its budget of writes.
        for (key, values) in &writes {
            let expected: Vec<u64> = (1..=values.len() as u64).collect();
            assert_eq!(values, &expected, "key {key}");
            assert!(values.len() <= 5, "key {key}");
        }
        // Keys were retired and replaced: many were used, never more than 3 at once.
        assert!(writes.len() > 20, "{} keys", writes.len());
        for i in 0..all.len() {
            let live = first_seen
                .iter()
                .filter(|&(k, &first)| first <= i && last_seen[k] >= i)
                .count();
            // A transaction may touch a retired key and its successor, so allow one more.
            assert!(live <= 3 + 4, "{live} keys live at txn {i}");
        }
        // A key written 5 times is never touched again afterwards.
        for (key, values) in &writes {
            if values.len() == 5 {
                let done = all
                    .iter()
                    .position(|t| t.ops.contains(&Micro::Write(*key, 5)))
                    .unwrap();
                assert_eq!(last_seen[key], done, "key {key} used after retirement");
            }
        }
    }

    #[test]
    fn the_wire_form_names_the_kinds_micro_ops() {
        let txn = Txn {
            kind: Kind::ListAppend,
            ops: vec![Micro::Write(3, 1), Micro::Read(4)],
        };
        assert_eq!(txn.to_json(), json!([["append", 3, 1], ["r", 4, null]]));
        let txn = Txn {
            kind: Kind::RwRegister,
            ..txn
        };
        assert_eq!(txn.to_json(), json!([["w", 3, 1], ["r", 4, null]]));
        assert!(!txn.is_read_only());
    }
}
