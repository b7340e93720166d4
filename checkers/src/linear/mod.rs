//! The linearizability checker.
//!
//! ```text
//! operations ──split by key──▶ partitions ──prepare (prune)──▶ problems ──search──▶ verdicts
//!                                             (problem.rs,          (search.rs, fairly
//!                                              prune.rs)             interleaved by schedule.rs)
//! ```
//!
//! A [`Model`] turns each operation into an effect on an interned state (`model.rs`,
//! `machine.rs`). Keys are independent, so by default each key is its own partition, checked in
//! parallel with the others; `split: false` checks the whole history against one map-valued
//! state instead. `fail` operations are dropped (they did not happen); `info` operations and
//! invocations without a completion may take effect at any point after their invocation, or
//! never. A time budget and a memory budget end undecided keys as `unknown`, naming them.

mod budget;
mod interner;
mod lookahead;
mod machine;
mod memo;
pub mod model;
mod problem;
mod prune;
mod report;
mod schedule;
mod search;

use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

pub use model::{Model, by_name, infer};
pub use report::{Counterexample, OpSummary, PartitionReport, Report, Step};

use budget::Budget;
use problem::{Slots, prepare};
use schedule::{Abandoned, Task};
use search::{INFO, Search, Status};

use crate::error::InputError;
use crate::history::{History, NilReads, Operation, Outcome};
use crate::value::Value;
use crate::verdict::Validity;

/// How to check.
#[derive(Clone, Debug)]
pub struct Options {
    /// Worker threads (at least one).
    pub threads: usize,
    /// Give up on undecided keys after this long.
    pub timeout: Option<Duration>,
    /// Bytes the searches may hold at once, all keys together.
    pub max_memory: usize,
    /// Check every key even after one is found invalid.
    pub all_keys: bool,
    /// Check each key separately (true) or the whole history as one map-valued state.
    pub split: bool,
}

/// The default memory budget: 4 GiB.
pub const DEFAULT_MAX_MEMORY: usize = 4 << 30;

impl Default for Options {
    fn default() -> Options {
        Options {
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            timeout: None,
            max_memory: DEFAULT_MAX_MEMORY,
            all_keys: false,
            split: true,
        }
    }
}

/// Checks that `ops` (the client operations of `history`) are linearizable under `model`.
///
/// Fails only on operations the model cannot read (naming their line); everything about the
/// verdict is in the [`Report`].
pub fn check(
    model: &dyn Model,
    history: &History,
    ops: &[Operation],
    options: &Options,
) -> Result<Report, InputError> {
    let budget = Budget::new(options.max_memory);
    let partitions: Vec<(Option<Value>, Vec<u32>)> = if options.split {
        split_by_key(ops)
    } else {
        vec![(None, (0..ops.len() as u32).collect())]
    };
    let ctx = Context {
        model,
        history,
        ops,
        budget: &budget,
        slots_per_key: !options.split,
        timeout: options.timeout,
    };
    let tasks: Vec<KeyTask<'_>> = partitions
        .into_iter()
        .map(|(key, members)| KeyTask {
            ctx: &ctx,
            report: PartitionReport::new(key, Validity::Unknown),
            members,
            search: None,
            cpu: Duration::ZERO,
        })
        .collect();
    let results = schedule::run(tasks, options.threads, options.timeout, !options.all_keys);
    let mut partitions = Vec::with_capacity(results.len());
    for r in results {
        partitions.push(r?);
    }
    Ok(Report {
        valid: Validity::all(partitions.iter().map(|p| p.valid)),
        model: model.name().to_string(),
        split: options.split,
        unconstrained_nil_reads: (model.nil_reads(history) == NilReads::Unknown)
            .then(|| model::nil_reads(ops, history))
            .filter(|&n| n > 0),
        partitions,
    })
}

/// Groups operations by key, keys in order of first appearance.
fn split_by_key(ops: &[Operation]) -> Vec<(Option<Value>, Vec<u32>)> {
    let mut index: hashbrown::HashMap<&Option<Value>, usize> = hashbrown::HashMap::new();
    let mut parts: Vec<(Option<Value>, Vec<u32>)> = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        let p = *index.entry(&op.key).or_insert_with(|| {
            parts.push((op.key.clone(), Vec::new()));
            parts.len() - 1
        });
        parts[p].1.push(i as u32);
    }
    parts
}

struct Context<'a> {
    model: &'a dyn Model,
    history: &'a History,
    ops: &'a [Operation],
    budget: &'a Budget,
    slots_per_key: bool,
    timeout: Option<Duration>,
}

/// One key's check, run in slices by the scheduler.
struct KeyTask<'a> {
    ctx: &'a Context<'a>,
    members: Vec<u32>,
    report: PartitionReport,
    search: Option<Search>,
    cpu: Duration,
}

type TaskResult = Result<PartitionReport, InputError>;

impl KeyTask<'_> {
    fn finish(&mut self, valid: Validity, reason: Option<String>) -> PartitionReport {
        let mut report = std::mem::replace(
            &mut self.report,
            PartitionReport::new(None, Validity::Unknown),
        );
        report.valid = valid;
        report.reason = reason;
        report.micros = self.cpu.as_micros() as u64;
        if let Some(search) = &mut self.search {
            report.set_counters(&search.counters);
            search.release(self.ctx.budget);
        }
        self.search = None;
        report
    }

    fn counterexample(&self, search: &Search) -> Counterexample {
        let (ctx, p) = (self.ctx, &search.problem);
        let op_of = |r: u32| -> &Operation {
            let origin = if r & INFO == 0 {
                p.ok_origin[r as usize]
            } else {
                p.info_origin[(r & !INFO) as usize]
            };
            &ctx.ops[origin as usize]
        };
        let describe = |state: u32| search.machine.describe(ctx.model, state);
        let record = &search.record;
        let blocked = op_of(record.blocked);
        let state = record
            .prefix
            .last()
            .map_or(search.machine.init, |&(_, s)| s);
        let concurrent = self
            .members
            .iter()
            .map(|&m| &ctx.ops[m as usize])
            .filter(|o| o.invoke != blocked.invoke && o.outcome != Outcome::Fail)
            .filter(|o| !o.precedes(blocked) && !blocked.precedes(o))
            .map(|o| OpSummary::new(o, ctx.history))
            .collect();
        Counterexample {
            op: OpSummary::new(blocked, ctx.history),
            concurrent,
            prefix: record
                .prefix
                .iter()
                .map(|&(r, s)| Step {
                    op: OpSummary::new(op_of(r), ctx.history),
                    state: describe(s),
                })
                .collect(),
            state: describe(state),
        }
    }
}

impl Task for KeyTask<'_> {
    type Result = TaskResult;

    fn slice(&mut self, cancelled: &AtomicBool) -> schedule::Step<TaskResult> {
        let started = Instant::now();
        if self.search.is_none() {
            let slots = if self.ctx.slots_per_key {
                Slots::PerKey
            } else {
                Slots::One
            };
            match prepare(
                self.ctx.model,
                self.ctx.history,
                self.ctx.ops,
                &self.members,
                slots,
            ) {
                Err(e) => {
                    return schedule::Step::Done {
                        result: Err(e),
                        invalid: true,
                    };
                }
                Ok((problem, machine)) => {
                    self.report.ok_ops = problem.ok.len();
                    self.report.info_ops = problem.info.len();
                    self.report.failed_ops = problem.pruned.failed;
                    self.report.pruned_info_ops = problem.pruned.info;
                    self.search = Some(Search::new(problem, machine));
                }
            }
        }
        let Some(search) = self.search.as_mut() else {
            return schedule::Step::Again;
        };
        let until = started + schedule::SLICE_TIME;
        let status = search.run(schedule::SLICE, until, self.ctx.budget, cancelled);
        self.cpu += started.elapsed();
        match status {
            Status::Running => schedule::Step::Again,
            Status::Valid => schedule::Step::Done {
                result: Ok(self.finish(Validity::Valid, None)),
                invalid: false,
            },
            Status::Invalid => {
                let cex = self.search.as_ref().map(|s| self.counterexample(s));
                let mut report = self.finish(Validity::Invalid, None);
                report.counterexample = cex;
                schedule::Step::Done {
                    result: Ok(report),
                    invalid: true,
                }
            }
            Status::OutOfMemory => {
                let used = self.search.as_ref().map_or(0, Search::memo_len);
                let reason = format!(
                    "memory budget exhausted after {used} configurations (raise --max-memory)"
                );
                schedule::Step::Done {
                    result: Ok(self.finish(Validity::Unknown, Some(reason))),
                    invalid: false,
                }
            }
        }
    }

    fn abandon(&mut self, why: Abandoned) -> TaskResult {
        let reason = match why {
            Abandoned::Deadline => format!(
                "time budget of {:.1} s ran out (raise --timeout)",
                self.ctx.timeout.unwrap_or_default().as_secs_f64()
            ),
            Abandoned::Cancelled => {
                "not checked: another key was already invalid (`faultline check --all-keys` checks every key)".to_string()
            }
        };
        Ok(self.finish(Validity::Unknown, Some(reason)))
    }
}
