//! Long randomized runs: every fault at once, and every safety property checked after every
//! event (see [`Invariants`](super::invariants)). Each seed replays exactly.

use super::network::Cluster;
use crate::raft::rng::Rng;
use crate::raft::{Index, Role};
use crate::test_links::Partitioned;

/// Runs `steps` random events on a cluster of `n`: deliveries over a lossy, duplicating,
/// reordering network, ticks, proposals and reads at random nodes, partitions and cut links,
/// crashes and restarts. Then heals everything and checks that the cluster commits again.
fn chaos(seed: u64, n: u64, steps: u32) -> Cluster {
    // One seed in three runs classic Raft: no pre-vote, no check-quorum.
    let classic = seed % 3 == 2;
    let mut c = Cluster::with(n, seed, |config| {
        config.pre_vote = !classic;
        config.check_quorum = !classic;
    });
    c.reorder = true;
    c.loss_per_mille = 50;
    c.duplicate_per_mille = 20;
    let mut rng = Rng::new(seed ^ 0x5EED);
    let ids = c.ids();
    let mut value = 0u32;
    for _ in 0..steps {
        let id = ids[rng.below(n) as usize];
        match rng.below(1000) {
            0..550 => {
                c.deliver_one();
            }
            550..850 => c.tick(id),
            850..930 if c.is_up(id) => {
                value += 1;
                // Refusals are expected: most nodes are not the leader.
                let _ = c.propose(id, &value.to_be_bytes());
            }
            930..970 if c.is_up(id) => {
                let _ = c.read_index(id, rng.next_u64());
            }
            970..973 => c.random_partition(),
            973..976 => c.heal(),
            976..980 => c.cut(id, ids[rng.below(n) as usize]),
            980..983 if c.is_up(id) => c.crash(id),
            983.. if !c.is_up(id) => c.restart(id),
            _ => {}
        }
    }

    // Liveness: once the faults stop, a leader is elected and a new proposal reaches everyone.
    c.heal();
    (c.reorder, c.loss_per_mille, c.duplicate_per_mille) = (false, 0, 0);
    for id in c.ids() {
        if !c.is_up(id) {
            c.restart(id);
        }
    }
    let mut proposed: Option<Index> = None;
    for _ in 0..20 {
        let leader = c.wait_for_leader();
        c.run(3);
        if c.raft(leader).role() == Role::Leader {
            proposed = c.propose(leader, b"final").ok().map(|(index, _)| index);
            break;
        }
    }
    let index = proposed.unwrap_or_else(|| panic!("seed {seed}: no stable leader after healing"));
    let everyone_applied = |c: &Cluster| {
        c.ids()
            .iter()
            .all(|&id| c.node(id).applied.len() as Index >= index)
    };
    assert!(
        c.run_until(100, everyone_applied),
        "seed {seed}: the cluster did not recover"
    );
    c
}

#[test]
fn state_machine_safety() {
    let (mut committed, mut terms, mut overwrites, mut crashes, mut confirmed, mut failed) =
        (0, 0, 0, 0, 0, 0);
    for seed in 0..60 {
        let n = if seed % 2 == 0 { 5 } else { 3 };
        let c = chaos(seed, n, 20_000);
        committed += c.invariants.committed().len();
        terms += c.invariants.leaders().len();
        overwrites += c.stats.overwrites;
        crashes += c.stats.crashes;
        confirmed += c.stats.reads_confirmed;
        failed += c.stats.reads_failed;
    }
    // Guard against a vacuous pass: the runs must have gone through every kind of trouble.
    // (The runs are seeded: these numbers only move when the code or the mix of faults does.)
    let seen = format!(
        "{terms} terms, {committed} committed entries, {overwrites} overwritten suffixes, {crashes} crashes, \
         {confirmed} reads confirmed and {failed} failed"
    );
    assert!(
        terms >= 600 && committed >= 5000 && overwrites >= 100,
        "only {seen}"
    );
    assert!(
        crashes >= 1000 && confirmed >= 1000 && failed >= 100,
        "only {seen}"
    );
}
