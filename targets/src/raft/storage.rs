//! What must survive a crash (§5.1, Figure 2's "persistent state"): the current term, the vote
//! cast in it, and the log. Everything else a node knows it relearns from its peers.

use serde::{Deserialize, Serialize};

use super::log::Entry;
use super::{NodeId, Term};

/// The term and vote, persisted whenever a [`Ready`](super::Ready) carries them. Forgetting the
/// vote would let a node vote twice in one term; forgetting the term would let it accept a
/// deposed leader.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HardState {
    pub term: Term,
    /// Whom this node voted for in `term`.
    pub vote: Option<NodeId>,
}

/// Everything a node is rebuilt from after a restart: what its shell persisted from every
/// [`Ready`](super::Ready) handed out before the crash. `Default` is a brand-new node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Persisted {
    pub hard_state: HardState,
    /// The log, contiguous from index 1.
    pub entries: Vec<Entry>,
}
