//! Grudges: who drops whose traffic during a partition (Jepsen's vocabulary).
//!
//! A grudge maps each node to the nodes it drops traffic *from*. The functions here are pure:
//! they take the cluster's node names (and, for the random ones, a seeded [`ChaCha8Rng`]) and
//! return a grudge that the net layer then applies to its links. A link `a → b` is cut when `b` holds a
//! grudge against `a`.

use std::collections::{BTreeMap, BTreeSet};

use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

/// Node → the nodes whose traffic it drops.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Grudge(pub BTreeMap<String, BTreeSet<String>>);

impl Grudge {
    /// Whether traffic from `from` to `to` is dropped.
    pub fn cuts(&self, from: &str, to: &str) -> bool {
        self.0.get(to).is_some_and(|s| s.contains(from))
    }

    /// Every node drops traffic from the nodes outside its own component.
    pub fn complete(components: &[Vec<String>]) -> Grudge {
        let mut g = Grudge::default();
        for (i, comp) in components.iter().enumerate() {
            let others: BTreeSet<String> = components
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .flat_map(|(_, c)| c.iter().cloned())
                .collect();
            for node in comp {
                if !others.is_empty() {
                    g.0.insert(node.clone(), others.clone());
                }
            }
        }
        g
    }

    /// The nodes each node can still hear from (itself included).
    pub fn visible(&self, nodes: &[String], node: &str) -> BTreeSet<String> {
        nodes
            .iter()
            .filter(|n| *n == node || !self.cuts(n, node))
            .cloned()
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.0.values().all(BTreeSet::is_empty)
    }
}

/// The partitions the nemesis knows, by the names scenarios use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Shape {
    /// The first half against the rest (the smaller side first).
    Halves,
    /// Two halves of a random order.
    RandomHalves,
    /// One random node against the rest.
    IsolateOne,
    /// Each node sees a majority, but no two nodes the same one.
    MajoritiesRing,
    /// Two halves joined by one node that sees both.
    Bridge,
    /// A random half drops traffic from the other, but not the other way round.
    OneWay,
    /// The leader alone against the rest.
    IsolateLeader,
    /// The leader and a random minority against the rest: the old leader keeps followers to
    /// lead while a new leader is elected on the other side.
    LeaderMinority,
    /// One random node other than the leader against the rest: the leader keeps its quorum and
    /// goes on committing, while the cut-off follower serves from a copy that no longer moves
    /// until it notices its leader's silence.
    IsolateFollower,
    /// Clients against nodes, as in Kleppmann's Redlock scenario: the first half of the clients
    /// cannot reach the last ⌊n/2⌋ nodes, the other half cannot reach the first ⌊n/2⌋; the
    /// middle node is the only one both halves reach. Nodes do not cut each other.
    ClientSplit,
}

impl Shape {
    pub const ALL: [Shape; 10] = [
        Shape::Halves,
        Shape::RandomHalves,
        Shape::IsolateOne,
        Shape::MajoritiesRing,
        Shape::Bridge,
        Shape::OneWay,
        Shape::IsolateLeader,
        Shape::LeaderMinority,
        Shape::IsolateFollower,
        Shape::ClientSplit,
    ];

    /// The shapes drawn when a scenario names none: those between nodes.
    pub const BETWEEN_NODES: [Shape; 9] = [
        Shape::Halves,
        Shape::RandomHalves,
        Shape::IsolateOne,
        Shape::MajoritiesRing,
        Shape::Bridge,
        Shape::OneWay,
        Shape::IsolateLeader,
        Shape::LeaderMinority,
        Shape::IsolateFollower,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Shape::Halves => "halves",
            Shape::RandomHalves => "random-halves",
            Shape::IsolateOne => "isolate-one",
            Shape::MajoritiesRing => "majorities-ring",
            Shape::Bridge => "bridge",
            Shape::OneWay => "one-way",
            Shape::IsolateLeader => "isolate-leader",
            Shape::LeaderMinority => "leader-minority",
            Shape::IsolateFollower => "isolate-follower",
            Shape::ClientSplit => "client-split",
        }
    }

    /// Whether the shape is drawn around the current leader (known only when it starts).
    pub fn needs_leader(self) -> bool {
        matches!(
            self,
            Shape::IsolateLeader | Shape::LeaderMinority | Shape::IsolateFollower
        )
    }

    pub fn parse(name: &str) -> Option<Shape> {
        Shape::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The grudge of this shape over `nodes` (and `clients`, for the shapes that cut clients
    /// off), around `leader` for the shapes that need one (a random node stands in when no
    /// leader is known). The random draws come from `rng` alone, and ChaCha8's stream from a
    /// seed is the same on every platform: a seed replays a run's partitions.
    pub fn grudge(
        self,
        nodes: &[String],
        clients: &[String],
        leader: Option<&str>,
        rng: &mut ChaCha8Rng,
    ) -> Grudge {
        let centre = |rng: &mut ChaCha8Rng| match leader.filter(|l| nodes.iter().any(|n| n == l)) {
            Some(l) => l.to_string(),
            None => nodes[rng.random_range(..nodes.len())].clone(),
        };
        match self {
            Shape::ClientSplit => client_split(nodes, clients),
            Shape::IsolateLeader => {
                let l = centre(rng);
                let rest: Vec<String> = nodes.iter().filter(|n| **n != l).cloned().collect();
                Grudge::complete(&[vec![l], rest])
            }
            Shape::LeaderMinority => {
                let l = centre(rng);
                let others = shuffled(
                    &nodes
                        .iter()
                        .filter(|n| **n != l)
                        .cloned()
                        .collect::<Vec<_>>(),
                    rng,
                );
                // A minority in all: ⌊(n−1)/2⌋ nodes, the leader one of them.
                let (with, against) = others.split_at(((nodes.len() - 1) / 2).saturating_sub(1));
                let mut minority = vec![l];
                minority.extend(with.iter().cloned());
                Grudge::complete(&[minority, against.to_vec()])
            }
            Shape::IsolateFollower => {
                let l = centre(rng);
                let followers: Vec<String> = nodes.iter().filter(|n| **n != l).cloned().collect();
                // A one-node ensemble has no follower: the node is cut off from nobody.
                let Some(f) = followers.get(rng.random_range(..followers.len().max(1))) else {
                    return Grudge::default();
                };
                let rest: Vec<String> = nodes.iter().filter(|n| *n != f).cloned().collect();
                Grudge::complete(&[vec![f.clone()], rest])
            }
            Shape::Halves => halves(nodes),
            Shape::RandomHalves => halves(&shuffled(nodes, rng)),
            Shape::IsolateOne => {
                let i = rng.random_range(..nodes.len());
                let rest: Vec<String> = nodes
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, n)| n.clone())
                    .collect();
                Grudge::complete(&[vec![nodes[i].clone()], rest])
            }
            Shape::MajoritiesRing => majorities_ring(&shuffled(nodes, rng)),
            Shape::Bridge => bridge(&shuffled(nodes, rng)),
            Shape::OneWay => {
                let order = shuffled(nodes, rng);
                let (a, b) = order.split_at(order.len() / 2);
                let mut g = Grudge::default();
                for node in a {
                    g.0.insert(node.clone(), b.iter().cloned().collect());
                }
                g
            }
        }
    }
}

fn shuffled(nodes: &[String], rng: &mut ChaCha8Rng) -> Vec<String> {
    let mut v = nodes.to_vec();
    v.shuffle(rng);
    v
}

/// The first ⌊n/2⌋ nodes against the rest.
pub fn halves(nodes: &[String]) -> Grudge {
    let (a, b) = nodes.split_at(nodes.len() / 2);
    Grudge::complete(&[a.to_vec(), b.to_vec()])
}

/// Nodes on a ring; each sees itself and its nearest neighbours, a majority in all.
pub fn majorities_ring(nodes: &[String]) -> Grudge {
    let n = nodes.len();
    let majority = n / 2 + 1;
    let mut g = Grudge::default();
    for (i, node) in nodes.iter().enumerate() {
        // The window of `majority` nodes centred on i (leaning forward when even).
        let back = (majority - 1) / 2;
        let seen: BTreeSet<usize> = (0..majority).map(|k| (i + n - back + k) % n).collect();
        let drops: BTreeSet<String> = (0..n)
            .filter(|j| !seen.contains(j))
            .map(|j| nodes[j].clone())
            .collect();
        if !drops.is_empty() {
            g.0.insert(node.clone(), drops);
        }
    }
    g
}

/// See [`Shape::ClientSplit`].
pub fn client_split(nodes: &[String], clients: &[String]) -> Grudge {
    let (first, second) = clients.split_at(clients.len().div_ceil(2));
    let cut = nodes.len() / 2;
    let mut g = Grudge::default();
    for node in &nodes[nodes.len() - cut..] {
        g.0.entry(node.clone())
            .or_default()
            .extend(first.iter().cloned());
    }
    for node in &nodes[..cut] {
        g.0.entry(node.clone())
            .or_default()
            .extend(second.iter().cloned());
    }
    g.0.retain(|_, from| !from.is_empty());
    g
}

/// Two halves, with the middle node in both.
pub fn bridge(nodes: &[String]) -> Grudge {
    let mid = nodes.len() / 2;
    let (a, b) = (&nodes[..mid], &nodes[mid + 1..]);
    let mut g = Grudge::default();
    for node in a {
        g.0.insert(node.clone(), b.iter().cloned().collect());
    }
    for node in b {
        g.0.insert(node.clone(), a.iter().cloned().collect());
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn seeded(seed: u64) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(seed)
    }

    fn nodes(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("n{i}")).collect()
    }

    fn symmetric(g: &Grudge, nodes: &[String]) -> bool {
        nodes
            .iter()
            .all(|a| nodes.iter().all(|b| g.cuts(a, b) == g.cuts(b, a)))
    }

    #[test]
    fn halves_cut_every_link_across_and_none_within() {
        let ns = nodes(5);
        let g = halves(&ns);
        assert!(g.cuts("n1", "n3") && g.cuts("n3", "n1"));
        assert!(!g.cuts("n1", "n2") && !g.cuts("n3", "n5"));
        assert!(symmetric(&g, &ns));
        assert_eq!(g.visible(&ns, "n1").len(), 2);
        assert_eq!(g.visible(&ns, "n5").len(), 3);
    }

    #[test]
    fn majorities_ring_gives_each_node_a_different_majority() {
        for n in [3, 5, 7] {
            let ns = nodes(n);
            let g = majorities_ring(&ns);
            let views: BTreeSet<BTreeSet<String>> = ns.iter().map(|x| g.visible(&ns, x)).collect();
            for x in &ns {
                assert_eq!(g.visible(&ns, x).len(), n / 2 + 1, "n={n} {x}");
            }
            assert_eq!(views.len(), n, "n={n}: every view distinct");
            // A window of a majority can be centred on each node only when it is odd-sized.
            assert_eq!(symmetric(&g, &ns), (n / 2 + 1) % 2 == 1, "n={n}");
        }
    }

    #[test]
    fn bridge_node_sees_everyone_and_the_sides_not_each_other() {
        let ns = nodes(5);
        let g = bridge(&ns);
        assert_eq!(g.visible(&ns, "n3").len(), 5);
        assert!(g.cuts("n1", "n4") && g.cuts("n5", "n2"));
        assert!(!g.cuts("n1", "n3") && !g.cuts("n3", "n5"));
    }

    #[test]
    fn isolate_one_leaves_a_single_node_alone() {
        let ns = nodes(5);
        let g = Shape::IsolateOne.grudge(&ns, &[], None, &mut seeded(3));
        let alone: Vec<&String> = ns.iter().filter(|x| g.visible(&ns, x).len() == 1).collect();
        assert_eq!(alone.len(), 1);
        assert!(symmetric(&g, &ns));
    }

    #[test]
    fn one_way_cuts_only_one_direction() {
        let ns = nodes(4);
        let g = Shape::OneWay.grudge(&ns, &[], None, &mut seeded(9));
        let cut: Vec<(String, String)> = ns
            .iter()
            .flat_map(|a| ns.iter().map(move |b| (a.clone(), b.clone())))
            .filter(|(a, b)| g.cuts(a, b))
            .collect();
        assert_eq!(cut.len(), 4);
        assert!(cut.iter().all(|(a, b)| !g.cuts(b, a)));
    }

    #[test]
    fn leader_shapes_put_the_leader_in_a_minority() {
        let ns = nodes(5);
        for seed in 0..20 {
            let mut rng = seeded(seed);
            let g = Shape::LeaderMinority.grudge(&ns, &[], Some("n4"), &mut rng);
            let side = g.visible(&ns, "n4");
            assert_eq!(side.len(), 2, "{side:?}");
            let g = Shape::IsolateLeader.grudge(&ns, &[], Some("n2"), &mut rng);
            assert_eq!(g.visible(&ns, "n2").len(), 1);
            assert_eq!(g.visible(&ns, "n1").len(), 4);
        }
        // Without a known leader a random node stands in.
        let g = Shape::IsolateLeader.grudge(&ns, &[], None, &mut seeded(1));
        assert_eq!(
            ns.iter().filter(|n| g.visible(&ns, n).len() == 1).count(),
            1
        );
    }

    #[test]
    fn isolate_follower_cuts_one_node_and_never_the_leader() {
        let ns = nodes(5);
        let mut cut = std::collections::BTreeSet::new();
        for seed in 0..40 {
            let g = Shape::IsolateFollower.grudge(&ns, &[], Some("n3"), &mut seeded(seed));
            assert_eq!(g.visible(&ns, "n3").len(), 4);
            let alone: Vec<&String> = ns.iter().filter(|n| g.visible(&ns, n).len() == 1).collect();
            assert_eq!(alone.len(), 1);
            cut.insert(alone[0].clone());
        }
        // Every follower is drawn in time.
        assert_eq!(cut.len(), 4);
        let one = nodes(1);
        let g = Shape::IsolateFollower.grudge(&one, &[], Some("n1"), &mut seeded(0));
        assert_eq!(g.visible(&one, "n1").len(), 1);
    }

    #[test]
    fn client_split_is_kleppmanns_redlock_layout() {
        let ns = nodes(5);
        let clients: Vec<String> = vec!["c1".into(), "c2".into()];
        let g = client_split(&ns, &clients);
        // c1 reaches n1 n2 n3, c2 reaches n3 n4 n5; nodes still reach each other.
        let reach = |c: &str| -> Vec<&str> {
            ns.iter()
                .filter(|n| !g.cuts(c, n))
                .map(String::as_str)
                .collect()
        };
        assert_eq!(reach("c1"), vec!["n1", "n2", "n3"]);
        assert_eq!(reach("c2"), vec!["n3", "n4", "n5"]);
        assert!(ns.iter().all(|a| ns.iter().all(|b| !g.cuts(a, b))));
    }

    #[test]
    fn random_shapes_are_reproducible_from_the_seed() {
        let ns = nodes(5);
        for shape in Shape::BETWEEN_NODES {
            let clients = ["c1".to_string(), "c2".to_string()];
            let a = shape.grudge(&ns, &clients, None, &mut seeded(42));
            let b = shape.grudge(&ns, &clients, None, &mut seeded(42));
            assert_eq!(a, b, "{}", shape.name());
            assert!(!a.is_empty(), "{}", shape.name());
            assert_eq!(Shape::parse(shape.name()), Some(shape));
        }
    }

    #[test]
    fn random_shapes_vary_with_the_seed() {
        let ns = nodes(5);
        for shape in [
            Shape::RandomHalves,
            Shape::IsolateOne,
            Shape::MajoritiesRing,
            Shape::Bridge,
            Shape::OneWay,
        ] {
            let drawn: BTreeSet<String> = (0..20)
                .map(|seed| format!("{:?}", shape.grudge(&ns, &[], None, &mut seeded(seed))))
                .collect();
            assert!(drawn.len() > 1, "{} ignores the seed", shape.name());
        }
    }
}
