//! The dependency graph: transactions as vertices, and between two of them the set of
//! relations (ww, wr, rw, process, realtime) that order the first before the second.
//!
//! Analyses push edges as they find them, duplicates and all; [`Graph::new`] sorts them once
//! and merges the relations of each pair into a bit set, stored compactly (CSR), because a
//! history of a million transactions has millions of edges.

use super::report::Rel;

/// A set of relations, one bit per [`Rel`].
pub(super) type Rels = u8;

pub(super) const WW: Rels = 1;
pub(super) const WR: Rels = 2;
pub(super) const RW: Rels = 4;
pub(super) const PROCESS: Rels = 8;
pub(super) const REALTIME: Rels = 16;
pub(super) const DATA: Rels = WW | WR | RW;

/// One edge as an analysis found it: from, to, relation(s).
pub(super) type Edge = (u32, u32, Rels);

/// Why one transaction precedes another by a relation, in words; each workload knows its own.
pub(super) trait Explain {
    fn why(&self, from: u32, to: u32, rel: Rel) -> String;
}

/// The graph, in compressed sparse rows: the out-edges of `v` are
/// `targets[start[v]..start[v + 1]]`, with their relations in `rels`.
pub(super) struct Graph {
    start: Vec<u32>,
    targets: Vec<u32>,
    rels: Vec<Rels>,
}

impl Graph {
    pub fn new(vertices: usize, mut edges: Vec<Edge>) -> Graph {
        edges.sort_unstable_by_key(|&(a, b, _)| (a, b));
        let mut start = vec![0u32; vertices + 1];
        let mut targets = Vec::with_capacity(edges.len());
        let mut rels: Vec<Rels> = Vec::with_capacity(edges.len());
        let mut last = None;
        for (a, b, r) in edges {
            if a == b {
                continue;
            }
            if last == Some((a, b)) {
                *rels.last_mut().expect("an edge was pushed") |= r;
                continue;
            }
            last = Some((a, b));
            start[a as usize + 1] += 1;
            targets.push(b);
            rels.push(r);
        }
        for v in 0..vertices {
            start[v + 1] += start[v];
        }
        Graph {
            start,
            targets,
            rels,
        }
    }

    pub fn vertices(&self) -> usize {
        self.start.len() - 1
    }

    /// The positions of `v`'s out-edges, for [`Graph::edge`].
    pub fn range(&self, v: u32) -> std::ops::Range<usize> {
        self.start[v as usize] as usize..self.start[v as usize + 1] as usize
    }

    /// The edge at position `i`: (target, relations).
    pub fn edge(&self, i: usize) -> (u32, Rels) {
        (self.targets[i], self.rels[i])
    }

    /// The out-edges of `v`: (target, relations).
    pub fn out(&self, v: u32) -> impl Iterator<Item = (u32, Rels)> + '_ {
        self.range(v).map(|i| self.edge(i))
    }
}

/// The relation to name for an edge whose relations are `rels`, when any of `allowed` will
/// do: data before order (so that a cycle is called realtime only when it must be), and rw
/// last (an edge that is also ww or wr is the stronger evidence).
pub(super) fn pick(rels: Rels, allowed: Rels) -> Option<Rel> {
    let r = rels & allowed;
    [
        (WW, Rel::Ww),
        (WR, Rel::Wr),
        (PROCESS, Rel::Process),
        (REALTIME, Rel::Realtime),
        (RW, Rel::Rw),
    ]
    .into_iter()
    .find(|(bit, _)| r & bit != 0)
    .map(|(_, rel)| rel)
}
