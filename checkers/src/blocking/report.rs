//! What the blocking checker says: per participant how long it was in doubt, overall, and how
//! much of that fell while the coordinator was down — as data (results.json) and as text.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::downtime::Downtime;
use crate::txn::TxnId;
use crate::verdict::Validity;

/// One transaction's time in doubt at one participant.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Window {
    pub txn: TxnId,
    pub node: String,
    /// From its yes vote (prepared, else precommitted) to its decision, or to its decisions
    /// event when still undecided (ns).
    pub from: u64,
    pub to: u64,
    pub ns: u64,
    /// False when it was still in doubt when asked.
    pub decided: bool,
}

/// One participant's time in doubt.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ParticipantBlocking {
    pub node: String,
    /// History index of its decisions event.
    pub index: u64,
    /// False when it could not be reached (it then counts nothing).
    pub reachable: bool,
    /// The union of its windows in doubt (ns).
    pub in_doubt_ns: u64,
    /// Transactions it voted yes on with both ends known (its windows), and those with an end
    /// unknown (before its last restart, its log has no times).
    pub windows: usize,
    pub untimed: usize,
    /// Of its windows, those still open when asked.
    pub undecided: usize,
    pub refused_on_locks: u64,
    pub restarts: u64,
}

/// The blocking checker's result (informational).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Report {
    /// Valid when every participant's record could be read; unknown when one could not be
    /// reached.
    pub valid: Validity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unknown_because: Option<String>,
    /// The coordinator(s) the participants name.
    pub coordinators: Vec<String>,
    pub participants: Vec<ParticipantBlocking>,
    /// The union of every participant's windows in doubt (ns).
    pub in_doubt_ns: u64,
    /// Prepares voted no on because a lock was held, over every participant.
    pub refused_on_locks: u64,
    /// The coordinators' downtime, in order of its start.
    pub downtime: Vec<Downtime>,
    /// Its union's length (ns).
    pub downtime_ns: u64,
    /// |union of windows in doubt ∩ downtime| (ns), and its ratio to `downtime_ns` (null when
    /// there was no downtime).
    pub in_doubt_during_downtime_ns: u64,
    pub in_doubt_during_downtime_ratio: Option<f64>,
    /// The longest window in doubt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub longest: Option<Window>,
}

fn ms(ns: u64) -> String {
    format!("{:.1} ms", ns as f64 / 1e6)
}

impl Report {
    /// A console rendering: one line overall, one per participant.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let _ = write!(
            out,
            "  in doubt {} (union over {} participants), {} prepares refused on locks",
            ms(self.in_doubt_ns),
            self.participants.len(),
            self.refused_on_locks
        );
        if self.downtime_ns > 0 {
            let _ = write!(
                out,
                "; coordinator down {}, in doubt during {} of it",
                ms(self.downtime_ns),
                ms(self.in_doubt_during_downtime_ns)
            );
            if let Some(r) = self.in_doubt_during_downtime_ratio {
                let _ = write!(out, " ({:.0}%)", r * 100.0);
            }
        }
        out.push('\n');
        if let Some(w) = &self.longest {
            let _ = writeln!(
                out,
                "  longest: txn {} at {}, {}{}",
                w.txn,
                w.node,
                ms(w.ns),
                if w.decided { "" } else { " (still in doubt)" }
            );
        }
        for p in &self.participants {
            if p.reachable {
                let _ = writeln!(
                    out,
                    "  {}: in doubt {} over {} txns ({} undecided, {} untimed), {} refused on locks",
                    p.node,
                    ms(p.in_doubt_ns),
                    p.windows,
                    p.undecided,
                    p.untimed,
                    p.refused_on_locks
                );
            } else {
                let _ = writeln!(out, "  {}: unreachable", p.node);
            }
        }
        if let Some(why) = &self.unknown_because {
            let _ = writeln!(out, "  unknown: {why}");
        }
        out
    }
}
