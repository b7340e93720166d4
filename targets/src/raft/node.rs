//! The Raft state machine of one node: roles and elections (§5.2), replication (§5.3), the
//! commit rule (§5.4), pre-vote and check-quorum (thesis §9.6), read index (thesis §6.4).
//!
//! Every input — [`Raft::tick`], [`Raft::step`], [`Raft::propose`], [`Raft::read_index`] —
//! runs to completion: it updates the state and queues messages, and the log records what
//! changed. Nothing leaves before [`Raft::ready`]; the module docs of [`raft`](super) say what the
//! shell does with it.

use std::collections::BTreeMap;
use std::{fmt, mem};

use serde::{Deserialize, Serialize};

use super::config::{Config, StartError};
use super::log::{Entry, Log};
use super::message::{AppendResult, Body, Message};
use super::progress::Progress;
use super::reads::Reads;
use super::ready::{ReadState, Ready};
use super::rng::Rng;
use super::storage::{HardState, Persisted};
use super::{Index, NodeId, Term};

/// At most this many entries per append, so that a follower far behind is caught up in
/// messages of bounded size.
const MAX_APPEND_ENTRIES: usize = 256;

/// What a node currently is (§5.1, plus the pre-vote phase).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    Follower,
    /// Asking for pre-votes, still at its old term.
    PreCandidate,
    Candidate,
    Leader,
}

/// A definite refusal: this node is not the leader, and did nothing. `leader` is the node it
/// last heard from as leader in its current term, if any — a hint for the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotLeader {
    pub leader: Option<NodeId>,
}

impl fmt::Display for NotLeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.leader {
            Some(leader) => write!(f, "not the leader; node {leader} is"),
            None => write!(f, "not the leader; no leader known"),
        }
    }
}

impl std::error::Error for NotLeader {}

/// One Raft node. See the [module docs](super) for how a shell drives it.
#[derive(Debug)]
pub struct Raft {
    id: NodeId,
    /// The other voters.
    peers: Vec<NodeId>,
    /// Votes (or acknowledgements) that make a majority of the voters.
    quorum: usize,
    election_ticks: (u32, u32),
    heartbeat_ticks: u32,
    pre_vote: bool,
    check_quorum: bool,
    rng: Rng,

    // Persistent state (§5.1).
    term: Term,
    vote: Option<NodeId>,
    log: Log,

    // Volatile state.
    role: Role,
    leader: Option<NodeId>,
    /// Ticks since the last election-timer reset. A leader counts its check-quorum period with it.
    election_elapsed: u32,
    /// This round's randomized election timeout.
    election_timeout: u32,
    heartbeat_elapsed: u32,
    /// A (pre-)candidate's answers so far, its own included.
    votes: BTreeMap<NodeId, bool>,
    /// A leader's view of each peer.
    progress: BTreeMap<NodeId, Progress>,
    reads: Reads,
    /// Entries were proposed since the last `ready`: followers get them then.
    append_pending: bool,

    // Output waiting for `ready`.
    persisted_hard_state: HardState,
    messages: Vec<Message>,
    read_states: Vec<ReadState>,
    failed_reads: Vec<u64>,
}

impl Raft {
    /// Starts a node as a follower, from what it persisted before (`Persisted::default()` for a
    /// new node). Fails on an invalid configuration or an inconsistent persisted state.
    pub fn new(config: Config, restored: Persisted) -> Result<Raft, StartError> {
        config.validate()?;
        let log = Log::restore(restored.entries)
            .map_err(|e| StartError(format!("persisted log: {e}")))?;
        let hard_state = restored.hard_state;
        if log.last_term() > hard_state.term {
            return Err(StartError(format!(
                "persisted log holds an entry of term {} but the persisted term is {}",
                log.last_term(),
                hard_state.term
            )));
        }
        let peers: Vec<NodeId> = config
            .voters
            .iter()
            .copied()
            .filter(|&v| v != config.id)
            .collect();
        let mut raft = Raft {
            id: config.id,
            quorum: config.voters.len() / 2 + 1,
            peers,
            election_ticks: config.election_ticks,
            heartbeat_ticks: config.heartbeat_ticks,
            pre_vote: config.pre_vote,
            check_quorum: config.check_quorum,
            // Mixing in the id keeps nodes configured with one seed from timing out in lockstep.
            rng: Rng::new(config.seed ^ config.id.wrapping_mul(0xD1B5_4A32_D192_ED03)),
            term: hard_state.term,
            vote: hard_state.vote,
            log,
            role: Role::Follower,
            leader: None,
            election_elapsed: 0,
            election_timeout: 0,
            heartbeat_elapsed: 0,
            votes: BTreeMap::new(),
            progress: BTreeMap::new(),
            reads: Reads::default(),
            append_pending: false,
            persisted_hard_state: hard_state,
            messages: Vec::new(),
            read_states: Vec::new(),
            failed_reads: Vec::new(),
        };
        raft.reset_election_timer();
        Ok(raft)
    }

    pub fn id(&self) -> NodeId {
        self.id
    }

    pub fn role(&self) -> Role {
        self.role
    }

    /// The leader of the current term, if this node knows it (itself, if it leads).
    pub fn leader(&self) -> Option<NodeId> {
        self.leader
    }

    pub fn term(&self) -> Term {
        self.term
    }

    /// The highest index this node knows to be committed.
    pub fn commit_index(&self) -> Index {
        self.log.committed()
    }

    /// One tick of the logical clock.
    pub fn tick(&mut self) {
        if self.role == Role::Leader {
            self.tick_leader();
        } else {
            self.election_elapsed += 1;
            if self.election_elapsed >= self.election_timeout {
                self.campaign();
            }
        }
    }

    fn tick_leader(&mut self) {
        // Restarting the count each period keeps a leader within its own lease (`in_lease`),
        // check-quorum or not.
        self.election_elapsed += 1;
        if self.election_elapsed >= self.election_ticks.0 {
            self.election_elapsed = 0;
            if self.check_quorum {
                let active = 1 + self.progress.values().filter(|p| p.recent_active).count();
                if active < self.quorum {
                    self.become_follower(self.term, None);
                    return;
                }
                self.progress
                    .values_mut()
                    .for_each(|p| p.recent_active = false);
            }
        }
        self.heartbeat_elapsed += 1;
        if self.heartbeat_elapsed >= self.heartbeat_ticks {
            self.heartbeat_elapsed = 0;
            self.broadcast_heartbeat();
        }
    }

    /// Handles a message from a peer. Messages not addressed to this node or not from a voter
    /// are ignored; stale, duplicated and reordered ones are harmless.
    pub fn step(&mut self, msg: Message) {
        let Message {
            from,
            to,
            term,
            body,
        } = msg;
        if to != self.id || !self.peers.contains(&from) {
            return;
        }
        if term < self.term {
            self.refuse_stale(from, body);
            return;
        }
        if term > self.term {
            if self.in_lease(&body) {
                return;
            }
            match body {
                // A pre-vote is about a term nobody holds yet; a granted one echoes it.
                Body::PreVote { .. } | Body::PreVoteResp { granted: true } => {}
                Body::Append { .. } | Body::Heartbeat { .. } => {
                    self.become_follower(term, Some(from))
                }
                _ => self.become_follower(term, None),
            }
        }
        if let Some(progress) = self.progress.get_mut(&from) {
            progress.recent_active = true;
        }
        match body {
            Body::PreVote {
                last_index,
                last_term,
            } => self.answer_vote(from, term, true, last_index, last_term),
            Body::Vote {
                last_index,
                last_term,
            } => self.answer_vote(from, term, false, last_index, last_term),
            // A rejection carries the voter's term, which is ours; a grant, the term we asked
            // for. Anything else answers an earlier pre-campaign.
            Body::PreVoteResp { granted }
                if self.role == Role::PreCandidate && term == self.term + u64::from(granted) =>
            {
                self.record_vote(from, granted)
            }
            Body::VoteResp { granted } if self.role == Role::Candidate => {
                self.record_vote(from, granted)
            }
            Body::Append {
                prev_index,
                prev_term,
                entries,
                commit,
            } if self.role != Role::Leader => {
                self.follow(from);
                self.handle_append(from, prev_index, prev_term, entries, commit);
            }
            Body::Heartbeat { commit, round } if self.role != Role::Leader => {
                self.follow(from);
                self.log.commit_to(commit);
                self.send(from, Body::HeartbeatResp { round });
            }
            Body::AppendResp(result) if self.role == Role::Leader => {
                self.handle_append_resp(from, result)
            }
            Body::HeartbeatResp { round } if self.role == Role::Leader => {
                self.handle_heartbeat_resp(from, round)
            }
            // An answer meant for a role this node no longer holds.
            _ => {}
        }
    }

    /// A follower's side of AppendEntries (§5.3).
    fn handle_append(
        &mut self,
        from: NodeId,
        prev_index: Index,
        prev_term: Term,
        entries: Vec<Entry>,
        commit: Index,
    ) {
        let result = match self.log.try_append(prev_index, prev_term, entries) {
            Some(index) => {
                // Only what the append proved to match the leader's log may be committed.
                self.log.commit_to(commit.min(index));
                AppendResult::Accepted { index }
            }
            None => self.rejection(prev_index, prev_term),
        };
        self.send(from, Body::AppendResp(result));
    }

    /// Whether to ignore a vote request from a higher term because this node heard from a
    /// leader within the minimum election timeout. Such a request comes from a node that has
    /// not heard from the leader — most likely one that was partitioned away — and granting it
    /// would depose a leader that works (thesis §4.2.3 and §9.6). Check-quorum makes a leader's
    /// lease safe to rely on; pre-votes are only advisory, so pre-vote alone may rely on it too.
    fn in_lease(&self, body: &Body) -> bool {
        let in_lease = self.leader.is_some() && self.election_elapsed < self.election_ticks.0;
        match body {
            Body::PreVote { .. } => in_lease && (self.check_quorum || self.pre_vote),
            Body::Vote { .. } => in_lease && self.check_quorum,
            _ => false,
        }
    }

    /// A request from an older term is refused with our term, from which its sender learns that
    /// it is stale (§5.1). Stale answers need no reply.
    fn refuse_stale(&mut self, from: NodeId, body: Body) {
        let refusal = match body {
            Body::PreVote { .. } => Body::PreVoteResp { granted: false },
            Body::Vote { .. } => Body::VoteResp { granted: false },
            Body::Append {
                prev_index,
                prev_term,
                ..
            } => Body::AppendResp(self.rejection(prev_index, prev_term)),
            // Echoing the round confirms no read: every read of a later term has a later round.
            Body::Heartbeat { round, .. } => Body::HeartbeatResp { round },
            _ => return,
        };
        self.send(from, refusal);
    }

    fn rejection(&self, prev_index: Index, prev_term: Term) -> AppendResult {
        let (hint_index, hint_term) = self.log.conflict_hint(prev_index, prev_term);
        AppendResult::Rejected {
            prev_index,
            hint_index,
            hint_term,
        }
    }

    /// A (pre-)vote request at `term`, which is ours (or, for a pre-vote, above ours).
    fn answer_vote(
        &mut self,
        from: NodeId,
        term: Term,
        pre: bool,
        last_index: Index,
        last_term: Term,
    ) {
        // At most one vote per term (§5.2): again for the same candidate (its request may have
        // been duplicated), or a first one — unless a leader of this term is already known. A
        // pre-vote for a later term binds nothing.
        let free = self.vote == Some(from)
            || (self.vote.is_none() && self.leader.is_none())
            || (pre && term > self.term);
        let granted = free && self.log.is_up_to_date(last_index, last_term);
        if granted && !pre {
            self.vote = Some(from);
            self.election_elapsed = 0;
        }
        let (term, body) = match (pre, granted) {
            (true, true) => (term, Body::PreVoteResp { granted }),
            (true, false) => (self.term, Body::PreVoteResp { granted }),
            (false, _) => (self.term, Body::VoteResp { granted }),
        };
        self.messages.push(Message {
            from: self.id,
            to: from,
            term,
            body,
        });
    }

    fn record_vote(&mut self, from: NodeId, granted: bool) {
        self.votes.entry(from).or_insert(granted);
        let yes = self.votes.values().filter(|&&g| g).count();
        let no = self.votes.len() - yes;
        if yes >= self.quorum {
            match self.role {
                Role::PreCandidate => self.become_candidate(),
                _ => self.become_leader(),
            }
        } else if no > self.peers.len() + 1 - self.quorum {
            self.become_follower(self.term, None);
        }
    }

    fn campaign(&mut self) {
        if self.pre_vote {
            self.become_pre_candidate();
        } else {
            self.become_candidate();
        }
    }

    fn become_follower(&mut self, term: Term, leader: Option<NodeId>) {
        if self.role == Role::Leader {
            let abandoned = self.reads.abandon();
            self.failed_reads.extend(abandoned);
        }
        if term > self.term {
            self.term = term;
            self.vote = None;
        }
        self.role = Role::Follower;
        self.leader = leader;
        self.votes.clear();
        self.progress.clear();
        self.reset_election_timer();
    }

    /// The leader of the current term spoke: follow it and restart the election timer.
    fn follow(&mut self, leader: NodeId) {
        if self.role != Role::Follower {
            self.become_follower(self.term, Some(leader));
        }
        self.leader = Some(leader);
        self.election_elapsed = 0;
    }

    fn become_pre_candidate(&mut self) {
        self.role = Role::PreCandidate;
        self.leader = None;
        self.reset_election_timer();
        self.request_votes();
    }

    fn become_candidate(&mut self) {
        self.term += 1;
        self.vote = Some(self.id);
        self.role = Role::Candidate;
        self.leader = None;
        self.reset_election_timer();
        self.request_votes();
    }

    /// Votes for itself and asks the peers — unless its own vote already decides.
    fn request_votes(&mut self) {
        let role = self.role;
        self.votes.clear();
        self.record_vote(self.id, true);
        if self.role != role {
            return;
        }
        let (last_index, last_term) = (self.log.last_index(), self.log.last_term());
        let (term, body) = match role {
            Role::PreCandidate => (
                self.term + 1,
                Body::PreVote {
                    last_index,
                    last_term,
                },
            ),
            _ => (
                self.term,
                Body::Vote {
                    last_index,
                    last_term,
                },
            ),
        };
        for &to in &self.peers {
            self.messages.push(Message {
                from: self.id,
                to,
                term,
                body: body.clone(),
            });
        }
    }

    fn become_leader(&mut self) {
        self.role = Role::Leader;
        self.leader = Some(self.id);
        self.votes.clear();
        let next = self.log.last_index() + 1;
        self.progress = self
            .peers
            .iter()
            .map(|&p| (p, Progress::new(next)))
            .collect();
        self.election_elapsed = 0;
        self.heartbeat_elapsed = 0;
        // The no-op of §8: committing an entry of its own term commits every earlier one
        // (§5.4.2 forbids counting replicas of those), and read index needs that.
        self.log.append(self.term, Vec::new());
        self.broadcast_append();
        self.maybe_commit();
    }

    fn reset_election_timer(&mut self) {
        let (min, max) = self.election_ticks;
        self.election_elapsed = 0;
        self.heartbeat_elapsed = 0;
        self.election_timeout = min + self.rng.below(u64::from(max - min) + 1) as u32;
    }

    /// Appends a client command to the log and starts replicating it. Returns the `(index,
    /// term)` identifying its entry; see the [module docs](super) for how to learn its fate.
    pub fn propose(&mut self, data: Vec<u8>) -> Result<(Index, Term), NotLeader> {
        if self.role != Role::Leader {
            return Err(NotLeader {
                leader: self.leader,
            });
        }
        let index = self.log.append(self.term, data);
        // The entry goes out with the next `Ready`, in one append per follower with every other
        // entry proposed before then.
        self.append_pending = true;
        self.maybe_commit();
        Ok((index, self.term))
    }

    /// Starts a linearizable read identified by `ctx` (thesis §6.4). Its confirmation comes in a
    /// later [`Ready`] as a [`ReadState`], or its failure in `failed_reads` if this node stops
    /// leading first.
    pub fn read_index(&mut self, ctx: u64) -> Result<(), NotLeader> {
        if self.role != Role::Leader {
            return Err(NotLeader {
                leader: self.leader,
            });
        }
        if self.log.term_at(self.log.committed()) == Some(self.term) {
            // The round's heartbeat goes out with the next `Ready`, shared with any other read
            // that arrives before then.
            self.reads.start(ctx, self.log.committed());
        } else {
            self.reads.defer(ctx);
        }
        Ok(())
    }

    fn send(&mut self, to: NodeId, body: Body) {
        self.messages.push(Message {
            from: self.id,
            to,
            term: self.term,
            body,
        });
    }

    fn broadcast_append(&mut self) {
        for k in 0..self.peers.len() {
            self.send_append(self.peers[k]);
        }
    }

    /// Sends `to` the entries from its `next` on (possibly none: then it is a probe).
    fn send_append(&mut self, to: NodeId) {
        let progress = self
            .progress
            .get_mut(&to)
            .expect("a leader tracks every peer");
        if !progress.can_send() {
            return;
        }
        let prev_index = progress.next - 1;
        let prev_term = self
            .log
            .term_at(prev_index)
            .expect("next is at most one past the last entry");
        let entries = self
            .log
            .entries_from(progress.next, MAX_APPEND_ENTRIES)
            .to_vec();
        progress.sent(prev_index + entries.len() as Index);
        let commit = self.log.committed();
        self.send(
            to,
            Body::Append {
                prev_index,
                prev_term,
                entries,
                commit,
            },
        );
    }

    fn broadcast_heartbeat(&mut self) {
        let round = self.reads.round();
        for (&to, progress) in &self.progress {
            // A follower may commit only what it holds; `matched` is what it is known to hold.
            let commit = self.log.committed().min(progress.matched);
            let body = Body::Heartbeat { commit, round };
            self.messages.push(Message {
                from: self.id,
                to,
                term: self.term,
                body,
            });
        }
    }

    fn handle_append_resp(&mut self, from: NodeId, result: AppendResult) {
        match result {
            AppendResult::Accepted { index } => {
                let progress = self
                    .progress
                    .get_mut(&from)
                    .expect("a leader tracks every peer");
                if !progress.accept(index) {
                    return;
                }
                self.maybe_commit();
                if self.progress[&from].next <= self.log.last_index() {
                    self.send_append(from);
                }
            }
            AppendResult::Rejected {
                prev_index,
                hint_index,
                hint_term,
            } => {
                let (probe_at, _) = self.log.conflict_hint(hint_index, hint_term);
                let progress = self
                    .progress
                    .get_mut(&from)
                    .expect("a leader tracks every peer");
                if progress.reject(prev_index, probe_at) {
                    self.send_append(from);
                }
            }
        }
    }

    fn handle_heartbeat_resp(&mut self, from: NodeId, round: u64) {
        let progress = self
            .progress
            .get_mut(&from)
            .expect("a leader tracks every peer");
        progress.read_round = progress.read_round.max(round);
        progress.resume();
        // Heartbeat answers double as the retransmission timer for lost appends.
        let lagging = progress.matched < self.log.last_index();
        self.confirm_reads();
        if lagging {
            self.send_append(from);
        }
    }

    /// Commits the highest index a majority holds — if it is of this leader's term (§5.4.2):
    /// an entry of an earlier term may sit on a majority and still be overwritten (Figure 8).
    fn maybe_commit(&mut self) {
        let mut matched: Vec<Index> = self.progress.values().map(|p| p.matched).collect();
        // The leader's whole log counts as a replica even if the shell has not persisted it yet:
        // the commit reaches no one — not the state machine, not a follower — before the
        // shell has persisted the `Ready` holding those entries.
        matched.push(self.log.last_index());
        matched.sort_unstable_by(|a, b| b.cmp(a));
        let index = matched[self.quorum - 1];
        if index <= self.log.committed() || self.log.term_at(index) != Some(self.term) {
            return;
        }
        let first_in_term = self.log.term_at(self.log.committed()) != Some(self.term);
        self.log.commit_to(index);
        if first_in_term {
            self.reads.release_deferred(index);
        }
    }

    fn confirm_reads(&mut self) {
        let (progress, quorum) = (&self.progress, self.quorum);
        let quorum_echoed =
            |round| 1 + progress.values().filter(|p| p.read_round >= round).count() >= quorum;
        self.reads.confirm(quorum_echoed, &mut self.read_states);
    }

    /// Takes everything the shell must do since the last call. See the [module docs](super) for
    /// the order in which to do it.
    pub fn ready(&mut self) -> Ready {
        if self.role == Role::Leader && mem::take(&mut self.append_pending) {
            self.broadcast_append();
        }
        if self.role == Role::Leader && self.reads.open_round() {
            self.broadcast_heartbeat();
            self.confirm_reads();
        }
        let hard_state = HardState {
            term: self.term,
            vote: self.vote,
        };
        let changed = hard_state != mem::replace(&mut self.persisted_hard_state, hard_state);
        let (truncate_from, entries) = self.log.take_unpersisted();
        Ready {
            hard_state: changed.then_some(hard_state),
            truncate_from,
            entries,
            messages: mem::take(&mut self.messages),
            committed: self.log.take_committed(),
            read_states: mem::take(&mut self.read_states),
            failed_reads: mem::take(&mut self.failed_reads),
        }
    }
}
