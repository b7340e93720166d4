//! `faultline node 3pc`: one node of the bundled three-phase-commit bank, as a real process —
//! the coordinator (`n1`) or a participant (`n2`, `n3`, …), by its name.
//!
//! The process is the transaction node shell ([`crate::txn_node`]: command line, log, peers,
//! HTTP, event loops, the `GET /decisions` journal) running the 3PC
//! [`core`](crate::threepc::core); this module is only what is 3PC's own: [`ThreePc`], which
//! plugs the core into the shell, its log's name and magic, and its timeouts. Unlike 2PC's,
//! a participant's messages go to the other participants too (the termination protocol), so
//! each participant's `--peers` names every other node, as the harness gives it.
//!
//! # Command line
//!
//! ```text
//! 3pc --id n1 --port P --peer-port Q --peers n2=127.0.0.1:A,n3=127.0.0.1:B --data-dir DIR \
//!     [--accounts 8] [--total 100] [--allow-negative] [--tick-ms 10] [--vote-delay-ms 0]
//! ```
//!
//! The flags are the shell's (see [`crate::txn_node`]); there is no `--bug`: 3PC's weakness,
//! atomicity lost under a partition, is the protocol's own. The log is `3pc.log`.
//!
//! # Timing
//!
//! In ticks of `--tick-ms` (10 ms by default, so 1 tick = 10 ms):
//!
//! * the coordinator aborts a transaction still missing votes after 50 ticks (0.5 s) — above
//!   the `slow-decisions` option's 300 ms vote delay, so a held vote is still counted;
//! * what is unanswered (a `PreCommit`, a `DoCommit`, a `StateReq`) is resent every 10;
//! * the coordinator resends an unacknowledged `PreCommit` for 30 ticks, then only asks;
//! * a participant that heard nothing about an undecided transaction for 60 ticks (0.6 s,
//!   above the vote timeout, so that it does not terminate what a live coordinator is still
//!   driving) starts the termination protocol, whose attempts last 30 ticks (0.3 s).
//!
//! So a participant whose coordinator is gone decides within about 0.6–1 s (one timeout,
//! then one round of states among the participants it can reach): that is the in-doubt time
//! the `3pc-*` scenarios show, bounded by the 3PC timeout — where 2PC's participants wait for
//! the coordinator to come back.

use std::collections::BTreeMap;

use super::core::{
    self, Account, Body, CoordinatorConfig, CoordinatorRecord, Message, ParticipantConfig,
    ParticipantRecord, TxnId,
};
use crate::txn_node::{self, COORDINATOR, Entry, Protocol};

/// Every timeout, in ticks (see the module documentation).
pub const TICKS: core::Config = core::Config {
    vote_timeout_ticks: 50,
    ack_timeout_ticks: 30,
    retry_ticks: 10,
    timeout_ticks: 60,
    termination_ticks: 30,
};

/// 3PC has no flags of its own.
#[derive(Clone, Debug, PartialEq, Eq, clap::Args)]
pub struct Flags {}

/// Three-phase commit, as the transaction node shell runs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreePc;

/// Everything a 3PC node is started with.
pub type Config = txn_node::Config<ThreePc>;

impl Protocol for ThreePc {
    const NAME: &'static str = "3pc";
    const ABOUT: &'static str =
        "One node of faultline's three-phase-commit bank: n1 coordinates, the others own accounts";
    /// This format, version 1.
    const MAGIC: &'static [u8; 8] = b"FL3PC001";
    const LOG: &'static str = "3pc.log";
    type Flags = Flags;
    type Message = Message;
    type Coordinator = core::Coordinator;
    type Participant = core::Participant;

    fn coordinator(config: &Config, restored: &[CoordinatorRecord]) -> core::Coordinator {
        let config = CoordinatorConfig {
            id: config.id,
            shards: config.shards(),
            ticks: TICKS,
        };
        core::Coordinator::new(config, restored)
    }

    fn participant(
        config: &Config,
        accounts: BTreeMap<Account, i64>,
        restored: &[ParticipantRecord],
    ) -> core::Participant {
        let config = ParticipantConfig {
            id: config.id,
            coordinator: COORDINATOR,
            participants: config.shards(),
            accounts,
            allow_negative: config.allow_negative,
            ticks: TICKS,
        };
        core::Participant::new(config, restored)
    }
}

txn_node::impl_shell_traits!(
    core::Coordinator,
    core::Participant,
    CoordinatorRecord,
    ParticipantRecord,
    Message,
    Body::CanCommit,
    entry
);

/// What a participant's log record says happened to which transaction.
fn entry(record: &ParticipantRecord) -> (TxnId, Entry) {
    match record {
        ParticipantRecord::Prepared { txn, .. } => (*txn, Entry::Prepared),
        ParticipantRecord::PreCommitted { txn } => (*txn, Entry::PreCommitted),
        ParticipantRecord::Committed { txn } => (*txn, Entry::Committed),
        ParticipantRecord::Aborted { txn } => (*txn, Entry::Aborted),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::{args, assert_usage_errors};

    const BASE: &str = "--id n2 --port 4000 --peer-port 4001 --data-dir /tmp/d";

    #[test]
    fn a_participant_knows_every_shard_and_its_own_accounts() {
        let line =
            format!("3pc {BASE} --peers n1=127.0.0.1:5001,n3=127.0.0.1:5003 --allow-negative");
        let config = Config::from_args(args(&line)).unwrap();
        let p = ThreePc::participant(&config, config.my_accounts(), &[]);
        assert_eq!(p.id(), 2);
        assert_eq!(
            p.balances(),
            &BTreeMap::from([(0, 16), (2, 12), (4, 12), (6, 12)])
        );
        assert!(config.allow_negative);
        // A participant must outwait a live coordinator's vote timeout before terminating.
        assert!(TICKS.timeout_ticks > TICKS.vote_timeout_ticks.max(TICKS.retry_ticks));
    }

    #[test]
    fn there_is_no_bug_switch() {
        assert_usage_errors(
            Config::from_args,
            &[format!(
                "{BASE} --peers n1=127.0.0.1:1 --bug heuristic-abort"
            )],
        );
    }
}
