//! A participant's lock table: shared locks for reads, exclusive locks for writes, taken at
//! prepare all at once or not at all, released at the decision.
//!
//! There is no waiting: a prepare that conflicts with a held lock is refused (the participant
//! votes no). Waiting would need a deadlock detector — two transfers between the same two
//! participants, prepared in opposite orders, would wait for each other forever — and a
//! prepared transaction can hold its locks for as long as its coordinator is down, which a
//! waiter would inherit. "No-wait" trades that for aborts under contention, which the client
//! retries.

use std::collections::{BTreeMap, BTreeSet};

use crate::twopc::core::{Account, TxnId};

#[derive(Debug)]
enum Lock {
    Shared(BTreeSet<TxnId>),
    Exclusive(TxnId),
}

#[derive(Debug, Default)]
pub(crate) struct Locks {
    held: BTreeMap<Account, Lock>,
}

impl Locks {
    /// Takes every lock for `txn`, or none of them if any conflicts; says which.
    pub(crate) fn acquire(
        &mut self,
        txn: TxnId,
        exclusive: &[Account],
        shared: &[Account],
    ) -> bool {
        let free = exclusive.iter().all(|a| !self.held.contains_key(a))
            && shared
                .iter()
                .all(|a| !matches!(self.held.get(a), Some(Lock::Exclusive(_))));
        if !free {
            return false;
        }
        for &a in exclusive {
            self.held.insert(a, Lock::Exclusive(txn));
        }
        for &a in shared {
            match self
                .held
                .entry(a)
                .or_insert_with(|| Lock::Shared(BTreeSet::new()))
            {
                Lock::Shared(holders) => {
                    holders.insert(txn);
                }
                Lock::Exclusive(_) => unreachable!("checked free above"),
            }
        }
        true
    }

    /// Releases every lock `txn` holds on these accounts.
    pub(crate) fn release(&mut self, txn: TxnId, accounts: impl IntoIterator<Item = Account>) {
        for a in accounts {
            let empty = match self.held.get_mut(&a) {
                Some(Lock::Exclusive(holder)) => *holder == txn,
                Some(Lock::Shared(holders)) => {
                    holders.remove(&txn);
                    holders.is_empty()
                }
                None => false,
            };
            if empty {
                self.held.remove(&a);
            }
        }
    }

    /// Whether any lock is held — for status and tests.
    pub(crate) fn is_empty(&self) -> bool {
        self.held.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T1: TxnId = TxnId {
        incarnation: 1,
        seq: 1,
    };
    const T2: TxnId = TxnId {
        incarnation: 1,
        seq: 2,
    };

    #[test]
    fn shared_locks_share_and_exclusive_ones_conflict() {
        let mut locks = Locks::default();
        assert!(locks.acquire(T1, &[], &[1, 2]));
        assert!(locks.acquire(T2, &[], &[1]));
        assert!(!locks.acquire(T2, &[2], &[]));
        locks.release(T1, [1, 2]);
        assert!(!locks.acquire(T1, &[1], &[]), "T2 still reads 1");
        locks.release(T2, [1]);
        assert!(locks.acquire(T1, &[1], &[]));
        assert!(!locks.acquire(T2, &[], &[1]));
        locks.release(T2, [1]);
        assert!(!locks.is_empty(), "releasing another's lock does nothing");
        locks.release(T1, [1]);
        assert!(locks.is_empty());
    }
}
