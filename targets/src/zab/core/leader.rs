//! The leader's side of phases 1–3.
//!
//! * **Discovery**: once a quorum (itself included) has connected with FOLLOWERINFO, the leader
//!   picks a new epoch above every accepted epoch it heard of, accepts it itself and sends it
//!   (NEWEPOCH) to every follower. A quorum of ACKEPOCH from followers that had accepted an
//!   older epoch (ACKEPOCH from one that had already accepted this epoch counts for nothing:
//!   it may have acknowledged another leader of it) ends discovery — unless one of them has a
//!   more recent history than the leader's, which then gives up so that a better leader is
//!   elected (ZooKeeper's rule: the leader's own history is the one the ensemble takes).
//! * **Synchronization**: each follower that acknowledged the epoch gets NEWLEADER with what
//!   it lacks of the leader's history (see `History::sync_for`). A quorum of ACKNEWLEADER
//!   establishes the leader: it takes the epoch as its current one, commits its whole history
//!   and tells the followers (UPTODATE).
//! * **Broadcast**: proposals go to every follower that has its NEWLEADER; the leader commits
//!   in zxid order what a quorum logged and sends COMMIT. Followers connecting later go through
//!   the same steps, one at a time.
//!
//! The leader pings its followers every heartbeat; their answers carry their last zxid, which
//! is a cumulative acknowledgement and tells the leader which proposals to send again. A leader
//! that is not established within the longest election timeout, or that does not hear from a
//! quorum within the shortest, gives up and looks for a leader again; so does one that learns
//! that a follower accepted a later epoch than its own.

use std::collections::BTreeMap;

use super::NodeId;
use super::config::Bug;
use super::message::{Link, Packet};
use super::node::{State, Zab};
use super::status::Phase;
use super::zxid::{Epoch, Txn, Zxid};

/// At most this many proposals are sent again to a follower per ping answer, so that catching
/// up a follower takes messages of bounded size.
const MAX_RESEND: usize = 256;

#[derive(Debug)]
pub(crate) struct Leading {
    /// The epoch being established, once a quorum connected.
    epoch: Option<Epoch>,
    phase: Phase,
    learners: BTreeMap<NodeId, Learner>,
    /// The last ping round sent.
    round: u64,
    /// Syncs waiting for a quorum to answer a ping of their round, in round order.
    held: Vec<HeldSync>,
}

/// A sync that arrived when the leader's last proposed zxid was `zxid`: answered once a quorum
/// answered a ping of round `round` or later (see `syncs`).
#[derive(Debug)]
struct HeldSync {
    /// The follower and link that asked; `None` for the leader's own.
    asker: Option<(NodeId, u64)>,
    ctx: u64,
    zxid: Zxid,
    round: u64,
}

/// One follower's link, as the leader sees it.
#[derive(Debug)]
struct Learner {
    link: u64,
    /// The epoch it had accepted when it connected.
    accepted: Epoch,
    stage: Stage,
    /// The last zxid of its history as it last told: in ACKEPOCH, then ACKNEWLEADER, ACK and
    /// ping answers. From ACKNEWLEADER on, its history is this leader's up to there.
    last_zxid: Zxid,
    /// It spoke since the last quorum check.
    heard: bool,
    /// The last ping round it answered.
    round: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// FOLLOWERINFO received.
    Connected,
    /// ACKEPOCH received; NEWLEADER goes out once the leader is past discovery.
    AckedEpoch,
    /// NEWLEADER sent.
    Syncing,
    /// ACKNEWLEADER received; UPTODATE goes out once the leader is established.
    Synced,
    /// UPTODATE sent: in broadcast.
    UpToDate,
}

impl Leading {
    pub(crate) fn phase(&self) -> Phase {
        self.phase
    }
}

impl Learner {
    /// Whether it holds this leader's history and takes its proposals.
    fn has_history(&self) -> bool {
        matches!(self.stage, Stage::Synced | Stage::UpToDate)
    }
}

impl Zab {
    pub(crate) fn become_leading(&mut self) {
        self.state = State::Leading(Leading {
            epoch: None,
            phase: Phase::Discovery,
            learners: BTreeMap::new(),
            round: 0,
            held: Vec::new(),
        });
        // A one-node ensemble is its own quorum.
        self.advance();
    }

    fn leading(&mut self) -> Option<&mut Leading> {
        match &mut self.state {
            State::Leading(l) => Some(l),
            _ => None,
        }
    }

    pub(crate) fn leader_tick(&mut self, beat: bool) {
        let (quorum, elapsed, min, max) = (
            self.quorum,
            self.elapsed,
            self.election_ticks.0,
            self.election_ticks.1,
        );
        let Some(l) = self.leading() else { return };
        if l.phase != Phase::Broadcast && elapsed >= max {
            // ZooKeeper's initLimit: no quorum to establish this leadership with.
            self.look();
            return;
        }
        if l.phase == Phase::Broadcast && elapsed >= min {
            let heard = 1 + l.learners.values().filter(|f| f.heard).count();
            if heard < quorum {
                // Partitioned away from a quorum: stop, so that clients stop using a leader
                // that can commit nothing.
                self.look();
                return;
            }
            l.learners.values_mut().for_each(|f| f.heard = false);
            self.elapsed = 0;
        }
        if beat {
            self.ping();
        }
    }

    fn ping(&mut self) {
        let committed = self.history.committed_zxid();
        let Some(l) = self.leading() else { return };
        let Some(epoch) = l.epoch else { return };
        l.round += 1;
        let round = l.round;
        let links: Vec<(NodeId, u64)> = l.learners.iter().map(|(&id, f)| (id, f.link)).collect();
        for (to, link) in links {
            self.out
                .packet(to, link, epoch, Packet::Ping { committed, round });
        }
    }

    /// Holds a sync from `asker` (`None`: this node) until a quorum confirms this node still
    /// leads. The caller checked that it is an established leader.
    pub(crate) fn hold_sync(&mut self, asker: Option<(NodeId, u64)>, ctx: u64) {
        let zxid = self.history.last_zxid();
        let Some(l) = self.leading() else { return };
        let round = l.round + 1;
        l.held.push(HeldSync {
            asker,
            ctx,
            zxid,
            round,
        });
        // A one-node ensemble confirms at once.
        self.confirm_syncs();
    }

    /// Pings at once if a held sync waits for a round not sent yet, instead of at the next
    /// heartbeat: one ping round serves every sync that arrived since the last.
    pub(crate) fn ping_for_syncs(&mut self) {
        let Some(l) = self.leading() else { return };
        if l.held.last().is_some_and(|h| h.round > l.round) {
            self.ping();
        }
    }

    /// Answers every held sync whose round a quorum answered.
    fn confirm_syncs(&mut self) {
        let quorum = self.quorum;
        let Some(l) = self.leading() else { return };
        let Some(epoch) = l.epoch else { return };
        let learners = &l.learners;
        let confirmed =
            |round| 1 + learners.values().filter(|f| f.round >= round).count() >= quorum;
        let done = l.held.partition_point(|h| confirmed(h.round));
        let answered: Vec<HeldSync> = l.held.drain(..done).collect();
        for h in answered {
            match h.asker {
                None => self.syncs.answered(h.ctx, h.zxid),
                Some((to, link)) => {
                    let reply = Packet::SyncReply {
                        ctx: h.ctx,
                        zxid: h.zxid,
                    };
                    self.out.packet(to, link, epoch, reply);
                }
            }
        }
    }

    pub(crate) fn leader_packet(&mut self, from: NodeId, link: Link) {
        let Link { id, epoch, packet } = link;
        let Some(l) = self.leading() else { return };
        if let Packet::FollowerInfo = packet {
            if l.epoch.is_some_and(|e| epoch > e) {
                // The follower accepted a later epoch (from a leader that never got
                // established): it will refuse this one, now and whenever it reconnects. Give
                // up, so that the ensemble moves to an epoch everyone can accept.
                self.look();
                return;
            }
            let fresh = l.learners.get(&from).is_none_or(|f| f.link != id);
            if fresh {
                let learner = Learner {
                    link: id,
                    accepted: epoch,
                    stage: Stage::Connected,
                    last_zxid: Zxid::ZERO,
                    heard: true,
                    round: 0,
                };
                l.learners.insert(from, learner);
            }
            self.send_new_epoch(from);
            self.advance();
            return;
        }
        let Some(f) = l.learners.get_mut(&from).filter(|f| f.link == id) else {
            return;
        };
        if l.epoch != Some(epoch) {
            return;
        }
        f.heard = true;
        match packet {
            Packet::AckEpoch {
                current_epoch,
                last_zxid,
            } => self.ack_epoch(from, current_epoch, last_zxid),
            Packet::AckNewLeader { last_zxid } => self.ack_new_leader(from, last_zxid),
            Packet::Ack { zxid } => self.ack(from, zxid, false),
            Packet::PingAck { last_zxid, round } => {
                f.round = f.round.max(round);
                self.confirm_syncs();
                self.ack(from, last_zxid, true);
            }
            Packet::Sync { ctx } => self.answer_sync(from, ctx),
            // Packets a leader sends, not receives.
            _ => {}
        }
    }

    /// Sends NEWEPOCH to `to` if the epoch is chosen and `to` has not acknowledged it.
    fn send_new_epoch(&mut self, to: NodeId) {
        let Some(l) = self.leading() else { return };
        let (Some(epoch), Some(f)) = (l.epoch, l.learners.get(&to)) else {
            return;
        };
        if f.stage == Stage::Connected {
            let link = f.link;
            self.out.packet(to, link, epoch, Packet::NewEpoch);
        }
    }

    fn ack_epoch(&mut self, from: NodeId, current_epoch: Epoch, last_zxid: Zxid) {
        let mine = (self.epochs.current, self.history.last_zxid());
        let Some(l) = self.leading() else { return };
        let Some(f) = l.learners.get_mut(&from) else {
            return;
        };
        match f.stage {
            Stage::Connected => {
                if l.phase == Phase::Discovery && (current_epoch, last_zxid) > mine {
                    // A follower has a more recent history: the election chose badly. Let a
                    // new one choose again; this node's vote will lose to that follower's.
                    self.look();
                    return;
                }
                f.stage = Stage::AckedEpoch;
                f.last_zxid = last_zxid;
                if l.phase != Phase::Discovery {
                    self.send_new_leader(from);
                }
                self.advance();
            }
            // A duplicate: NEWLEADER was lost, or is slow.
            Stage::Syncing => self.send_new_leader(from),
            _ => {}
        }
    }

    /// Sends NEWLEADER to `to`, computed from the last zxid it reported.
    fn send_new_leader(&mut self, to: NodeId) {
        let Some(l) = self.leading() else { return };
        let (Some(epoch), Some(f)) = (l.epoch, l.learners.get_mut(&to)) else {
            return;
        };
        f.stage = Stage::Syncing;
        let (link, last) = (f.link, f.last_zxid);
        let sync = self.history.sync_for(last);
        self.out.packet(to, link, epoch, Packet::NewLeader(sync));
    }

    fn ack_new_leader(&mut self, from: NodeId, last_zxid: Zxid) {
        let Some(l) = self.leading() else { return };
        let Some(f) = l.learners.get_mut(&from) else {
            return;
        };
        match f.stage {
            Stage::Syncing => {
                f.stage = Stage::Synced;
                f.last_zxid = last_zxid;
                if l.phase == Phase::Broadcast {
                    self.send_up_to_date(from);
                }
                self.advance();
                self.maybe_commit();
            }
            // A duplicate: UPTODATE was lost, or is slow.
            Stage::UpToDate => self.send_up_to_date(from),
            _ => {}
        }
    }

    /// Declares `to` up to date, and sends it the proposals made since its NEWLEADER.
    fn send_up_to_date(&mut self, to: NodeId) {
        let committed = self.history.committed_zxid();
        let Some(l) = self.leading() else { return };
        let (Some(epoch), Some(f)) = (l.epoch, l.learners.get_mut(&to)) else {
            return;
        };
        f.stage = Stage::UpToDate;
        let (link, last) = (f.link, f.last_zxid);
        self.out
            .packet(to, link, epoch, Packet::UpToDate { committed });
        self.resend(to, link, epoch, last);
    }

    /// Sends `to` the proposals after `after` again, and the commit point if they reach
    /// committed ones: their COMMITs went out before the follower had them.
    fn resend(&mut self, to: NodeId, link: u64, epoch: Epoch, after: Zxid) {
        for txn in self.history.after(after, MAX_RESEND) {
            self.out
                .packet(to, link, epoch, Packet::Propose(txn.clone()));
        }
        let zxid = self.history.committed_zxid();
        if zxid > after {
            self.out.packet(to, link, epoch, Packet::Commit { zxid });
        }
    }

    /// Moves through discovery and synchronization as far as the quorums allow.
    fn advance(&mut self) {
        let (quorum, accepted, bug) = (self.quorum, self.epochs.accepted, self.bug);
        let Some(l) = self.leading() else { return };
        if l.epoch.is_none() && 1 + l.learners.len() >= quorum {
            let highest = l.learners.values().map(|f| f.accepted).max();
            let epoch = highest.unwrap_or(0).max(accepted).saturating_add(1);
            l.epoch = Some(epoch);
            self.epochs.accepted = epoch;
            let connected: Vec<NodeId> = self
                .leading()
                .map_or(vec![], |l| l.learners.keys().copied().collect());
            for to in connected {
                self.send_new_epoch(to);
            }
        }
        let Some(l) = self.leading() else { return };
        let Some(epoch) = l.epoch else { return };
        let acked = l
            .learners
            .values()
            .filter(|f| f.stage != Stage::Connected && f.accepted < epoch)
            .count();
        if l.phase == Phase::Discovery && 1 + acked >= quorum {
            l.phase = Phase::Synchronization;
            let waiting: Vec<NodeId> = l
                .learners
                .iter()
                .filter(|(_, f)| f.stage == Stage::AckedEpoch)
                .map(|(&id, _)| id)
                .collect();
            for to in waiting {
                self.send_new_leader(to);
            }
            if bug == Bug::BroadcastBeforeSync {
                self.establish();
                return;
            }
        }
        let Some(l) = self.leading() else { return };
        let synced = l.learners.values().filter(|f| f.has_history()).count();
        if l.phase == Phase::Synchronization && 1 + synced >= quorum {
            self.establish();
        }
    }

    /// A quorum holds this leader's history: it is committed, and the leader may broadcast.
    fn establish(&mut self) {
        let Some(l) = self.leading() else { return };
        let Some(epoch) = l.epoch else { return };
        l.phase = Phase::Broadcast;
        let synced: Vec<NodeId> = l
            .learners
            .iter()
            .filter(|(_, f)| f.stage == Stage::Synced)
            .map(|(&id, _)| id)
            .collect();
        self.epochs.current = epoch;
        self.history.commit_through(self.history.last_zxid());
        self.elapsed = 0;
        for to in synced {
            self.send_up_to_date(to);
        }
    }

    /// A follower logged everything up to `zxid`. Ping answers also trigger sending again the
    /// proposals it lacks.
    fn ack(&mut self, from: NodeId, zxid: Zxid, ping: bool) {
        let last = self.history.last_zxid();
        let Some(l) = self.leading() else { return };
        let Some(epoch) = l.epoch else { return };
        let Some(f) = l.learners.get_mut(&from) else {
            return;
        };
        if !f.has_history() {
            return;
        }
        f.last_zxid = f.last_zxid.max(zxid);
        let (link, behind) = (f.link, f.last_zxid < last);
        if ping && behind && f.stage == Stage::UpToDate {
            let after = f.last_zxid;
            self.resend(from, link, epoch, after);
        }
        self.maybe_commit();
    }

    /// Commits up to the highest zxid a quorum logged, and tells the followers in broadcast.
    fn maybe_commit(&mut self) {
        let (quorum, last, committed) = (
            self.quorum,
            self.history.last_zxid(),
            self.history.committed_zxid(),
        );
        let Some(l) = self.leading() else { return };
        let Some(epoch) = l.epoch else { return };
        if l.phase != Phase::Broadcast {
            return;
        }
        // The leader's own history counts as logged even before the shell persists it: the
        // commit reaches nobody — no follower, no delivery — before the shell has persisted
        // the `Ready` that holds it.
        let mut logged: Vec<Zxid> = l
            .learners
            .values()
            .filter(|f| f.has_history())
            .map(|f| f.last_zxid)
            .collect();
        logged.push(last);
        logged.sort_unstable_by(|a, b| b.cmp(a));
        let Some(&zxid) = logged.get(quorum - 1) else {
            return;
        };
        if zxid <= committed {
            return;
        }
        let active: Vec<(NodeId, u64)> = l
            .learners
            .iter()
            .filter(|(_, f)| f.stage == Stage::UpToDate)
            .map(|(&id, f)| (id, f.link))
            .collect();
        self.history.commit_through(zxid);
        for (to, link) in active {
            self.out.packet(to, link, epoch, Packet::Commit { zxid });
        }
    }

    fn answer_sync(&mut self, from: NodeId, ctx: u64) {
        let Some(l) = self.leading() else { return };
        let Some(f) = l.learners.get(&from) else {
            return;
        };
        if l.phase == Phase::Broadcast && f.stage == Stage::UpToDate {
            let link = f.link;
            self.hold_sync(Some((from, link)), ctx);
        }
    }

    /// Assigns the next zxid of this epoch to `payload` and sends the proposal to every
    /// follower that has this leader's history or is being sent it. The caller checked that
    /// this node is an established leader.
    pub(crate) fn leader_propose(&mut self, payload: Vec<u8>) -> Zxid {
        let epoch = self.epochs.current;
        let zxid = self.history.last_zxid().next_in(epoch);
        let txn = Txn { zxid, payload };
        self.history.append(txn.clone());
        let Some(l) = self.leading() else { return zxid };
        let followers: Vec<(NodeId, u64)> = l
            .learners
            .iter()
            .filter(|(_, f)| matches!(f.stage, Stage::Syncing | Stage::Synced | Stage::UpToDate))
            .map(|(&id, f)| (id, f.link))
            .collect();
        for (to, link) in followers {
            self.out
                .packet(to, link, epoch, Packet::Propose(txn.clone()));
        }
        self.maybe_commit();
        zxid
    }
}
