//! Finding and naming cycles: within each strongly connected component, a breadth-first
//! search for the strongest anomaly first, as Elle does.
//!
//! Each class is a search *spec*: an edge of the relations `first`, then a shortest path back
//! to its source along edges of the relations `rest`. G0 is a ww edge and then ww; G1c a wr
//! edge and then ww or wr; G-single an rw edge and then ww or wr; G-nonadjacent an rw edge and
//! then anything, tracking in the search state whether the last edge was rw (so no two rw
//! edges are adjacent, the last one into the source included) and whether there were two; and
//! G2-item an rw edge and then anything. A component is first searched on data edges alone;
//! only if that finds nothing, and the model needs them, with process and real-time edges
//! too (giving the `-process` and `-realtime` variants). The first cycle found is reported,
//! named by the edges it actually has.
//!
//! Before a spec is searched, the component is split again into the strongly connected
//! components of the spec's relations alone: a cycle of the spec lies within one of them, so
//! start edges elsewhere are skipped and no search strays outside. (A component held
//! together by real-time edges has no data-only sub-components, and its data-only searches
//! cost nothing.)
//!
//! Every search has a budget of visited states per component and spec: a component can hold
//! a million transactions, and a spec that fails tries every start edge. A spec that runs
//! out is given up on, and if its class would have counted while what the component reports
//! does not, the verdict becomes unknown.

use std::collections::VecDeque;

use hashbrown::HashMap;

use super::graph::{DATA, Explain, Graph, RW, Rels, WR, WW, pick};
use super::report::{Collector, Rel, Step};
use super::scc::{self, Local};
use super::view::View;

/// States a single spec may visit in one component before it is given up on.
const BUDGET: usize = 2_000_000;

/// A class of cycle, as a search.
struct Spec {
    class: &'static str,
    first: Rels,
    /// The relations of the other edges, before order edges are added.
    rest: Rels,
    nonadjacent: bool,
}

const SPECS: [Spec; 5] = [
    Spec {
        class: "G0",
        first: WW,
        rest: WW,
        nonadjacent: false,
    },
    Spec {
        class: "G1c",
        first: WR,
        rest: WW | WR,
        nonadjacent: false,
    },
    Spec {
        class: "G-single",
        first: RW,
        rest: WW | WR,
        nonadjacent: false,
    },
    Spec {
        class: "G-nonadjacent",
        first: RW,
        rest: DATA,
        nonadjacent: true,
    },
    Spec {
        class: "G2-item",
        first: RW,
        rest: DATA,
        nonadjacent: false,
    },
];

/// Search state: a vertex, shifted left two bits; bit 0: the last edge was rw; bit 1: two or
/// more rw edges so far (G-nonadjacent only — other specs keep both bits clear).
type State = u64;
const LAST_RW: State = 1;
const MANY_RW: State = 2;

fn vertex(s: State) -> u32 {
    (s >> 2) as u32
}

/// Searches every component for a cycle, reporting the strongest found in each to `found`.
/// Returns whether the search gave up somewhere where a cycle that counts could hide.
pub(super) fn find(
    graph: &Graph,
    order: Rels,
    view: &View<'_>,
    explain: &dyn Explain,
    found: &mut Collector,
) -> bool {
    let components = scc::components(graph);
    let mut incomplete = false;
    let passes: &[Rels] = if order == 0 { &[0] } else { &[0, order] };
    // Each vertex's place in the component being searched (NONE outside it).
    let mut local = vec![NONE; graph.vertices()];
    for set in &components.sets {
        for (i, &v) in set.iter().enumerate() {
            local[v as usize] = i as u32;
        }
        let (cycle, gave_up_counting) =
            strongest(graph, set, &local, passes, |class| found.counts(class));
        match cycle {
            Some(path) => {
                let kind = classify(&path);
                incomplete |= gave_up_counting && !found.counts(&kind);
                found.add(&kind, || describe(&kind, &path, view, explain));
            }
            None => incomplete |= gave_up_counting,
        }
        for &v in set {
            local[v as usize] = NONE;
        }
    }
    incomplete
}

/// The strongest cycle of the component `set` (whose vertices `local` numbers), searching
/// with each of `passes` as extra relations in turn; and whether a spec gave up whose class
/// `counts`.
fn strongest(
    graph: &Graph,
    set: &[u32],
    local: &[u32],
    passes: &[Rels],
    counts: impl Fn(&str) -> bool,
) -> (Option<Cycle>, bool) {
    let mut gave_up_counting = false;
    // Sub-components by the relations kept, computed once per set of relations.
    let mut subs: Vec<(Rels, Vec<u32>)> = Vec::new();
    for &extra in passes {
        for spec in &SPECS {
            let rels = spec.first | spec.rest | extra;
            if !subs.iter().any(|(r, _)| *r == rels) {
                subs.push((rels, sub_components(graph, set, local, rels)));
            }
            let sub = &subs
                .iter()
                .find(|(r, _)| *r == rels)
                .expect("just computed")
                .1;
            let component = Component { set, local, sub };
            match search(graph, &component, spec, extra) {
                Ok(Some(path)) => return (Some(path), gave_up_counting),
                Ok(None) => {}
                Err(GaveUp) => {
                    let class = if extra == 0 {
                        spec.class.to_string()
                    } else {
                        format!("{}-realtime", spec.class)
                    };
                    gave_up_counting |= counts(&class);
                }
            }
        }
    }
    (None, gave_up_counting)
}

/// Outside the component being searched; alone in its sub-component.
const NONE: u32 = u32::MAX;

/// The component being searched: its vertices, each vertex's place in it, and each place's
/// sub-component when only the relations of a spec are kept.
struct Component<'a> {
    set: &'a [u32],
    local: &'a [u32],
    sub: &'a [u32],
}

impl Component<'_> {
    /// The sub-component of `v` (NONE outside the component, or alone in its sub-component).
    fn sub(&self, v: u32) -> u32 {
        match self.local[v as usize] {
            NONE => NONE,
            i => self.sub[i as usize],
        }
    }
}

/// For each vertex of the component (by place), its strongly connected component when only
/// edges of `rels` are kept: a cycle of those relations lies within one, so a search need
/// only try start edges inside one, and look no further than it.
fn sub_components(graph: &Graph, set: &[u32], local: &[u32], rels: Rels) -> Vec<u32> {
    let mut sub = Local::default();
    sub.start.push(0);
    for &v in set {
        for (w, r) in graph.out(v) {
            let place = local[w as usize];
            if place != NONE && r & rels != 0 {
                sub.targets.push(place);
            }
        }
        sub.start.push(sub.targets.len() as u32);
    }
    scc::components(&sub).of
}

/// A spec ran out of budget.
struct GaveUp;

/// A cycle: each vertex with the relation of the edge that leaves it for the next (the last
/// leads back to the first).
type Cycle = Vec<(u32, Rel)>;

/// Tries every start edge of `spec.first` within a sub-component, with a shared budget.
fn search(
    graph: &Graph,
    component: &Component<'_>,
    spec: &Spec,
    extra: Rels,
) -> Result<Option<Cycle>, GaveUp> {
    let rest = spec.rest | extra;
    let mut budget = BUDGET;
    // Every cycle has an edge back in time (transactions are numbered in invocation order),
    // and in practice it is usually the start edge a search needs: those go first.
    for backwards in [true, false] {
        if let Some(path) = search_from(graph, component, spec, rest, backwards, &mut budget)? {
            return Ok(Some(path));
        }
    }
    Ok(None)
}

/// [`search`] from the start edges that go back in time, or from the others.
fn search_from(
    graph: &Graph,
    component: &Component<'_>,
    spec: &Spec,
    rest: Rels,
    backwards: bool,
    budget: &mut usize,
) -> Result<Option<Cycle>, GaveUp> {
    for &u in component.set {
        let c = component.sub(u);
        if c == NONE {
            continue;
        }
        for (v, rels) in graph.out(u) {
            if rels & spec.first == 0 || component.sub(v) != c || (v < u) != backwards {
                continue;
            }
            let first = pick(rels, spec.first).expect("rels & first is not empty");
            let start: State = (u64::from(v) << 2) | if first == Rel::Rw { LAST_RW } else { 0 };
            let inside = |w: u32| component.sub(w) == c;
            if let Some(mut path) = bfs(graph, &inside, start, u, rest, spec.nonadjacent, budget)? {
                path.insert(0, (u, first));
                return Ok(Some(path));
            }
        }
    }
    Ok(None)
}

/// The shortest path from `start` back to `goal`, along edges of `rest`, as (vertex, relation
/// of the edge leaving it).
fn bfs(
    graph: &Graph,
    inside: &dyn Fn(u32) -> bool,
    start: State,
    goal: u32,
    rest: Rels,
    nonadjacent: bool,
    budget: &mut usize,
) -> Result<Option<Cycle>, GaveUp> {
    // Each state reached, with the state it was reached from and by which relation.
    let mut parent: HashMap<State, (State, Rel)> = HashMap::new();
    let mut queue = VecDeque::from([start]);
    let done =
        |s: State| vertex(s) == goal && (!nonadjacent || (s & LAST_RW == 0 && s & MANY_RW != 0));
    while let Some(s) = queue.pop_front() {
        if done(s) {
            // Walk back to the start.
            let mut path = Vec::new();
            let mut at = s;
            while at != start {
                let (prev, rel) = parent[&at];
                path.push((vertex(prev), rel));
                at = prev;
            }
            path.reverse();
            return Ok(Some(path));
        }
        if vertex(s) == goal {
            // Back at the source too early (G-nonadjacent): a cycle passes it only once.
            continue;
        }
        if *budget == 0 {
            return Err(GaveUp);
        }
        *budget -= 1;
        for (w, rels) in graph.out(vertex(s)) {
            if !inside(w) {
                continue;
            }
            let base = u64::from(w) << 2;
            let mut step = |next: State, rel: Rel| {
                if next != start && !parent.contains_key(&next) {
                    parent.insert(next, (s, rel));
                    queue.push_back(next);
                }
            };
            if !nonadjacent {
                if let Some(rel) = pick(rels, rest) {
                    step(base, rel);
                }
                continue;
            }
            // Taken as anything but rw: the last edge is no longer rw.
            if let Some(rel) = pick(rels, rest & !RW) {
                step(base | (s & MANY_RW), rel);
            }
            // Taken as rw: only after an edge that was not.
            if rels & rest & RW != 0 && s & LAST_RW == 0 {
                step(base | LAST_RW | MANY_RW, Rel::Rw);
            }
        }
    }
    Ok(None)
}

/// Elle's name for a cycle, by the edges it has.
fn classify(cycle: &Cycle) -> String {
    let rels: Vec<Rel> = cycle.iter().map(|&(_, r)| r).collect();
    let rw = rels.iter().filter(|&&r| r == Rel::Rw).count();
    let adjacent =
        (0..rels.len()).any(|i| rels[i] == Rel::Rw && rels[(i + 1) % rels.len()] == Rel::Rw);
    let base = match rw {
        0 if rels.contains(&Rel::Wr) => "G1c",
        0 => "G0",
        1 => "G-single",
        _ if adjacent => "G2-item",
        _ => "G-nonadjacent",
    };
    if rels.contains(&Rel::Realtime) {
        format!("{base}-realtime")
    } else if rels.contains(&Rel::Process) {
        format!("{base}-process")
    } else {
        base.to_string()
    }
}

/// The explanation, transactions and steps of a cycle named `kind`.
fn describe(
    kind: &str,
    cycle: &Cycle,
    view: &View<'_>,
    explain: &dyn Explain,
) -> (String, Vec<super::TxnRef>, Vec<Step>) {
    let txns: Vec<_> = cycle.iter().map(|&(t, _)| view.txn(t)).collect();
    let steps: Vec<Step> = (0..cycle.len())
        .map(|i| {
            let (from, rel) = cycle[i];
            let to = cycle[(i + 1) % cycle.len()].0;
            Step {
                from: txns[i].name.clone(),
                to: txns[(i + 1) % cycle.len()].name.clone(),
                rel,
                why: match rel {
                    Rel::Process | Rel::Realtime => view.order_why(from, to, rel),
                    _ => explain.why(from, to, rel),
                },
            }
        })
        .collect();
    let base = kind
        .trim_end_matches("-realtime")
        .trim_end_matches("-process");
    let mut text = format!(
        "A cycle of {} transactions, {}. ",
        cycle.len(),
        match base {
            "G0" => "write cycle: every edge is a write-write dependency",
            "G1c" => "circular information flow: write-write and write-read dependencies only",
            "G-single" => "read skew: exactly one anti-dependency (rw)",
            "G-nonadjacent" => "anti-dependencies (rw), no two of them adjacent",
            _ => "write skew: anti-dependencies (rw), two of them adjacent",
        }
    );
    if base != kind {
        text.push_str("It holds only given the order the model promises between transactions. ");
    }
    for s in &steps {
        text.push_str(&format!(
            "{} < {} ({}): {}; ",
            s.from,
            s.to,
            s.rel.name(),
            s.why
        ));
    }
    text.push_str("a contradiction: no order of these transactions explains what they saw.");
    (text, txns, steps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elle::graph::{PROCESS, REALTIME};

    /// The kind of the strongest cycle of the one component of `edges` (over vertices
    /// `0..n`), with `order` edges searched after data edges.
    fn kind(n: usize, edges: &[(u32, u32, Rels)], order: Rels) -> Option<String> {
        let graph = Graph::new(n, edges.to_vec());
        let components = scc::components(&graph);
        let set = components.sets.first()?;
        let mut local = vec![NONE; n];
        for (i, &v) in set.iter().enumerate() {
            local[v as usize] = i as u32;
        }
        let passes: &[Rels] = if order == 0 { &[0] } else { &[0, order] };
        let (cycle, gave_up) = strongest(&graph, set, &local, passes, |_| true);
        assert!(!gave_up);
        cycle.map(|c| classify(&c))
    }

    #[test]
    fn the_strongest_class_is_found_even_when_a_weaker_cycle_is_shorter() {
        // G2-item (adjacent rw) is the shortest cycle, 0 → 1 → 0; G-single hides behind it.
        let edges = [(0, 1, RW), (1, 0, RW), (1, 2, WW), (2, 0, WR)];
        assert_eq!(kind(3, &edges, 0).as_deref(), Some("G-single"));
        // A G0 among them wins.
        let mut with_g0 = edges.to_vec();
        with_g0.extend([(2, 1, WW)]);
        assert_eq!(kind(3, &with_g0, 0).as_deref(), Some("G0"));
    }

    #[test]
    fn nonadjacent_rw_edges_are_told_from_adjacent_ones() {
        // rw, ww, rw, wr: two rw edges, never adjacent.
        let edges = [(0, 1, RW), (1, 2, WW), (2, 3, RW), (3, 0, WR)];
        assert_eq!(kind(4, &edges, 0).as_deref(), Some("G-nonadjacent"));
        // rw, rw, wr: adjacent.
        let edges = [(0, 1, RW), (1, 2, RW), (2, 0, WR)];
        assert_eq!(kind(3, &edges, 0).as_deref(), Some("G2-item"));
        // rw, wr, rw, wr but the last rw leads back into the first: adjacent around the cycle.
        let edges = [(0, 1, WR), (1, 2, RW), (2, 0, RW)];
        assert_eq!(kind(3, &edges, 0).as_deref(), Some("G2-item"));
    }

    #[test]
    fn order_edges_are_used_only_when_data_edges_make_no_cycle() {
        let stale = [(0, 1, REALTIME), (1, 0, RW)];
        assert_eq!(kind(2, &stale, 0), None);
        assert_eq!(
            kind(2, &stale, PROCESS | REALTIME).as_deref(),
            Some("G-single-realtime")
        );
        let same_process = [(0, 1, PROCESS | REALTIME), (1, 0, RW)];
        let found = kind(2, &same_process, PROCESS | REALTIME);
        assert_eq!(found.as_deref(), Some("G-single-process"));
        let both = [(0, 1, WW | REALTIME), (1, 0, WW)];
        assert_eq!(kind(2, &both, PROCESS | REALTIME).as_deref(), Some("G0"));
    }
}
