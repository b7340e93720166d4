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
//!
//! With some transactions `info` or `fail`ed, soundness again: an invalid verdict means no
//! set of the `info` ones, with every `ok` one, replays the `ok` reads in any order.
//!
//! The same histories read as rw-register (an append a write, a read the list's last value)
//! check soundness only: Elle's register inference is incomplete by design (it knows little
//! of the order of versions), so the property is that an invalid verdict is never wrong.

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
                    let len = if rng.chance(0.4) {
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

/// Outcomes for `n` generated transactions: a fifth `info`, a fifth `fail`, the rest — and
/// the last reader — `ok`. The generator applied every append, so a failed append that some
/// read shows is G1a.
fn outcomes(seed: u64, n: usize) -> Vec<&'static str> {
    let mut rng = Rng::new(seed ^ 0x5eed);
    (0..n)
        .map(|t| match rng.below(5) {
            _ if t + 1 == n => "ok",
            0 => "info",
            1 => "fail",
            _ => "ok",
        })
        .collect()
}

/// Replays `txns` in `order` as list-append: whether every read sees what it saw.
fn replay_lists(txns: &[Txn], order: &[usize]) -> bool {
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

/// Replays `txns` in `order` as rw-register: each read sees the last value written.
fn replay_registers(txns: &[Txn], order: &[usize]) -> bool {
    let mut state: Vec<Option<i64>> = vec![None; 3];
    order.iter().all(|&t| {
        txns[t].iter().all(|mop| match mop {
            Mop::Append(k, v) => {
                state[*k] = Some(*v);
                true
            }
            Mop::Read(k, seen) => state[*k] == seen.last().copied(),
        })
    })
}

/// Whether some serial order replays every read as list-append.
fn serializable(txns: &[Txn]) -> bool {
    some_order(txns, replay_lists)
}

/// Whether some order of the transactions passes `replay`.
fn some_order(txns: &[Txn], replay: fn(&[Txn], &[usize]) -> bool) -> bool {
    some_permutation((0..txns.len()).collect(), |order| replay(txns, order))
}

/// Whether some permutation of `order` passes `test` (Heap's algorithm, iteratively).
fn some_permutation(mut order: Vec<usize>, mut test: impl FnMut(&[usize]) -> bool) -> bool {
    let n = order.len();
    let mut c = vec![0usize; n];
    if test(&order) {
        return true;
    }
    let mut i = 0;
    while i < n {
        if c[i] < i {
            order.swap(if i % 2 == 0 { 0 } else { c[i] }, i);
            if test(&order) {
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

/// With outcomes: whether some set of the `info` transactions with all the `ok` ones (never a
/// `fail`ed one), in some order, replays every `ok` read as list-append.
fn serializable_with(txns: &[Txn], outcomes: &[&str]) -> bool {
    let info: Vec<usize> = (0..txns.len()).filter(|&t| outcomes[t] == "info").collect();
    (0..1u32 << info.len()).any(|mask| {
        let included: Vec<usize> = (0..txns.len())
            .filter(|&t| {
                outcomes[t] == "ok"
                    || info
                        .iter()
                        .position(|&i| i == t)
                        .is_some_and(|b| mask & (1 << b) != 0)
            })
            .collect();
        some_permutation(included, |order| {
            let mut state: Vec<Vec<i64>> = vec![Vec::new(); 3];
            order.iter().all(|&t| {
                txns[t].iter().all(|mop| match mop {
                    Mop::Append(k, v) => {
                        state[*k].push(*v);
                        true
                    }
                    Mop::Read(k, seen) => outcomes[t] != "ok" || state[*k] == *seen,
                })
            })
        })
    })
}

fn json(workload: Workload, mops: &[Mop], reads: bool) -> String {
    let items: Vec<String> = mops
        .iter()
        .map(|m| match (m, workload) {
            (Mop::Append(k, v), Workload::ListAppend) => format!(r#"["append",{k},{v}]"#),
            (Mop::Append(k, v), Workload::RwRegister) => format!(r#"["w",{k},{v}]"#),
            (Mop::Read(k, _), _) if !reads => format!(r#"["r",{k},null]"#),
            (Mop::Read(k, seen), Workload::ListAppend) => format!(r#"["r",{k},{seen:?}]"#),
            (Mop::Read(k, seen), Workload::RwRegister) => match seen.last() {
                Some(v) => format!(r#"["r",{k},{v}]"#),
                None => format!(r#"["r",{k},null]"#),
            },
        })
        .collect();
    format!("[{}]", items.join(","))
}

/// The checker's verdict on list-append under serializable, all transactions concurrent.
fn checker(txns: &[Txn]) -> Validity {
    checker_as(Workload::ListAppend, txns)
}

fn checker_as(workload: Workload, txns: &[Txn]) -> Validity {
    checker_with(workload, txns, &vec!["ok"; txns.len()])
}

/// The checker's verdict, each transaction completing with its outcome (`ok`, `info` or
/// `fail`; only an `ok` completion carries the reads).
fn checker_with(workload: Workload, txns: &[Txn], outcomes: &[&str]) -> Validity {
    let mut lines = Vec::new();
    for (p, t) in txns.iter().enumerate() {
        lines.push(format!(
            r#"{{"process":{p},"type":"invoke","f":"txn","value":{}}}"#,
            json(workload, t, false)
        ));
    }
    for (p, t) in txns.iter().enumerate() {
        lines.push(format!(
            r#"{{"process":{p},"type":"{}","f":"txn","value":{}}}"#,
            outcomes[p],
            json(workload, t, outcomes[p] == "ok")
        ));
    }
    let h = read_jsonl("p.jsonl", &lines.join("\n")).expect("reads");
    let ops = h.operations().expect("pairs");
    let options = Options {
        consistency: Consistency::Serializable,
    };
    elle::check(workload, &h, &ops, &options)
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

    #[test]
    fn with_info_and_fail_invalid_only_when_no_committed_subset_replays_the_reads(
        seed in any::<u64>(),
    ) {
        let txns = generate(seed);
        let outcomes = outcomes(seed, txns.len());
        if checker_with(Workload::ListAppend, &txns, &outcomes) == Validity::Invalid {
            prop_assert!(!serializable_with(&txns, &outcomes), "{:?} {:?}", txns, outcomes);
        }
    }

    #[test]
    fn rw_register_invalid_only_when_no_serial_order_replays_the_reads(seed in any::<u64>()) {
        let txns = generate(seed);
        if checker_as(Workload::RwRegister, &txns) == Validity::Invalid {
            prop_assert!(!some_order(&txns, replay_registers), "{:?}", txns);
        }
    }
}

#[test]
fn generated_histories_are_both_valid_and_invalid_often() {
    let n = 1000;
    let valid = (0..n).filter(|&seed| serializable(&generate(seed))).count() as u64;
    assert!((n / 4..=3 * n / 4).contains(&valid), "{valid} of {n} valid");
    // As registers, the checker must still catch a good share of them.
    let caught = (0..n)
        .filter(|&seed| checker_as(Workload::RwRegister, &generate(seed)) == Validity::Invalid)
        .count() as u64;
    assert!(caught >= n / 10, "{caught} of {n} invalid as registers");
    // With outcomes, too.
    let caught = (0..n)
        .filter(|&seed| {
            let txns = generate(seed);
            let outcomes = outcomes(seed, txns.len());
            checker_with(Workload::ListAppend, &txns, &outcomes) == Validity::Invalid
        })
        .count() as u64;
    assert!(
        caught >= n / 10,
        "{caught} of {n} invalid with info and fail"
    );
}
