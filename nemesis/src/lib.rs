//! faultline's fault plans. Everything here is pure: node names and a seed in, grudges and
//! schedules out. The harness applies them — grudges to its proxies, kills and pauses to its
//! process supervisor — and records every action in the history.
//!
//! * [`grudge`]: partitions as grudges (halves, random halves, isolate one, majorities ring,
//!   bridge, one-way).
//! * [`schedule`]: when which fault starts and stops.

pub mod grudge;
pub mod schedule;

pub use grudge::{Grudge, Shape};
pub use schedule::{Action, FaultKind, Plan, Scheduled, schedule};
