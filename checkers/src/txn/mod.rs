//! What the participants of a distributed transaction said they decided: the `decisions`
//! events the bank workload records over 2PC and 3PC (issue 11), read into types that the
//! [`atomicity`](crate::atomicity) and [`blocking`](crate::blocking) checkers share.
//!
//! ```text
//! history ──(read.rs)──▶ one Participant per `decisions` event (process "harness")
//!                          ├─ reached: coordinator, initial and final balances, refusals, txns
//!                          └─ unreachable: value null (what it decided cannot be seen)
//! ```
//!
//! After healing the faults, the workload asks every participant what it decided and records
//! one event per participant:
//!
//! ```json
//! {"process":"harness","type":"info","f":"decisions","node":"n2","value":{
//!   "coordinator":"n1","initial":{"1":12},"balances":{"1":10},"refused-on-locks":3,"restarts":0,
//!   "txns":[{"txn":"1.7","op":{"from":1,"to":2,"amount":3},"vote":"yes","prepared":1200000,
//!            "precommitted":null,"decision":"commit","decided":1500000}]}}
//! ```
//!
//! Times are nanoseconds on the history's clock, `null` when unknown. A participant that could
//! not be reached is recorded with `"value": null`. Anything else that does not fit is an
//! [`InputError`](crate::InputError) naming the line and what was expected.

mod read;

pub use read::participants;
pub(crate) use read::transfer as read_transfer;

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The `f` of a participant's decisions event.
pub const DECISIONS: &str = "decisions";

/// An account's name: an integer account is its decimal digits, as in the bank checker.
pub type Account = String;

/// A transaction's id, as the coordinator names it: `incarnation.seq`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TxnId {
    pub incarnation: u64,
    pub seq: u64,
}

impl TxnId {
    /// `"1.7"` → `1.7`; `None` unless it is two unsigned integers joined by a dot.
    pub fn parse(s: &str) -> Option<TxnId> {
        let (a, b) = s.split_once('.')?;
        let digits = |t: &str| !t.is_empty() && t.bytes().all(|c| c.is_ascii_digit());
        if !digits(a) || !digits(b) {
            return None;
        }
        Some(TxnId {
            incarnation: a.parse().ok()?,
            seq: b.parse().ok()?,
        })
    }
}

impl fmt::Display for TxnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.incarnation, self.seq)
    }
}

/// Written as its text, `"1.7"`.
impl Serialize for TxnId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TxnId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<TxnId, D::Error> {
        let s = String::deserialize(d)?;
        TxnId::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!("expected a txn id `a.b`, found `{s}`"))
        })
    }
}

/// A participant's vote on a transaction's prepare.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Vote {
    Yes,
    No,
}

/// What a participant decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    Commit,
    Abort,
}

/// A transfer, as a participant or a client saw it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Transfer {
    pub from: Account,
    pub to: Account,
    pub amount: i64,
}

/// A transaction's operation as the participant was asked it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxnOp {
    Transfer(Transfer),
    /// A read of every account.
    Read,
    /// Recovered from the log alone.
    Unknown,
}

/// One transaction in one participant's record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxnRecord {
    pub txn: TxnId,
    pub op: TxnOp,
    /// `None`: an abort arrived before any prepare.
    pub vote: Option<Vote>,
    /// When it logged its yes vote (prepared), and (3PC) its PreCommit; `None` when unknown.
    pub prepared: Option<u64>,
    pub precommitted: Option<u64>,
    /// `None`: still in doubt when asked.
    pub decision: Option<Decision>,
    pub decided: Option<u64>,
}

/// What a participant that could be reached said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decisions {
    /// The coordinator it names.
    pub coordinator: String,
    /// Its accounts and their opening balances, in the record's order.
    pub initial: Vec<(Account, i64)>,
    /// Its committed balances when asked.
    pub balances: Vec<(Account, i64)>,
    /// Prepares it voted no on because a lock was held (since its last start).
    pub refused_on_locks: u64,
    /// How many times it was restarted after the first start.
    pub restarts: u64,
    /// Its transactions, in the record's order (each once).
    pub txns: Vec<TxnRecord>,
}

/// One participant's decisions event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Participant {
    /// Its node name (`n2`).
    pub node: String,
    /// The event's history index, time (ns) and source line.
    pub index: u64,
    pub time: u64,
    pub line: u32,
    /// `Err`: it could not be reached, with the error recorded (if any).
    pub seen: Result<Decisions, Option<String>>,
}

impl Participant {
    pub fn decisions(&self) -> Option<&Decisions> {
        self.seen.as_ref().ok()
    }
}
