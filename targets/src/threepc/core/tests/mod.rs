//! Tests of the 3PC core: scripted scenarios — the happy path, coordinator crashes at each
//! phase, the partition that splits a decision (`scenarios`) — bad input (`robustness`) and
//! long seeded runs (`random`): atomicity kept without partitions, split with them. Each test
//! is named after what it shows. They run a
//! coordinator and its participants on the in-memory test bank both transaction cores share
//! (`crate::txn_core::test_bank`), set up for 3PC in [`network`], which checks atomicity and
//! the durability of decisions after every event.

mod network;

mod random;
mod robustness;
mod scenarios;
