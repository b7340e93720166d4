//! Transaction ids. A zxid is `(epoch, counter)`: the epoch of the leader that proposed the
//! transaction and its position among that leader's proposals. Zxids order every transaction
//! ZAB ever broadcasts: first by epoch (leaders are ordered by epoch), then by counter (a leader
//! proposes in counter order). ZooKeeper packs the pair into one 64-bit integer; here it is a
//! pair, so that neither half can overflow into the other.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A leader's epoch: a logical clock that orders leaderships. Epoch 0 precedes every election.
pub type Epoch = u64;

/// A transaction id: `(epoch, counter)`. The derived order — by epoch, then counter — is the
/// one the protocol relies on: the order of leaders, then of each leader's proposals.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Zxid {
    pub epoch: Epoch,
    pub counter: u64,
}

impl Zxid {
    /// Before every transaction: the last zxid of an empty history.
    pub const ZERO: Zxid = Zxid {
        epoch: 0,
        counter: 0,
    };

    pub fn new(epoch: Epoch, counter: u64) -> Zxid {
        Zxid { epoch, counter }
    }

    /// The zxid the leader of `epoch` gives its next proposal, if this is its last one (or the
    /// last one of the history it started from). A leader's first proposal has counter 1.
    pub fn next_in(self, epoch: Epoch) -> Zxid {
        if self.epoch == epoch {
            Zxid::new(epoch, self.counter.saturating_add(1))
        } else {
            Zxid::new(epoch, 1)
        }
    }
}

impl fmt::Display for Zxid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.epoch, self.counter)
    }
}

/// One transaction of the history: an opaque payload (the data tree's transaction, defined by
/// the layer above) and the zxid its leader gave it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Txn {
    pub zxid: Zxid,
    pub payload: Vec<u8>,
}
