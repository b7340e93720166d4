//! The output of either state machine: everything it asks the shell to do, collected since
//! the last `ready`. The order of the fields is the order of the work.
//!
//! The same shape as 2PC's [`Ready`](crate::twopc::core::Ready), which cannot be reused as is:
//! its `messages` are 2PC's messages. Its [`Outcome`] is reused.

use super::message::Message;
use crate::twopc::core::Outcome;

/// One batch of work for the shell. `R` is the side's log record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ready<R> {
    /// Append these to the log and fsync — once for the whole batch (group commit)…
    pub log: Vec<R>,
    /// …then send these, only once the log is durable: a vote, an acknowledgement, a state
    /// reply or a decision must never be sent and then forgotten in a crash.
    pub messages: Vec<Message>,
    /// The coordinator's answers to its clients (always empty for a participant).
    pub outcomes: Vec<Outcome>,
}

impl<R> Default for Ready<R> {
    fn default() -> Self {
        Ready {
            log: Vec::new(),
            messages: Vec::new(),
            outcomes: Vec::new(),
        }
    }
}
