//! The 3PC cores on the shared in-memory test bank ([`crate::txn_core::test_bank`]): the
//! configuration every test starts with, and, after every event unless `split_allowed`, the
//! atomicity check — no transaction is committed on one participant's disk and aborted on
//! another's, and no disk holds two decisions for one transaction.

use std::collections::BTreeMap;

use crate::threepc::core::{
    Body, Config, Coordinator, CoordinatorConfig, Message, NodeId, Outcome, Participant,
    ParticipantConfig, ParticipantRecord, TxnId,
};
use crate::txn_core::test_bank::{self, BALANCE, BankProtocol};
pub(super) use crate::txn_core::test_bank::{COORDINATOR, Stats, accounts, is_prepare, is_vote};

/// The tick counts of every test: votes time out before participants start terminating,
/// and an attempt spans several retries, so that only a lasting cut looks like a crash.
pub(super) const TICKS: Config = Config {
    vote_timeout_ticks: 8,
    ack_timeout_ticks: 9,
    retry_ticks: 2,
    timeout_ticks: 12,
    termination_ticks: 8,
};

/// The 3PC cores, as the test bank runs them.
pub(super) struct ThreePc;

pub(super) type Bank = test_bank::Bank<ThreePc>;

/// What the 3PC tests watch over a run.
#[derive(Debug, Default)]
pub(super) struct Watch {
    /// Skip the atomicity check: for the partition tests, which show the split.
    pub(super) split_allowed: bool,
    /// Decisions a backup coordinator (a participant) made and sent to its peers.
    pub(super) backup_decisions: u32,
}

impl BankProtocol for ThreePc {
    type Coordinator = Coordinator;
    type Participant = Participant;
    type Message = Message;
    type CoordinatorConfig = CoordinatorConfig;
    type ParticipantConfig = ParticipantConfig;
    type Watch = Watch;

    test_bank::start_cores_by_new!();

    fn check(bank: &mut Bank, id: NodeId, sent: &[Message], _outcomes: &[Outcome]) {
        if id != COORDINATOR {
            let decisions = sent.iter().filter(|m| {
                m.to != COORDINATOR && matches!(m.body, Body::DoCommit { .. } | Body::Abort { .. })
            });
            bank.watch.backup_decisions += u32::from(decisions.count() > 0);
        }
        if !bank.watch.split_allowed {
            if let Some(violation) = bank.violation() {
                panic!("violated: {violation}");
            }
        }
    }
}

impl Bank {
    /// Participants `1..=n`, the network's draws from `seed`.
    pub(super) fn new(n: u64, seed: u64) -> Bank {
        let shards: BTreeMap<NodeId, Vec<_>> = (1..=n).map(|p| (p, accounts(p).to_vec())).collect();
        let coordinator = CoordinatorConfig {
            id: COORDINATOR,
            shards: shards.clone(),
            ticks: TICKS,
        };
        let participant = |p| ParticipantConfig {
            id: p,
            coordinator: COORDINATOR,
            participants: shards.clone(),
            accounts: accounts(p).iter().map(|&a| (a, BALANCE)).collect(),
            allow_negative: false,
            ticks: TICKS,
        };
        Bank::start(n, seed, coordinator, participant, Watch::default())
    }

    /// The first atomicity or durability violation on the disks, if any.
    pub(super) fn violation(&self) -> Option<String> {
        let mut decided: BTreeMap<TxnId, (NodeId, bool)> = BTreeMap::new();
        for (&p, side) in &self.participants {
            let mut mine: BTreeMap<TxnId, bool> = BTreeMap::new();
            for r in &side.disk {
                let (txn, commit) = match r {
                    ParticipantRecord::Committed { txn } => (*txn, true),
                    ParticipantRecord::Aborted { txn } => (*txn, false),
                    _ => continue,
                };
                if mine.insert(txn, commit).is_some_and(|c| c != commit) {
                    return Some(format!("durability: {p} decided {txn} both ways"));
                }
                match decided.get(&txn) {
                    Some(&(q, c)) if c != commit => {
                        return Some(format!(
                            "atomicity: {txn} {} at {q}, {} at {p}",
                            if c { "committed" } else { "aborted" },
                            if commit { "committed" } else { "aborted" },
                        ));
                    }
                    _ => {
                        decided.insert(txn, (p, commit));
                    }
                }
            }
        }
        None
    }
}
