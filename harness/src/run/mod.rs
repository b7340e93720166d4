//! `faultline run`: one test, end to end — a cluster started as processes behind a proxy
//! network, clients and a nemesis working against it, every operation recorded, the history
//! checked.
//!
//! * [`command`]: the command line (flags, scenario files, repeats, signals);
//! * [`runner`]: the flow of one test;
//! * [`cluster`]: nodes, network and clocks, and the primitive operations faults are made of;
//! * [`injector`]: the nemesis at work: applies each action to the cluster, heals at the end;
//! * [`recorder`]: the history as it happens; [`store`]: the results folder;
//! * [`summary`]: the table at the end.

pub mod cluster;
pub mod command;
pub mod injector;
pub mod recorder;
pub mod runner;
pub mod store;
pub mod summary;
