//! Three-phase commit (Skeen): the sans-I/O protocol core of a coordinator and of the
//! participants that own shards of a bank's accounts — the same bank, shell contract and
//! shared types as [`twopc`](crate::twopc), with a phase and a termination protocol added so
//! that participants need not block on a crashed coordinator. The node processes, the
//! descriptor and the `3pc-partition` scenario are still to come.

pub mod core;
