//! `faultline sweep`: one scenario over a grid of parameter values, K runs per cell; a table of
//! anomaly rates, availability and latency, and a sweep folder with the same as CSV, JSON, an
//! SVG chart and an HTML index of every run (docs/sweep.md).
//!
//! * [`params`]: `--param NAME=v1,v2,…`, typed by the scenario field it sets, and the grid;
//! * [`output`]: sweep.csv, sweep.json, sweep.svg and index.html.

pub mod output;
pub mod params;

use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use checkers::Validity;
use checkers::compose::Analysis;
use clap::Args;
use tabled::builder::Builder;
use tabled::settings::Style;

use crate::exit::Exit;
use crate::results::RunResults;
use crate::run::command::fresh_seed;
use crate::run::runner;
use crate::run::store::stamp;
use crate::scenario::Scenario;
use crate::suite::{self, Executed, catalogue};
use params::Param;

#[derive(Args, Debug)]
pub struct SweepArgs {
    /// The scenario to sweep (TOML).
    #[arg(value_name = "SCENARIO.toml")]
    pub scenario: PathBuf,
    /// A scenario field (kebab-case, e.g. interval, nodes, clock-ms, lock-ttl-ms; or the alias
    /// clock.jump) and its values (repeatable: the grid is every combination).
    #[arg(long = "param", value_name = "NAME=V1,V2,…", required = true)]
    pub params: Vec<String>,
    /// Runs per cell (seeds seed, seed+1, … in every cell).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub runs: u32,
    /// Where runs are stored; the sweep goes to <results>/sweeps/<scenario>/<time>/.
    #[arg(long, default_value = "results")]
    pub results: PathBuf,
    /// The first run's seed in every cell [default: the scenario's, else a fresh one].
    #[arg(long)]
    pub seed: Option<u64>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// What one run of a cell gave.
#[derive(Clone, Debug)]
pub struct RunStats {
    pub valid: Validity,
    pub dir: PathBuf,
    pub availability: f64,
    /// Operations that completed `ok` per second of the workload (its time limit): what the
    /// system got done, which availability alone hides when failures come back fast.
    pub ok_per_s: f64,
    pub p50_ns: Option<u64>,
    pub p99_ns: Option<u64>,
    pub anomalies: String,
    pub duration_s: f64,
    /// Transactions only (the blocking checker's report): the longest any participant sat in
    /// doubt on one transaction, how long the coordinator was down, and the share of that
    /// downtime some participant spent in doubt (None without downtime).
    pub longest_in_doubt_ns: Option<u64>,
    pub coordinator_down_ns: Option<u64>,
    pub in_doubt_while_down: Option<f64>,
}

impl RunStats {
    /// The stats of a run that finished and was checked.
    fn of(r: RunResults) -> RunStats {
        let blocking = r.history.checkers.iter().find_map(|c| match &c.analysis {
            Analysis::Blocking(b) => Some(b),
            _ => None,
        });
        RunStats {
            valid: r.valid,
            availability: r.history.stats.availability,
            ok_per_s: r.history.stats.counts.ok as f64 / r.scenario.time_limit.max(1e-3),
            p50_ns: r.history.stats.latency.map(|l| l.p50),
            p99_ns: r.history.stats.latency.map(|l| l.p99),
            anomalies: suite::outcome::anomalies(&r.history),
            duration_s: r.duration_s,
            longest_in_doubt_ns: blocking.map(|b| b.longest.as_ref().map_or(0, |w| w.ns)),
            coordinator_down_ns: blocking.map(|b| b.downtime_ns),
            in_doubt_while_down: blocking.and_then(|b| b.in_doubt_during_downtime_ratio),
            dir: r.dir,
        }
    }
}

/// One run of a cell: its stats, or why the harness could not finish it.
#[derive(Clone, Debug)]
pub struct RunRecord {
    pub seed: u64,
    pub outcome: Result<RunStats, String>,
}

/// One combination of parameter values and its runs.
#[derive(Clone, Debug)]
pub struct Cell {
    /// Indices into each parameter's values.
    pub values: Vec<usize>,
    pub runs: Vec<RunRecord>,
}

fn median(mut xs: Vec<f64>) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    Some(if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    })
}

fn seconds_of(ns: u64) -> f64 {
    ns as f64 / 1e9
}

fn mean(xs: impl Iterator<Item = f64>) -> Option<f64> {
    let xs: Vec<f64> = xs.collect();
    (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
}

impl Cell {
    /// The runs that finished and were checked.
    pub fn checked(&self) -> impl Iterator<Item = &RunStats> {
        self.runs.iter().filter_map(|r| r.outcome.as_ref().ok())
    }

    pub fn count(&self, v: Validity) -> usize {
        self.checked().filter(|r| r.valid == v).count()
    }

    pub fn errors(&self) -> usize {
        self.runs.iter().filter(|r| r.outcome.is_err()).count()
    }

    /// Invalid runs over checked runs.
    pub fn anomaly_rate(&self) -> Option<f64> {
        let n = self.checked().count();
        (n > 0).then(|| self.count(Validity::Invalid) as f64 / n as f64)
    }

    /// Mean availability over checked runs.
    pub fn availability(&self) -> Option<f64> {
        let n = self.checked().count();
        (n > 0).then(|| self.checked().map(|r| r.availability).sum::<f64>() / n as f64)
    }

    /// Mean `ok` operations per second over checked runs.
    pub fn ok_per_s(&self) -> Option<f64> {
        mean(self.checked().map(|r| r.ok_per_s))
    }

    /// The median of the runs' p50 latencies, in milliseconds.
    pub fn p50_ms(&self) -> Option<f64> {
        median(
            self.checked()
                .filter_map(|r| r.p50_ns)
                .map(|ns| ns as f64 / 1e6)
                .collect(),
        )
    }

    /// The mean over its runs of the longest time a participant sat in doubt on one
    /// transaction, in seconds (transactions only: None when no run measured it).
    pub fn longest_in_doubt_s(&self) -> Option<f64> {
        mean(
            self.checked()
                .filter_map(|r| r.longest_in_doubt_ns)
                .map(seconds_of),
        )
    }

    /// The mean over its runs of the coordinator's downtime, in seconds (transactions only).
    pub fn coordinator_down_s(&self) -> Option<f64> {
        mean(
            self.checked()
                .filter_map(|r| r.coordinator_down_ns)
                .map(seconds_of),
        )
    }

    /// The mean over its runs (those with downtime) of the share of the coordinator's downtime
    /// that some participant spent in doubt.
    pub fn in_doubt_while_down(&self) -> Option<f64> {
        mean(self.checked().filter_map(|r| r.in_doubt_while_down))
    }

    /// The median of the runs' p99 latencies, in milliseconds.
    pub fn p99_ms(&self) -> Option<f64> {
        median(
            self.checked()
                .filter_map(|r| r.p99_ns)
                .map(|ns| ns as f64 / 1e6)
                .collect(),
        )
    }
}

/// A whole sweep: what was swept and what every run gave.
#[derive(Clone, Debug)]
pub struct Sweep {
    pub scenario: String,
    pub file: PathBuf,
    pub seed: u64,
    pub runs_per_cell: u32,
    pub params: Vec<Param>,
    pub cells: Vec<Cell>,
    /// The results root the runs are stored under.
    pub root: PathBuf,
    /// The sweep's folder: `<root>/sweeps/<scenario>/<time>/`.
    pub dir: PathBuf,
    /// When it started (`YYYYMMDDTHHMMSS`, UTC).
    pub started: String,
}

impl Sweep {
    pub fn label(&self, cell: &Cell) -> String {
        params::label(&self.params, &cell.values)
    }

    /// Whether any run measured time in doubt (a transaction target): the table, the index
    /// and the charts then show it with the coordinator's downtime.
    pub fn measures_in_doubt(&self) -> bool {
        self.cells.iter().any(|c| c.longest_in_doubt_s().is_some())
    }
}

/// A folder of its own under `<root>/sweeps/<scenario>/`.
fn sweep_dir(root: &Path, scenario: &str, started: &str) -> std::io::Result<PathBuf> {
    let base = root.join("sweeps").join(scenario);
    let mut dir = base.join(started);
    let mut n = 1;
    while dir.exists() {
        n += 1;
        dir = base.join(format!("{started}-{n}"));
    }
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn ms(v: Option<f64>) -> String {
    v.map_or("—".into(), |ms| {
        if ms >= 1000.0 {
            format!("{:.2} s", ms / 1000.0)
        } else {
            format!("{ms:.1} ms")
        }
    })
}

fn seconds(v: Option<f64>) -> String {
    v.map_or("—".into(), |s| format!("{s:.2} s"))
}

fn percent(v: Option<f64>) -> String {
    v.map_or("—".into(), |v| format!("{:.1}%", v * 100.0))
}

/// The table: one row per cell.
pub fn render_table(s: &Sweep) -> String {
    let mut b = Builder::default();
    let in_doubt = s.measures_in_doubt();
    let mut header: Vec<String> = s.params.iter().map(|p| p.name.clone()).collect();
    header.extend(
        ["runs", "anomaly rate", "availability", "ok/s", "p50", "p99"]
            .iter()
            .map(|h| h.to_string()),
    );
    if in_doubt {
        header.extend(
            [
                "longest in doubt",
                "coordinator down",
                "in doubt while down",
            ]
            .iter()
            .map(|h| h.to_string()),
        );
    }
    b.push_record(header);
    for cell in &s.cells {
        let mut row: Vec<String> = s
            .params
            .iter()
            .zip(&cell.values)
            .map(|(p, &i)| p.values[i].text.clone())
            .collect();
        let checked = cell.checked().count();
        let mut runs = checked.to_string();
        if cell.errors() > 0 {
            runs.push_str(&format!(" (+{} failed)", cell.errors()));
        }
        row.push(runs);
        row.push(match cell.anomaly_rate() {
            Some(r) => format!(
                "{:.0}% ({}/{checked})",
                r * 100.0,
                cell.count(Validity::Invalid)
            ),
            None => "—".into(),
        });
        row.push(percent(cell.availability()));
        row.push(cell.ok_per_s().map_or("—".into(), |r| format!("{r:.1}")));
        row.push(ms(cell.p50_ms()));
        row.push(ms(cell.p99_ms()));
        if in_doubt {
            row.push(seconds(cell.longest_in_doubt_s()));
            row.push(seconds(cell.coordinator_down_s()));
            row.push(percent(cell.in_doubt_while_down()));
        }
        b.push_record(row);
    }
    let mut table = b.build();
    table.with(Style::rounded());
    format!("{table}\n")
}

/// Runs `faultline sweep`.
pub fn run(args: &SweepArgs) -> Exit {
    match sweep(args) {
        Ok(exit) => exit,
        Err(e) => {
            eprintln!("faultline: error: {e}");
            Exit::Error
        }
    }
}

fn sweep(args: &SweepArgs) -> Result<Exit, String> {
    let (file, _) = catalogue::read(&args.scenario)?;
    let params = params::parse_all(&args.params)?;
    let seed = args.seed.or(file.common.seed).unwrap_or_else(fresh_seed);
    // Every cell resolved and validated before anything runs.
    let grid = params::grid(&params);
    let mut scenarios: Vec<Scenario> = Vec::new();
    for cell in &grid {
        let scenario = params::settings(&params, cell)
            .over(file.clone())
            .over_target_defaults()?
            .resolve(seed);
        runner::validate(&scenario)
            .map_err(|e| format!("{}: {e}", params::label(&params, cell)))?;
        scenarios.push(scenario);
    }
    let name = scenarios[0].name.clone();
    let started = stamp(SystemTime::now());
    let dir = sweep_dir(&args.results, &name, &started).map_err(|e| {
        format!(
            "cannot create a sweep folder under {}: {e}",
            args.results.display()
        )
    })?;
    let mut sweep = Sweep {
        scenario: name,
        file: args.scenario.clone(),
        seed,
        runs_per_cell: args.runs,
        params,
        cells: Vec::new(),
        root: args.results.clone(),
        dir,
        started,
    };
    println!(
        "sweep of {}: {} cells × {} runs (seeds {}…{})",
        sweep.scenario,
        grid.len(),
        args.runs,
        seed,
        seed.wrapping_add(u64::from(args.runs) - 1)
    );
    let runtime = suite::runtime()?;
    let t = Instant::now();
    let bar = suite::progress_bar(args.quiet, grid.len() as u64 * u64::from(args.runs));
    let mut interrupted = None;
    'cells: for (values, base) in grid.into_iter().zip(scenarios) {
        let mut cell = Cell {
            values,
            runs: Vec::new(),
        };
        let label = sweep.label(&cell);
        for k in 0..args.runs {
            let mut scenario = base.clone();
            scenario.seed = seed.wrapping_add(u64::from(k));
            bar.set_message(format!("{label} #{}", k + 1));
            let run_seed = scenario.seed;
            let outcome = match suite::execute(&runtime, scenario, &args.results) {
                Executed::Done(r) => Ok(RunStats::of(*r)),
                Executed::Failed(e) => Err(e),
                Executed::Interrupted(why) => {
                    interrupted = Some(why);
                    Err(format!("{why}: the run was stopped"))
                }
            };
            let line = match &outcome {
                Ok(r) => format!(
                    "{label} #{} (seed {run_seed}): {}{}{}; {:.1} s; {}",
                    k + 1,
                    r.valid.word(),
                    if r.anomalies.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", r.anomalies)
                    },
                    r.longest_in_doubt_ns.map_or(String::new(), |ns| format!(
                        "; longest in doubt {}",
                        seconds(Some(seconds_of(ns)))
                    )),
                    r.duration_s,
                    r.dir.display()
                ),
                Err(e) => format!("{label} #{} (seed {run_seed}): error: {e}", k + 1),
            };
            suite::say(&bar, &line);
            cell.runs.push(RunRecord {
                seed: run_seed,
                outcome,
            });
            bar.inc(1);
            if interrupted.is_some() {
                sweep.cells.push(cell);
                break 'cells;
            }
        }
        sweep.cells.push(cell);
        // Kept up to date cell by cell, so that a sweep killed midway leaves what it measured.
        let _ = output::write_all(&sweep);
    }
    bar.finish_and_clear();
    print!("{}", render_table(&sweep));
    output::write_all(&sweep)
        .map_err(|e| format!("cannot write the sweep to {}: {e}", sweep.dir.display()))?;
    println!(
        "{} runs in {}; sweep: {} (index.html, sweep.csv, sweep.json, sweep.svg)",
        sweep.cells.iter().map(|c| c.runs.len()).sum::<usize>(),
        suite::seconds(t.elapsed().as_secs_f64()),
        sweep.dir.display()
    );
    if let Some(why) = interrupted {
        eprintln!("faultline: {why}: the sweep stopped early");
        return Ok(Exit::Error);
    }
    let failed = sweep.cells.iter().map(Cell::errors).sum::<usize>();
    if failed > 0 {
        eprintln!("faultline: {failed} runs could not finish (see above)");
        return Ok(Exit::Error);
    }
    Ok(Exit::Valid)
}
