//! `report.html`: one self-contained page per run (docs/report.md) — the verdict and how to
//! repeat the run, a paged timeline of every operation with the faults shaded, latency and
//! rate over time, each anomaly drawn and told, and links to the logs.
//!
//! The runner writes it at the end of every run ([`write`]); `faultline report RUN_DIR`
//! rebuilds it from the stored history and results ([`rebuild`]), re-checking the history
//! when results.json is missing.
//!
//! * [`model`]: results.json as the report reads it;
//! * `data`: what the history says — operations, fault periods, clocks, per-second series;
//! * `timeline`, `charts`: the drawings every run gets;
//! * `linear`, `lock`, `ids`: the anomaly views of each checker;
//! * `page`: the document around them.
//!
//! HTML and SVG come from maud templates, which escape every string they are given: nothing
//! from a history reaches the page unescaped.

mod charts;
mod data;
mod ids;
mod linear;
mod lock;
pub mod model;
mod page;
mod svg;
mod timeline;

use std::path::{Path, PathBuf};

use checkers::history::{History, read_jsonl};
use checkers::import::Format;
use checkers::linear::Options;
use clap::Args;

use crate::check::check_one;
use crate::exit::Exit;
use crate::run::runner::{CHECK_TIMEOUT, RunResults, id_options};
use crate::run::scenario::ScenarioFile;

pub use model::Results;
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

/// Renders the report of the run in `dir` whose history is `history` and whose results (the
/// shape of results.json) are `results`.
pub fn render(dir: &Path, history: &History, results: &Results) -> Result<String, String> {
    let data = data::Data::new(history)?;
    Ok(page::render(dir, &data, results))
}

/// Writes `dir/report.html`; `results` is results.json's content.
pub fn write(
    dir: &Path,
    history: &History,
    results: &serde_json::Value,
) -> Result<PathBuf, String> {
    let results = Results::deserialize_from(results)?;
    let html = render(dir, history, &results)?;
    let path = dir.join(FILE);
    std::fs::write(&path, html).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

impl Results {
    fn deserialize_from(v: &serde_json::Value) -> Result<Results, String> {
        serde::Deserialize::deserialize(v).map_err(|e| format!("unexpected results: {e}"))
    }
}

/// Rebuilds `dir/report.html` from `history.jsonl`, `scenario.toml` and `results.json` (the
/// history is checked again if results.json is missing or unreadable, or `recheck`).
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
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .filter(|v| v.get("history").is_some());
    let results = match stored {
        Some(v) if !recheck => v,
        _ => recheck_run(dir, &history)?,
    };
    write(dir, &history, &results)
}

/// What results.json would hold for the stored run: the scenario from scenario.toml, the
/// history checked again.
fn recheck_run(dir: &Path, history: &History) -> Result<serde_json::Value, String> {
    let toml_path = dir.join("scenario.toml");
    let scenario = match std::fs::read_to_string(&toml_path) {
        Ok(text) => Some(ScenarioFile::parse(&toml_path.display().to_string(), &text)?.resolve(0)),
        Err(_) => None,
    };
    let model = scenario
        .as_ref()
        .and_then(|s| s.workload())
        .map(|w| w.model());
    let ids = scenario
        .as_ref()
        .and_then(|s| targets::descriptor::find(&s.target))
        .map(id_options)
        .unwrap_or_default();
    let options = Options {
        timeout: Some(CHECK_TIMEOUT),
        ..Options::default()
    };
    let checked = check_one(history, Format::Jsonl, model, None, &options, &ids)
        .map_err(|e| format!("checking the history: {e}"))?;
    let faults = data::Data::new(history)?
        .actions
        .iter()
        .filter(|a| {
            matches!(
                a.f.as_str(),
                "start-partition"
                    | "kill"
                    | "pause"
                    | "restart"
                    | "clock-bump"
                    | "clock-strobe"
                    | "pause-client"
            )
        })
        .count() as u64;
    let end = history.events.iter().map(|e| e.time).max().unwrap_or(0);
    let Some(scenario) = scenario else {
        // No scenario: the results without one.
        return Ok(serde_json::json!({
            "valid": checked.valid,
            "scenario": null,
            "command": format!("faultline check {}", history.source),
            "dir": dir,
            "duration_s": end as f64 / 1e9,
            "faults": faults,
            "history": checked,
        }));
    };
    let results = RunResults {
        valid: checked.valid,
        command: scenario.command(&dir.join("scenario.toml")),
        scenario,
        dir: dir.to_path_buf(),
        duration_s: end as f64 / 1e9,
        faults,
        history: checked,
    };
    serde_json::to_value(&results).map_err(|e| e.to_string())
}
