//! The logic the 2PC ([`crate::twopc::core`]) and 3PC ([`crate::threepc::core`]) cores run
//! alike on their shared bank, written once — as pure as the cores: no I/O, no clock.
//!
//! The types the cores share ([`Op`](crate::twopc::core::Op),
//! [`TxnId`](crate::twopc::core::TxnId), [`Part`](crate::twopc::core::Part),
//! [`Ready`](crate::twopc::core::Ready), …) are the 2PC core's, which the 3PC core re-exports;
//! what the two protocols mean by their messages and records stays in each core.
//!
//! * `locks`: a participant's lock table (no-wait strict two-phase locking).
//! * `bank`: which participants a transaction involves ([`Shards`]), a participant's part of
//!   it ([`plan`]), how a coordinator numbers transactions across restarts ([`TxnIds`]) and
//!   tallies the yes votes of phase one ([`YesVotes`]).
//! * `test_bank` (tests only): the in-memory bank both cores' tests run on — a network that
//!   loses, duplicates, reorders and cuts, a disk per node, checks after every event.

mod bank;
pub(crate) mod locks;
#[cfg(test)]
pub(crate) mod test_bank;

pub(crate) use bank::{Shards, TxnIds, YesVotes, plan};
