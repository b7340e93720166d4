//! What the bank checker says: a verdict, what it expected (given or inferred), counts, and
//! each error with the read that shows it — as data (serialized into results.json) and as
//! text.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::read::Account;
use crate::linear::OpSummary;
use crate::stats::Counts;
use crate::verdict::Validity;

/// How many errors of each kind a report keeps (`error_counts` has them all).
pub const MAX_PER_KIND: usize = 100;
/// How many errors of each kind the text shows.
const SHOWN_PER_KIND: usize = 10;

/// The kinds of error, Jepsen's names. Declared in [`ErrorKind::ALL`]'s order, so that a kind
/// as a number is its place there.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// The read's balances do not sum to the total.
    WrongTotal,
    /// A balance below zero, when negative balances are not allowed.
    NegativeValue,
    /// An account of the bank with no balance in the read: absent, or nil.
    NilBalance,
    /// A key that is not an account of the bank.
    UnexpectedKey,
}

impl ErrorKind {
    /// Every kind, in the order reports list them.
    pub const ALL: [ErrorKind; 4] = [
        ErrorKind::WrongTotal,
        ErrorKind::NegativeValue,
        ErrorKind::NilBalance,
        ErrorKind::UnexpectedKey,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::WrongTotal => "wrong-total",
            ErrorKind::NegativeValue => "negative-value",
            ErrorKind::NilBalance => "nil-balance",
            ErrorKind::UnexpectedKey => "unexpected-key",
        }
    }
}

/// Errors found, by kind (the report keeps at most [`MAX_PER_KIND`] of each).
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorCounts {
    pub wrong_total: usize,
    pub negative_value: usize,
    pub nil_balance: usize,
    pub unexpected_key: usize,
}

impl ErrorCounts {
    pub fn of(&self, kind: ErrorKind) -> usize {
        match kind {
            ErrorKind::WrongTotal => self.wrong_total,
            ErrorKind::NegativeValue => self.negative_value,
            ErrorKind::NilBalance => self.nil_balance,
            ErrorKind::UnexpectedKey => self.unexpected_key,
        }
    }

    /// Counts one more error of `kind`; whether the report still keeps it.
    pub(super) fn add(&mut self, kind: ErrorKind) -> bool {
        let n = match kind {
            ErrorKind::WrongTotal => &mut self.wrong_total,
            ErrorKind::NegativeValue => &mut self.negative_value,
            ErrorKind::NilBalance => &mut self.nil_balance,
            ErrorKind::UnexpectedKey => &mut self.unexpected_key,
        };
        *n += 1;
        *n <= MAX_PER_KIND
    }
}

/// An account and its balance, as a read returned it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Balance {
    pub account: Account,
    pub balance: i64,
}

/// One error, with the read that shows it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct BankError {
    pub kind: ErrorKind,
    /// One line for a human.
    pub description: String,
    /// The `ok` read.
    pub read: OpSummary,
    /// wrong-total: the expected total, and the read's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
    /// negative-value: the balances below zero, in the read's order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub negative: Vec<Balance>,
    /// nil-balance: the bank's accounts the read has no balance for, in the accounts' order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<Account>,
    /// unexpected-key: the read's keys that are not accounts of the bank, in the read's order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unexpected: Vec<Account>,
}

/// What the bank checker counted.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct BankCounts {
    /// `read` operations by outcome; the `ok` ones are the reads checked.
    pub reads: Counts,
    pub transfers: Counts,
    /// `ok` reads with at least one error (a read can show several kinds).
    pub bad_reads: usize,
}

/// The bank checker's result.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Report {
    /// Invalid iff an error was found.
    pub valid: Validity,
    /// The total every read must sum to; absent when none was given and no read was `ok`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
    /// The bank's accounts; absent when none were given and no read was `ok`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accounts: Option<Vec<Account>>,
    /// Whether the total, the accounts were taken from the first `ok` read rather than given.
    pub total_inferred: bool,
    pub accounts_inferred: bool,
    /// The read they were taken from, when either was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inferred_from: Option<OpSummary>,
    /// Whether balances below zero were allowed (then negative-value is never reported).
    pub allow_negative: bool,
    pub counts: BankCounts,
    pub error_counts: ErrorCounts,
    /// At most [`MAX_PER_KIND`] of each kind; by kind in [`ErrorKind::ALL`]'s order, each in
    /// the order of the reads.
    pub errors: Vec<BankError>,
}

impl Report {
    /// A console rendering: what was expected, the counts, and each error (at most ten of
    /// each kind).
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let (r, t) = (&self.counts.reads, &self.counts.transfers);
        let _ = write!(
            out,
            "  reads {} ({} ok, {} fail, {} info), transfers {} ({} ok, {} fail, {} info)",
            r.ops, r.ok, r.fail, r.info, t.ops, t.ok, t.fail, t.info
        );
        let total = self
            .total
            .map_or_else(|| "unknown".to_string(), |t| t.to_string());
        let accounts = self
            .accounts
            .as_ref()
            .map_or_else(|| "unknown".to_string(), |a| a.len().to_string());
        let _ = write!(out, "; total {total} over {accounts} accounts");
        if let Some(from) = &self.inferred_from {
            let what = match (self.total_inferred, self.accounts_inferred) {
                (true, true) => "both",
                (true, false) => "the total",
                _ => "the accounts",
            };
            // An op's line is its invocation's (read from no file, its index).
            let at = if from.line > 0 {
                format!("line {}", from.line)
            } else {
                format!("index {}", from.index)
            };
            let _ = write!(
                out,
                " ({what} inferred from the first ok read: process {}'s, invoked at {at})",
                from.process
            );
        }
        if self.allow_negative {
            out.push_str("; negative balances allowed");
        }
        let _ = writeln!(out, "; {} reads with errors", self.counts.bad_reads);
        for kind in ErrorKind::ALL {
            let shown: Vec<&BankError> = self
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

/// How many accounts a one-line description names.
const NAMED: usize = 8;

/// `4`, `4, 7`, or past [`NAMED`] items the first of them and `and 3 more`.
fn listed(items: impl ExactSizeIterator<Item = String>) -> String {
    let n = items.len();
    let mut s = items.take(NAMED).collect::<Vec<_>>().join(", ");
    if n > NAMED {
        let _ = write!(s, " and {} more", n - NAMED);
    }
    s
}

/// An account's name escaped, so that a description stays on one line.
fn escaped(account: &str) -> String {
    account.escape_debug().to_string()
}

impl BankError {
    fn new(kind: ErrorKind, read: OpSummary, description: String) -> BankError {
        BankError {
            kind,
            description,
            read,
            expected: None,
            total: None,
            negative: Vec::new(),
            missing: Vec::new(),
            unexpected: Vec::new(),
        }
    }

    /// `who`: the read, for a human (`process 3's read, ok at line 41`).
    pub(super) fn wrong_total(read: OpSummary, who: &str, expected: i64, total: i64) -> BankError {
        let description = format!("{who}, sums to {total}, expected {expected}");
        BankError {
            expected: Some(expected),
            total: Some(total),
            ..BankError::new(ErrorKind::WrongTotal, read, description)
        }
    }

    pub(super) fn negative_value(read: OpSummary, who: &str, negative: Vec<Balance>) -> BankError {
        let what = if negative.len() == 1 {
            "a negative balance"
        } else {
            "negative balances"
        };
        let named = negative
            .iter()
            .map(|b| format!("{} = {}", escaped(&b.account), b.balance));
        let description = format!("{who}, has {what}: {}", listed(named));
        BankError {
            negative,
            ..BankError::new(ErrorKind::NegativeValue, read, description)
        }
    }

    pub(super) fn nil_balance(read: OpSummary, who: &str, missing: Vec<Account>) -> BankError {
        let what = if missing.len() == 1 {
            "account"
        } else {
            "accounts"
        };
        let named = missing.iter().map(|a| escaped(a));
        let description = format!("{who}, has no balance for {what} {}", listed(named));
        BankError {
            missing,
            ..BankError::new(ErrorKind::NilBalance, read, description)
        }
    }

    pub(super) fn unexpected_key(
        read: OpSummary,
        who: &str,
        unexpected: Vec<Account>,
    ) -> BankError {
        let what = if unexpected.len() == 1 {
            "a key that is not an account"
        } else {
            "keys that are not accounts"
        };
        let named = unexpected.iter().map(|a| escaped(a));
        let description = format!("{who}, has {what}: {}", listed(named));
        BankError {
            unexpected,
            ..BankError::new(ErrorKind::UnexpectedKey, read, description)
        }
    }
}
