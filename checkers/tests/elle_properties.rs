//! The Elle-style checker against brute force, on small random list-append histories.
//!
//! A history: up to five transactions over up to three keys, each a few appends (of unique
//! values) and reads, all `ok` and all concurrent (so real time orders nothing). Their reads
//! come from running them in a random serial order, with some reads made stale (a random
//! prefix of what they should have seen) so that many histories are not serializable. A last
//! transaction reads every key's final list.
//!
//! The restriction: that last read shows every append, so every key's version order is
//! known. Without it Elle's inference is incomplete by design — an append no read shows is not
//! ordered — and a history can be unserializable for reasons no read reveals. With it, the
//! checker must say "valid under serializable" exactly when some serial order of the
//! transactions replays every read (brute force over all permutations).

use checkers::Validity;
use checkers::elle::{self, Consistency, Options, Workload};
use checkers::history::read_jsonl;
use checkers::synth::Rng;
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Mop {
    Append(usize, i64),
    /// A read of a key, and what it returned.
    Read(usize, Vec<i64>),
}

type Txn = Vec<Mop>;

/// A random history from `seed` (see the module docs).
fn generate(seed: u64) -> Vec<Txn> {
    let mut rng = Rng::new(seed);
    let keys = 1 + rng.below(3) as usize;
    let n = 1 + rng.below(5) as usize;
    let mut next = 0i64;
    let mut txns: Vec<Txn> = (0..n)
        .map(|_| {
            (0..1 + rng.below(4))
                .map(|_| {
                    let k = rng.below(keys as u64) as usize;
                    if rng.chance(0.5) {
                        next += 1;
                        Mop::Append(k, next)
                    } else {
                        Mop::Read(k, Vec::new())
                    }
                })
                .collect()
        })
        .collect();
    // Run them in a random order, some reads stale.
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        order.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let mut state = vec![Vec::new(); keys];
    for &t in &order {
        for mop in txns[t].iter_mut() {
            match mop {
                Mop::Append(k, v) => state[*k].push(*v),
                Mop::Read(k, seen) => {
                    let now: &Vec<i64> = &state[*k];
                    let len = if rng.chance(0.25) {
                        rng.below(now.len() as u64 + 1) as usize
                    } else {
                        now.len()
                    };
                    *seen = now[..len].to_vec();
                }
            }
        }
    }
    txns.push(
        state
            .into_iter()
            .enumerate()
            .map(|(k, s)| Mop::Read(k, s))
            .collect(),
    );
    txns
}

/// Whether some serial order replays every read.
fn serializable(txns: &[Txn]) -> bool {
    fn replay(txns: &[Txn], order: &[usize]) -> bool {
        let mut state: Vec<Vec<i64>> = vec![Vec::new(); 3];
        order.iter().all(|&t| {
            txns[t].iter().all(|mop| match mop {
                Mop::Append(k, v) => {
                    state[*k].push(*v);
                    true
                }
                Mop::Read(k, seen) => state[*k] == *seen,
            })
        })
    }
    // Heap's algorithm, iteratively.
    let n = txns.len();
    let mut order: Vec<usize> = (0..n).collect();
    let mut c = vec![0usize; n];
    if replay(txns, &order) {
        return true;
    }
    let mut i = 0;
    while i < n {
        if c[i] < i {
            order.swap(if i % 2 == 0 { 0 } else { c[i] }, i);
            if replay(txns, &order) {
                return true;
            }
            c[i] += 1;
            i = 0;
        } else {
            c[i] = 0;
            i += 1;
        }
    }
    false
}

fn json(mops: &[Mop], reads: bool) -> String {
    let items: Vec<String> = mops
        .iter()
        .map(|m| match m {
            Mop::Append(k, v) => format!(r#"["append",{k},{v}]"#),
            Mop::Read(k, seen) if reads => format!(r#"["r",{k},{seen:?}]"#),
            Mop::Read(k, _) => format!(r#"["r",{k},null]"#),
        })
        .collect();
    format!("[{}]", items.join(","))
}

/// The checker's verdict under serializable, all transactions concurrent.
fn checker(txns: &[Txn]) -> Validity {
    let mut lines = Vec::new();
    for (p, t) in txns.iter().enumerate() {
        lines.push(format!(
            r#"{{"process":{p},"type":"invoke","f":"txn","value":{}}}"#,
            json(t, false)
        ));
    }
    for (p, t) in txns.iter().enumerate() {
        lines.push(format!(
            r#"{{"process":{p},"type":"ok","f":"txn","value":{}}}"#,
            json(t, true)
        ));
    }
    let h = read_jsonl("p.jsonl", &lines.join("\n")).expect("reads");
    let ops = h.operations().expect("pairs");
    let options = Options {
        consistency: Consistency::Serializable,
    };
    elle::check(Workload::ListAppend, &h, &ops, &options)
        .expect("checks")
        .valid
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn valid_under_serializable_iff_some_serial_order_replays_the_reads(seed in any::<u64>()) {
        let txns = generate(seed);
        let expected = if serializable(&txns) { Validity::Valid } else { Validity::Invalid };
        prop_assert_eq!(checker(&txns), expected, "{:?}", txns);
    }
}

#[test]
fn generated_histories_are_both_valid_and_invalid_often() {
    let n = 1000;
    let valid = (0..n).filter(|&seed| serializable(&generate(seed))).count() as u64;
    assert!((n / 4..=3 * n / 4).contains(&valid), "{valid} of {n} valid");
}
