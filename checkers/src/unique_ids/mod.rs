//! The unique-ids checker: every acknowledged `generate` returned a distinct ID.
//!
//! An `ok` generate's value is one ID, or a list of IDs for a batch. IDs are integers or
//! strings; 64-bit IDs travel as decimal strings (so that no JSON reader rounds them), and the
//! range orders decimal strings numerically. A duplicate lists every operation that returned it.
//! Duplicates are the only cause of an invalid verdict.
//!
//! # Snowflake IDs
//!
//! Given a [`SnowflakeLayout`] ([`check_with`], [`Options::snowflake`]), every ID must be a
//! 64-bit number — a non-negative integer or a string of decimal digits — that fits the
//! layout; anything else is an input error naming the line of the completion that returned
//! it. IDs are then compared as numbers (`7` and `"7"` are the same ID), and each duplicate
//! carries its ID's decoded timestamp, worker and sequence ([`Duplicate::decoded`]).
//!
//! **Monotonicity** ([`monotonicity`]) is a checker of its own, for IDs with a layout. A
//! worker — the worker field of the ID, not the client process that received it — should hand
//! out increasing IDs. The order in which a worker issued its IDs is
//! taken to be the order in which the ops that returned them completed (the history's event
//! order), and within one batch the list order. That order is only approximate: a worker that
//! serves two clients at once may issue ID 1 to one and ID 2 to the other, and the answer with
//! 2 may arrive first. Such a pair is not a regression of the server, only of the network, so
//! an ID is compared only with IDs its worker issued *for certain* before it: those returned by
//! ops that completed before its own op was invoked (real-time order), or earlier in its own
//! batch. Of those it is compared with the latest — when several ops that completed before it
//! were concurrent with each other, and so have no known order, with the greatest of their last
//! IDs. An ID that is not greater is a [`Regression`], reported with both ops and both IDs and
//! by how much it went back (`back_by`, and `back_ms` of decoded timestamp), and counted per
//! worker. A regression is information (a clock that stepped back, say), never a cause of an
//! invalid verdict; a regression that returns the same ID again is also a duplicate, which
//! the unique-ids checker finds invalid.

mod monotonic;
mod snowflake;

pub use monotonic::{MAX_REGRESSIONS, Monotonicity, Regression, WorkerIds};
pub use snowflake::{Snowflake, SnowflakeLayout};

use std::collections::BTreeMap;

use hashbrown::HashMap;
use serde::{Deserialize, Serialize};

use crate::error::InputError;
use crate::history::{History, Operation, Outcome};
use crate::linear::OpSummary;
use crate::value::Value;
use crate::verdict::Validity;

use monotonic::Issued;

/// How to check.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// Decode IDs as snowflakes with this layout (and check per-worker monotonicity); `None`
    /// treats IDs as opaque.
    pub snowflake: Option<SnowflakeLayout>,
}

/// An ID returned more than once.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Duplicate {
    pub id: Value,
    /// The ID's fields, when checked with a snowflake layout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decoded: Option<Snowflake>,
    /// Every operation that returned it, in invocation order.
    pub ops: Vec<OpSummary>,
}

/// The unique-ids checker's result.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Report {
    pub valid: Validity,
    /// `generate` invocations.
    pub attempted: usize,
    /// `generate` ops that completed `ok`.
    pub acknowledged: usize,
    /// IDs acknowledged (a batch counts each of its IDs).
    pub ids: usize,
    /// Distinct IDs returned more than once.
    pub duplicated: usize,
    /// `generate` ops that failed (definitely issued nothing), by their error: what a guard
    /// against a backward clock costs, for one.
    pub failed: BTreeMap<String, usize>,
    /// The smallest and largest ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<[Value; 2]>,
    pub duplicates: Vec<Duplicate>,
}

/// Orders IDs: numbers (and decimal strings) by value, then other strings.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Order<'v> {
    Number(i128),
    Text(&'v str),
}

fn order(v: &Value) -> Order<'_> {
    match v {
        Value::Int(i) => Order::Number(i128::from(*i)),
        Value::Str(s) => match s.parse::<i128>() {
            Ok(n) if !s.starts_with('+') => Order::Number(n),
            _ => Order::Text(s),
        },
        _ => Order::Text(""),
    }
}

/// What makes two IDs the same: the value as written, or (with a snowflake layout) the number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Key<'v> {
    Value(&'v Value),
    Number(u64),
}

/// Checks the `generate` operations of `history`, with IDs taken as opaque values.
pub fn check(history: &History, ops: &[Operation]) -> Result<Report, InputError> {
    check_with(history, ops, &Options::default())
}

/// Checks the `generate` operations of `history`.
///
/// Fails, naming the line, on an operation that is not `generate`, on an ID that is not an
/// integer or a string, and — with a snowflake layout — on an ID that is not a 64-bit number
/// or does not fit the layout; fails (line 0) on a layout that does not make sense
/// ([`SnowflakeLayout::validate`]).
pub fn check_with(
    history: &History,
    ops: &[Operation],
    options: &Options,
) -> Result<Report, InputError> {
    if let Some(layout) = &options.snowflake {
        validate(history, layout)?;
    }
    // Per distinct ID: the value first returned, and the ops that returned it.
    let mut seen: HashMap<Key<'_>, (&Value, Vec<u32>)> = HashMap::new();
    let (mut attempted, mut acknowledged, mut ids) = (0, 0, 0);
    let mut failed = BTreeMap::new();
    let mut range: Option<(&Value, &Value)> = None;
    for (i, op) in ops.iter().enumerate() {
        expect_generate(history, op)?;
        attempted += 1;
        if op.outcome == Outcome::Fail {
            let error = op
                .completion(history)
                .and_then(|c| c.error.as_deref())
                .unwrap_or("unknown");
            *failed.entry(error.to_string()).or_insert(0) += 1;
        }
        if op.outcome != Outcome::Ok {
            continue;
        }
        acknowledged += 1;
        let (line, batch) = generated(history, op)?;
        for id in batch {
            let key = match &options.snowflake {
                None => Key::Value(id),
                Some(layout) => Key::Number(decode(history, line, id, layout)?.0),
            };
            ids += 1;
            range = Some(match range {
                None => (id, id),
                Some((lo, hi)) => (
                    if order(id) < order(lo) { id } else { lo },
                    if order(id) > order(hi) { id } else { hi },
                ),
            });
            seen.entry(key)
                .or_insert_with(|| (id, Vec::new()))
                .1
                .push(i as u32);
        }
    }
    let mut duplicates: Vec<Duplicate> = seen
        .into_values()
        .filter(|(_, who)| who.len() > 1)
        .map(|(id, who)| Duplicate {
            id: id.clone(),
            decoded: options
                .snowflake
                .and_then(|layout| snowflake::number(id).ok().and_then(|n| layout.decode(n))),
            ops: who
                .iter()
                .map(|&i| OpSummary::new(&ops[i as usize], history))
                .collect(),
        })
        .collect();
    duplicates.sort_by(|a, b| order(&a.id).cmp(&order(&b.id)));
    Ok(Report {
        valid: if duplicates.is_empty() {
            Validity::Valid
        } else {
            Validity::Invalid
        },
        attempted,
        acknowledged,
        ids,
        duplicated: duplicates.len(),
        failed,
        range: range.map(|(lo, hi)| [lo.clone(), hi.clone()]),
        duplicates,
    })
}

/// Whether each worker of `layout`'s IDs issued them in increasing order (the module
/// documentation says which pairs are compared). Information: it has no verdict of its own.
///
/// Fails as [`check_with`] does with a snowflake layout: on an operation that is not
/// `generate`, on an ID that is not a 64-bit number that fits the layout, on a layout that
/// does not make sense.
pub fn monotonicity(
    history: &History,
    ops: &[Operation],
    layout: SnowflakeLayout,
) -> Result<Monotonicity, InputError> {
    validate(history, &layout)?;
    let mut issued: Vec<Issued<'_>> = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        expect_generate(history, op)?;
        if op.outcome != Outcome::Ok {
            continue;
        }
        let (line, batch) = generated(history, op)?;
        for id in batch {
            let (number, fields) = decode(history, line, id, &layout)?;
            issued.push(Issued {
                op: i as u32,
                id,
                number,
                fields,
            });
        }
    }
    Ok(monotonic::analyse(history, ops, layout, &issued))
}

fn validate(history: &History, layout: &SnowflakeLayout) -> Result<(), InputError> {
    layout
        .validate()
        .map_err(|e| InputError::new(&history.source, 0, format!("unique-ids checker: {e}")))
}

fn expect_generate(history: &History, op: &Operation) -> Result<(), InputError> {
    if &*op.f == "generate" {
        return Ok(());
    }
    Err(InputError::new(
        &history.source,
        op.invocation(history).line as usize,
        format!("unique-ids checker: expected f generate, found `{}`", op.f),
    ))
}

/// The IDs an `ok` generate returned (one, or a batch), each an integer or a string, and the
/// line of its completion (for errors about them).
fn generated<'h>(history: &'h History, op: &Operation) -> Result<(usize, &'h [Value]), InputError> {
    let line = op
        .completion(history)
        .map_or(op.invocation(history).line, |c| c.line) as usize;
    let value = op.output(history).unwrap_or(&Value::Nil);
    let batch: &[Value] = match value {
        Value::List(items) => items,
        other => std::slice::from_ref(other),
    };
    if let Some(id) = batch
        .iter()
        .find(|id| !matches!(id, Value::Int(_) | Value::Str(_)))
    {
        return Err(InputError::new(
            &history.source,
            line,
            format!(
                "unique-ids checker: expected the generated ID (an integer or a string), found {id}"
            ),
        ));
    }
    Ok((line, batch))
}

/// `id` as a number and its fields in `layout`, or an error naming `line`.
fn decode(
    history: &History,
    line: usize,
    id: &Value,
    layout: &SnowflakeLayout,
) -> Result<(u64, Snowflake), InputError> {
    let number = snowflake::number(id).map_err(|expected| {
        InputError::new(
            &history.source,
            line,
            format!("unique-ids checker: expected a snowflake ID ({expected}), found {id}"),
        )
    })?;
    let fields = layout.decode(number).ok_or_else(|| {
        InputError::new(
            &history.source,
            line,
            format!(
                "unique-ids checker: ID {number} does not fit the snowflake layout ({} bits: expected at most {})",
                layout.total_bits(),
                layout.max_id()
            ),
        )
    })?;
    Ok((number, fields))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::read_jsonl;

    fn run(lines: &[&str]) -> Result<Report, InputError> {
        let h = read_jsonl("ids.jsonl", &lines.join("\n")).unwrap();
        let ops = h.operations().unwrap();
        check(&h, &ops)
    }

    const INV: &str = r#""type":"invoke","f":"generate","value":null"#;

    #[test]
    fn distinct_ids_are_valid_and_counted() {
        let r = run(&[
            &format!(r#"{{"process":0,{INV}}}"#),
            r#"{"process":0,"type":"ok","f":"generate","value":"18446744073709551000"}"#,
            &format!(r#"{{"process":1,{INV}}}"#),
            r#"{"process":1,"type":"ok","f":"generate","value":["7","9"]}"#,
            &format!(r#"{{"process":2,{INV}}}"#),
            r#"{"process":2,"type":"info","f":"generate","value":null}"#,
        ])
        .unwrap();
        assert_eq!(r.valid, Validity::Valid);
        assert_eq!(
            (r.attempted, r.acknowledged, r.ids, r.duplicated),
            (3, 2, 3, 0)
        );
        let [lo, hi] = r.range.unwrap();
        assert_eq!(
            (lo, hi),
            (Value::str("7"), Value::str("18446744073709551000"))
        );
    }

    #[test]
    fn a_duplicate_is_invalid_and_names_both_ops() {
        let r = run(&[
            &format!(r#"{{"process":0,{INV}}}"#),
            &format!(r#"{{"process":1,{INV}}}"#),
            r#"{"process":0,"type":"ok","f":"generate","value":5}"#,
            r#"{"process":1,"type":"ok","f":"generate","value":[4,5]}"#,
        ])
        .unwrap();
        assert_eq!(r.valid, Validity::Invalid);
        assert_eq!(r.duplicated, 1);
        assert_eq!(r.duplicates[0].id, Value::Int(5));
        let procs: Vec<u64> = r.duplicates[0].ops.iter().map(|o| o.process).collect();
        assert_eq!(procs, vec![0, 1]);
    }

    #[test]
    fn other_ops_and_odd_ids_are_input_errors() {
        let e = run(&[r#"{"process":0,"type":"invoke","f":"read","value":null}"#]).unwrap_err();
        assert_eq!(
            (e.line, e.message.contains("expected f generate")),
            (1, true)
        );
        let e = run(&[
            &format!(r#"{{"process":0,{INV}}}"#),
            r#"{"process":0,"type":"ok","f":"generate","value":{"id":1}}"#,
        ])
        .unwrap_err();
        assert_eq!(e.line, 2);
    }
}
