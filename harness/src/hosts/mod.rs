//! Running nodes on other machines, reached over SSH.
//!
//! * [`inventory`]: `hosts.toml`, the machines a run may use.
//! * [`bed`]: the local test bed, namespaces running sshd that stand in for machines.
//! * [`command`]: `faultline hosts up N` and `faultline hosts down`.

pub mod bed;
pub mod command;
pub mod inventory;
