//! faultline's checkers: the history model, the importers, and every checker.
//!
//! Everything here is pure — histories in, verdicts out — so the same code checks a history the
//! harness has just recorded, one from Jepsen, or one from Porcupine's test suite.
//!
//! * [`history`]: events, operations (invocation + completion), the JSON Lines format.
//! * [`import`]: Jepsen's `history.edn` and text log, Porcupine's kv logs.
//! * [`linear`]: the linearizability checker and its models.
//! * [`unique_ids`]: every acknowledged ID distinct.
//! * [`bank`]: Jepsen's bank — every read sees each account and the total conserved.
//! * [`txn`]: what the participants of a distributed transaction (2PC, 3PC) decided, as the
//!   bank workload records it.
//! * [`atomicity`]: each such transaction all or nothing, acknowledged ones applied, failed ones
//!   not, the total conserved.
//! * [`blocking`]: how long participants spent in doubt, and how much of it while the
//!   coordinator was down (informational).
//! * [`lock`]: lock safety — clients' belief windows never overlap, the protected resource
//!   never sees two holders or a fencing token go backwards.
//! * [`elle`]: transactional isolation, Elle's way — list-append and rw-register histories
//!   checked for G0, G1, G-single, G2 and friends against a consistency model.
//! * [`compose`]: the checkers by name, composed: a history given to several checkers, their
//!   verdicts merged; the names `faultline check --model` accepts.
//! * [`synth`]: seeded synthetic histories, for tests and benchmarks.
//! * [`stats`]: counts, availability, latencies.
//! * [`verdict`]: valid / invalid / unknown, and how verdicts combine.

pub mod atomicity;
pub mod bank;
pub mod blocking;
pub mod compose;
pub mod elle;
pub mod error;
pub mod history;
pub mod import;
pub mod linear;
pub mod lock;
pub mod stats;
pub mod synth;
pub mod txn;
pub mod unique_ids;
pub mod value;
pub mod verdict;

pub use error::InputError;
pub use value::Value;
pub use verdict::Validity;
