//! Tests of the 2PC core: scripted scenarios (`scenarios`), bad input (`robustness`), the bug
//! switch (`bugs`) and long seeded runs (`random`), each test named after the property or the
//! scenario it shows. They run a coordinator and its participants on the in-memory
//! test bank both transaction cores share (`crate::txn_core::test_bank`), set up for 2PC in
//! [`network`], which checks 2PC's properties ([`invariants`], whose own tests show each check
//! rejects what it must) after every event.

mod invariants;
mod network;

mod bugs;
mod random;
mod robustness;
mod scenarios;
