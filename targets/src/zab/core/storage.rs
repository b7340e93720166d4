//! What must survive a crash (the paper's persistent variables): the last epoch a node accepted
//! (`f.p`), the epoch of the last leader whose history it took (`f.a`), and its history.
//! Everything else — votes, the commit point, who leads — a node relearns from its peers.

use serde::{Deserialize, Serialize};

use super::zxid::{Epoch, Txn};

/// The two epochs, persisted whenever a [`Ready`](super::Ready) carries them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Epochs {
    /// The last NEWEPOCH this node acknowledged. Forgetting it would let it acknowledge an
    /// older epoch again, and two leaders could then be established.
    pub accepted: Epoch,
    /// The epoch of the last leader whose history it acknowledged (NEWLEADER). Elections
    /// compare it first: it says how recent a history is.
    pub current: Epoch,
}

/// Everything a node is rebuilt from after a restart: what its shell persisted from every
/// [`Ready`](super::Ready) handed out before the crash. `Default` is a brand-new node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Persisted {
    pub epochs: Epochs,
    /// The history, in zxid order.
    pub history: Vec<Txn>,
}
