//! `faultline check`: check stored histories — faultline's own, Jepsen's, Porcupine's.
//!
//! Each file is read (format detected or forced), its operations paired, and the chosen checker
//! run (the model is inferred from the operation names unless given). Results go to the console
//! as text, or as JSON in the shape of results.json (docs/results-schema.md); the exit code is
//! the worst verdict (DESIGN.md).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use checkers::history::History;
use checkers::import::{Format, read_history};
use checkers::linear::{self, Options};
use checkers::stats::Stats;
use checkers::{InputError, Validity, Value, lock, unique_ids};
use clap::Args;
use serde::Serialize;

use crate::bytes::parse_bytes;
use crate::exit::Exit;

/// The checkers `--model` can name.
pub const MODELS: [&str; 6] = [
    "register",
    "cas-register",
    "kv",
    "mutex",
    "unique-ids",
    "lock",
];

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// History files (.jsonl, history.edn, Jepsen .log, Porcupine kv .txt).
    #[arg(required = true, value_name = "HISTORY")]
    pub histories: Vec<PathBuf>,
    /// What to check against: register, cas-register, kv, mutex, unique-ids or lock (lock
    /// safety) [default: inferred from the operations' names].
    #[arg(long, value_parser = MODELS)]
    pub model: Option<String>,
    /// The files' format: jsonl, edn, jepsen-log or porcupine-kv [default: detected].
    #[arg(long, value_parser = ["jsonl", "edn", "jepsen-log", "porcupine-kv"])]
    pub format: Option<String>,
    /// Print results as JSON (the shape of results.json) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Check every key, even after one is found invalid.
    #[arg(long)]
    pub all_keys: bool,
    /// Give up on undecided keys after this many seconds (their verdict is unknown).
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<f64>,
    /// Memory the search may use, all keys together (e.g. 512M, 4GiB).
    #[arg(long, value_name = "BYTES", default_value = "4GiB", value_parser = parse_bytes)]
    pub max_memory: usize,
    /// Worker threads [default: one per core].
    #[arg(long)]
    pub threads: Option<usize>,
    /// Check the whole history against one map-valued state instead of key by key.
    #[arg(long)]
    pub no_split: bool,
    /// A register's initial value, as JSON [default: null].
    #[arg(long, value_name = "JSON")]
    pub initial_value: Option<String>,
    /// unique-ids: decode IDs as snowflakes (2020 epoch, 41-bit ms, 10-bit worker, 12-bit
    /// sequence): duplicates show their fields, and each worker's IDs are checked to increase.
    #[arg(long)]
    pub snowflake: bool,
}

/// results.json for `check`.
#[derive(Serialize, Debug)]
pub struct CheckResults {
    pub valid: Validity,
    pub histories: Vec<HistoryResult>,
}

/// One history's result.
#[derive(Serialize, Debug)]
pub struct HistoryResult {
    pub file: String,
    pub format: &'static str,
    pub valid: Validity,
    /// `linearizable`, `unique-ids` or `lock-safety`.
    pub checker: &'static str,
    pub model: String,
    pub stats: Stats,
    pub elapsed_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linearizable: Option<linear::Report>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unique_ids: Option<unique_ids::Report>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lock: Option<lock::Report>,
}

/// A usage or input problem, already worded for the user.
type Failure = String;

/// Runs `faultline check`.
pub fn run(args: &CheckArgs) -> Exit {
    match check_all(args) {
        Ok(results) => {
            if args.json {
                match serde_json::to_string_pretty(&results) {
                    Ok(json) => println!("{json}"),
                    Err(e) => {
                        eprintln!("faultline: error: cannot write JSON: {e}");
                        return Exit::Error;
                    }
                }
            } else {
                print!("{}", render(&results));
            }
            Exit::from(results.valid)
        }
        Err(message) => {
            eprintln!("faultline: error: {message}");
            Exit::Error
        }
    }
}

fn check_all(args: &CheckArgs) -> Result<CheckResults, Failure> {
    let format = args.format.as_deref().and_then(Format::parse);
    let initial = match &args.initial_value {
        None => None,
        Some(json) => Some(serde_json::from_str::<Value>(json).map_err(|e| {
            format!("--initial-value: expected a JSON value, found `{json}` ({e})")
        })?),
    };
    let options = Options {
        threads: args.threads.unwrap_or(Options::default().threads).max(1),
        timeout: args.timeout.map(Duration::from_secs_f64),
        max_memory: args.max_memory,
        all_keys: args.all_keys,
        split: !args.no_split,
    };
    let ids = unique_ids::Options {
        snowflake: args.snowflake.then(unique_ids::SnowflakeLayout::default),
    };
    let mut histories = Vec::new();
    for path in &args.histories {
        let file = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("{file}: cannot read: {e}"))?;
        let detected = format
            .or_else(|| Format::detect(&file, &text))
            .unwrap_or(Format::Jsonl);
        let history = read_history(&file, &text, format).map_err(|e| e.to_string())?;
        histories.push(
            check_one(
                &history,
                detected,
                args.model.as_deref(),
                initial.clone(),
                &options,
                &ids,
            )
            .map_err(|e| e.to_string())?,
        );
    }
    Ok(CheckResults {
        valid: Validity::all(histories.iter().map(|h| h.valid)),
        histories,
    })
}

/// Checks one history with the named checker, or the one its operation names suggest.
pub fn check_one(
    history: &History,
    format: Format,
    model: Option<&str>,
    initial: Option<Value>,
    options: &Options,
    ids: &unique_ids::Options,
) -> Result<HistoryResult, InputError> {
    let started = Instant::now();
    let ops = history.operations()?;
    let name = match model {
        Some(m) => m,
        None => infer(&ops).ok_or_else(|| {
            let mut names: Vec<&str> = ops.iter().map(|o| &*o.f).collect();
            names.sort_unstable();
            names.dedup();
            InputError::new(
                &history.source,
                0,
                format!(
                    "cannot tell which model fits operations {names:?}: name one with --model ({})",
                    MODELS.join(", ")
                ),
            )
        })?,
    };
    let stats = Stats::of(history, &ops);
    let mut result = HistoryResult {
        file: history.source.clone(),
        format: format.name(),
        valid: Validity::Valid,
        checker: "linearizable",
        model: name.to_string(),
        stats,
        elapsed_ms: 0.0,
        linearizable: None,
        unique_ids: None,
        lock: None,
    };
    if name == "unique-ids" {
        let report = unique_ids::check_with(history, &ops, ids)?;
        result.checker = "unique-ids";
        result.valid = report.valid;
        result.unique_ids = Some(report);
    } else if name == "lock" {
        let report = lock::check(history, &ops)?;
        result.checker = "lock-safety";
        result.valid = report.valid;
        result.lock = Some(report);
    } else {
        let model = linear::by_name(name, initial).ok_or_else(|| {
            InputError::new(&history.source, 0, format!("no model called `{name}`"))
        })?;
        let report = linear::check(&*model, history, &ops, options)?;
        result.valid = report.valid;
        result.linearizable = Some(report);
    }
    result.elapsed_ms = started.elapsed().as_secs_f64() * 1e3;
    Ok(result)
}

/// The checker for a history whose model was not named: from its operations' names.
fn infer(ops: &[checkers::history::Operation]) -> Option<&'static str> {
    if ops.is_empty() {
        return Some("cas-register");
    }
    if ops.iter().all(|o| &*o.f == "generate") {
        return Some("unique-ids");
    }
    let lockish = |f: &str| matches!(f, "acquire" | "release" | "renew" | "write");
    if ops.iter().all(|o| lockish(&o.f)) && ops.iter().any(|o| &*o.f == "write") {
        return Some("lock");
    }
    linear::infer(&mut ops.iter().map(|o| &*o.f))
}

/// The console rendering: a line per history, the anomalies, and a tally.
pub fn render(results: &CheckResults) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for h in &results.histories {
        let c = h.stats.counts;
        let _ = writeln!(
            out,
            "{}: {} ({}, {} ops: {} ok, {} fail, {} info; {:.2} ms)",
            h.file,
            h.valid.word(),
            h.model,
            c.ops,
            c.ok,
            c.fail,
            c.info,
            h.elapsed_ms
        );
        if let Some(report) = &h.linearizable {
            out.push_str(&report.render_text());
        }
        if let Some(report) = &h.unique_ids {
            out.push_str(&render_unique_ids(report));
        }
        if let Some(report) = &h.lock {
            out.push_str(&report.render_text());
        }
    }
    if results.histories.len() > 1 {
        let count = |v: Validity| results.histories.iter().filter(|h| h.valid == v).count();
        let _ = writeln!(
            out,
            "{} histories: {} valid, {} invalid, {} unknown",
            results.histories.len(),
            count(Validity::Valid),
            count(Validity::Invalid),
            count(Validity::Unknown)
        );
    }
    out
}

/// How many duplicates and regressions the text shows.
const SHOWN: usize = 5;

/// An op's description cut to a console line's worth (a batch of IDs is long), keeping its
/// end, `(ok, line N)`.
fn clip(text: &str) -> String {
    const WIDTH: usize = 120;
    let (body, end) = text.rsplit_once(" (").unwrap_or((text, ""));
    match body.char_indices().nth(WIDTH) {
        Some((at, _)) if end.is_empty() => format!("{}…", &body[..at]),
        Some((at, _)) => format!("{}… ({end}", &body[..at]),
        None => text.to_string(),
    }
}

/// A unique-ids report as text: counts, duplicates, refusals, per-worker order.
pub(crate) fn render_unique_ids(r: &unique_ids::Report) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "  {} attempted, {} acknowledged, {} IDs, {} duplicated{}",
        r.attempted,
        r.acknowledged,
        r.ids,
        r.duplicated,
        r.range
            .as_ref()
            .map_or_else(String::new, |[lo, hi]| format!(", range {lo} … {hi}"))
    );
    if !r.failed.is_empty() {
        let reasons: Vec<String> = r.failed.iter().map(|(e, n)| format!("{n} {e}")).collect();
        let _ = writeln!(out, "  refused: {}", reasons.join(", "));
    }
    // The first few, each op on one line: a broken generator repeats thousands of IDs, and
    // results.json lists them all.
    for d in r.duplicates.iter().take(SHOWN) {
        let decoded = d.decoded.as_ref().map_or_else(String::new, |f| {
            format!(
                " (worker {}, ms {}, sequence {})",
                f.worker, f.timestamp_ms, f.sequence
            )
        });
        let _ = writeln!(out, "  duplicate ID {}{decoded}:", d.id);
        for op in &d.ops {
            let _ = writeln!(out, "    {}", clip(&op.describe()));
        }
    }
    if r.duplicates.len() > SHOWN {
        let _ = writeln!(
            out,
            "  … and {} more duplicated IDs (results.json lists every one)",
            r.duplicates.len() - SHOWN
        );
    }
    if let Some(m) = &r.monotonicity {
        let _ = writeln!(
            out,
            "  per worker: {} IDs went backwards after a later request began ({})",
            m.regressed,
            m.workers
                .iter()
                .map(|w| format!("worker {}: {} of {}", w.worker, w.regressed, w.ids))
                .collect::<Vec<_>>()
                .join(", ")
        );
        for g in m.regressions.iter().take(SHOWN) {
            let _ = writeln!(
                out,
                "    worker {}: {} then {}, {} ms back\n      {}\n      {}",
                g.worker,
                g.earlier_id,
                g.later_id,
                g.back_ms,
                clip(&g.earlier.describe()),
                clip(&g.later.describe())
            );
        }
    }
    out
}
