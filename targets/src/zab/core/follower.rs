//! The follower's side of phases 1–3.
//!
//! Having elected a leader, a follower draws a new link id and connects (FOLLOWERINFO, with
//! the epoch it accepted). It acknowledges the leader's new epoch only if it is not older than
//! the one it accepted (ACKEPOCH, with its current epoch and last zxid: how recent its history
//! is); takes the leader's history from NEWLEADER and the epoch as its current one
//! (ACKNEWLEADER); and once the leader is established (UPTODATE) delivers what is committed and
//! serves. From NEWLEADER on it logs proposals, strictly in zxid order, and acknowledges them.
//! A proposal that does not follow its last zxid (a duplicate, or one whose predecessor was
//! lost or overtaken) is dropped: the leader sends it again when the next ping answer shows the
//! gap.
//!
//! Until it is in broadcast, the follower repeats its last handshake packet every heartbeat;
//! in broadcast, the syncs it forwarded and has no answer for.
//! Hearing nothing from its leader for an election timeout, it looks for a leader again.

use super::NodeId;
use super::config::Bug;
use super::message::{Link, Packet};
use super::node::{State, Zab};
use super::status::Phase;
use super::zxid::Epoch;

#[derive(Debug)]
pub(crate) struct Following {
    pub(crate) leader: NodeId,
    pub(crate) link: u64,
    /// The leader's epoch once NEWEPOCH came; before, the accepted epoch sent in FOLLOWERINFO.
    pub(crate) epoch: Epoch,
    stage: Stage,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// FOLLOWERINFO sent.
    Connecting,
    /// ACKEPOCH sent.
    AckedEpoch,
    /// ACKNEWLEADER sent: this node holds the leader's history.
    AckedNewLeader,
    /// UPTODATE received.
    Broadcast,
}

impl Following {
    pub(crate) fn phase(&self) -> Phase {
        match self.stage {
            Stage::Connecting => Phase::Discovery,
            Stage::AckedEpoch | Stage::AckedNewLeader => Phase::Synchronization,
            Stage::Broadcast => Phase::Broadcast,
        }
    }
}

impl Zab {
    pub(crate) fn become_following(&mut self, leader: NodeId) {
        let following = Following {
            leader,
            link: self.rng.next_u64(),
            epoch: self.epochs.accepted,
            stage: Stage::Connecting,
        };
        self.state = State::Following(following);
        self.follower_heartbeat();
    }

    /// Repeats the handshake packet, or the syncs, the leader has not answered yet.
    pub(crate) fn follower_heartbeat(&mut self) {
        let State::Following(f) = &self.state else {
            return;
        };
        let packet = match f.stage {
            Stage::Connecting => Packet::FollowerInfo,
            Stage::AckedEpoch => Packet::AckEpoch {
                current_epoch: self.epochs.current,
                last_zxid: self.history.last_zxid(),
            },
            Stage::AckedNewLeader => Packet::AckNewLeader {
                last_zxid: self.history.last_zxid(),
            },
            Stage::Broadcast => {
                // Syncs whose request or answer was lost.
                for &ctx in self.syncs.asked() {
                    self.out
                        .packet(f.leader, f.link, f.epoch, Packet::Sync { ctx });
                }
                return;
            }
        };
        self.out.packet(f.leader, f.link, f.epoch, packet);
    }

    pub(crate) fn follower_packet(&mut self, from: NodeId, link: Link) {
        let State::Following(f) = &mut self.state else {
            return;
        };
        if from != f.leader || link.id != f.link {
            if self.bug == Bug::AcceptOlderEpoch && link.epoch < self.epochs.accepted {
                self.accept_older_epoch(from, link);
            }
            return;
        }
        let Link { id, epoch, packet } = link;
        // The leader is alive.
        self.elapsed = 0;
        if let (Stage::Connecting, Packet::NewEpoch) = (f.stage, &packet) {
            if epoch < self.epochs.accepted {
                // A leader older than one this node already acknowledged.
                self.look();
                return;
            }
            self.epochs.accepted = epoch;
            f.epoch = epoch;
            f.stage = Stage::AckedEpoch;
            self.follower_heartbeat();
            return;
        }
        if epoch != f.epoch {
            return;
        }
        let leader = f.leader;
        match (f.stage, packet) {
            // A duplicate: the ACKEPOCH was lost, or is slow.
            (Stage::AckedEpoch, Packet::NewEpoch) => self.follower_heartbeat(),
            (Stage::AckedEpoch, Packet::NewLeader(sync)) => {
                // The paper's check that NEWLEADER is of the epoch this node accepted (it
                // cannot differ on one link, but this is what makes taking the history safe).
                if epoch != self.epochs.accepted || !self.history.apply_sync(sync, epoch) {
                    self.look();
                    return;
                }
                self.epochs.current = epoch;
                f.stage = Stage::AckedNewLeader;
                self.follower_heartbeat();
            }
            (Stage::AckedNewLeader, Packet::UpToDate { committed }) => {
                f.stage = Stage::Broadcast;
                self.history.commit_through(committed);
            }
            (Stage::AckedNewLeader | Stage::Broadcast, Packet::Propose(txn))
                if txn.zxid == self.history.last_zxid().next_in(epoch) =>
            {
                let zxid = txn.zxid;
                self.history.append(txn);
                self.out.packet(leader, id, epoch, Packet::Ack { zxid });
            }
            (Stage::Broadcast, Packet::Commit { zxid }) => self.history.commit_through(zxid),
            (stage, Packet::Ping { committed, round }) => {
                if stage == Stage::Broadcast {
                    self.history.commit_through(committed);
                }
                let last_zxid = self.history.last_zxid();
                self.out
                    .packet(leader, id, epoch, Packet::PingAck { last_zxid, round });
            }
            (Stage::Broadcast, Packet::SyncReply { ctx, zxid }) => self.syncs.answered(ctx, zxid),
            // Out of place for this stage: a duplicate, or a packet only a follower sends.
            _ => {}
        }
    }

    /// [`Bug::AcceptOlderEpoch`]: acknowledges a proposal or a ping from a leader of an epoch
    /// older than the accepted one, as if it came from this node's own leader — the epoch check
    /// missing on the acknowledging path, while the history (checked elsewhere) does not take
    /// the proposal. The deposed leader gathers its quorums and keeps leading, committing and
    /// confirming syncs beside the new leader: a split brain for as long as both have clients.
    fn accept_older_epoch(&mut self, from: NodeId, link: Link) {
        let Link { id, epoch, packet } = link;
        match packet {
            Packet::Propose(txn) => {
                let zxid = txn.zxid;
                self.out.packet(from, id, epoch, Packet::Ack { zxid });
            }
            Packet::Ping { round, .. } => {
                let last_zxid = self.history.last_zxid();
                self.out
                    .packet(from, id, epoch, Packet::PingAck { last_zxid, round });
            }
            _ => {}
        }
    }
}
