//! Raft's safety properties (Figure 3), checked by the test cluster after every event, on
//! what the nodes persisted and applied and on what they report of themselves:
//!
//! * election safety (§5.2): at most one leader per term;
//! * leader append-only (§5.3): checked where `Ready`s are handled — a leader never truncates;
//! * log matching (§5.3): two logs with an entry of the same index and term are identical up to
//!   it;
//! * leader completeness (§5.4): an entry committed by the leader of a term is in the log of
//!   every leader of a later term;
//! * state machine safety (§5.4.3): no two nodes apply different entries at one index.
//!
//! "Committed" is what leaders declare: a leader's commit index after each of its events. The
//! checker keeps the one committed log those declarations must all agree on.

use std::collections::BTreeMap;

use super::network::Node;
use crate::raft::{Entry, Index, NodeId, Role, Term};

#[derive(Default)]
pub(super) struct Invariants {
    /// Who led each term.
    leaders: BTreeMap<Term, NodeId>,
    /// The highest commit index the leader of each term reached.
    commits: BTreeMap<Term, Index>,
    /// The committed prefix of the log, as leaders declared it.
    committed: Vec<Entry>,
}

impl Invariants {
    pub(super) fn committed(&self) -> &[Entry] {
        &self.committed
    }

    pub(super) fn leaders(&self) -> &BTreeMap<Term, NodeId> {
        &self.leaders
    }

    /// Checks the cluster after node `changed` handled an event. It applied its entries from
    /// `applied_from` on; `log_changed` tells whether its log or commit index moved.
    pub(super) fn check(
        &mut self,
        nodes: &BTreeMap<NodeId, Node>,
        changed: NodeId,
        applied_from: usize,
        log_changed: bool,
    ) {
        let node = &nodes[&changed];
        if let Some(raft) = node.raft().filter(|r| r.role() == Role::Leader) {
            let term = raft.term();
            let first = *self.leaders.entry(term).or_insert(changed);
            assert_eq!(
                first, changed,
                "§5.2 election safety: nodes {first} and {changed} both lead term {term}"
            );
            if log_changed {
                self.declare_committed(changed, term, &node.disk.entries, raft.commit_index());
            }
        }
        if !log_changed {
            return;
        }
        self.check_leader_completeness(nodes);
        if let Some(raft) = node.raft() {
            let commit = raft.commit_index() as usize;
            assert!(
                commit <= self.committed.len()
                    && node.disk.entries[..commit] == self.committed[..commit],
                "node {changed} holds as committed up to {commit} entries no leader committed"
            );
        }
        for entry in &node.applied[applied_from..] {
            assert_eq!(
                Some(entry),
                self.committed.get(entry.index as usize - 1),
                "§5.4.3 state machine safety: node {changed} applied a different entry at {}",
                entry.index
            );
        }
        for (&other, other_node) in nodes {
            if other != changed {
                check_log_matching(changed, &node.disk.entries, other, &other_node.disk.entries);
            }
        }
    }

    /// The leader of `term` holds `log` committed up to `commit`.
    fn declare_committed(&mut self, leader: NodeId, term: Term, log: &[Entry], commit: Index) {
        let commit = commit as usize;
        let known = commit.min(self.committed.len());
        assert!(
            log[..known] == self.committed[..known],
            "§5.4.3 state machine safety: leader {leader} of term {term} committed entries that differ from earlier commits"
        );
        if commit > known {
            self.committed.extend_from_slice(&log[known..commit]);
        }
        let reached = self.commits.entry(term).or_default();
        *reached = (*reached).max(commit as Index);
    }

    fn check_leader_completeness(&self, nodes: &BTreeMap<NodeId, Node>) {
        for (&id, node) in nodes {
            let Some(raft) = node.raft().filter(|r| r.role() == Role::Leader) else {
                continue;
            };
            let earlier = self
                .commits
                .range(..raft.term())
                .map(|(_, &c)| c as usize)
                .max()
                .unwrap_or(0);
            let log = &node.disk.entries;
            assert!(
                log.len() >= earlier && log[..earlier] == self.committed[..earlier],
                "§5.4 leader completeness: leader {id} of term {} lacks entries committed in earlier terms",
                raft.term()
            );
        }
    }
}

/// §5.3 log matching: if two logs hold an entry with the same index and term, they are identical
/// up to it. Checking the highest such index covers every lower one.
fn check_log_matching(a: NodeId, log_a: &[Entry], b: NodeId, log_b: &[Entry]) {
    let common = log_a.len().min(log_b.len());
    if let Some(k) = (0..common).rev().find(|&k| log_a[k].term == log_b[k].term) {
        assert!(
            log_a[..=k] == log_b[..=k],
            "§5.3 log matching: nodes {a} and {b} agree on the term at {} but not on the entries up to it",
            k + 1
        );
    }
}
