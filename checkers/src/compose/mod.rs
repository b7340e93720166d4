//! Composed checkers, as Jepsen composes them: a history goes to several named checkers, each
//! gives its own verdict and analysis, and the history's verdict is their merge.
//!
//! ```text
//! history, ops ──▶ [Checker] (a workload's list, or a `--model` name's) ──▶ each checker runs
//!                                                                           ──▶ [CheckerResult]
//!                                                      merge (informational ones left out) ──▶ verdict
//! ```
//!
//! * [`Checker`] (`checker.rs`): the checkers by name, and how each runs;
//! * [`CheckerResult`], [`Analysis`] (`result.rs`): what each says, as written to results.json;
//! * [`Model`] (`models.rs`): the names `faultline check --model` accepts, each a list of
//!   checkers, and which one a history's operation names suggest.
//!
//! **The merge** is Jepsen's: invalid beats unknown beats valid ([`Validity::all`]). A checker
//! that is *informational* — the lock's mutex model, the IDs' per-worker order, how long
//! transactions were blocked — reports its own verdict, which tells whether what it looks at
//! held, but is left out of the merge: what it checks is not what the system promises (a
//! lease that expires frees a lock without a release, which no mutex allows; a worker's clock
//! may step back without breaking uniqueness; 2PC is allowed to block). An informational
//! checker can thus never turn a valid history invalid, nor unknown.

mod checker;
mod models;
mod result;

pub use checker::{Checker, Options};
pub use models::{MODELS, Model, infer};
pub use result::{Analysis, CheckerResult};

use crate::error::InputError;
use crate::history::{History, Operation};
use crate::verdict::Validity;

/// Runs each of `checkers` on `ops` (the client operations of `history`), in order; a checker
/// that does not apply (the per-worker order of IDs without a layout, atomicity and blocking
/// in a history without the participants' decisions) gives no result.
pub fn check(
    history: &History,
    ops: &[Operation],
    checkers: &[Checker],
    options: &Options,
) -> Result<Vec<CheckerResult>, InputError> {
    let mut results = Vec::with_capacity(checkers.len());
    for checker in checkers {
        results.extend(checker.check(history, ops, options)?);
    }
    Ok(results)
}

/// The history's verdict: the worst of its checkers' that are not informational.
pub fn merge(results: &[CheckerResult]) -> Validity {
    Validity::all(results.iter().filter(|r| !r.informational).map(|r| r.valid))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::read_jsonl;

    /// An expired lease: client 1's lease runs out, client 2 acquires with no release between.
    /// Safe as a lock; no mutex allows it.
    const EXPIRED: &str = r#"{"time":0,"process":1,"type":"invoke","f":"acquire","value":null}
{"time":100,"process":1,"type":"ok","f":"acquire","value":{"lock":"a","validity_ms":0.001}}
{"time":5000,"process":2,"type":"invoke","f":"acquire","value":null}
{"time":6000,"process":2,"type":"ok","f":"acquire","value":{"lock":"b","validity_ms":1}}
{"time":7000,"process":2,"type":"invoke","f":"write","value":{"seq":1,"token":null}}
{"time":8000,"process":2,"type":"ok","f":"write","value":{"order":1,"seq":1,"token":null}}"#;

    #[test]
    fn an_informational_checker_is_reported_but_left_out_of_the_merge() {
        let h = read_jsonl("lock.jsonl", EXPIRED).unwrap();
        let ops = h.operations().unwrap();
        let lock = Model::named("lock").unwrap();
        let results = check(&h, &ops, lock.checkers, &Options::default()).unwrap();
        let said: Vec<(&str, Validity, bool)> = results
            .iter()
            .map(|r| (r.name(), r.valid, r.informational))
            .collect();
        assert_eq!(
            said,
            [
                ("lock-safety", Validity::Valid, false),
                ("mutex", Validity::Invalid, true)
            ]
        );
        assert_eq!(merge(&results), Validity::Valid);
    }

    #[test]
    fn results_read_back_as_written_under_the_checkers_names() {
        let h = read_jsonl("lock.jsonl", EXPIRED).unwrap();
        let ops = h.operations().unwrap();
        let results = check(
            &h,
            &ops,
            &[Checker::LockSafety, Checker::Mutex],
            &Options::default(),
        )
        .unwrap();
        let json = serde_json::to_value(&results).unwrap();
        assert_eq!(json[0]["name"], "lock-safety");
        assert_eq!(json[1]["name"], "mutex");
        assert_eq!(json[1]["analysis"]["model"], "mutex");
        let back: Vec<CheckerResult> = serde_json::from_value(json.clone()).unwrap();
        for (r, c) in back.iter().zip([Checker::LockSafety, Checker::Mutex]) {
            assert_eq!(r.name(), c.name());
        }
        assert_eq!(serde_json::to_value(&back).unwrap(), json);
    }

    #[test]
    fn the_per_worker_order_runs_only_for_ids_with_a_layout() {
        let h = read_jsonl(
            "ids.jsonl",
            r#"{"process":0,"type":"invoke","f":"generate","value":null}
{"process":0,"type":"ok","f":"generate","value":"4194304"}"#,
        )
        .unwrap();
        let ops = h.operations().unwrap();
        let ids = Model::named("unique-ids").unwrap().checkers;
        let plain = check(&h, &ops, ids, &Options::default()).unwrap();
        assert_eq!(plain.len(), 1);
        let decoded = Options {
            snowflake: Some(crate::unique_ids::SnowflakeLayout::default()),
            ..Options::default()
        };
        let both = check(&h, &ops, ids, &decoded).unwrap();
        let names: Vec<&str> = both.iter().map(CheckerResult::name).collect();
        let declared: Vec<&str> = ids.iter().map(|c| c.name()).collect();
        assert_eq!(names, declared);
        assert_eq!(names, ["unique-ids", "monotonic"]);
    }
}
