//! Two-phase commit (issue 11): the sans-I/O protocol core of a coordinator and of the
//! participants that own shards of a bank's accounts. The node processes, the descriptor and
//! the bank workload are still to come.

pub mod core;
