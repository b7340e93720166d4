//! The participants' records, turned around: for each transaction, where each participant
//! stands on it; for each account, the participant that owns it.

use std::collections::BTreeMap;

use hashbrown::HashMap;

use super::report::{Said, Status};
use crate::error::{InputError, excerpt};
use crate::history::History;
use crate::txn::{Decision, Participant, Transfer, TxnId, TxnOp, TxnRecord};

/// Every transaction any participant names, by id (so in id order), with the records of it:
/// `(participant, record)`, in the participants' order.
pub(super) type Txns<'a> = BTreeMap<TxnId, Vec<(usize, &'a TxnRecord)>>;

pub(super) fn gather(participants: &[Participant]) -> Txns<'_> {
    let mut txns: Txns<'_> = BTreeMap::new();
    for (p, part) in participants.iter().enumerate() {
        for r in part.decisions().map(|d| &d.txns[..]).unwrap_or_default() {
            txns.entry(r.txn).or_default().push((p, r));
        }
    }
    txns
}

/// The transfer a transaction is, from the first record that knows it.
pub(super) fn transfer<'a>(records: &[(usize, &'a TxnRecord)]) -> Option<&'a Transfer> {
    records.iter().find_map(|(_, r)| match &r.op {
        TxnOp::Transfer(t) => Some(t),
        _ => None,
    })
}

/// Where participant `p` stands on a transaction whose records are `records`.
pub(super) fn said(
    participants: &[Participant],
    records: &[(usize, &TxnRecord)],
    p: usize,
) -> Said {
    let part = &participants[p];
    let (status, decided) = if part.decisions().is_none() {
        (Status::Unreachable, None)
    } else {
        match records.iter().find(|(q, _)| *q == p) {
            None => (Status::NoRecord, None),
            Some((_, r)) => (
                match r.decision {
                    Some(Decision::Commit) => Status::Commit,
                    Some(Decision::Abort) => Status::Abort,
                    None => Status::Undecided,
                },
                r.decided,
            ),
        }
    };
    Said {
        node: part.node.clone(),
        status,
        decided,
        index: part.index,
    }
}

/// Account → the participant that owns it, from their `initial` maps. Fails on an account two
/// participants claim.
pub(super) fn owners<'a>(
    history: &History,
    participants: &'a [Participant],
) -> Result<HashMap<&'a str, usize>, InputError> {
    let mut owners: HashMap<&str, usize> = HashMap::new();
    for (p, part) in participants.iter().enumerate() {
        for (account, _) in part.decisions().map(|d| &d.initial[..]).unwrap_or_default() {
            if let Some(q) = owners.insert(account, p) {
                return Err(InputError::new(
                    &history.source,
                    part.line as usize,
                    format!(
                        "decisions: expected each account to be owned by one participant, found account {} in the initial balances of both {} (line {}) and {}",
                        excerpt(account),
                        participants[q].node.escape_debug(),
                        participants[q].line,
                        part.node.escape_debug()
                    ),
                ));
            }
        }
    }
    Ok(owners)
}

/// The participants that own `t`'s accounts (one, or two), in the participants' order.
pub(super) fn owners_of(owners: &HashMap<&str, usize>, t: &Transfer) -> Vec<usize> {
    let mut of: Vec<usize> = [&t.from, &t.to]
        .into_iter()
        .filter_map(|a| owners.get(a.as_str()).copied())
        .collect();
    of.sort_unstable();
    of.dedup();
    of
}
