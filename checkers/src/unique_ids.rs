//! The unique-ids checker: every acknowledged `generate` returned a distinct ID.
//!
//! An `ok` generate's value is one ID, or a list of IDs for a batch. IDs are integers or
//! strings; 64-bit IDs travel as decimal strings (so that no JSON reader rounds them), and the
//! range orders decimal strings numerically. A duplicate lists every operation that returned it.

use hashbrown::HashMap;
use serde::Serialize;

use crate::error::InputError;
use crate::history::{History, Operation, Outcome};
use crate::linear::OpSummary;
use crate::value::Value;
use crate::verdict::Validity;

/// An ID returned more than once.
#[derive(Clone, Debug, Serialize)]
pub struct Duplicate {
    pub id: Value,
    /// Every operation that returned it, in invocation order.
    pub ops: Vec<OpSummary>,
}

/// The unique-ids checker's result.
#[derive(Clone, Debug, Serialize)]
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
    /// The smallest and largest ID.
    #[serde(skip_serializing_if = "Option::is_none")]
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

/// Checks the `generate` operations of `history`.
pub fn check(history: &History, ops: &[Operation]) -> Result<Report, InputError> {
    let mut seen: HashMap<&Value, Vec<u32>> = HashMap::new();
    let (mut attempted, mut acknowledged, mut ids) = (0, 0, 0);
    let mut range: Option<(&Value, &Value)> = None;
    for (i, op) in ops.iter().enumerate() {
        let line = op.invocation(history).line as usize;
        if &*op.f != "generate" {
            return Err(InputError::new(
                &history.source,
                line,
                format!("unique-ids checker: expected f generate, found `{}`", op.f),
            ));
        }
        attempted += 1;
        if op.outcome != Outcome::Ok {
            continue;
        }
        acknowledged += 1;
        let value = op.output(history).unwrap_or(&Value::Nil);
        let batch: &[Value] = match value {
            Value::List(items) => items,
            other => std::slice::from_ref(other),
        };
        for id in batch {
            if !matches!(id, Value::Int(_) | Value::Str(_)) {
                let line = op.completion(history).map_or(line, |c| c.line as usize);
                return Err(InputError::new(
                    &history.source,
                    line,
                    format!(
                        "unique-ids checker: expected the generated ID (an integer or a string), found {id}"
                    ),
                ));
            }
            ids += 1;
            range = Some(match range {
                None => (id, id),
                Some((lo, hi)) => (
                    if order(id) < order(lo) { id } else { lo },
                    if order(id) > order(hi) { id } else { hi },
                ),
            });
            seen.entry(id).or_default().push(i as u32);
        }
    }
    let mut duplicates: Vec<Duplicate> = seen
        .into_iter()
        .filter(|(_, who)| who.len() > 1)
        .map(|(id, who)| Duplicate {
            id: id.clone(),
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
        range: range.map(|(lo, hi)| [lo.clone(), hi.clone()]),
        duplicates,
    })
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
