//! What the atomicity checker says: a verdict (and why, when unknown), counts per transaction
//! and per participant, what is still in doubt, and each error with the history index of its
//! evidence — as data (serialized into results.json) and as text.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::linear::OpSummary;
use crate::stats::Counts;
use crate::txn::{Transfer, TxnId};
use crate::verdict::Validity;

/// How many errors of each kind (and undecided records) a report keeps; the counts have them
/// all.
pub const MAX_PER_KIND: usize = 100;
/// How many errors of each kind the text shows.
const SHOWN_PER_KIND: usize = 10;

/// The kinds of error. Declared in [`ErrorKind::ALL`]'s order, so that a kind as a number is
/// its place there.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// A transaction committed at one participant and aborted at another.
    SplitDecision,
    /// A transfer committed at one owner of its accounts while another has no record of it or
    /// is still in doubt.
    Partial,
    /// A transfer acknowledged `ok` that is not committed at every owner of its accounts.
    OkNotApplied,
    /// A transfer that failed, committed at some participant.
    FailedButApplied,
    /// The participants' balances do not sum to their opening balances.
    TotalNotConserved,
}

impl ErrorKind {
    /// Every kind, in the order reports list them.
    pub const ALL: [ErrorKind; 5] = [
        ErrorKind::SplitDecision,
        ErrorKind::Partial,
        ErrorKind::OkNotApplied,
        ErrorKind::FailedButApplied,
        ErrorKind::TotalNotConserved,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::SplitDecision => "split-decision",
            ErrorKind::Partial => "partial",
            ErrorKind::OkNotApplied => "ok-not-applied",
            ErrorKind::FailedButApplied => "failed-but-applied",
            ErrorKind::TotalNotConserved => "total-not-conserved",
        }
    }
}

/// Errors found, by kind (the report keeps at most [`MAX_PER_KIND`] of each).
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorCounts {
    pub split_decision: usize,
    pub partial: usize,
    pub ok_not_applied: usize,
    pub failed_but_applied: usize,
    pub total_not_conserved: usize,
}

impl ErrorCounts {
    pub fn of(&self, kind: ErrorKind) -> usize {
        match kind {
            ErrorKind::SplitDecision => self.split_decision,
            ErrorKind::Partial => self.partial,
            ErrorKind::OkNotApplied => self.ok_not_applied,
            ErrorKind::FailedButApplied => self.failed_but_applied,
            ErrorKind::TotalNotConserved => self.total_not_conserved,
        }
    }

    pub fn total(&self) -> usize {
        ErrorKind::ALL.iter().map(|k| self.of(*k)).sum()
    }

    /// Counts one more error of `kind`; whether the report still keeps it.
    pub(super) fn add(&mut self, kind: ErrorKind) -> bool {
        let n = match kind {
            ErrorKind::SplitDecision => &mut self.split_decision,
            ErrorKind::Partial => &mut self.partial,
            ErrorKind::OkNotApplied => &mut self.ok_not_applied,
            ErrorKind::FailedButApplied => &mut self.failed_but_applied,
            ErrorKind::TotalNotConserved => &mut self.total_not_conserved,
        };
        *n += 1;
        *n <= MAX_PER_KIND
    }
}

/// Where a participant stands on one transaction.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Commit,
    Abort,
    /// It has a record, but no decision: still in doubt when asked.
    Undecided,
    /// Its record does not name the transaction.
    NoRecord,
    /// It could not be asked.
    Unreachable,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Commit => "commit",
            Status::Abort => "abort",
            Status::Undecided => "undecided",
            Status::NoRecord => "no-record",
            Status::Unreachable => "unreachable",
        }
    }
}

/// What one participant says about the transaction of an error.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Said {
    pub node: String,
    pub status: Status,
    /// When it decided (ns), as its record says; null when unknown or undecided.
    pub decided: Option<u64>,
    /// History index of its decisions event.
    pub index: u64,
}

/// One error, with its evidence.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AtomicityError {
    pub kind: ErrorKind,
    /// One line for a human.
    pub description: String,
    /// History index of the evidence: the client operation's completion (ok-not-applied,
    /// failed-but-applied), else the decisions event of the first participant named.
    pub index: u64,
    /// Its source line (0 if the history was not read from a file).
    pub line: u32,
    /// The transaction (all kinds but total-not-conserved).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub txn: Option<TxnId>,
    /// The transfer, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<Transfer>,
    /// What each participant concerned says: split-decision, every participant with a record;
    /// partial, ok-not-applied, the owners of the transfer's accounts (and any other that
    /// committed); failed-but-applied, those that committed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub participants: Vec<Said>,
    /// ok-not-applied, failed-but-applied: the client's transfer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<OpSummary>,
    /// total-not-conserved: the sum of the opening balances, and of the balances at the end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balances: Option<i64>,
}

/// One participant's record, counted.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ParticipantCounts {
    pub node: String,
    /// History index of its decisions event.
    pub index: u64,
    /// False when it could not be reached (then only `error` says more).
    pub reachable: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coordinator: Option<String>,
    /// Transactions in its record, and of them those it committed, aborted, is in doubt on.
    pub txns: usize,
    pub committed: usize,
    pub aborted: usize,
    pub undecided: usize,
    pub refused_on_locks: u64,
    pub restarts: u64,
}

/// Transactions named by any participant, each in exactly one class.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct TxnCounts {
    pub txns: usize,
    /// Committed somewhere, aborted nowhere.
    pub committed: usize,
    /// Aborted somewhere, committed nowhere.
    pub aborted: usize,
    /// Committed somewhere and aborted elsewhere.
    pub split: usize,
    /// Decided nowhere.
    pub undecided: usize,
}

/// The clients' transfers.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ClientCounts {
    pub transfers: Counts,
    /// Those whose completion names a transaction (checked against the participants).
    pub with_txn: usize,
}

/// A transaction a participant was still in doubt on when asked.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Undecided {
    pub txn: TxnId,
    pub node: String,
    /// History index of its decisions event.
    pub index: u64,
}

/// The atomicity checker's result.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Report {
    /// Invalid iff an error was found; else unknown when a participant could not be reached;
    /// else valid.
    pub valid: Validity,
    /// Why the verdict is unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unknown_because: Option<String>,
    pub counts: TxnCounts,
    pub participants: Vec<ParticipantCounts>,
    pub client: ClientCounts,
    /// The sums of every participant's opening and final balances; absent when one could not
    /// be reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_total: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_total: Option<i64>,
    /// Records still in doubt (a transaction at a participant), and at most [`MAX_PER_KIND`]
    /// of them.
    pub undecided_records: usize,
    pub undecided: Vec<Undecided>,
    pub error_counts: ErrorCounts,
    /// At most [`MAX_PER_KIND`] of each kind; by kind in [`ErrorKind::ALL`]'s order.
    pub errors: Vec<AtomicityError>,
}

impl Report {
    /// A console rendering: the counts, what is in doubt, and each error (at most ten of each
    /// kind).
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let c = &self.counts;
        let _ = write!(
            out,
            "  {} txns: {} committed, {} aborted, {} split, {} undecided; {} participants",
            c.txns,
            c.committed,
            c.aborted,
            c.split,
            c.undecided,
            self.participants.len()
        );
        if let (Some(i), Some(f)) = (self.initial_total, self.final_total) {
            let _ = write!(out, "; total {i} at the start, {f} at the end");
        }
        let _ = writeln!(
            out,
            "; {} records in doubt at the end",
            self.undecided_records
        );
        if let Some(why) = &self.unknown_because {
            let _ = writeln!(out, "  unknown: {why}");
        }
        for kind in ErrorKind::ALL {
            let shown: Vec<&AtomicityError> = self
                .errors
                .iter()
                .filter(|e| e.kind == kind)
                .take(SHOWN_PER_KIND)
                .collect();
            for e in &shown {
                let _ = writeln!(out, "  {}: {}", kind.name(), e.description);
            }
            let total = self.error_counts.of(kind);
            if total > shown.len() {
                let _ = writeln!(
                    out,
                    "  … {} more {} errors (results.json keeps up to {MAX_PER_KIND})",
                    total - shown.len(),
                    kind.name()
                );
            }
        }
        out
    }
}

/// `n2 commit at 1500000, n3 no-record`.
pub(super) fn said(participants: &[Said]) -> String {
    participants
        .iter()
        .map(|s| match (s.status, s.decided) {
            (Status::Commit | Status::Abort, Some(t)) => {
                format!("{} {} at {t}", s.node, s.status.name())
            }
            (status, _) => format!("{} {}", s.node, status.name()),
        })
        .collect::<Vec<_>>()
        .join(", ")
}
