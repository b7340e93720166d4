//! Per-worker monotonicity of snowflake IDs: information, never a cause of invalid.

use hashbrown::HashMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::snowflake::{Snowflake, SnowflakeLayout};
use crate::history::{History, Operation};
use crate::linear::OpSummary;
use crate::value::Value;

/// How many regressions a report keeps (`regressed` counts them all).
pub const MAX_REGRESSIONS: usize = 100;

/// One acknowledged ID, decoded.
pub(super) struct Issued<'h> {
    /// Index into the checked operations.
    pub op: u32,
    pub id: &'h Value,
    pub number: u64,
    pub fields: Snowflake,
}

/// Whether each worker's IDs increase in the order it issued them.
///
/// See the [module documentation](super) for the order and for which pairs are compared.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Monotonicity {
    /// The layout the IDs were decoded with.
    pub layout: SnowflakeLayout,
    /// Regressions found, over all workers (`regressions` keeps at most [`MAX_REGRESSIONS`]).
    pub regressed: usize,
    /// Every worker that issued an acknowledged ID, by worker number.
    pub workers: Vec<WorkerIds>,
    /// At most [`MAX_REGRESSIONS`] regressions, in the order of the later op's completion
    /// (then batch order).
    pub regressions: Vec<Regression>,
}

/// One worker's tally.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct WorkerIds {
    /// The worker field of its IDs.
    pub worker: u64,
    /// IDs acknowledged (a batch counts each).
    pub ids: usize,
    /// Its IDs that were not greater than the ID it had certainly issued just before.
    pub regressed: usize,
}

/// An ID that is not greater than one its worker had certainly issued before it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Regression {
    pub worker: u64,
    /// The op that returned the earlier (greater or equal) ID.
    pub earlier: OpSummary,
    /// The op that returned the later ID: invoked after `earlier` completed, or `earlier`
    /// itself when both IDs are in one batch.
    pub later: OpSummary,
    pub earlier_id: Value,
    pub later_id: Value,
    /// `earlier_id - later_id` (0 for the same ID twice). A decimal string, like 64-bit IDs,
    /// so that no JSON reader rounds it.
    #[serde(serialize_with = "decimal", deserialize_with = "from_decimal")]
    pub back_by: u64,
    /// How far the decoded timestamp went back, ms (0 when only the sequence did).
    pub back_ms: i64,
}

fn decimal<S: Serializer>(n: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(n)
}

fn from_decimal<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    String::deserialize(d)?
        .parse()
        .map_err(serde::de::Error::custom)
}

/// One op's IDs from one worker, in batch order.
struct Rec {
    op: u32,
    invoke: usize,
    complete: usize,
    /// Indices into `issued`.
    ids: Vec<u32>,
}

/// A regression before its ops are summarised: indices into `issued`, and where the later ID
/// sits in the history (completion position, then batch position) for ordering.
struct Found {
    worker: u64,
    earlier: u32,
    later: u32,
    at: (usize, u32),
}

/// Finds every worker's regressions among `issued` (ops contiguous, each in batch order).
pub(super) fn analyse(
    history: &History,
    ops: &[Operation],
    layout: SnowflakeLayout,
    issued: &[Issued<'_>],
) -> Monotonicity {
    let completed = |op: u32| {
        ops[op as usize]
            .complete
            .expect("an ok op has a completion")
    };
    // Each op's IDs: a contiguous span of `issued`; the spans in completion order.
    let mut spans: Vec<(u32, usize, usize)> = Vec::new();
    for (i, x) in issued.iter().enumerate() {
        match spans.last_mut() {
            Some((op, _, end)) if *op == x.op => *end = i + 1,
            _ => spans.push((x.op, i, i + 1)),
        }
    }
    spans.sort_by_key(|&(op, _, _)| completed(op));
    // Per worker, its ops in completion order, each with its IDs from that worker.
    let mut by_worker: HashMap<u64, Vec<Rec>> = HashMap::new();
    for &(op, start, end) in &spans {
        for (i, x) in issued.iter().enumerate().take(end).skip(start) {
            let recs = by_worker.entry(x.fields.worker).or_default();
            match recs.last_mut() {
                Some(r) if r.op == op => r.ids.push(i as u32),
                _ => recs.push(Rec {
                    op,
                    invoke: ops[op as usize].invoke,
                    complete: completed(op),
                    ids: vec![i as u32],
                }),
            }
        }
    }
    let mut workers: Vec<(u64, Vec<Rec>)> = by_worker.into_iter().collect();
    workers.sort_unstable_by_key(|&(w, _)| w);
    let mut found: Vec<Found> = Vec::new();
    let mut tallies = Vec::with_capacity(workers.len());
    for (worker, recs) in &workers {
        let before = found.len();
        regressions(*worker, recs, issued, &mut found);
        tallies.push(WorkerIds {
            worker: *worker,
            ids: recs.iter().map(|r| r.ids.len()).sum(),
            regressed: found.len() - before,
        });
    }
    let regressed = found.len();
    found.sort_unstable_by_key(|f| f.at);
    found.truncate(MAX_REGRESSIONS);
    let summary = |op: u32| OpSummary::new(&ops[op as usize], history);
    let regressions = found
        .into_iter()
        .map(|f| {
            let (e, l) = (&issued[f.earlier as usize], &issued[f.later as usize]);
            Regression {
                worker: f.worker,
                earlier: summary(e.op),
                later: summary(l.op),
                earlier_id: e.id.clone(),
                later_id: l.id.clone(),
                back_by: e.number - l.number,
                back_ms: e.fields.timestamp_ms - l.fields.timestamp_ms,
            }
        })
        .collect();
    Monotonicity {
        layout,
        regressed,
        workers: tallies,
        regressions,
    }
}

/// One worker's regressions. `recs` is in completion order.
///
/// An op's first ID is compared with the IDs issued just before it for certain: among the
/// ops that completed before it was invoked (a prefix of `recs`), those that no other op of
/// the prefix certainly follows — the ones that completed after the latest invocation in the
/// prefix, a suffix of the prefix. When there are several (they were concurrent with each
/// other), the greatest of their last IDs is the one to beat. Every later ID of a batch is
/// compared with the one before it in the batch.
fn regressions(worker: u64, recs: &[Rec], issued: &[Issued<'_>], found: &mut Vec<Found>) {
    let number = |i: u32| issued[i as usize].number;
    // latest_invoke[k]: the latest invocation among recs[..=k].
    let latest_invoke: Vec<usize> = recs
        .iter()
        .scan(0, |m, r| {
            *m = (*m).max(r.invoke);
            Some(*m)
        })
        .collect();
    for r in recs {
        let prefix = recs.partition_point(|p| p.complete < r.invoke);
        if prefix > 0 {
            let latest = latest_invoke[prefix - 1];
            let frontier = recs[..prefix].partition_point(|p| p.complete < latest);
            // The greatest last ID; on a tie, the op that completed last.
            let last = |p: &Rec| *p.ids.last().expect("a record has an ID");
            let previous = recs[frontier..prefix]
                .iter()
                .map(last)
                .max_by_key(|&i| number(i))
                .expect("the op invoked last in the prefix is in the frontier");
            if number(r.ids[0]) <= number(previous) {
                found.push(Found {
                    worker,
                    earlier: previous,
                    later: r.ids[0],
                    at: (r.complete, r.ids[0]),
                });
            }
        }
        for pair in r.ids.windows(2) {
            if number(pair[1]) <= number(pair[0]) {
                found.push(Found {
                    worker,
                    earlier: pair[0],
                    later: pair[1],
                    at: (r.complete, pair[1]),
                });
            }
        }
    }
}
