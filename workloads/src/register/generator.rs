//! The register workload's generator: which operation a client performs next. Pure and seeded.
//!
//! A mix of reads, writes of small random values, and compare-and-sets over one key at a time;
//! after `ops_per_key` operations the workload moves on to a fresh key, as Jepsen's independent
//! keys do, so that each key's history stays small enough to check quickly whatever the length
//! of the test.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// What to generate.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub seed: u64,
    /// Relative weights of read, write and cas.
    pub mix: [u32; 3],
    /// Values written are drawn from `0..values`.
    pub values: u32,
    /// Operations per key before moving to the next.
    pub ops_per_key: u64,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            seed: 0,
            mix: [1, 1, 1],
            values: 5,
            ops_per_key: 200,
        }
    }
}

/// One register operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Read,
    Write(i64),
    Cas { from: i64, to: i64 },
}

impl Op {
    /// The operation's name in the history.
    pub fn f(self) -> &'static str {
        match self {
            Op::Read => "read",
            Op::Write(_) => "write",
            Op::Cas { .. } => "cas",
        }
    }

    /// The invocation's value in the history.
    pub fn value(self) -> serde_json::Value {
        match self {
            Op::Read => serde_json::Value::Null,
            Op::Write(v) => v.into(),
            Op::Cas { from, to } => serde_json::json!([from, to]),
        }
    }
}

/// An operation on a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Invocation {
    pub key: u64,
    pub op: Op,
}

/// The stream of invocations.
#[derive(Clone, Debug)]
pub struct Generator {
    config: Config,
    rng: ChaCha8Rng,
    key: u64,
    on_key: u64,
}

impl Generator {
    pub fn new(config: Config) -> Generator {
        Generator {
            rng: ChaCha8Rng::seed_from_u64(config.seed ^ 0x7265_6769_7374_6572),
            config,
            key: 0,
            on_key: 0,
        }
    }

    pub fn next_invocation(&mut self) -> Invocation {
        if self.on_key >= self.config.ops_per_key.max(1) {
            self.key += 1;
            self.on_key = 0;
        }
        self.on_key += 1;
        let c = &self.config;
        let total = c.mix.iter().sum::<u32>().max(1);
        let pick = self.rng.random_range(0..u64::from(total)) as u32;
        let values = u64::from(c.values.max(1));
        let op = if pick < c.mix[0] {
            Op::Read
        } else if pick < c.mix[0] + c.mix[1] {
            Op::Write(self.rng.random_range(0..values) as i64)
        } else {
            Op::Cas {
                from: self.rng.random_range(0..values) as i64,
                to: self.rng.random_range(0..values) as i64,
            }
        };
        Invocation { key: self.key, op }
    }

    /// Every key used so far.
    pub fn keys(&self) -> std::ops::RangeInclusive<u64> {
        0..=self.key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_rotate_and_the_seed_decides_the_stream() {
        let config = Config {
            seed: 3,
            ops_per_key: 10,
            ..Config::default()
        };
        let mut a = Generator::new(config.clone());
        let mut b = Generator::new(config);
        let ops: Vec<Invocation> = (0..35).map(|_| a.next_invocation()).collect();
        assert_eq!(
            ops,
            (0..35).map(|_| b.next_invocation()).collect::<Vec<_>>()
        );
        assert_eq!(ops[9].key, 0);
        assert_eq!(ops[10].key, 1);
        assert_eq!(ops[34].key, 3);
        assert_eq!(a.keys(), 0..=3);
        for f in ["read", "write", "cas"] {
            assert!(ops.iter().any(|i| i.op.f() == f), "{f}");
        }
        assert!(ops.iter().all(|i| match i.op {
            Op::Write(v) => (0..5).contains(&v),
            Op::Cas { from, to } => (0..5).contains(&from) && (0..5).contains(&to),
            Op::Read => true,
        }));
    }

    #[test]
    fn the_mix_is_respected() {
        let mut g = Generator::new(Config {
            mix: [1, 0, 0],
            ..Config::default()
        });
        assert!((0..100).all(|_| g.next_invocation().op == Op::Read));
    }
}
