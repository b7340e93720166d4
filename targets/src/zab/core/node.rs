//! The ZAB state machine of one node: which role it plays, and the inputs every role shares —
//! [`Zab::tick`], [`Zab::step`], [`Zab::propose`], [`Zab::sync`], [`Zab::ready`]. The election
//! is in `election`, the leader's side of phases 1–3 in `leader`, the follower's in `follower`.
//!
//! Every input runs to completion: it updates the state and queues output. Nothing leaves
//! before [`Zab::ready`]; the module docs of [`core`](super) say what the shell does with it.

use std::{fmt, mem};

use super::NodeId;
use super::config::{Bug, Config, StartError};
use super::election::Election;
use super::follower::Following;
use super::history::History;
use super::leader::Leading;
use super::message::{Body, Link, Message, Notification, Packet, Vote};
use super::ready::Ready;
use super::status::{Phase, Role, Status};
use super::storage::{Epochs, Persisted};
use super::syncs::Syncs;
use super::zxid::{Epoch, Zxid};
use crate::raft::rng::Rng;

/// A definite refusal: this node cannot take the request now (it is not an established leader,
/// or, for a sync, not connected to one), and did nothing. `leader` is the leader it knows of,
/// if any — a hint for the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotLeader {
    pub leader: Option<NodeId>,
}

impl fmt::Display for NotLeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.leader {
            Some(leader) => write!(f, "not an established leader; node {leader} leads"),
            None => write!(f, "not an established leader; no leader known"),
        }
    }
}

impl std::error::Error for NotLeader {}

/// The role a node plays, with the state that only that role has.
#[derive(Debug)]
pub(crate) enum State {
    Looking(Election),
    Following(Following),
    Leading(Leading),
}

/// Messages waiting for `ready`, stamped with this node's id.
#[derive(Debug)]
pub(crate) struct Outbox {
    id: NodeId,
    messages: Vec<Message>,
}

impl Outbox {
    pub(crate) fn send(&mut self, to: NodeId, body: Body) {
        self.messages.push(Message {
            from: self.id,
            to,
            body,
        });
    }

    pub(crate) fn packet(&mut self, to: NodeId, id: u64, epoch: Epoch, packet: Packet) {
        self.send(to, Body::Link(Link { id, epoch, packet }));
    }
}

/// One ZAB node. See the [module docs](super) for how a shell drives it.
#[derive(Debug)]
pub struct Zab {
    pub(crate) id: NodeId,
    /// The other voters.
    pub(crate) peers: Vec<NodeId>,
    /// Acknowledgements (or votes) that make a majority of the voters.
    pub(crate) quorum: usize,
    pub(crate) election_ticks: (u32, u32),
    heartbeat_ticks: u32,
    pub(crate) bug: Bug,
    pub(crate) rng: Rng,

    // Persistent state.
    pub(crate) epochs: Epochs,
    pub(crate) history: History,

    // Volatile state.
    pub(crate) state: State,
    /// The last election round this node started or joined.
    round: u64,
    /// Ticks since the role's timer was reset: by an election's start, a packet from the
    /// leader, a leader's start or its last quorum check.
    pub(crate) elapsed: u32,
    /// The silence this role tolerates now, drawn from `election_ticks`.
    pub(crate) timeout: u32,
    heartbeat_elapsed: u32,
    pub(crate) syncs: Syncs,

    // Output waiting for `ready`.
    persisted_epochs: Epochs,
    pub(crate) out: Outbox,
    synced: Vec<(u64, Zxid)>,
    pub(crate) failed_syncs: Vec<u64>,
}

impl Zab {
    /// Starts a node from what it persisted before (`Persisted::default()` for a new node). It
    /// starts looking for a leader at once: its first notifications are in the first `ready`.
    /// Fails on an invalid configuration or an inconsistent persisted state.
    pub fn new(config: Config, restored: Persisted) -> Result<Zab, StartError> {
        config.validate()?;
        let history = History::restore(restored.history)
            .map_err(|e| StartError(format!("persisted history: {e}")))?;
        let epochs = restored.epochs;
        if epochs.current > epochs.accepted || history.last_zxid().epoch > epochs.accepted {
            return Err(StartError(format!(
                "persisted epochs {epochs:?} are behind the history's last zxid {}",
                history.last_zxid()
            )));
        }
        let peers: Vec<NodeId> = config
            .voters
            .iter()
            .copied()
            .filter(|&v| v != config.id)
            .collect();
        let quorum = config.voters.len() / 2 + 1;
        let mut zab = Zab {
            id: config.id,
            peers,
            quorum,
            election_ticks: config.election_ticks,
            heartbeat_ticks: config.heartbeat_ticks,
            bug: config.bug,
            // Mixing in the id keeps nodes configured with one seed from drawing alike.
            rng: Rng::new(config.seed ^ config.id.wrapping_mul(0xD1B5_4A32_D192_ED03)),
            epochs,
            history,
            state: State::Looking(Election::start(config.voters.len(), 0, Vote::default())),
            round: 0,
            elapsed: 0,
            timeout: 0,
            heartbeat_elapsed: 0,
            syncs: Syncs::default(),
            persisted_epochs: epochs,
            out: Outbox {
                id: config.id,
                messages: Vec::new(),
            },
            synced: Vec::new(),
            failed_syncs: Vec::new(),
        };
        zab.look();
        Ok(zab)
    }

    pub fn id(&self) -> NodeId {
        self.id
    }

    pub fn role(&self) -> Role {
        match self.state {
            State::Looking(_) => Role::Looking,
            State::Following(_) => Role::Following,
            State::Leading(_) => Role::Leading,
        }
    }

    /// The leader this node follows or is, if it knows one.
    pub fn leader(&self) -> Option<NodeId> {
        match &self.state {
            State::Looking(_) => None,
            State::Following(f) => Some(f.leader),
            State::Leading(_) => Some(self.id),
        }
    }

    /// Where this node stands, for a health endpoint.
    pub fn status(&self) -> Status {
        let phase = match &self.state {
            State::Looking(_) => Phase::Election,
            State::Following(f) => f.phase(),
            State::Leading(l) => l.phase(),
        };
        Status {
            id: self.id,
            role: self.role(),
            phase,
            leader: self.leader(),
            accepted_epoch: self.epochs.accepted,
            current_epoch: self.epochs.current,
            last_zxid: self.history.last_zxid(),
            committed: self.history.committed_zxid(),
        }
    }

    /// This node's own candidacy: its history's epoch and last zxid.
    fn own_vote(&self) -> Vote {
        Vote {
            epoch: self.epochs.current,
            zxid: self.history.last_zxid(),
            leader: self.id,
        }
    }

    /// Draws a new timeout and restarts the role's timer.
    pub(crate) fn reset_timer(&mut self) {
        let (min, max) = self.election_ticks;
        self.elapsed = 0;
        self.heartbeat_elapsed = 0;
        self.timeout = min + self.rng.below(u64::from(max - min) + 1) as u32;
    }

    /// Starts a new election round: from a node's start, or when it gives up on its leader,
    /// its followers, or the previous round. Every sync in progress fails.
    pub(crate) fn look(&mut self) {
        self.syncs.abandon(&mut self.failed_syncs);
        self.round += 1;
        let election = Election::start(self.peers.len() + 1, self.round, self.own_vote());
        let decided = election.decided();
        self.state = State::Looking(election);
        self.reset_timer();
        match decided {
            Some(leader) => self.decide(leader),
            None => self.broadcast_notification(),
        }
    }

    fn broadcast_notification(&mut self) {
        let State::Looking(election) = &self.state else {
            return;
        };
        let n = election.notification();
        for &to in &self.peers {
            self.out.send(to, Body::Notification(n));
        }
    }

    /// The election is over: lead, or follow `leader`.
    fn decide(&mut self, leader: NodeId) {
        self.reset_timer();
        if leader == self.id {
            self.become_leading();
        } else {
            self.become_following(leader);
        }
    }

    /// One tick of the logical clock.
    pub fn tick(&mut self) {
        self.elapsed += 1;
        self.heartbeat_elapsed += 1;
        let beat = self.heartbeat_elapsed >= self.heartbeat_ticks;
        if beat {
            self.heartbeat_elapsed = 0;
        }
        match &self.state {
            State::Looking(election) if election.ripe().is_some() => {
                if let Some(leader) = election.ripe() {
                    self.decide(leader);
                }
            }
            State::Looking(_) if self.elapsed >= self.timeout => self.look(),
            State::Looking(_) if beat => self.broadcast_notification(),
            State::Looking(_) => {}
            State::Following(_) if self.elapsed >= self.timeout => self.look(),
            State::Following(_) if beat => self.follower_heartbeat(),
            State::Following(_) => {}
            State::Leading(_) => self.leader_tick(beat),
        }
    }

    /// Handles a message from a peer. Messages not addressed to this node, not from a voter, or
    /// meant for a role or link this node no longer has are ignored; stale, duplicated and
    /// reordered ones are harmless.
    pub fn step(&mut self, msg: Message) {
        let Message { from, to, body } = msg;
        if to != self.id || !self.peers.contains(&from) {
            return;
        }
        match body {
            Body::Notification(n) => self.notification(from, n),
            Body::Link(link) => match self.state {
                State::Looking(_) => {}
                State::Following(_) => self.follower_packet(from, link),
                State::Leading(_) => self.leader_packet(from, link),
            },
        }
    }

    fn notification(&mut self, from: NodeId, n: Notification) {
        let own = self.own_vote();
        let State::Looking(election) = &mut self.state else {
            // A looking node learns whom this node follows or leads, and may join.
            if n.state == Role::Looking {
                let vote = Vote {
                    leader: self.leader().unwrap_or(self.id),
                    ..own
                };
                let answer = Notification {
                    vote,
                    round: self.round,
                    state: self.role(),
                };
                self.out.send(from, Body::Notification(answer));
            }
            return;
        };
        let outcome = election.receive(from, n, own);
        self.round = election.round();
        let answer = election.notification();
        if outcome.answer {
            self.out.send(from, Body::Notification(answer));
        }
        if let Some(leader) = outcome.decided {
            self.decide(leader);
        } else if outcome.broadcast {
            self.broadcast_notification();
        }
    }

    /// Broadcasts `payload` as a new transaction. Only an established leader can; it returns
    /// the zxid the transaction took. See the [module docs](super) for how to learn its fate.
    pub fn propose(&mut self, payload: Vec<u8>) -> Result<Zxid, NotLeader> {
        let refusal = NotLeader {
            leader: self.leader(),
        };
        match &self.state {
            State::Leading(l) if l.phase() == Phase::Broadcast => Ok(self.leader_propose(payload)),
            _ => Err(refusal),
        }
    }

    /// The zxid the next [`Zab::propose`] will give its transaction, or the refusal it will
    /// meet: for a shell whose payloads name their own zxid (the `zab` target's transactions
    /// are prepared against it) and must know it before proposing.
    pub fn next_zxid(&self) -> Result<Zxid, NotLeader> {
        match &self.state {
            State::Leading(l) if l.phase() == Phase::Broadcast => {
                Ok(self.history.last_zxid().next_in(self.epochs.current))
            }
            _ => Err(NotLeader {
                leader: self.leader(),
            }),
        }
    }

    /// Starts a sync identified by `ctx` (see the [module docs](super)). Refused at once, as a
    /// definite failure, unless this node is an established leader or a follower in broadcast.
    pub fn sync(&mut self, ctx: u64) -> Result<(), NotLeader> {
        let refusal = NotLeader {
            leader: self.leader(),
        };
        match &self.state {
            State::Leading(l) if l.phase() == Phase::Broadcast => {
                // A leader asks itself: it answers once a quorum confirms it still leads.
                self.syncs.ask(ctx);
                self.hold_sync(None, ctx);
                Ok(())
            }
            State::Following(f) if f.phase() == Phase::Broadcast => {
                self.syncs.ask(ctx);
                let (leader, link, epoch) = (f.leader, f.link, f.epoch);
                self.out.packet(leader, link, epoch, Packet::Sync { ctx });
                Ok(())
            }
            _ => Err(refusal),
        }
    }

    /// Takes everything the shell must do since the last call. See the [module docs](super) for
    /// the order in which to do it.
    pub fn ready(&mut self) -> Ready {
        self.ping_for_syncs();
        let (truncate_after, append) = self.history.take_unpersisted();
        let changed = self.epochs != mem::replace(&mut self.persisted_epochs, self.epochs);
        let committed = self.history.take_committed();
        self.syncs
            .release(self.history.committed_zxid(), &mut self.synced);
        Ready {
            truncate_after,
            append,
            epochs: changed.then_some(self.epochs),
            messages: mem::take(&mut self.out.messages),
            committed,
            synced: mem::take(&mut self.synced),
            failed_syncs: mem::take(&mut self.failed_syncs),
        }
    }
}
