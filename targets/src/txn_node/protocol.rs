//! What the transaction node shell needs of a protocol: its two sans-I/O cores behind one
//! interface each, its messages, and how its node is named, logged and configured. 2PC
//! ([`crate::twopc::node`]) and 3PC ([`crate::threepc::node`]) implement it; the shell
//! ([`super`]) is written once against it.
//!
//! The journal behind `GET /decisions` reads the protocol's log records through
//! [`Entry`]: a record *is* the event it reports (prepared, pre-committed, decided), so the
//! journal says exactly what the disk says, whatever the protocol.

use std::fmt::Debug;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Config;
use crate::peers::{Addressed, NodeId};
use crate::twopc::core::{Account, Op, Ready, TxnId, UnknownAccount};

/// A protocol the shell can run: `faultline node <NAME>`.
pub trait Protocol: Clone + Debug + PartialEq + Eq + Send + Sync + 'static {
    /// The node's program name (`2pc`, `3pc`).
    const NAME: &'static str;
    /// One line for `--help`.
    const ABOUT: &'static str;
    /// The log's first bytes: its format and version.
    const MAGIC: &'static [u8; 8];
    /// The log's file name in the data directory.
    const LOG: &'static str;
    /// Flags of this protocol's own (2PC's `--bug`), flattened into the common command line.
    type Flags: clap::Args + clap::FromArgMatches + Clone + Debug + PartialEq + Eq + Send;
    type Message: Addressed + TxnMessage + Debug;
    type Coordinator: CoordinatorCore<Message = Self::Message>;
    type Participant: ParticipantCore<Message = Self::Message>;

    /// The coordinator core, rebuilt from its log.
    fn coordinator(
        config: &Config<Self>,
        restored: &[<Self::Coordinator as CoordinatorCore>::Record],
    ) -> Self::Coordinator;
    /// This participant's core, rebuilt from its log; `accounts` are its opening balances.
    fn participant(
        config: &Config<Self>,
        accounts: std::collections::BTreeMap<Account, i64>,
        restored: &[<Self::Participant as ParticipantCore>::Record],
    ) -> Self::Participant;
}

/// What the shell looks at in a message: a vote (which `--vote-delay-ms` holds back at the
/// coordinator), and a participant's first sight of a transaction's operation.
pub trait TxnMessage {
    fn from(&self) -> NodeId;
    /// A participant's vote, to the coordinator.
    fn is_vote(&self) -> bool;
    /// The coordinator's request to prepare (`Prepare`, `CanCommit`): its transaction and op.
    fn prepare(&self) -> Option<(TxnId, &Op)>;
}

/// A coordinator core, as the shell drives it (see the cores' shell contract).
pub trait CoordinatorCore: Send + 'static {
    type Record: Serialize + DeserializeOwned + Send + Sync;
    type Message;
    fn begin(&mut self, op: Op) -> Result<TxnId, UnknownAccount>;
    fn tick(&mut self);
    fn step(&mut self, message: Self::Message);
    fn ready(&mut self) -> Ready<Self::Record, Self::Message>;
}

/// A participant core, as the shell drives it.
pub trait ParticipantCore: Send + 'static {
    type Record: Serialize + DeserializeOwned + Send + Sync;
    type Message;
    fn tick(&mut self);
    fn step(&mut self, message: Self::Message);
    fn ready(&mut self) -> Ready<Self::Record, Self::Message>;
    /// Committed balances.
    fn balances(&self) -> &std::collections::BTreeMap<Account, i64>;
    /// Prepares voted no because a lock was held, since this start.
    fn refused_on_locks(&self) -> u64;
    /// What a log record says happened to which transaction.
    fn entry(record: &Self::Record) -> (TxnId, Entry);
}

/// Implements the shell's traits for a protocol's types, written once: [`CoordinatorCore`] and
/// [`ParticipantCore`] for its two cores, whose inherent methods have the traits' names, and
/// [`TxnMessage`] for its message, a `{ from, to, body }` struct whose body has a `Vote`
/// variant and a prepare variant `{ txn, op }`:
/// `impl_shell_traits!(Coordinator, Participant, CoordinatorRecord, ParticipantRecord,
/// Message, Body::Prepare, entry)`, `entry` being the protocol's
/// `fn(&ParticipantRecord) -> (TxnId, Entry)`.
macro_rules! impl_shell_traits {
    (
        $coordinator:ty,
        $participant:ty,
        $crecord:ty,
        $precord:ty,
        $message:ty,
        $body:ident :: $prepare:ident,
        $entry:path
    ) => {
        impl $crate::txn_node::TxnMessage for $message {
            fn from(&self) -> $crate::peers::NodeId {
                self.from
            }

            fn is_vote(&self) -> bool {
                matches!(self.body, $body::Vote { .. })
            }

            fn prepare(&self) -> Option<($crate::twopc::core::TxnId, &$crate::twopc::core::Op)> {
                match &self.body {
                    $body::$prepare { txn, op } => Some((*txn, op)),
                    _ => None,
                }
            }
        }

        impl $crate::txn_node::CoordinatorCore for $coordinator {
            type Record = $crecord;
            type Message = $message;

            fn begin(
                &mut self,
                op: $crate::twopc::core::Op,
            ) -> Result<$crate::twopc::core::TxnId, $crate::twopc::core::UnknownAccount> {
                <$coordinator>::begin(self, op)
            }

            fn tick(&mut self) {
                <$coordinator>::tick(self);
            }

            fn step(&mut self, message: $message) {
                <$coordinator>::step(self, message);
            }

            fn ready(&mut self) -> $crate::twopc::core::Ready<$crecord, $message> {
                <$coordinator>::ready(self)
            }
        }

        impl $crate::txn_node::ParticipantCore for $participant {
            type Record = $precord;
            type Message = $message;

            fn tick(&mut self) {
                <$participant>::tick(self);
            }

            fn step(&mut self, message: $message) {
                <$participant>::step(self, message);
            }

            fn ready(&mut self) -> $crate::twopc::core::Ready<$precord, $message> {
                <$participant>::ready(self)
            }

            fn balances(&self) -> &std::collections::BTreeMap<$crate::twopc::core::Account, i64> {
                <$participant>::balances(self)
            }

            fn refused_on_locks(&self) -> u64 {
                <$participant>::refused_on_locks(self)
            }

            fn entry(record: &$precord) -> ($crate::twopc::core::TxnId, $crate::txn_node::Entry) {
                $entry(record)
            }
        }
    };
}
pub(crate) use impl_shell_traits;

/// The meaning of a participant's log record, for the journal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    /// Voted yes (its part logged).
    Prepared,
    /// 3PC: told that everyone voted yes.
    PreCommitted,
    Committed,
    /// A no vote, or an abort decision.
    Aborted,
}
