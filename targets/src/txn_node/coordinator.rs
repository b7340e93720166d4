//! The coordinator's event loop: one task owns the protocol's [`CoordinatorCore`], begins the
//! clients' transactions, feeds it ticks and the participants' messages, and handles every
//! `Ready` as the core's contract says — log and fsync, then send, then answer the clients.
//!
//! Group commit falls out of the loop's shape: after the input that woke it, the loop takes
//! every other input already waiting before it drains the core, so one fsync covers every
//! commit decided meanwhile — and while it syncs, the next batch gathers.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, MissedTickBehavior, interval};

use super::http::Reply;
use super::protocol::{CoordinatorCore, TxnMessage};
use crate::peers::{Addressed, Peers};
use crate::record_log::LogFile;
use crate::shell::Error;
use crate::twopc::api::{Answer, Refusal};
use crate::twopc::core::{Op, Outcome, TxnId};

/// A client's transaction, and where its answer goes.
pub(super) struct Request {
    pub(super) op: Op,
    pub(super) reply: oneshot::Sender<Reply>,
}

/// The coordinator node: its core, its log, its links.
pub(super) struct Node<C: CoordinatorCore> {
    pub(super) core: C,
    pub(super) log: LogFile,
    pub(super) peers: Peers<C::Message>,
    /// How long each vote is held before the core counts it.
    pub(super) vote_delay: Duration,
}

/// What the loop keeps besides the core.
struct Waiting<M> {
    /// Clients waiting for their transactions' outcomes.
    clients: HashMap<TxnId, oneshot::Sender<Reply>>,
    /// Votes held back, in arrival order (each held the same time, so in due order too).
    votes: VecDeque<(Instant, M)>,
}

impl<C> Node<C>
where
    C: CoordinatorCore,
    C::Message: Addressed + TxnMessage,
{
    /// Runs until `shutdown` completes, or the disk fails.
    pub(super) async fn run(
        mut self,
        tick: Duration,
        mut inbox: mpsc::Receiver<C::Message>,
        mut requests: mpsc::Receiver<Request>,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), Error> {
        let mut ticks = interval(tick);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut waiting = Waiting {
            clients: HashMap::new(),
            votes: VecDeque::new(),
        };
        tokio::pin!(shutdown);
        // The first Ready logs the new incarnation and resends unfinished commits.
        self.drain(&mut waiting)?;
        loop {
            tokio::select! {
                () = &mut shutdown => return Ok(()),
                _ = ticks.tick() => {
                    self.core.tick();
                    let now = Instant::now();
                    while waiting.votes.front().is_some_and(|(due, _)| *due <= now) {
                        let (_, vote) = waiting.votes.pop_front().expect("just seen");
                        self.core.step(vote);
                    }
                }
                Some(message) = inbox.recv() => self.receive(message, &mut waiting),
                Some(request) = requests.recv() => self.begin(request, &mut waiting),
            }
            // Everything else already waiting joins this batch (and its fsync).
            while let Ok(message) = inbox.try_recv() {
                self.receive(message, &mut waiting);
            }
            while let Ok(request) = requests.try_recv() {
                self.begin(request, &mut waiting);
            }
            self.drain(&mut waiting)?;
        }
    }

    fn receive(&mut self, message: C::Message, waiting: &mut Waiting<C::Message>) {
        if !self.vote_delay.is_zero() && message.is_vote() {
            let due = Instant::now() + self.vote_delay;
            waiting.votes.push_back((due, message));
        } else {
            self.core.step(message);
        }
    }

    fn begin(&mut self, request: Request, waiting: &mut Waiting<C::Message>) {
        match self.core.begin(request.op) {
            Ok(txn) => {
                waiting.clients.insert(txn, request.reply);
            }
            Err(unknown) => {
                let _ = request.reply.send(Reply::Refused(Refusal {
                    error: unknown.to_string(),
                }));
            }
        }
    }

    /// Handles the core's Ready: log and fsync, then send, then answer.
    fn drain(&mut self, waiting: &mut Waiting<C::Message>) -> Result<(), Error> {
        let ready = self.core.ready();
        tokio::task::block_in_place(|| self.log.append(&ready.log))
            .map_err(|e| Error(format!("cannot write the log: {e}")))?;
        for message in ready.messages {
            self.peers.send(message);
        }
        for outcome in ready.outcomes {
            if let Some(client) = waiting.clients.remove(&outcome.txn) {
                let _ = client.send(Reply::Done(answer(outcome)));
            }
        }
        Ok(())
    }
}

/// A transaction's outcome, as its client is told it.
fn answer(outcome: Outcome) -> Answer {
    let balances = outcome
        .committed
        .as_ref()
        .filter(|reads| !reads.is_empty())
        .map(|reads| reads.iter().map(|(a, b)| (a.to_string(), *b)).collect());
    Answer {
        txn: outcome.txn.to_string(),
        committed: outcome.committed.is_some(),
        balances,
    }
}
