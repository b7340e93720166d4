//! Strongly connected components (Tarjan's algorithm), iteratively: a history of a million
//! transactions would overflow the stack of a recursive search.
//!
//! Only components of two or more vertices can hold a cycle (the graph has no self loops),
//! so only those are returned. The search runs on any [`Adjacency`]: the whole graph, or (for
//! the cycle search) one component with only some relations kept.

use std::ops::Range;

use super::graph::Graph;

/// Vertices `0..vertex_count()` and their out-edges, in compressed sparse rows.
pub(super) trait Adjacency {
    fn vertex_count(&self) -> usize;
    /// The positions of `v`'s out-edges.
    fn range(&self, v: u32) -> Range<usize>;
    fn target(&self, i: usize) -> u32;
}

impl Adjacency for Graph {
    fn vertex_count(&self) -> usize {
        self.vertices()
    }

    fn range(&self, v: u32) -> Range<usize> {
        Graph::range(self, v)
    }

    fn target(&self, i: usize) -> u32 {
        self.edge(i).0
    }
}

/// A subgraph renumbered `0..n`, built by the cycle search.
#[derive(Default)]
pub(super) struct Local {
    pub start: Vec<u32>,
    pub targets: Vec<u32>,
}

impl Adjacency for Local {
    fn vertex_count(&self) -> usize {
        self.start.len().saturating_sub(1)
    }

    fn range(&self, v: u32) -> Range<usize> {
        self.start[v as usize] as usize..self.start[v as usize + 1] as usize
    }

    fn target(&self, i: usize) -> u32 {
        self.targets[i]
    }
}

/// Not yet visited.
const NONE: u32 = u32::MAX;

/// The components of two or more vertices, and for each vertex the one it belongs to
/// (`u32::MAX` for a vertex alone in its component).
pub(super) struct Components {
    pub sets: Vec<Vec<u32>>,
    pub of: Vec<u32>,
}

/// Tarjan's bookkeeping.
struct Search {
    /// Visit order of each vertex, [`NONE`] if not yet visited.
    index: Vec<u32>,
    /// The lowest visit order reachable from the vertex's subtree while on the stack.
    low: Vec<u32>,
    on_stack: Vec<bool>,
    stack: Vec<u32>,
    /// The search's own call stack: a vertex and the position of its next out-edge.
    calls: Vec<(u32, usize)>,
    next: u32,
}

impl Search {
    fn visit(&mut self, graph: &impl Adjacency, v: u32) {
        self.index[v as usize] = self.next;
        self.low[v as usize] = self.next;
        self.next += 1;
        self.stack.push(v);
        self.on_stack[v as usize] = true;
        self.calls.push((v, graph.range(v).start));
    }
}

pub(super) fn components(graph: &impl Adjacency) -> Components {
    let n = graph.vertex_count();
    let mut s = Search {
        index: vec![NONE; n],
        low: vec![0; n],
        on_stack: vec![false; n],
        stack: Vec::new(),
        calls: Vec::new(),
        next: 0,
    };
    let mut out = Components {
        sets: Vec::new(),
        of: vec![NONE; n],
    };
    for root in 0..n as u32 {
        if s.index[root as usize] != NONE {
            continue;
        }
        s.visit(graph, root);
        while let Some(&(v, pos)) = s.calls.last() {
            if pos < graph.range(v).end {
                s.calls.last_mut().expect("not empty").1 += 1;
                let w = graph.target(pos);
                if s.index[w as usize] == NONE {
                    s.visit(graph, w);
                } else if s.on_stack[w as usize] {
                    s.low[v as usize] = s.low[v as usize].min(s.index[w as usize]);
                }
                continue;
            }
            s.calls.pop();
            if let Some(&(parent, _)) = s.calls.last() {
                s.low[parent as usize] = s.low[parent as usize].min(s.low[v as usize]);
            }
            if s.low[v as usize] == s.index[v as usize] {
                let mut set = Vec::new();
                loop {
                    let w = s.stack.pop().expect("v is on the stack");
                    s.on_stack[w as usize] = false;
                    set.push(w);
                    if w == v {
                        break;
                    }
                }
                if set.len() > 1 {
                    let id = out.sets.len() as u32;
                    for &w in &set {
                        out.of[w as usize] = id;
                    }
                    out.sets.push(set);
                }
            }
        }
    }
    out
}
