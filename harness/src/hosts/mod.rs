//! Running nodes on other machines, reached over SSH.
//!
//! * [`inventory`]: `hosts.toml`, the machines a run may use.

pub mod inventory;
