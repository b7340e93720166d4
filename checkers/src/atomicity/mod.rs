//! The atomicity checker: a distributed transaction (2PC, 3PC) over the bank's accounts is all
//! or nothing — every participant decides it the same way, an acknowledged transfer is applied
//! at every owner of its accounts, a failed one nowhere, and no money is made or lost.
//!
//! ```text
//! decisions events ──(crate::txn)──▶ Participants ──(txns.rs)──▶ per txn: each one's Status
//!                                                  └──────────▶ per account: its owner
//! client ops ──(client.rs)──▶ transfers with the txn their completion names
//! both ──▶ errors (report.rs) ──▶ Report
//! ```
//!
//! The participants' records come from the `decisions` events the workload records after
//! healing, one per participant ([`crate::txn`]); the owners of the accounts from each
//! participant's `initial` balances. The errors:
//!
//! * `split-decision`: a transaction committed at one participant and aborted at another;
//! * `partial`: a transfer (its operation known from any participant's record, or from the
//!   client) committed at one owner of its accounts while another owner has no record of it
//!   or is still in doubt (not reported again when the transaction is split);
//! * `ok-not-applied`: an `ok` transfer whose completion names a transaction that is not
//!   committed at every owner of its accounts;
//! * `failed-but-applied`: a `fail` transfer naming a transaction committed somewhere (`info`
//!   transfers may go either way: the rules above see to them being all or nothing);
//! * `total-not-conserved`: the participants' balances do not sum to their opening balances.
//!
//! **The verdict** is invalid iff an error was found; else unknown when a participant could not
//! be reached (recorded with a null value: what it decided cannot be seen, and no owner of
//! its accounts is judged, nor the total); else valid. Records still in doubt at the end are
//! counted and listed, not an error in themselves.
//!
//! A history without any decisions event (a Jepsen bank history) is not the atomicity
//! checker's: [`check`] returns `None`.

mod client;
mod report;
mod txns;

pub use report::{
    AtomicityError, ClientCounts, ErrorCounts, ErrorKind, MAX_PER_KIND, ParticipantCounts, Report,
    Said, Status, TxnCounts, Undecided,
};

use hashbrown::HashMap;

use crate::error::InputError;
use crate::history::{History, Operation, Outcome};
use crate::linear::OpSummary;
use crate::txn::{self, Decision, Participant, Transfer, TxnId};
use crate::verdict::Validity;

/// Checks the transactions of `history` (its client operations `ops`, and its participants'
/// decisions events); `None` when it records no decisions event.
///
/// Fails, naming the line, on a decisions event that is not as the workload writes it, on a
/// participant recorded twice, on an account two participants own, on a client transfer that
/// is not `{from, to, amount}` or whose txn is not an id, and on balances whose sum does not
/// fit in 64 bits.
pub fn check(history: &History, ops: &[Operation]) -> Result<Option<Report>, InputError> {
    let participants = txn::participants(history)?;
    if participants.is_empty() {
        return Ok(None);
    }
    let owners = txns::owners(history, &participants)?;
    let txns = txns::gather(&participants);
    let transfers = client::transfers(history, ops)?;
    // The client's view of a transaction's operation, where no participant recorded it.
    let asked: HashMap<TxnId, &Transfer> = transfers
        .iter()
        .filter_map(|c| Some((c.txn?, &c.transfer)))
        .collect();

    let mut found = Found::default();
    let mut counts = TxnCounts::default();
    let mut undecided_records = 0;
    let mut undecided = Vec::new();
    for (&id, records) in &txns {
        counts.txns += 1;
        let decided = |d: Decision| records.iter().any(|(_, r)| r.decision == Some(d));
        let (commit, abort) = (decided(Decision::Commit), decided(Decision::Abort));
        match (commit, abort) {
            (true, true) => counts.split += 1,
            (true, false) => counts.committed += 1,
            (false, true) => counts.aborted += 1,
            (false, false) => counts.undecided += 1,
        }
        for (p, r) in records {
            if r.decision.is_none() {
                undecided_records += 1;
                if undecided.len() < MAX_PER_KIND {
                    undecided.push(Undecided {
                        txn: id,
                        node: participants[*p].node.clone(),
                        index: participants[*p].index,
                    });
                }
            }
        }
        let op = txns::transfer(records).or_else(|| asked.get(&id).copied());
        if commit && abort {
            let said: Vec<Said> = records
                .iter()
                .map(|(p, _)| txns::said(&participants, records, *p))
                .collect();
            let first = &participants[records[0].0];
            found.add(ErrorKind::SplitDecision, || AtomicityError {
                description: format!("txn {id} committed and aborted: {}", report::said(&said)),
                txn: Some(id),
                op: op.cloned(),
                participants: said,
                ..AtomicityError::new(ErrorKind::SplitDecision, first.index, first.line)
            });
        } else if commit && let Some(t) = op {
            let owned = txns::owners_of(&owners, t);
            if owned.iter().any(|p| {
                matches!(
                    txns::said(&participants, records, *p).status,
                    Status::NoRecord | Status::Undecided
                )
            }) {
                let said: Vec<Said> = concerned(records, &owned)
                    .iter()
                    .map(|p| txns::said(&participants, records, *p))
                    .collect();
                let first = &participants[records
                    .iter()
                    .find(|(_, r)| r.decision == Some(Decision::Commit))
                    .map_or(records[0].0, |(p, _)| *p)];
                found.add(ErrorKind::Partial, || AtomicityError {
                    description: format!(
                        "txn {id} ({}) committed at some owners only: {}",
                        shown(t),
                        report::said(&said)
                    ),
                    txn: Some(id),
                    op: Some(t.clone()),
                    participants: said,
                    ..AtomicityError::new(ErrorKind::Partial, first.index, first.line)
                });
            }
        }
    }

    let mut client = ClientCounts::default();
    for c in &transfers {
        client.transfers.count(c.op.outcome);
        let Some(id) = c.txn else { continue };
        client.with_txn += 1;
        let records = txns.get(&id).map(Vec::as_slice).unwrap_or_default();
        let done =
            c.op.completion(history)
                .unwrap_or_else(|| c.op.invocation(history));
        let who = format!(
            "process {}'s transfer ({}), {} at line {}",
            c.op.process,
            shown(&c.transfer),
            c.op.outcome.word(),
            done.line
        );
        match c.op.outcome {
            Outcome::Ok => {
                let owned = txns::owners_of(&owners, &c.transfer);
                if owned.iter().any(|p| {
                    !matches!(
                        txns::said(&participants, records, *p).status,
                        Status::Commit | Status::Unreachable
                    )
                }) {
                    let said: Vec<Said> = concerned(records, &owned)
                        .iter()
                        .map(|p| txns::said(&participants, records, *p))
                        .collect();
                    found.add(ErrorKind::OkNotApplied, || AtomicityError {
                        description: format!(
                            "{who}, txn {id} not committed at every owner: {}",
                            report::said(&said)
                        ),
                        txn: Some(id),
                        op: Some(c.transfer.clone()),
                        participants: said,
                        client: Some(OpSummary::new(c.op, history)),
                        ..AtomicityError::new(ErrorKind::OkNotApplied, done.index, done.line)
                    });
                }
            }
            Outcome::Fail => {
                let said: Vec<Said> = records
                    .iter()
                    .filter(|(_, r)| r.decision == Some(Decision::Commit))
                    .map(|(p, _)| txns::said(&participants, records, *p))
                    .collect();
                if !said.is_empty() {
                    found.add(ErrorKind::FailedButApplied, || AtomicityError {
                        description: format!(
                            "{who}, but txn {id} was committed: {}",
                            report::said(&said)
                        ),
                        txn: Some(id),
                        op: Some(c.transfer.clone()),
                        participants: said,
                        client: Some(OpSummary::new(c.op, history)),
                        ..AtomicityError::new(ErrorKind::FailedButApplied, done.index, done.line)
                    });
                }
            }
            Outcome::Info => {}
        }
    }

    let unreachable: Vec<&Participant> = participants
        .iter()
        .filter(|p| p.decisions().is_none())
        .collect();
    let (mut initial_total, mut final_total) = (None, None);
    if unreachable.is_empty() {
        let sum = |balances: fn(&txn::Decisions) -> &[(String, i64)]| {
            participants
                .iter()
                .filter_map(Participant::decisions)
                .flat_map(|d| balances(d).iter().map(|(_, b)| i128::from(*b)))
                .sum::<i128>()
        };
        let fit = |sum: i128, what: &str| {
            i64::try_from(sum).map_err(|_| {
                InputError::new(
                    &history.source,
                    participants[0].line as usize,
                    format!(
                        "atomicity checker: expected the participants' {what} balances to sum to a 64-bit integer, found {sum}"
                    ),
                )
            })
        };
        let initial = fit(sum(|d| &d.initial), "opening")?;
        let now = fit(sum(|d| &d.balances), "final")?;
        if initial != now {
            let first = &participants[0];
            found.add(ErrorKind::TotalNotConserved, || AtomicityError {
                description: format!(
                    "the participants' balances sum to {now} at the end, {initial} at the start"
                ),
                initial: Some(initial),
                balances: Some(now),
                ..AtomicityError::new(ErrorKind::TotalNotConserved, first.index, first.line)
            });
        }
        (initial_total, final_total) = (Some(initial), Some(now));
    }

    let error_counts = found.counts;
    let unknown_because = (!unreachable.is_empty()).then(|| {
        let named: Vec<String> = unreachable
            .iter()
            .map(|p| match &p.seen {
                Err(Some(e)) => format!("{} ({})", p.node, e),
                _ => p.node.clone(),
            })
            .collect();
        format!(
            "{} could not be reached: what {} decided cannot be seen",
            named.join(", "),
            if named.len() == 1 { "it" } else { "they" }
        )
    });
    let valid = if error_counts.total() > 0 {
        Validity::Invalid
    } else if unknown_because.is_some() {
        Validity::Unknown
    } else {
        Validity::Valid
    };
    Ok(Some(Report {
        valid,
        unknown_because,
        counts,
        participants: participants.iter().map(participant_counts).collect(),
        client,
        initial_total,
        final_total,
        undecided_records,
        undecided,
        error_counts,
        errors: found.kept.into_iter().flatten().collect(),
    }))
}

/// Errors found: counted, and kept by kind up to [`MAX_PER_KIND`].
#[derive(Default)]
struct Found {
    counts: ErrorCounts,
    kept: [Vec<AtomicityError>; 5],
}

impl Found {
    fn add(&mut self, kind: ErrorKind, error: impl FnOnce() -> AtomicityError) {
        if self.counts.add(kind) {
            self.kept[kind as usize].push(error());
        }
    }
}

impl AtomicityError {
    fn new(kind: ErrorKind, index: u64, line: u32) -> AtomicityError {
        AtomicityError {
            kind,
            description: String::new(),
            index,
            line,
            txn: None,
            op: None,
            participants: Vec::new(),
            client: None,
            initial: None,
            balances: None,
        }
    }
}

/// The participants concerned by a transfer: the `owners` of its accounts, and any other with
/// a record of it, in the participants' order.
fn concerned(records: &[(usize, &txn::TxnRecord)], owners: &[usize]) -> Vec<usize> {
    let mut all: Vec<usize> = owners
        .iter()
        .copied()
        .chain(records.iter().map(|(p, _)| *p))
        .collect();
    all.sort_unstable();
    all.dedup();
    all
}

/// `3 from 1 to 2`.
fn shown(t: &Transfer) -> String {
    format!(
        "{} from {} to {}",
        t.amount,
        t.from.escape_debug(),
        t.to.escape_debug()
    )
}

fn participant_counts(p: &Participant) -> ParticipantCounts {
    let mut c = ParticipantCounts {
        node: p.node.clone(),
        index: p.index,
        ..ParticipantCounts::default()
    };
    match &p.seen {
        Err(error) => c.error = error.clone(),
        Ok(d) => {
            c.reachable = true;
            c.coordinator = Some(d.coordinator.clone());
            c.txns = d.txns.len();
            for r in &d.txns {
                match r.decision {
                    Some(Decision::Commit) => c.committed += 1,
                    Some(Decision::Abort) => c.aborted += 1,
                    None => c.undecided += 1,
                }
            }
            c.refused_on_locks = d.refused_on_locks;
            c.restarts = d.restarts;
        }
    }
    c
}
