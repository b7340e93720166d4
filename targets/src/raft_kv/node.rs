//! The event loop: the one task that owns the Raft core, the key-value store and the log file.
//!
//! Everything that changes Raft's state arrives here as an input — a tick from the timer, a
//! message from a peer's reader, a request from an HTTP handler — so the core needs no locks
//! and its inputs have one order. After each batch of inputs the loop drains the core's
//! [`Ready`](crate::raft::Ready) exactly as the contract in [`raft`](crate::raft) says:
//!
//! 1. persist the hard state, the truncation and the new entries, and fsync ([`Storage`]);
//! 2. only then hand the messages to the peer transport ([`Peers`]);
//! 3. apply the committed entries to the [`KvStore`] in order, answering the proposals they
//!    decide;
//! 4. answer the reads the leader confirmed, and fail the reads it never will.
//!
//! HTTP handlers wait on a oneshot for their [`Reply`]; they enforce the deadline themselves and
//! simply stop listening when it passes, and the loop forgets abandoned requests on its next
//! sweep. The role, term and leader are published on a `watch` channel after every batch, for
//! `/health` to read without a round trip through the loop.
//!
//! # A proposal's fate
//!
//! A write or cas is proposed as an encoded [`Command`], and [`Raft::propose`] names the entry
//! `(index, term)` it took. When index `index` is committed, the entry there either has `term`
//! — it is ours: answer with what applying it returned — or another term, which means ours was
//! overwritten and will never be applied (Raft's log matching). Until then nothing is known,
//! and the handler's timeout answers "unknown". Several proposals can wait on one index (a node
//! that lost its leadership, had its log cut back and leads again), and each gets its own
//! verdict.
//!
//! # Reads
//!
//! A read takes Raft's read-index path: the leader confirms with a quorum that it still leads,
//! then serves the read from the state machine once that has applied up to the index the read
//! was given. With the `stale-reads` bug on, a node that believes it leads answers at once from
//! its state machine instead — see [`raft_kv`](super).
//!
//! # Transactions
//!
//! A transaction is proposed like a write, as one entry, read-only ones included: its reads
//! are answered by applying that entry, so they are ordered with every other command.
//! With the `txn-local-reads` bug on, a read-only transaction is answered at once from this
//! node's state machine, whatever its role — see [`raft_kv`](super).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::{MissedTickBehavior, interval};

use super::storage::Storage;
use super::{Bug, Error};
use crate::kv::txn::Tables;
use crate::kv::{Action, Command, KvStore, Op, Response};
use crate::peers::Peers;
use crate::raft::{Entry, Index, Message, NodeId, Raft, Role, Term};
use crate::shell::Logger;

/// Inputs taken from one channel before the loop drains a `Ready`. Batching means one fsync for
/// many proposals; the cap keeps ticks and the other channel from waiting long.
const BATCH: usize = 256;
/// Ticks between sweeps for requests whose handler gave up.
const SWEEP_TICKS: u64 = 50;

/// A client's request, parsed.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Request {
    pub(crate) client: u64,
    pub(crate) seq: u64,
    pub(crate) action: Action,
}

/// What became of a request, in the protocol's terms (the HTTP layer picks the status).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Reply {
    /// Done: the value read, or the value written.
    Value(Value),
    /// Done: a transaction's micro-operations, reads filled in.
    Txn(Vec<Value>),
    /// Definitely not done: the request cannot be done as asked (a transaction that mixes a
    /// key's list and register).
    BadRequest { reason: String },
    /// Definitely not done: the cas compared and failed.
    CasMismatch { current: Value },
    /// Definitely not done: this node does not lead, and proposed nothing.
    NotLeader { leader: Option<NodeId> },
    /// Definitely not done, for the reason given.
    Unavailable { reason: &'static str },
    /// Maybe done, maybe not, for the reason given.
    Unknown { reason: &'static str },
}

/// A request and where its answer goes.
pub(crate) type Call = (Request, oneshot::Sender<Reply>);

/// What `/health` reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Status {
    pub(crate) role: Role,
    pub(crate) term: Term,
    pub(crate) leader: Option<NodeId>,
}

impl Status {
    pub(crate) fn of(raft: &Raft) -> Status {
        Status {
            role: raft.role(),
            term: raft.term(),
            leader: raft.leader(),
        }
    }
}

/// A write or cas waiting for its entry's index to commit.
#[derive(Debug)]
struct Proposal {
    term: Term,
    /// What a 200 reports for a write or cas: the value written.
    written: Value,
    reply: oneshot::Sender<Reply>,
}

/// A read waiting for the leader's confirmation.
#[derive(Debug)]
struct Read {
    key: String,
    reply: oneshot::Sender<Reply>,
}

/// The node's state, owned by [`Node::run`].
#[derive(Debug)]
pub(crate) struct Node {
    raft: Raft,
    kv: KvStore,
    storage: Storage,
    peers: Peers<Message>,
    /// The bug switched on, if any.
    bug: Option<Bug>,
    log: Logger,
    status: watch::Sender<Status>,
    /// How node names start, for the log.
    prefix: String,
    /// The last index applied to `kv`.
    applied: Index,
    proposals: BTreeMap<Index, Vec<Proposal>>,
    /// Reads by their read-index context.
    reads: HashMap<u64, Read>,
    next_read: u64,
    /// Confirmed reads, as `(index, context)`, waiting for `applied` to reach `index`.
    confirmed: Vec<(Index, u64)>,
}

impl Node {
    pub(crate) fn new(
        raft: Raft,
        storage: Storage,
        peers: Peers<Message>,
        bug: Option<Bug>,
        log: Logger,
        status: watch::Sender<Status>,
        prefix: String,
    ) -> Node {
        Node {
            raft,
            // Empty: the core redelivers every committed entry from index 1 after a restart.
            kv: KvStore::new(),
            storage,
            peers,
            bug,
            log,
            status,
            prefix,
            applied: 0,
            proposals: BTreeMap::new(),
            reads: HashMap::new(),
            next_read: 0,
            confirmed: Vec::new(),
        }
    }

    /// Runs until `shutdown` completes (`Ok`) or the log cannot be written (`Err`: a node that
    /// cannot persist must not go on). Requests still waiting are dropped, which their handlers
    /// report as unknown.
    pub(crate) async fn run(
        mut self,
        tick: Duration,
        mut inbox: mpsc::Receiver<Message>,
        mut calls: mpsc::Receiver<Call>,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), Error> {
        let mut ticker = interval(tick);
        // After a pause (SIGSTOP), resume ticking at the normal pace instead of firing every
        // missed tick at once, which would time out every election timer in one go.
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut ticks: u64 = 0;
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => return Ok(()),
                _ = ticker.tick() => {
                    self.raft.tick();
                    ticks += 1;
                    if ticks % SWEEP_TICKS == 0 {
                        self.sweep();
                    }
                }
                Some(msg) = inbox.recv() => {
                    self.raft.step(msg);
                    for _ in 1..BATCH {
                        let Ok(msg) = inbox.try_recv() else { break };
                        self.raft.step(msg);
                    }
                }
                Some((request, reply)) = calls.recv() => {
                    self.call(request, reply);
                    for _ in 1..BATCH {
                        let Ok((request, reply)) = calls.try_recv() else { break };
                        self.call(request, reply);
                    }
                }
            }
            self.handle_ready()?;
        }
    }

    /// Starts a client's request: a proposal or a read, or an immediate refusal.
    fn call(&mut self, request: Request, reply: oneshot::Sender<Reply>) {
        let Request {
            client,
            seq,
            action,
        } = request;
        let written = match &action {
            Action::Key { key, op: Op::Read } => return self.read(key.clone(), reply),
            Action::Key {
                op: Op::Write(value),
                ..
            } => value.clone(),
            Action::Key {
                op: Op::Cas { to, .. },
                ..
            } => to.clone(),
            Action::Txn(ops)
                if self.bug == Some(Bug::TxnLocalReads) && Tables::is_read_only(ops) =>
            {
                // The bug: whatever this node has applied is the answer — no log entry, no
                // leadership, no check of how far behind it is.
                let _ = reply.send(Reply::Txn(self.kv.read_txn(ops)));
                return;
            }
            // A transaction's answer is what applying its entry returns.
            Action::Txn(_) => Value::Null,
        };
        let command = Command {
            client,
            seq,
            action,
        };
        match self.raft.propose(command.to_bytes()) {
            Ok((index, term)) => self.proposals.entry(index).or_default().push(Proposal {
                term,
                written,
                reply,
            }),
            Err(refused) => {
                let _ = reply.send(Reply::NotLeader {
                    leader: refused.leader,
                });
            }
        }
    }

    fn read(&mut self, key: String, reply: oneshot::Sender<Reply>) {
        if self.bug == Some(Bug::StaleReads) {
            // The bug: believing it leads is enough, and the local state is the answer.
            let answer = match self.raft.role() {
                Role::Leader => Reply::Value(self.kv.get(&key)),
                _ => Reply::NotLeader {
                    leader: self.raft.leader(),
                },
            };
            let _ = reply.send(answer);
            return;
        }
        let ctx = self.next_read;
        self.next_read += 1;
        match self.raft.read_index(ctx) {
            Ok(()) => {
                self.reads.insert(ctx, Read { key, reply });
            }
            Err(refused) => {
                let _ = reply.send(Reply::NotLeader {
                    leader: refused.leader,
                });
            }
        }
    }

    /// Does everything the core asked for since the last call, in the contract's order.
    fn handle_ready(&mut self) -> Result<(), Error> {
        let ready = self.raft.ready();
        self.storage
            .append(ready.hard_state, ready.truncate_from, &ready.entries)
            .map_err(|e| Error(format!("cannot persist the raft log: {e}")))?;
        for msg in ready.messages {
            self.peers.send(msg);
        }
        for entry in ready.committed {
            self.apply(entry);
        }
        self.confirmed.extend(
            ready
                .read_states
                .into_iter()
                .map(|read| (read.index, read.ctx)),
        );
        self.serve_reads();
        for ctx in ready.failed_reads {
            if let Some(read) = self.reads.remove(&ctx) {
                // Never confirmed, so never served: definitely not done.
                let _ = read.reply.send(Reply::NotLeader {
                    leader: self.raft.leader(),
                });
            }
        }
        self.publish_status();
        Ok(())
    }

    /// Applies one committed entry and settles the proposals waiting on its index.
    fn apply(&mut self, entry: Entry) {
        debug_assert_eq!(entry.index, self.applied + 1, "entries apply in order");
        self.applied = entry.index;
        // Empty data is a new leader's no-op.
        let response = if entry.data.is_empty() {
            None
        } else {
            match Command::from_bytes(&entry.data) {
                Ok(command) => Some(self.kv.apply(command)),
                Err(e) => {
                    // Every replica skips it alike, so they stay in agreement.
                    self.log
                        .line(format_args!("entry {} is not a command: {e}", entry.index));
                    None
                }
            }
        };
        let Some(waiting) = self.proposals.remove(&entry.index) else {
            return;
        };
        for proposal in waiting {
            let reply = match (&response, proposal.term == entry.term) {
                (_, false) => Reply::Unavailable {
                    reason: "overwritten: another leader's entry was committed in its place",
                },
                (Some(response), true) => reply_for(response, proposal.written),
                (None, true) => Reply::Unknown {
                    reason: "committed entry is not a command",
                },
            };
            let _ = proposal.reply.send(reply);
        }
    }

    /// Answers every confirmed read the state machine has caught up with.
    fn serve_reads(&mut self) {
        let applied = self.applied;
        let (ready, waiting) = self
            .confirmed
            .drain(..)
            .partition(|&(index, _)| index <= applied);
        self.confirmed = waiting;
        for (_, ctx) in ready {
            if let Some(read) = self.reads.remove(&ctx) {
                let _ = read.reply.send(Reply::Value(self.kv.get(&read.key)));
            }
        }
    }

    /// Forgets requests whose handler stopped waiting (it answered "timeout" already).
    fn sweep(&mut self) {
        self.proposals.retain(|_, waiting| {
            waiting.retain(|p| !p.reply.is_closed());
            !waiting.is_empty()
        });
        self.reads.retain(|_, read| !read.reply.is_closed());
        let reads = &self.reads;
        self.confirmed.retain(|(_, ctx)| reads.contains_key(ctx));
    }

    fn publish_status(&mut self) {
        let now = Status::of(&self.raft);
        let before = self.status.send_replace(now);
        if before != now {
            let leader = now
                .leader
                .map_or("none".to_string(), |l| format!("{}{l}", self.prefix));
            self.log.line(format_args!(
                "{} in term {} (leader: {leader})",
                role_name(now.role),
                now.term
            ));
        }
    }
}

/// The answer to a proposal whose entry was applied with `response`.
fn reply_for(response: &Response, written: Value) -> Reply {
    match response {
        Response::Written | Response::CasOk => Reply::Value(written),
        Response::Read(value) => Reply::Value(value.clone()),
        Response::CasMismatch { current } => Reply::CasMismatch {
            current: current.clone(),
        },
        Response::Txn(done) => Reply::Txn(done.clone()),
        Response::TxnRefused { reason } => Reply::BadRequest {
            reason: reason.clone(),
        },
        // The client had moved on to a later request: whether an earlier copy of this one took
        // effect is no longer known.
        Response::Superseded => Reply::Unknown {
            reason: "superseded",
        },
    }
}

/// The role as `/health` and the log name it.
pub(crate) fn role_name(role: Role) -> &'static str {
    match role {
        Role::Leader => "leader",
        Role::Follower => "follower",
        Role::Candidate => "candidate",
        Role::PreCandidate => "pre-candidate",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn responses_become_replies() {
        assert_eq!(
            reply_for(&Response::Written, json!(3)),
            Reply::Value(json!(3))
        );
        assert_eq!(
            reply_for(&Response::CasOk, json!(4)),
            Reply::Value(json!(4))
        );
        assert_eq!(
            reply_for(&Response::CasMismatch { current: json!(1) }, json!(4)),
            Reply::CasMismatch { current: json!(1) }
        );
        assert!(matches!(
            reply_for(&Response::Superseded, json!(4)),
            Reply::Unknown { .. }
        ));
    }
}
