//! A participant's event loop: one task owns the protocol's [`ParticipantCore`] and a journal
//! of what happened to each transaction and when, feeds the core ticks and its peers'
//! messages (the coordinator's; in 3PC the other participants' too), and handles every
//! `Ready` as the contract says — log and fsync, then send.
//!
//! The journal is what `GET /decisions` answers from (the checkers' evidence): each
//! transaction's operation (seen in its prepare), the vote, and when it was prepared,
//! pre-committed (3PC) and decided. It is read off the log records of each `Ready`, through
//! [`ParticipantCore::entry`] — a record *is* the event — so it says exactly what the disk
//! says. Times are this process's monotonic clock; a transaction decided before this start
//! is known from the log alone, without times, and one still in doubt across the restart
//! counts as prepared from the restart.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, MissedTickBehavior, interval};

use super::COORDINATOR;
use super::protocol::{Entry, ParticipantCore, TxnMessage};
use crate::peers::{Addressed, Peers};
use crate::record_log::LogFile;
use crate::shell::Error;
use crate::twopc::api::{Decisions, TxnReport};
use crate::twopc::core::{Account, Op, Ready, TxnId};

/// What the journal knows of one transaction.
#[derive(Clone, Debug, Default)]
struct Seen {
    op: Option<Op>,
    vote: Option<bool>,
    prepared: Option<Instant>,
    /// When it was logged pre-committed (3PC only; `None` before this start).
    precommitted: Option<Instant>,
    /// The decision, and when it was logged (`None` before this start).
    decision: Option<(bool, Option<Instant>)>,
}

/// The participant node: its core, journal, log and links.
pub(super) struct Node<C: ParticipantCore> {
    core: C,
    journal: BTreeMap<TxnId, Seen>,
    /// Its accounts' opening balances.
    initial: BTreeMap<Account, i64>,
    log: LogFile,
    peers: Peers<C::Message>,
}

impl<C> Node<C>
where
    C: ParticipantCore,
    C::Message: Addressed + TxnMessage,
{
    /// A participant started from `restored` (the records its log held).
    pub(super) fn new(
        core: C,
        restored: &[C::Record],
        initial: BTreeMap<Account, i64>,
        log: LogFile,
        peers: Peers<C::Message>,
    ) -> Self {
        let mut node = Node {
            core,
            journal: BTreeMap::new(),
            initial,
            log,
            peers,
        };
        for record in restored {
            node.note(record, None);
        }
        let start = Instant::now();
        for seen in node.journal.values_mut() {
            if seen.vote == Some(true) && seen.decision.is_none() {
                seen.prepared = Some(start);
            }
        }
        node
    }

    /// Runs until `shutdown` completes, or the disk fails.
    pub(super) async fn run(
        mut self,
        tick: Duration,
        mut inbox: mpsc::Receiver<C::Message>,
        mut queries: mpsc::Receiver<oneshot::Sender<Decisions>>,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), Error> {
        let mut ticks = interval(tick);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        tokio::pin!(shutdown);
        // The first Ready asks the coordinator about every transaction in doubt.
        self.drain()?;
        loop {
            tokio::select! {
                () = &mut shutdown => return Ok(()),
                _ = ticks.tick() => self.core.tick(),
                Some(message) = inbox.recv() => self.receive(message),
                Some(query) = queries.recv() => {
                    let _ = query.send(self.decisions());
                }
            }
            // Everything else already waiting joins this batch (and its fsync).
            while let Ok(message) = inbox.try_recv() {
                self.receive(message);
            }
            self.drain()?;
        }
    }

    fn receive(&mut self, message: C::Message) {
        if let (COORDINATOR, Some((txn, op))) = (message.from(), message.prepare()) {
            let seen = self.journal.entry(txn).or_default();
            seen.op.get_or_insert_with(|| op.clone());
        }
        self.core.step(message);
    }

    /// Handles the core's Ready: log and fsync, then send.
    fn drain(&mut self) -> Result<(), Error> {
        let Ready { log, messages, .. } = self.core.ready();
        tokio::task::block_in_place(|| self.log.append(&log))
            .map_err(|e| Error(format!("cannot write the log: {e}")))?;
        let now = Instant::now();
        for record in &log {
            self.note(record, Some(now));
        }
        for message in messages {
            self.peers.send(message);
        }
        Ok(())
    }

    /// Puts a log record in the journal, as happening at `at` (`None`: before this start).
    fn note(&mut self, record: &C::Record, at: Option<Instant>) {
        let (txn, entry) = C::entry(record);
        let seen = self.journal.entry(txn).or_default();
        match entry {
            Entry::Prepared => {
                seen.vote = Some(true);
                seen.prepared = at;
            }
            Entry::PreCommitted => seen.precommitted = at,
            Entry::Committed => seen.decision = Some((true, at)),
            Entry::Aborted => {
                // An abort logged with no yes vote before it is this participant's no (when it
                // was asked), or an abort that came before any prepare (when it was not).
                if seen.vote.is_none() && seen.op.is_some() {
                    seen.vote = Some(false);
                }
                seen.decision = Some((false, at));
            }
        }
    }

    /// What `GET /decisions` answers: the journal, times as ages.
    fn decisions(&self) -> Decisions {
        let now = Instant::now();
        let ago = |t: Option<Instant>| t.map(|t| now.duration_since(t).as_micros() as u64);
        let named =
            |m: &BTreeMap<Account, i64>| m.iter().map(|(a, b)| (a.to_string(), *b)).collect();
        Decisions {
            coordinator: format!("n{COORDINATOR}"),
            initial: named(&self.initial),
            balances: named(self.core.balances()),
            refused_on_locks: self.core.refused_on_locks(),
            txns: self
                .journal
                .iter()
                .map(|(txn, seen)| TxnReport {
                    txn: txn.to_string(),
                    op: match &seen.op {
                        Some(Op::Transfer { from, to, amount }) => {
                            json!({"from": from, "to": to, "amount": amount})
                        }
                        Some(Op::ReadAll) => json!("read"),
                        None => serde_json::Value::Null,
                    },
                    vote: seen
                        .vote
                        .map(|yes| if yes { "yes" } else { "no" }.to_string()),
                    prepared_ago_us: ago(seen.prepared),
                    precommitted_ago_us: ago(seen.precommitted),
                    decision: seen
                        .decision
                        .map(|(commit, _)| if commit { "commit" } else { "abort" }.to_string()),
                    decided_ago_us: ago(seen.decision.and_then(|(_, at)| at)),
                })
                .collect(),
        }
    }
}
