//! The 2PC cores on the shared in-memory test bank ([`crate::txn_core::test_bank`]): the
//! configuration every test starts with (short timeouts, the chosen bug switch), and the
//! checks of every 2PC property ([`Invariants`]) after every event.

use super::invariants::Invariants;
use crate::twopc::core::{
    Bug, Coordinator, CoordinatorConfig, Message, NodeId, Outcome, Participant, ParticipantConfig,
};
use crate::txn_core::test_bank::{self, BankProtocol};
pub(super) use crate::txn_core::test_bank::{
    BALANCE, COORDINATOR, Side, Stats, accounts, is_prepare, is_vote,
};

/// The 2PC cores, as the test bank runs them.
pub(super) struct TwoPc;

pub(super) type Bank = test_bank::Bank<TwoPc>;

impl BankProtocol for TwoPc {
    type Coordinator = Coordinator;
    type Participant = Participant;
    type Message = Message;
    type CoordinatorConfig = CoordinatorConfig;
    type ParticipantConfig = ParticipantConfig;
    /// Every property, checked; a violation panics unless `strict` is off.
    type Watch = Invariants;

    test_bank::start_cores_by_new!();

    fn check(bank: &mut Bank, id: NodeId, sent: &[Message], outcomes: &[Outcome]) {
        let invariants = &mut bank.watch;
        let mut found = Vec::new();
        if id == COORDINATOR {
            found.extend(invariants.check_sent(&bank.coordinator.disk, sent));
            found.extend(invariants.check_outcomes(&bank.coordinator.disk, outcomes));
        }
        found.extend(invariants.check(&bank.coordinator.disk, &bank.participants));
        for violation in found {
            assert!(!invariants.strict, "violated: {violation}");
            invariants.violations.push(violation);
        }
    }
}

impl Bank {
    /// Participants `1..=n`, the network's draws from `seed`, `bug` switched on.
    pub(super) fn new(n: u64, seed: u64, bug: Bug) -> Bank {
        let coordinator = CoordinatorConfig {
            id: COORDINATOR,
            shards: (1..=n).map(|p| (p, accounts(p).to_vec())).collect(),
            vote_timeout_ticks: 10,
            retry_ticks: 3,
        };
        let participant = |p| ParticipantConfig {
            id: p,
            coordinator: COORDINATOR,
            accounts: accounts(p).iter().map(|&a| (a, BALANCE)).collect(),
            inquire_ticks: 4,
            heuristic_ticks: 6,
            allow_negative: false,
            bug,
        };
        let invariants = Invariants::new(n as i64 * 2 * BALANCE);
        Bank::start(n, seed, coordinator, participant, invariants)
    }
}
