//! Phase 0, fast leader election (ZooKeeper's `FastLeaderElection`), as a tally: notifications
//! in, a decision out. The node around it sends the notifications.
//!
//! A looking node votes for itself, then for the best vote it hears in its round (votes compare
//! by epoch, last zxid, id: see [`Vote`]), and tells everyone each time its vote changes. It
//! decides when every voter's vote in the round names its candidate — or, at its next tick,
//! when a quorum's still does (ZooKeeper's `finalizeWait`: deciding on the first quorum would
//! often follow a candidate that a better vote still on its way is about to replace). A node that
//! hears of a later round joins it; one that hears of an earlier round answers with its own
//! notification, so that the sender catches up. Nodes that already follow or lead answer a
//! looking node with their leader; a latecomer joins a leader that says it leads once, with
//! itself, a quorum stands behind it — at its next tick too, so that a node turned away by a
//! leader cannot bounce back to it without time passing.
//!
//! An election decides who tries to lead, nothing more: the discovery phase makes sure a leader
//! only proceeds with a quorum, and with a history at least as recent as any in that quorum.

use std::collections::BTreeMap;

use super::NodeId;
use super::message::{Notification, Vote};
use super::status::Role;

#[derive(Debug)]
pub(crate) struct Election {
    id: NodeId,
    voters: usize,
    quorum: usize,
    round: u64,
    vote: Vote,
    /// The votes of this round, this node's included.
    received: BTreeMap<NodeId, Vote>,
    /// The leaders nodes out of the election follow or are.
    settled: BTreeMap<NodeId, (NodeId, Role)>,
    /// A leader to join at the next tick.
    join: Option<NodeId>,
}

/// What a notification asks of the node.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Outcome {
    /// This node's vote changed: tell every peer.
    pub(crate) broadcast: bool,
    /// The sender is behind: answer it with this node's notification.
    pub(crate) answer: bool,
    /// The election is over: follow (or become) this leader.
    pub(crate) decided: Option<NodeId>,
}

impl Election {
    /// Starts round `round` voting for `own`, this node's own candidacy.
    pub(crate) fn start(voters: usize, round: u64, own: Vote) -> Election {
        let mut election = Election {
            id: own.leader,
            voters,
            quorum: voters / 2 + 1,
            round,
            vote: own,
            received: BTreeMap::new(),
            settled: BTreeMap::new(),
            join: None,
        };
        election.received.insert(own.leader, own);
        election
    }

    pub(crate) fn round(&self) -> u64 {
        self.round
    }

    /// This node's notification, to send.
    pub(crate) fn notification(&self) -> Notification {
        Notification {
            vote: self.vote,
            round: self.round,
            state: Role::Looking,
        }
    }

    /// The leader every voter's vote names, if they all agree (and have all been heard).
    pub(crate) fn decided(&self) -> Option<NodeId> {
        (self.agreeing() == self.voters).then_some(self.vote.leader)
    }

    /// What the node decides at its next tick: the leader a quorum's votes name, if they do,
    /// or else an established leader to join.
    pub(crate) fn ripe(&self) -> Option<NodeId> {
        (self.agreeing() >= self.quorum)
            .then_some(self.vote.leader)
            .or(self.join)
    }

    fn agreeing(&self) -> usize {
        self.received.values().filter(|&&v| v == self.vote).count()
    }

    /// Tallies a notification from `from`. `own` is this node's candidacy now.
    pub(crate) fn receive(&mut self, from: NodeId, n: Notification, own: Vote) -> Outcome {
        let mut outcome = Outcome::default();
        if n.state != Role::Looking {
            self.receive_settled(from, n);
            return outcome;
        }
        if n.round < self.round {
            outcome.answer = true;
            return outcome;
        }
        if n.round > self.round {
            self.round = n.round;
            self.received.clear();
            self.vote = own.max(n.vote);
            outcome.broadcast = true;
        } else if n.vote > self.vote {
            self.vote = n.vote;
            outcome.broadcast = true;
        }
        self.received.insert(from, n.vote);
        self.received.insert(self.id, self.vote);
        outcome.decided = self.decided();
        outcome
    }

    /// A node that follows or leads told us whom.
    fn receive_settled(&mut self, from: NodeId, n: Notification) {
        let leader = n.vote.leader;
        self.settled.insert(from, (leader, n.state));
        let leads = self.settled.get(&leader) == Some(&(leader, Role::Leading));
        let behind = self.settled.values().filter(|(l, _)| *l == leader).count();
        if leads && leader != self.id && behind + 1 >= self.quorum {
            self.join = Some(leader);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Election, Outcome};
    use crate::zab::core::message::{Notification, Vote};
    use crate::zab::core::status::Role;
    use crate::zab::core::zxid::Zxid;

    fn vote(leader: u64, epoch: u64, zxid: (u64, u64)) -> Vote {
        Vote {
            epoch,
            zxid: Zxid::new(zxid.0, zxid.1),
            leader,
        }
    }

    fn looking(vote: Vote, round: u64) -> Notification {
        Notification {
            vote,
            round,
            state: Role::Looking,
        }
    }

    #[test]
    fn votes_compare_by_epoch_then_zxid_then_id() {
        assert!(vote(1, 2, (1, 1)) > vote(3, 1, (1, 9)));
        assert!(vote(1, 1, (1, 2)) > vote(3, 1, (1, 1)));
        assert!(vote(3, 1, (1, 1)) > vote(1, 1, (1, 1)));
    }

    #[test]
    fn a_node_adopts_a_better_vote_and_decides_on_a_quorum() {
        let own = vote(1, 0, (0, 0));
        let mut e = Election::start(3, 1, own);
        assert_eq!(e.decided(), None);
        let best = vote(3, 0, (0, 0));
        let outcome = e.receive(3, looking(best, 1), own);
        // A quorum agrees, but node 2 may have a better vote: wait for it until the next tick.
        assert_eq!(
            outcome,
            Outcome {
                broadcast: true,
                answer: false,
                decided: None
            }
        );
        assert_eq!(e.ripe(), Some(3));
        let outcome = e.receive(2, looking(best, 1), own);
        assert_eq!(outcome.decided, Some(3));
    }

    #[test]
    fn rounds_order_elections() {
        let own = vote(1, 0, (0, 0));
        let mut e = Election::start(5, 2, own);
        // An earlier round is answered, not counted.
        let old = e.receive(2, looking(vote(2, 0, (0, 0)), 1), own);
        assert!(old.answer && old.decided.is_none());
        // A later round restarts the tally.
        let new = e.receive(2, looking(vote(2, 0, (0, 0)), 5), own);
        assert!(new.broadcast);
        assert_eq!(e.round(), 5);
    }

    #[test]
    fn a_latecomer_joins_an_established_leader() {
        let own = vote(1, 0, (0, 0));
        let mut e = Election::start(5, 1, own);
        let follower = Notification {
            vote: vote(5, 1, (1, 3)),
            round: 1,
            state: Role::Following,
        };
        e.receive(4, follower, own);
        assert_eq!(e.ripe(), None);
        let leader = Notification {
            state: Role::Leading,
            ..follower
        };
        e.receive(5, leader, own);
        assert_eq!(e.ripe(), Some(5));
    }
}
