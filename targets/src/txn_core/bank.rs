//! The bank's routing and bookkeeping, the same in both protocols: which participants a
//! transaction involves, what a participant writes and reads for it, the transaction ids a
//! coordinator hands out, and its tally of phase one's yes votes.

use std::collections::{BTreeMap, BTreeSet};

use crate::twopc::core::{Account, NodeId, Op, Part, Reads, TxnId, UnknownAccount};

/// The shard map read both ways: which participant owns each account, and every participant.
#[derive(Debug)]
pub(crate) struct Shards {
    owner: BTreeMap<Account, NodeId>,
    participants: BTreeSet<NodeId>,
}

impl Shards {
    /// From the accounts each participant owns.
    pub(crate) fn new(shards: &BTreeMap<NodeId, Vec<Account>>) -> Shards {
        Shards {
            owner: shards
                .iter()
                .flat_map(|(&p, accounts)| accounts.iter().map(move |&a| (a, p)))
                .collect(),
            participants: shards.keys().copied().collect(),
        }
    }

    /// The participant that owns `account`.
    pub(crate) fn owner(&self, account: Account) -> Option<NodeId> {
        self.owner.get(&account).copied()
    }

    /// The participants `op` involves, as the coordinator routes it: the owners of a
    /// transfer's two accounts, every participant for a read.
    pub(crate) fn route(&self, op: &Op) -> Result<BTreeSet<NodeId>, UnknownAccount> {
        match *op {
            Op::Transfer { from, to, .. } => [from, to]
                .into_iter()
                .map(|a| self.owner(a).ok_or(UnknownAccount(a)))
                .collect(),
            Op::ReadAll => Ok(self.participants.clone()),
        }
    }
}

/// A participant's part of `op`, worked out from its committed `balances` — or `None` if it
/// must vote no (it owns none of the accounts, or the debit would overdraw and overdrafts are
/// not allowed).
pub(crate) fn plan(
    balances: &BTreeMap<Account, i64>,
    allow_negative: bool,
    op: &Op,
) -> Option<Part> {
    match *op {
        Op::Transfer { from, to, amount } => {
            let mut writes = Vec::new();
            if let Some(&balance) = balances.get(&from) {
                if amount < 0 || (balance < amount && !allow_negative) {
                    return None;
                }
                writes.push((from, balance - amount));
            }
            if let Some(&balance) = balances.get(&to) {
                // A transfer to the same account: the debit is the balance to credit.
                let base = writes.last().filter(|w| w.0 == to).map_or(balance, |w| w.1);
                writes.retain(|w| w.0 != to);
                writes.push((to, base + amount));
            }
            if writes.is_empty() {
                return None;
            }
            Some(Part {
                exclusive: writes.iter().map(|w| w.0).collect(),
                shared: Vec::new(),
                writes,
                reads: Vec::new(),
            })
        }
        Op::ReadAll => Some(Part {
            exclusive: Vec::new(),
            shared: balances.keys().copied().collect(),
            writes: Vec::new(),
            reads: balances.iter().map(|(a, b)| (*a, *b)).collect(),
        }),
    }
}

/// The transaction ids a coordinator hands out: its incarnation, logged at every start, and
/// a counter within it — so that a restarted coordinator never hands out an id again.
#[derive(Debug)]
pub(crate) struct TxnIds {
    incarnation: u64,
    last_seq: u64,
}

impl TxnIds {
    /// The ids of the incarnation after `last` (the highest one logged; 0 for none).
    pub(crate) fn after(last: u64) -> TxnIds {
        TxnIds {
            incarnation: last + 1,
            last_seq: 0,
        }
    }

    /// This incarnation, for the log's `Started` record.
    pub(crate) fn incarnation(&self) -> u64 {
        self.incarnation
    }

    /// A new id.
    pub(crate) fn next(&mut self) -> TxnId {
        self.last_seq += 1;
        TxnId {
            incarnation: self.incarnation,
            seq: self.last_seq,
        }
    }

    /// Whether `txn` was handed out: by an earlier incarnation, or by this one already.
    pub(crate) fn issued(&self, txn: TxnId) -> bool {
        txn.incarnation < self.incarnation
            || (txn.incarnation == self.incarnation && txn.seq <= self.last_seq)
    }
}

/// Phase one at a coordinator: the yes votes so far, with what each participant read.
#[derive(Debug, Default)]
pub(crate) struct YesVotes(BTreeMap<NodeId, Reads>);

impl YesVotes {
    /// Counts `from`'s yes (once, however often it is repeated). Once every one of the
    /// transaction's `participants` voted yes: everything they read.
    pub(crate) fn add(
        &mut self,
        from: NodeId,
        reads: Reads,
        participants: &BTreeSet<NodeId>,
    ) -> Option<Reads> {
        self.0.insert(from, reads);
        (self.0.len() >= participants.len()).then(|| self.0.values().flatten().copied().collect())
    }
}
