//! The bank checker, Jepsen's `bank`: clients transfer money between a fixed set of accounts
//! and read every balance at once; every read must see each account, no money made or lost,
//! and (unless allowed) no account overdrawn.
//!
//! ```text
//! operations ──(read.rs)──▶ each ok read's balances; transfers' shape; counts
//! first ok read ──────────▶ the total and the accounts, where Options gives none
//! each ok read ───────────▶ its errors (report.rs) ──▶ Report
//! ```
//!
//! **Each `ok` read** is checked (a read that failed or is unknown returned nothing):
//!
//! * `unexpected-key`: a key that is not an account of the bank;
//! * `nil-balance`: an account of the bank the read has no balance for — nil, or absent;
//! * `wrong-total`: the balances do not sum to the total — judged only when every key has a
//!   balance and no account is missing, since a sum with a hole in it says nothing;
//! * `negative-value`: a balance below zero, unless [`Options::allow_negative`].
//!
//! A read can show several kinds, each an error of its own. **The verdict** is invalid iff an
//! error was found, else valid (never unknown); a history without an `ok` read is valid, as in
//! Jepsen, and its counts show that nothing was read. Transfers are counted and their shape
//! checked, never replayed: as in Jepsen, the reads alone decide.
//!
//! **The total and the accounts.** Jepsen's checker takes them from the test map
//! (`:total-amount`, `:accounts`), which a `history.edn` does not carry. Given in [`Options`],
//! they are used as given; otherwise they are taken from the first `ok` read — its keys, the
//! sum of its balances — and the report says so. To infer the total, that read must have a
//! balance for every account. An inferred total cannot tell a history whose every read is
//! wrong by the same amount: give the total to be sure.
//!
//! Two departures from Jepsen's `check-op`, which stops at the first kind that applies (in the
//! order above): every kind a read shows is reported, and an absent account is a nil-balance
//! (Jepsen's sees only nil values, so an account missing from a read goes unnoticed when its
//! balance was zero).

mod read;
mod report;

pub use read::Account;
pub use report::{Balance, BankCounts, BankError, ErrorCounts, ErrorKind, MAX_PER_KIND, Report};

use hashbrown::HashSet;

use crate::error::{InputError, excerpt};
use crate::history::{History, Operation, Outcome};
use crate::linear::OpSummary;
use crate::verdict::Validity;

use read::Balances;

/// What the checker is told; what it is not told it infers from the first `ok` read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// The total every read must sum to.
    pub total: Option<i64>,
    /// The bank's accounts (distinct).
    pub accounts: Option<Vec<Account>>,
    /// Balances below zero are allowed: no negative-value errors.
    pub allow_negative: bool,
}

/// Checks the bank's operations `ops` (the client operations of `history`).
///
/// Fails, naming the line, on an operation that is not `transfer` or `read`, on a transfer
/// that is not `{from, to, amount}`, on an `ok` read whose value is not a map of account to
/// an integer or nil, on balances whose sum does not fit in 64 bits, and on a total that
/// cannot be inferred (the first `ok` read lacks a balance, or has a key that is not an
/// account); fails (line 0) on accounts given twice.
pub fn check(
    history: &History,
    ops: &[Operation],
    options: &Options,
) -> Result<Report, InputError> {
    let mut counts = BankCounts::default();
    let mut reads: Vec<(usize, Balances)> = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        match &*op.f {
            "transfer" => {
                read::transfer(history, op)?;
                counts.transfers.count(op.outcome);
            }
            "read" => {
                counts.reads.count(op.outcome);
                if op.outcome == Outcome::Ok {
                    reads.push((i, read::balances(history, op)?));
                }
            }
            f => {
                return Err(read::error(
                    history,
                    op.invocation(history).line as usize,
                    format!("expected f transfer or read, found `{}`", f.escape_debug()),
                ));
            }
        }
    }

    let first = reads.first().map(|(i, b)| (&ops[*i], b));
    let accounts = match (&options.accounts, first) {
        (Some(given), _) => Some(distinct(history, given)?),
        (None, Some((_, balances))) => Some(balances.iter().map(|(a, _)| a.clone()).collect()),
        (None, None) => None,
    };
    let bank: HashSet<&str> = accounts.iter().flatten().map(String::as_str).collect();
    let total = match (options.total, first) {
        (Some(given), _) => Some(given),
        (None, Some((op, balances))) => Some(infer_total(
            history,
            op,
            &examine(balances, accounts.as_deref().unwrap_or_default(), &bank),
        )?),
        (None, None) => None,
    };
    let inferred = |given: bool| !given && first.is_some();
    let (total_inferred, accounts_inferred) = (
        inferred(options.total.is_some()),
        inferred(options.accounts.is_some()),
    );

    let mut error_counts = ErrorCounts::default();
    // By kind, indexed by the kind (declared in ErrorKind::ALL's order).
    let mut kept: [Vec<BankError>; 4] = Default::default();
    for (i, balances) in &reads {
        let op = &ops[*i];
        let Seen {
            unexpected,
            missing,
            negative,
            sum,
        } = examine(balances, accounts.as_deref().unwrap_or_default(), &bank);
        let sum = sum.map(|sum| fit(history, op, sum)).transpose()?;
        let wrong = match (total, sum) {
            (Some(expected), Some(sum)) if sum != expected => Some((expected, sum)),
            _ => None,
        };
        // Counts an error of `kind`; the read and its description, when the report keeps it.
        let mut bad = false;
        let mut keep = |kind: ErrorKind| {
            bad = true;
            error_counts
                .add(kind)
                .then(|| (OpSummary::new(op, history), who(history, op)))
        };
        if let Some((expected, sum)) = wrong
            && let Some((read, who)) = keep(ErrorKind::WrongTotal)
        {
            kept[ErrorKind::WrongTotal as usize]
                .push(BankError::wrong_total(read, &who, expected, sum));
        }
        if !options.allow_negative
            && !negative.is_empty()
            && let Some((read, who)) = keep(ErrorKind::NegativeValue)
        {
            kept[ErrorKind::NegativeValue as usize]
                .push(BankError::negative_value(read, &who, negative));
        }
        if !missing.is_empty()
            && let Some((read, who)) = keep(ErrorKind::NilBalance)
        {
            kept[ErrorKind::NilBalance as usize].push(BankError::nil_balance(read, &who, missing));
        }
        if !unexpected.is_empty()
            && let Some((read, who)) = keep(ErrorKind::UnexpectedKey)
        {
            kept[ErrorKind::UnexpectedKey as usize]
                .push(BankError::unexpected_key(read, &who, unexpected));
        }
        counts.bad_reads += usize::from(bad);
    }
    let errors: Vec<BankError> = kept.into_iter().flatten().collect();
    // It borrows the accounts, which the report takes.
    drop(bank);
    Ok(Report {
        valid: if counts.bad_reads == 0 {
            Validity::Valid
        } else {
            Validity::Invalid
        },
        total,
        accounts,
        total_inferred,
        accounts_inferred,
        inferred_from: first
            .filter(|_| total_inferred || accounts_inferred)
            .map(|(op, _)| OpSummary::new(op, history)),
        allow_negative: options.allow_negative,
        counts,
        error_counts,
        errors,
    })
}

/// What one read shows against the bank's accounts.
struct Seen {
    /// Its keys that are not accounts, in its order.
    unexpected: Vec<Account>,
    /// Accounts it has no balance for, in the accounts' order.
    missing: Vec<Account>,
    /// Its balances below zero (of any key), in its order.
    negative: Vec<Balance>,
    /// The sum of its balances, when every key has one and no account is missing. Wide, so
    /// that adding cannot overflow.
    sum: Option<i128>,
}

fn examine(balances: &Balances, accounts: &[Account], bank: &HashSet<&str>) -> Seen {
    let unexpected = balances
        .iter()
        .filter(|(a, _)| !bank.contains(a.as_str()))
        .map(|(a, _)| a.clone())
        .collect();
    let missing: Vec<Account> = accounts
        .iter()
        .filter(|a| !balances.iter().any(|(k, b)| k == *a && b.is_some()))
        .cloned()
        .collect();
    let negative = balances
        .iter()
        .filter_map(|(a, b)| match b {
            Some(b) if *b < 0 => Some(Balance {
                account: a.clone(),
                balance: *b,
            }),
            _ => None,
        })
        .collect();
    let sum = if missing.is_empty() && balances.iter().all(|(_, b)| b.is_some()) {
        Some(
            balances
                .iter()
                .filter_map(|(_, b)| *b)
                .map(i128::from)
                .sum(),
        )
    } else {
        None
    };
    Seen {
        unexpected,
        missing,
        negative,
        sum,
    }
}

/// The total, from the first `ok` read `op`: the sum of its balances, which must cover every
/// account and nothing else.
fn infer_total(history: &History, op: &Operation, seen: &Seen) -> Result<i64, InputError> {
    let why = match (seen.missing.first(), seen.unexpected.first(), seen.sum) {
        (None, None, Some(sum)) => return fit(history, op, sum),
        (Some(a), _, _) => format!("it has no balance for account {}", excerpt(a)),
        (None, Some(a), _) => format!("its key {} is not one of the accounts given", excerpt(a)),
        (None, None, None) => "one of its balances is nil".to_string(),
    };
    Err(read::error(
        history,
        read::line(history, op),
        format!(
            "cannot infer the total from the first ok read (process {}): {why}; give the total",
            op.process
        ),
    ))
}

/// A read's sum as a 64-bit total, or an error naming its line.
fn fit(history: &History, op: &Operation, sum: i128) -> Result<i64, InputError> {
    i64::try_from(sum).map_err(|_| {
        read::error(
            history,
            read::line(history, op),
            format!(
                "process {}: expected the read's balances to sum to a 64-bit integer, found {sum}",
                op.process
            ),
        )
    })
}

/// The accounts given, refusing a repeat (it would say nothing, or a typo).
fn distinct(history: &History, given: &[Account]) -> Result<Vec<Account>, InputError> {
    let mut seen = HashSet::new();
    for a in given {
        if !seen.insert(a.as_str()) {
            return Err(read::error(
                history,
                0,
                format!("expected distinct accounts, found {} twice", excerpt(a)),
            ));
        }
    }
    Ok(given.to_vec())
}

/// The read, for a human: `process 3's read, ok at line 41`.
fn who(history: &History, op: &Operation) -> String {
    let done = op
        .completion(history)
        .unwrap_or_else(|| op.invocation(history));
    if done.line > 0 {
        format!("process {}'s read, ok at line {}", op.process, done.line)
    } else {
        format!("process {}'s read, ok at index {}", op.process, done.index)
    }
}
