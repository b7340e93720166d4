//! `faultline check`: check stored histories — faultline's own, Jepsen's, Porcupine's.
//!
//! Each file is read (format detected or forced), its operations paired, and given to its
//! checkers: a `--model` name's, or those the operation names suggest
//! (`checkers::compose`). Results go to the console as text, or as JSON in the shape of
//! results.json (module `results`, docs/results-schema.md); the exit code is the worst
//! verdict (DESIGN.md).
//!
//! [`check_one`] is also how a run's history is checked ([`run_options`]: the runner at the
//! end of a run, the report when it checks a stored run again), and [`render_checker`] how
//! every checker's analysis reads on the console.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use checkers::compose::{self, Analysis, Checker, CheckerResult, Model};
use checkers::elle::{self, Consistency};
use checkers::history::History;
use checkers::import::{Format, read_history};
use checkers::linear::{self, Options};
use checkers::stats::Stats;
use checkers::{InputError, Validity, Value, bank, unique_ids};
use clap::Args;
use clap::builder::PossibleValuesParser;
use targets::descriptor::{Descriptor, IdLayout};

use crate::bytes::parse_bytes;
use crate::exit::Exit;
use crate::results::{CheckResults, HistoryResult, VERSION};

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// History files (.jsonl, history.edn, Jepsen .log, Porcupine kv .txt).
    #[arg(required = true, value_name = "HISTORY")]
    pub histories: Vec<PathBuf>,
    /// What to check against: register, cas-register, multi-register, kv, mutex, unique-ids,
    /// lock (lock safety), bank, list-append or rw-register (transactions, Elle-style)
    /// [default: inferred from the operations' names].
    #[arg(long, value_parser = PossibleValuesParser::new(Model::names()))]
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
    /// A register's initial value, as JSON [default: null]; for multi-register, the initial
    /// map, e.g. '{"x":0,"y":0}' [default: {}, every key nil].
    #[arg(long, value_name = "JSON")]
    pub initial_value: Option<String>,
    /// unique-ids: decode IDs as snowflakes (2020 epoch, 41-bit ms, 10-bit worker, 12-bit
    /// sequence): duplicates show their fields, and each worker's IDs are checked to increase.
    #[arg(long)]
    pub snowflake: bool,
    /// bank: the total every read must sum to [default: the sum of the first ok read].
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub total: Option<i64>,
    /// bank: the accounts, as a comma-separated list (a,b,c) or a count N meaning 0 to N-1
    /// [default: the first ok read's].
    #[arg(long, value_name = "LIST|N")]
    pub accounts: Option<String>,
    /// bank: balances below zero are allowed (no negative-value errors).
    #[arg(long)]
    pub allow_negative: bool,
    /// list-append, rw-register: the consistency model transactions must satisfy; it decides
    /// which anomalies make the history invalid.
    #[arg(long, value_name = "MODEL", default_value = "strict-serializable",
          value_parser = PossibleValuesParser::new(Consistency::ALL.map(Consistency::name)))]
    pub consistency: String,
}

/// `--accounts`: `a,b,c` names the accounts; a bare count `N` means `0` … `N-1`, Jepsen's
/// integer accounts (so one account whose name is a number cannot be named alone).
fn parse_accounts(text: &str) -> Result<Vec<String>, Failure> {
    let t = text.trim();
    if let Ok(n) = t.parse::<u32>() {
        if n == 0 {
            return Err("--accounts: expected at least one account, found 0".into());
        }
        return Ok((0..n).map(|i| i.to_string()).collect());
    }
    let mut accounts: Vec<String> = Vec::new();
    for name in t.split(',').map(str::trim) {
        if name.is_empty() {
            return Err(format!(
                "--accounts: expected account names separated by commas (a,b,c) or a count, found `{}`",
                text.escape_debug()
            ));
        }
        if accounts.iter().any(|a| a == name) {
            return Err(format!(
                "--accounts: expected distinct accounts, found `{}` twice",
                name.escape_debug()
            ));
        }
        accounts.push(name.to_string());
    }
    Ok(accounts)
}

/// A usage or input problem, already worded for the user.
type Failure = String;

/// How long the checkers may take on a run's history.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(120);

/// How a run's history is checked: within [`CHECK_TIMEOUT`], and with the IDs of target `d`
/// decoded as it lays them out (snowflakes: duplicates show their fields, and each worker's
/// order is checked).
pub fn run_options(d: Option<&Descriptor>) -> compose::Options {
    compose::Options {
        linear: Options {
            timeout: Some(CHECK_TIMEOUT),
            ..Options::default()
        },
        initial: None,
        snowflake: d
            .filter(|d| d.id_layout == IdLayout::Snowflake)
            .map(|_| unique_ids::SnowflakeLayout::default()),
        bank: bank::Options::default(),
        isolation: elle::Options::default(),
    }
}

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
    if args.model.as_deref() == Some("multi-register")
        && let Some(v) = initial.as_ref().filter(|v| !matches!(v, Value::Map(_)))
    {
        return Err(format!(
            "--initial-value: expected a JSON object of key to value for multi-register, such as '{{\"x\":0,\"y\":0}}', found {v}"
        ));
    }
    let options = compose::Options {
        linear: Options {
            threads: args.threads.unwrap_or(Options::default().threads).max(1),
            timeout: args.timeout.map(Duration::from_secs_f64),
            max_memory: args.max_memory,
            all_keys: args.all_keys,
            split: !args.no_split,
        },
        initial,
        snowflake: args.snowflake.then(unique_ids::SnowflakeLayout::default),
        bank: bank::Options {
            total: args.total,
            accounts: args.accounts.as_deref().map(parse_accounts).transpose()?,
            allow_negative: args.allow_negative,
        },
        isolation: elle::Options {
            // clap admits only the models' names.
            consistency: Consistency::parse(&args.consistency).unwrap_or_default(),
        },
    };
    // clap admits only the models' names.
    let checkers = args
        .model
        .as_deref()
        .and_then(Model::named)
        .map(|m| m.checkers);
    // Which workload wrote a file is not known here: any workload's answer counts as one.
    let answers = workloads::registry::answers();
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
            check_one(&history, detected, checkers, &answers, &options)
                .map_err(|e| e.to_string())?,
        );
    }
    Ok(CheckResults {
        version: VERSION,
        valid: Validity::all(histories.iter().map(|h| h.valid)),
        histories,
    })
}

/// Checks one history with `checkers`, or those its operation names suggest; a `fail` whose
/// error is one of `answers` is the operation's own answer (`checkers::stats`).
pub fn check_one(
    history: &History,
    format: Format,
    checkers: Option<&[Checker]>,
    answers: &[&str],
    options: &compose::Options,
) -> Result<HistoryResult, InputError> {
    let started = Instant::now();
    let ops = history.operations()?;
    let checkers = match checkers {
        Some(c) => c,
        None => compose::infer(history, &ops)
            .ok_or_else(|| {
                let mut names: Vec<&str> = ops.iter().map(|o| &*o.f).collect();
                names.sort_unstable();
                names.dedup();
                InputError::new(
                    &history.source,
                    0,
                    format!(
                        "cannot tell which model fits operations {names:?}: name one with --model ({})",
                        Model::names().collect::<Vec<_>>().join(", ")
                    ),
                )
            })?
            .checkers,
    };
    let stats = Stats::of(history, &ops, answers);
    let results = compose::check(history, &ops, checkers, options)?;
    Ok(HistoryResult {
        file: history.source.clone(),
        format: format.name().to_string(),
        valid: compose::merge(&results),
        stats,
        elapsed_ms: started.elapsed().as_secs_f64() * 1e3,
        checkers: results,
    })
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
            h.label(),
            c.ops,
            c.ok,
            c.fail,
            c.info,
            h.elapsed_ms
        );
        for c in &h.checkers {
            out.push_str(&render_checker(c));
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

/// One checker's analysis as text, indented under its history's line.
pub fn render_checker(c: &CheckerResult) -> String {
    match &c.analysis {
        Analysis::Linearizable(r) => r.render_text(),
        Analysis::LockSafety(r) => r.render_text(),
        Analysis::Mutex(r) => render_mutex(r),
        Analysis::UniqueIds(r) => render_unique_ids(r),
        Analysis::Monotonic(m) => render_monotonicity(m),
        Analysis::Bank(r) => r.render_text(),
        Analysis::Atomicity(r) => r.render_text(),
        Analysis::Blocking(r) => r.render_text(),
        Analysis::Isolation(r) => r.text(),
    }
}

/// The mutex checker's verdict, with the op it could not linearize (its full counterexample
/// is in the JSON).
fn render_mutex(r: &linear::Report) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "  as a linearizable mutex: {} (information only: an expired lease frees the lock without a release)",
        r.valid.word()
    );
    for p in &r.partitions {
        if let Some(cex) = &p.counterexample {
            let _ = writeln!(out, "    cannot linearize  {}", cex.op.describe());
        }
        if let Some(why) = &p.reason {
            let _ = writeln!(out, "    {why}");
        }
    }
    out
}

/// A unique-ids report as text: counts, duplicates, refusals.
fn render_unique_ids(r: &unique_ids::Report) -> String {
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
    out
}

/// Each worker's order as text: regressions per worker, and the first few.
fn render_monotonicity(m: &unique_ids::Monotonicity) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
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
    out
}
