//! `faultline suite`: the regression catalogue. Every scenario file of a folder, run K times,
//! each run's verdict compared with the scenario's `expect`; a table at the end, and JUnit XML
//! for CI (docs/suite.md).
//!
//! * [`catalogue`]: the scenario files, read and checked before anything runs;
//! * [`outcome`]: one run against its expectation, and the anomaly summary;
//! * [`junit`]: the JUnit document.
//!
//! [`execute`] runs one scenario as `faultline run` does; `faultline sweep` uses it too.

pub mod catalogue;
pub mod junit;
pub mod outcome;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use checkers::Validity;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use tabled::builder::Builder;
use tabled::settings::Style;

use crate::exit::Exit;
use crate::results::RunResults;
use crate::run::command::{fresh_seed, interrupted};
use crate::run::runner;
use crate::scenario::Scenario;
use catalogue::Entry;
use outcome::{Case, Outcome};

#[derive(Args, Debug)]
pub struct SuiteArgs {
    /// The folder of scenario files (`*.toml`).
    #[arg(value_name = "DIR", default_value = "scenarios")]
    pub dir: PathBuf,
    /// Write JUnit XML here: one test case per scenario run.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Run each scenario this many times (seeds seed, seed+1, …).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub runs: u32,
    /// Only scenarios whose name (or file name) contains PATTERN; with `*` or `?`, a glob
    /// matching the whole name.
    #[arg(long, value_name = "PATTERN")]
    pub filter: Option<String>,
    /// Where runs are stored.
    #[arg(long, default_value = "results")]
    pub results: PathBuf,
    /// Run each scenario for its `ci-time-limit` instead of its `time-limit`.
    #[arg(long)]
    pub ci: bool,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Run this many scenarios at a time. Most runs wait on timers far more than they
    /// compute, so on a small CI machine two at a time halve the suite's wall time; their
    /// clusters, ports and folders are their own.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=16))]
    pub jobs: u32,
}

/// How one run of a scenario ended.
pub(crate) enum Executed {
    Done(Box<RunResults>),
    Failed(String),
    /// Ctrl-C or SIGTERM: the run's cluster is stopped; nothing more should run.
    Interrupted(&'static str),
}

/// Runs `scenario` once, stored under `results`, without a progress bar of its own; stops on
/// Ctrl-C or SIGTERM (the run's cluster is dropped with its future).
pub(crate) fn execute(
    runtime: &tokio::runtime::Runtime,
    scenario: Scenario,
    results: &Path,
) -> Executed {
    runtime.block_on(async {
        tokio::select! {
            r = runner::run(scenario, results, false) => match r {
                Ok(r) => Executed::Done(Box::new(r)),
                Err(e) => Executed::Failed(e),
            },
            why = interrupted() => Executed::Interrupted(why),
        }
    })
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

/// A bar over `total` runs, on stderr; hidden with `--quiet` or when stderr is not a terminal.
pub(crate) fn progress_bar(quiet: bool, total: u64) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {elapsed:>4} [{bar:30}] {pos}/{len} runs {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// A line on stdout, above the bar.
pub(crate) fn say(bar: &ProgressBar, line: &str) {
    bar.suspend(|| println!("{line}"));
}

/// Runs `faultline suite`.
pub fn run(args: &SuiteArgs) -> Exit {
    let seed = fresh_seed();
    let entries = match catalogue::load(&args.dir, args.ci, seed) {
        Ok(entries) => entries,
        Err(e) => {
            eprintln!("faultline: error: {e}");
            return Exit::Error;
        }
    };
    let entries: Vec<Entry> = match &args.filter {
        None => entries,
        Some(pattern) => {
            let kept: Vec<Entry> = entries.into_iter().filter(|e| e.matches(pattern)).collect();
            if kept.is_empty() {
                eprintln!(
                    "faultline: error: no scenario in {} matches `{pattern}`",
                    args.dir.display()
                );
                return Exit::Error;
            }
            kept
        }
    };
    let runtime = match runtime() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("faultline: error: {e}");
            return Exit::Error;
        }
    };
    let started = Instant::now();
    let bar = progress_bar(args.quiet, entries.len() as u64 * u64::from(args.runs));
    // Every run, in catalogue order: (scenario, run number from 1, expected verdict).
    let mut queue: std::collections::VecDeque<(Scenario, u32, Option<Validity>)> = entries
        .iter()
        .flat_map(|entry| {
            (0..args.runs).map(move |i| {
                let mut scenario = entry.scenario.clone();
                scenario.seed = entry.scenario.seed.wrapping_add(u64::from(i));
                (scenario, i + 1, entry.expect)
            })
        })
        .collect();
    let mut cases: Vec<Case> = Vec::new();
    let mut interrupted_by = None;
    runtime.block_on(async {
        let mut running = tokio::task::JoinSet::new();
        loop {
            while running.len() < args.jobs as usize && interrupted_by.is_none() {
                let Some((scenario, run, expected)) = queue.pop_front() else {
                    break;
                };
                bar.set_message(format!("{} #{run}", scenario.name));
                let case = Case {
                    scenario: scenario.name.clone(),
                    target: scenario.target.clone(),
                    run,
                    seed: scenario.seed,
                    expected,
                    duration_s: 0.0,
                    outcome: Outcome::Failed(String::new()),
                };
                let results = args.results.clone();
                running.spawn(async move {
                    let t = Instant::now();
                    let executed = match runner::run(scenario, &results, false).await {
                        Ok(r) => Executed::Done(Box::new(r)),
                        Err(e) => Executed::Failed(e),
                    };
                    (case, t.elapsed(), executed)
                });
            }
            let done = tokio::select! {
                done = running.join_next() => done,
                why = interrupted() => {
                    // Dropping the runs drops their clusters: their nodes are gone.
                    interrupted_by = Some(why);
                    running.shutdown().await;
                    None
                }
            };
            let Some(done) = done else {
                break;
            };
            let (mut case, took, executed) = match done {
                Ok(done) => done,
                Err(e) => {
                    say(&bar, &format!("a run failed: {e}"));
                    continue;
                }
            };
            case.duration_s = took.as_secs_f64();
            case.outcome = match executed {
                Executed::Done(r) => Outcome::Checked {
                    verdict: r.valid,
                    anomalies: outcome::anomalies(&r.history),
                    dir: r.dir,
                },
                Executed::Failed(e) => Outcome::Failed(e),
                Executed::Interrupted(why) => {
                    Outcome::Failed(format!("{why}: the run was stopped"))
                }
            };
            say(&bar, &case_line(&case));
            cases.push(case);
            bar.inc(1);
        }
    });
    // The table and the JUnit XML list runs in catalogue order, however they finished.
    let order = |c: &Case| {
        (
            entries.iter().position(|e| e.scenario.name == c.scenario),
            c.run,
        )
    };
    cases.sort_by_key(order);
    bar.finish_and_clear();
    print!("{}", render_table(&entries, &cases));
    println!("{}", tally(&cases, started.elapsed()));
    let mut exit = if cases.iter().any(Case::failed_to_run) {
        Exit::Error
    } else if cases.iter().all(Case::passed) {
        Exit::Valid
    } else {
        Exit::Invalid
    };
    if let Some(why) = interrupted_by {
        eprintln!("faultline: {why}: the suite stopped early");
        exit = Exit::Error;
    }
    if let Some(path) = &args.junit {
        if let Err(e) = write_file(path, &junit::render(&cases)) {
            eprintln!("faultline: error: {}: cannot write: {e}", path.display());
            return Exit::Error;
        }
        println!("JUnit XML: {}", path.display());
    }
    exit
}

pub(crate) fn write_file(path: &Path, contents: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, contents)
}

/// One line per run, as it ends.
fn case_line(c: &Case) -> String {
    let mark = match (&c.outcome, c.expected) {
        (Outcome::Failed(_), _) => "ERROR",
        (_, None) => "     ",
        _ if c.passed() => "ok   ",
        _ => "FAIL ",
    };
    let detail = match &c.outcome {
        Outcome::Failed(e) => e.clone(),
        Outcome::Checked {
            verdict,
            dir,
            anomalies,
        } => {
            let expected = c.expected.map_or("no expectation".to_string(), |e| {
                format!("expected {}", e.word())
            });
            let anomalies = if anomalies.is_empty() {
                String::new()
            } else {
                format!(" ({anomalies})")
            };
            format!(
                "{}{anomalies}, {expected}; {:.1} s; {}",
                verdict.word(),
                c.duration_s,
                dir.display()
            )
        }
    };
    format!("{mark} {}: {detail}", c.name())
}

/// `invalid 3/3`, or `invalid 2/3, valid 1/3`.
fn got(cases: &[&Case]) -> String {
    let n = cases.len();
    ["invalid", "valid", "unknown", "error"]
        .iter()
        .filter_map(|word| {
            let k = cases.iter().filter(|c| c.got() == *word).count();
            (k > 0).then(|| format!("{word} {k}/{n}"))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The distinct anomaly summaries of a scenario's runs, at most two, then a count of the rest.
fn anomalies(cases: &[&Case]) -> String {
    let mut distinct: Vec<&str> = Vec::new();
    for c in cases {
        let a = match &c.outcome {
            Outcome::Checked { anomalies, .. } => anomalies.as_str(),
            Outcome::Failed(_) => "harness error",
        };
        if !a.is_empty() && !distinct.contains(&a) {
            distinct.push(a);
        }
    }
    let mut s = distinct
        .iter()
        .take(2)
        .copied()
        .collect::<Vec<_>>()
        .join("; ");
    if distinct.len() > 2 {
        s.push_str(&format!("; +{} more", distinct.len() - 2));
    }
    if s.is_empty() { "—".into() } else { s }
}

pub(crate) fn seconds(s: f64) -> String {
    if s >= 120.0 {
        format!("{} min {:02.0} s", (s / 60.0).floor(), s % 60.0)
    } else {
        format!("{s:.1} s")
    }
}

/// The table at the end: one row per scenario that ran.
fn render_table(entries: &[Entry], cases: &[Case]) -> String {
    let mut b = Builder::default();
    b.push_record([
        "scenario",
        "target",
        "expected",
        "got",
        "runs",
        "duration",
        "anomalies",
        "result",
    ]);
    for entry in entries {
        let runs: Vec<&Case> = cases
            .iter()
            .filter(|c| c.scenario == entry.scenario.name)
            .collect();
        if runs.is_empty() {
            continue;
        }
        let result = if runs.iter().any(|c| c.failed_to_run()) {
            "ERROR"
        } else if runs.iter().any(|c| !c.passed()) {
            "FAIL"
        } else if entry.expect.is_none() {
            "no expectation"
        } else {
            "pass"
        };
        b.push_record([
            entry.scenario.name.clone(),
            entry.scenario.target.clone(),
            entry.expect.map_or("—", Validity::word).to_string(),
            got(&runs),
            runs.len().to_string(),
            seconds(runs.iter().map(|c| c.duration_s).sum()),
            anomalies(&runs),
            result.to_string(),
        ]);
    }
    let mut table = b.build();
    table.with(Style::rounded());
    format!("{table}\n")
}

/// `15 scenarios, 15 runs: 14 as expected, 1 not as expected; 4 min 02 s`, then each run that
/// was not.
fn tally(cases: &[Case], elapsed: Duration) -> String {
    let mut scenarios: Vec<&str> = cases.iter().map(|c| c.scenario.as_str()).collect();
    scenarios.dedup();
    let count = |f: &dyn Fn(&Case) -> bool| cases.iter().filter(|c| f(c)).count();
    let mut parts = vec![format!(
        "{} as expected",
        count(&|c| c.passed() && c.expected.is_some())
    )];
    for (n, what) in [
        (
            count(&|c| !c.passed() && !c.failed_to_run()),
            "not as expected",
        ),
        (
            count(&|c| c.expected.is_none() && !c.failed_to_run()),
            "without expectation",
        ),
        (
            count(&|c| c.failed_to_run()),
            "not finished (harness error)",
        ),
    ] {
        if n > 0 {
            parts.push(format!("{n} {what}"));
        }
    }
    let mut out = format!(
        "{} scenarios, {} runs: {}; {}",
        scenarios.len(),
        cases.len(),
        parts.join(", "),
        seconds(elapsed.as_secs_f64())
    );
    for c in cases.iter().filter(|c| !c.passed()) {
        out.push_str(&format!(
            "\n  {}: {}",
            c.name(),
            c.mismatch().unwrap_or_default()
        ));
        if let Outcome::Checked { dir, .. } = &c.outcome {
            out.push_str(&format!(" ({})", dir.display()));
        }
    }
    out
}
