//! `report.html`: one self-contained page per run (docs/report.md) — the verdict and how to
//! repeat the run, a paged timeline of every operation with the faults shaded, latency and
//! rate over time, each anomaly drawn and told, and links to the logs.
//!
//! The runner writes it at the end of every run ([`write`]), from the run's typed results
//! (`crate::results`); `faultline report RUN_DIR` rebuilds it from the stored history and
//! results.json ([`rebuild`]), re-checking the history when results.json is missing, is of
//! another version, or does not read.
//!
//! * `data`: what the history says — operations, fault periods, clocks, per-second series;
//! * `timeline`, `charts`: the drawings every run gets; `columns`: the timeline's operations
//!   as compressed columns, which the page's script (`timeline.js`) draws a page at a time;
//! * `linear`, `lock`, `ids`, `bank`: the anomaly views of the checkers, each reading the
//!   checker's own report type; `txn`: the transactions' lanes and story, from the atomicity
//!   and blocking reports together;
//! * `text`: values from a history as short text;
//! * `page`: the document around them.
//!
//! HTML and SVG come from maud templates, which escape every string they are given: nothing
//! from a history reaches the page unescaped. The timeline's operations are the exception that
//! keeps a long history's report small: they travel as base64 (no markup can hide in it), and
//! the script escapes each text before it draws it.

mod bank;
mod charts;
mod columns;
mod data;
mod ids;
mod isolation;
mod linear;
mod lock;
mod page;
mod svg;
pub mod text;
mod timeline;
mod txn;

use std::path::{Path, PathBuf};

use checkers::history::{History, read_jsonl};
use checkers::import::Format;
use clap::Args;

use crate::check::{check_one, run_options};
use crate::exit::Exit;
use crate::results::{RunResults, VERSION, faults_by_kind};
use crate::scenario::ScenarioFile;

pub use timeline::PAGE_OPS;

/// The report's file name in a run folder.
pub const FILE: &str = "report.html";

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// A run's folder (results/<scenario>/<time>), holding history.jsonl and scenario.toml.
    #[arg(value_name = "RUN_DIR")]
    pub run_dir: PathBuf,
    /// Check the history again even when results.json is there.
    #[arg(long)]
    pub recheck: bool,
}

/// Runs `faultline report`: exit 0 when the report was written, 3 when it could not be.
pub fn run(args: &ReportArgs) -> Exit {
    match rebuild(&args.run_dir, args.recheck) {
        Ok(path) => {
            println!("{}", path.display());
            Exit::Valid
        }
        Err(e) => {
            eprintln!("faultline: error: {e}");
            Exit::Error
        }
    }
}

/// Renders the report of the run in `dir` whose history is `history` and whose results are
/// `results`.
pub fn render(dir: &Path, history: &History, results: &RunResults) -> Result<String, String> {
    let data = data::Data::new(history)?;
    Ok(page::render(dir, &data, results))
}

/// Writes `dir/report.html`.
pub fn write(dir: &Path, history: &History, results: &RunResults) -> Result<PathBuf, String> {
    let html = render(dir, history, results)?;
    let path = dir.join(FILE);
    std::fs::write(&path, html).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

/// Rebuilds `dir/report.html` from `history.jsonl`, `scenario.toml` and `results.json` (the
/// history is checked again if results.json is missing, unreadable or of another version —
/// an older faultline's —, or `recheck`).
pub fn rebuild(dir: &Path, recheck: bool) -> Result<PathBuf, String> {
    let canonical = dir.canonicalize();
    let dir = canonical.as_deref().unwrap_or(dir);
    let history_path = dir.join("history.jsonl");
    let file = history_path.display().to_string();
    let text =
        std::fs::read_to_string(&history_path).map_err(|e| format!("{file}: cannot read: {e}"))?;
    let history = read_jsonl(&file, &text).map_err(|e| e.to_string())?;
    drop(text);
    let stored = std::fs::read_to_string(dir.join("results.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<RunResults>(&t).ok());
    let results = match stored {
        Some(r) if !recheck => r,
        _ => recheck_run(dir, &history)?,
    };
    write(dir, &history, &results)
}

/// What results.json would hold for the stored run: the scenario from scenario.toml, the
/// history checked again by the workload's checkers.
fn recheck_run(dir: &Path, history: &History) -> Result<RunResults, String> {
    let toml_path = dir.join("scenario.toml");
    let text = std::fs::read_to_string(&toml_path).map_err(|e| {
        format!(
            "{}: cannot read ({e}): the history cannot be checked again without its scenario",
            toml_path.display()
        )
    })?;
    let scenario = ScenarioFile::parse(&toml_path.display().to_string(), &text)?.resolve(0);
    let workload = scenario.workload();
    let checkers = workload.map(|w| w.checkers());
    let answers = workload.map_or_else(workloads::registry::answers, |w| w.answers().to_vec());
    let options = run_options(targets::descriptor::find(&scenario.target));
    let checked = check_one(history, Format::Jsonl, checkers, &answers, &options)
        .map_err(|e| format!("checking the history: {e}"))?;
    let faults_by_kind = faults_by_kind(history);
    let end = history.events.iter().map(|e| e.time).max().unwrap_or(0);
    Ok(RunResults {
        version: VERSION,
        valid: checked.valid,
        command: scenario.command(&toml_path),
        scenario,
        dir: dir.to_path_buf(),
        duration_s: end as f64 / 1e9,
        ready_s: None,
        faults: faults_by_kind.values().sum(),
        faults_by_kind,
        history: checked,
    })
}
