//! `faultline node 2pc`: one node of the bundled two-phase-commit bank, as a real process —
//! the coordinator (`n1`) or a participant (`n2`, `n3`, …), by its name.
//!
//! The process is the transaction node shell ([`crate::txn_node`]: command line, log, peers,
//! HTTP, event loops, the `GET /decisions` journal) running the 2PC
//! [`core`](crate::twopc::core); this module is only what is 2PC's own: [`TwoPc`], which plugs
//! the core into the shell, its log's name and magic, its timeouts and its `--bug` flag.
//!
//! # Command line
//!
//! ```text
//! 2pc --id n1 --port P --peer-port Q --peers n2=127.0.0.1:A,n3=127.0.0.1:B --data-dir DIR \
//!     [--accounts 8] [--total 100] [--allow-negative] [--tick-ms 10] [--vote-delay-ms 0] \
//!     [--bug heuristic-abort]
//! ```
//!
//! The common flags are the shell's (see [`crate::txn_node`]). The log is `2pc.log`.
//!
//! Timing, in ticks of `--tick-ms`: a vote missing for 100 ticks aborts its transaction; an
//! unacknowledged commit is resent every 10; an in-doubt participant asks every 20; with
//! `--bug heuristic-abort` it gives up and aborts after 100.

use std::collections::BTreeMap;

use clap::ValueEnum;

use super::core::{
    self, Account, Body, CoordinatorConfig, CoordinatorRecord, Message, ParticipantConfig,
    ParticipantRecord, TxnId,
};
use crate::txn_node::{self, COORDINATOR, Entry, Protocol};

/// Timeouts, in ticks (see the module documentation).
const VOTE_TIMEOUT_TICKS: u32 = 100;
const RETRY_TICKS: u32 = 10;
const INQUIRE_TICKS: u32 = 20;
const HEURISTIC_TICKS: u32 = 100;

/// The core's bug switches, as `--bug` names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Bug {
    /// A participant in doubt too long aborts on its own.
    HeuristicAbort,
}

/// 2PC's own flags.
#[derive(Clone, Debug, PartialEq, Eq, clap::Args)]
pub struct Flags {
    /// Switch on a known bug.
    #[arg(long, value_enum)]
    pub bug: Option<Bug>,
}

/// Two-phase commit, as the transaction node shell runs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TwoPc;

/// Everything a 2PC node is started with.
pub type Config = txn_node::Config<TwoPc>;

impl Protocol for TwoPc {
    const NAME: &'static str = "2pc";
    const ABOUT: &'static str =
        "One node of faultline's two-phase-commit bank: n1 coordinates, the others own accounts";
    /// This format, version 1.
    const MAGIC: &'static [u8; 8] = b"FL2PC001";
    const LOG: &'static str = "2pc.log";
    type Flags = Flags;
    type Message = Message;
    type Coordinator = core::Coordinator;
    type Participant = core::Participant;

    fn coordinator(config: &Config, restored: &[CoordinatorRecord]) -> core::Coordinator {
        core::Coordinator::new(coordinator_config(config), restored)
    }

    fn participant(
        config: &Config,
        accounts: BTreeMap<Account, i64>,
        restored: &[ParticipantRecord],
    ) -> core::Participant {
        core::Participant::new(participant_config(config, accounts), restored)
    }
}

fn coordinator_config(config: &Config) -> CoordinatorConfig {
    CoordinatorConfig {
        id: config.id,
        shards: config.shards(),
        vote_timeout_ticks: VOTE_TIMEOUT_TICKS,
        retry_ticks: RETRY_TICKS,
    }
}

fn participant_config(config: &Config, accounts: BTreeMap<Account, i64>) -> ParticipantConfig {
    ParticipantConfig {
        id: config.id,
        coordinator: COORDINATOR,
        accounts,
        inquire_ticks: INQUIRE_TICKS,
        heuristic_ticks: HEURISTIC_TICKS,
        allow_negative: config.allow_negative,
        bug: match config.flags.bug {
            None => core::Bug::None,
            Some(Bug::HeuristicAbort) => core::Bug::HeuristicAbort,
        },
    }
}

txn_node::impl_shell_traits!(
    core::Coordinator,
    core::Participant,
    CoordinatorRecord,
    ParticipantRecord,
    Message,
    Body::Prepare,
    entry
);

/// What a participant's log record says happened to which transaction.
fn entry(record: &ParticipantRecord) -> (TxnId, Entry) {
    match record {
        ParticipantRecord::Prepared { txn, .. } => (*txn, Entry::Prepared),
        ParticipantRecord::Committed { txn } => (*txn, Entry::Committed),
        ParticipantRecord::Aborted { txn } => (*txn, Entry::Aborted),
    }
}

#[cfg(test)]
mod tests;
