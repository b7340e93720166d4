//! The output of either state machine: everything it asks the shell to do, collected since
//! the last `ready`. The order of the fields is the order of the work.
//!
//! Generic over the message type so that the 3PC core, whose messages differ, shares it — and
//! with it the node shell that handles it.

use super::NodeId;
use super::message::{Envelope, Reads, TxnId};

/// One batch of work for the shell. `R` is the side's log record, `M` the protocol's message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ready<R, M> {
    /// Append these to the log and fsync — once for the whole batch, however many
    /// transactions it covers (group commit)…
    pub log: Vec<R>,
    /// …then send these, only once the log is durable: a vote or an acknowledgement, and a
    /// decision, must never be sent and then forgotten in a crash.
    pub messages: Vec<M>,
    /// The coordinator's answers to its clients (always empty for a participant).
    pub outcomes: Vec<Outcome>,
}

impl<R, M> Default for Ready<R, M> {
    fn default() -> Self {
        Ready {
            log: Vec::new(),
            messages: Vec::new(),
            outcomes: Vec::new(),
        }
    }
}

impl<R, B> Ready<R, Envelope<B>> {
    /// Adds a message to the batch: how a core, collecting its next `Ready`, sends.
    pub(crate) fn send(&mut self, from: NodeId, to: NodeId, body: B) {
        self.messages.push(Envelope { from, to, body });
    }
}

/// A transaction's definite fate, for the client that began it. A transaction begun but
/// never reported (the coordinator crashed) has an unknown outcome for the client — though
/// in 2PC it is in fact aborted unless its commit was logged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub txn: TxnId,
    /// `Some` with every participant's reads if it committed (durably), `None` if it aborted.
    pub committed: Option<Reads>,
}
