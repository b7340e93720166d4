//! `cargo bench -p faultline --bench report`: how big report.html is, and how long headless
//! Chromium takes to open it, for register histories of 100,000 and 1,000,000 operations
//! (`checkers::synth`, stored as a run folder: history.jsonl and scenario.toml). The report is
//! built as `faultline report RUN_DIR` builds it (`report::rebuild`: the history checked again,
//! then drawn and written).
//!
//! Two times per report, each the wall time of one `chromium --headless --dump-dom` from
//! start to exit: "open", until the document has loaded (its summary and the timeline's
//! overview are then in the DOM: checked), and "first page", until the script has drawn the
//! timeline's first page (a virtual-time budget lets it run; checked). Chromium opening an empty
//! page is timed first, for scale.
//!
//! Needs Debian's `chromium`; without it, prints the sizes only. Prints figures; asserts
//! nothing (the machine is shared and noisy).

use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Operations per history.
const SIZES: &[usize] = &[100_000, 1_000_000];

/// One `chromium --headless --dump-dom` of `page`: its wall time and the document it dumped.
fn dump(page: &Path, scratch: &Path, budget_ms: Option<u64>) -> Option<(Duration, String)> {
    let out = scratch.join("dom.html");
    let mut cmd = Command::new("chromium");
    cmd.args([
        "--headless",
        "--disable-gpu",
        "--no-sandbox",
        "--no-first-run",
        "--window-size=1300,2400",
    ])
    .arg(format!(
        "--user-data-dir={}",
        scratch.join("profile").display()
    ));
    if let Some(ms) = budget_ms {
        cmd.arg(format!("--virtual-time-budget={ms}"));
    }
    cmd.arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(File::create(&out).ok()?)
        .stderr(Stdio::null());
    let started = Instant::now();
    let status = cmd.status().ok()?;
    let took = started.elapsed();
    let dom = std::fs::read_to_string(&out).ok()?;
    status.success().then_some((took, dom))
}

/// `yes` or `NO`: whether the dumped document holds `what`.
fn holds(dom: &str, what: &str) -> &'static str {
    if dom.contains(what) { "yes" } else { "NO" }
}

fn main() {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-report");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    let blank = tmp.join("blank.html");
    std::fs::write(&blank, "<!DOCTYPE html><title>blank</title><p>blank</p>").unwrap();
    let browser = dump(&blank, &tmp, None);
    match &browser {
        Some((took, _)) => println!(
            "chromium opens an empty page in {:.2} s",
            took.as_secs_f64()
        ),
        None => println!("chromium: not found or failed (apt-get install chromium): sizes only"),
    }
    for &ops in SIZES {
        let dir = tmp.join(format!("run-{ops}"));
        std::fs::create_dir_all(&dir).unwrap();
        let jsonl = checkers::synth::register_jsonl(ops);
        std::fs::write(dir.join("history.jsonl"), &jsonl).unwrap();
        std::fs::write(
            dir.join("scenario.toml"),
            "name = \"bench\"\nworkload = \"register\"\nseed = 1\n",
        )
        .unwrap();
        let started = Instant::now();
        let report = faultline::report::rebuild(&dir, false).unwrap();
        let built = started.elapsed();
        let bytes = std::fs::metadata(&report).unwrap().len();
        println!(
            "{ops} operations ({:.1} MB of history): report.html {bytes} bytes ({:.1} MB), \
             checked and written in {:.1} s",
            jsonl.len() as f64 / 1e6,
            bytes as f64 / 1e6,
            built.as_secs_f64()
        );
        if browser.is_none() {
            continue;
        }
        match dump(&report, &tmp, None) {
            Some((took, dom)) => println!(
                "  open: {:.2} s (summary: {}, timeline overview: {})",
                took.as_secs_f64(),
                holds(&dom, r#"<section id="summary""#),
                holds(&dom, r#"<svg class="chart overview""#)
            ),
            None => println!("  open: chromium failed"),
        }
        match dump(&report, &tmp, Some(60_000)) {
            Some((took, dom)) => println!(
                "  first page: {:.2} s (drawn: {})",
                took.as_secs_f64(),
                holds(&dom, r#"<svg class="chart timeline""#)
            ),
            None => println!("  first page: chromium failed"),
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
    let _ = std::fs::remove_dir_all(&tmp);
}
