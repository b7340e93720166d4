//! report.html in a real browser: Debian's headless Chromium opens the reports of three short
//! real runs (Kleppmann's Redlock clock jump, raft-kv under partitions, snowflake IDs under a
//! backward clock jump), of two long synthetic histories (12,000 and 100,000 operations: the
//! latter's report must stay small and open in seconds), of a hand-made history full of
//! markup and of a hand-made 2PC history with a split decision, runs their scripts, and dumps the document it built. The tests assert that
//! the timeline SVG, the anomaly section and the transactions' lanes were rendered (by the
//! browser: element counts and laid-out sizes, not the file's text), that the timeline's pager
//! swaps pages, and that no script error occurred — caught twice: by a `window.onerror` probe
//! put in front of the report's own script, and in Chromium's console log
//! (`--enable-logging=stderr`), where an uncaught error is an "Uncaught …" line.
//!
//! Needs `chromium` (Debian's package; `.ci/run` installs it). Without it the tests fail,
//! naming the package: a browser check that silently skips checks nothing.

mod common;

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{SCRIPT, hostile_history, long_register_history, report_of, run};

/// How long one Chromium may take to load, run and dump a report.
const BROWSER_LIMIT: Duration = Duration::from_secs(40);

/// A temp folder, removed when the test ends, however it ends.
struct Temp(PathBuf);

impl Temp {
    fn new(tag: &str) -> Temp {
        let dir =
            std::env::temp_dir().join(format!("faultline-browser-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Temp(dir)
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The `chromium` command, after checking that it is there.
fn chromium() -> Command {
    match Command::new("chromium")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(status) if status.success() => Command::new("chromium"),
        Ok(status) => panic!(
            "`chromium --version` failed ({status}): is Debian's `chromium` package installed correctly?"
        ),
        Err(e) => panic!(
            "these tests need headless Chromium ({e}): apt-get install chromium \
             (Debian's package `chromium`; .ci/run installs it)"
        ),
    }
}

/// Put in front of the report's own script: records any script error on `<html>` as
/// `data-fl-error`, and once the page has loaded and its timeline is drawn, writes what the
/// browser built — the
/// timeline, the anomaly section, the pager's pages as its buttons step through them — as
/// JSON into `<pre id="fl-probe">`.
const PROBE: &str = r#"<script>
(function () {
  var root = document.documentElement;
  function fail(m) { root.setAttribute('data-fl-error', (root.getAttribute('data-fl-error') || '') + String(m) + '; '); }
  window.onerror = function (message, source, line) { fail(message + ' at ' + source + ':' + line); };
  window.addEventListener('error', function (e) { if (e.target !== window) fail('could not load ' + (e.target.src || e.target.href || e.target.tagName)); }, true);
  window.addEventListener('unhandledrejection', function (e) { fail('unhandled rejection: ' + e.reason); });
  function all(s, within) { return Array.prototype.slice.call((within || document).querySelectorAll(s)); }
  function text(s) { var e = document.querySelector(s); return e ? e.textContent.replace(/\s+/g, ' ').trim() : null; }
  function shown() {
    var svg = document.querySelector('#timeline .view svg.timeline');
    var box = svg ? svg.getBoundingClientRect() : { width: 0, height: 0 };
    return {
      page: text('#timeline .pageno'),
      range: text('#timeline .pagerange'),
      svg: !!svg,
      svgs: all('svg.timeline').length,
      width: Math.round(box.width),
      height: Math.round(box.height),
      bars: svg ? all('rect.ok, rect.fail, rect.info, rect.open', svg).length : 0,
      shades: svg ? all('g.faults rect', svg).map(function (r) { return r.getAttribute('class'); }) : []
    };
  }
  // The timeline's pages are drawn once its operations are inflated, which may end after
  // `load`: the probe waits for the report's `fl-timeline` event if it has not come yet.
  function drawn(go) {
    var t = document.getElementById('timeline');
    if (!t || t.hasAttribute('data-drawn') || t.hasAttribute('data-failed')) go();
    else document.addEventListener('fl-timeline', go, { once: true });
  }
  window.addEventListener('load', function () { drawn(function () {
    try {
      var out = { script: typeof flPage, timeline: shown(), pages: [] };
      var buttons = all('#timeline .pagectl button');
      if (buttons.length === 2) {
        // next, next, next (past the end: stays), prev — as a reader presses them.
        [1, 1, 1, 0].forEach(function (b) { buttons[b].click(); out.pages.push(shown()); });
      }
      // The overview's last band opens the last page.
      var bands = all('svg.overview rect.band');
      if (bands.length > 1) {
        bands[bands.length - 1].dispatchEvent(new MouseEvent('click', { bubbles: true }));
        out.band = shown();
      }
      var a = document.getElementById('anomalies');
      out.anomalies = !a ? null : {
        summary: text('#anomalies > p'),
        blocks: all('.anomaly', a).length,
        headings: all('h3', a).map(function (h) { return h.textContent; }),
        stories: all('p.story', a).map(function (p) { return p.textContent; }),
        gantts: all('svg.gantt', a).map(function (s) { return Math.round(s.getBoundingClientRect().width); }),
        overlaps: all('svg.gantt rect.overlap', a).length,
        clock_lines: all('svg.gantt line.clockline', a).length,
        tables: all('table.ops tbody tr', a).length,
        snowflake: all('.anomaly p', a).filter(function (p) { return p.textContent.indexOf('Snowflake fields') === 0; }).length
      };
      var t = document.getElementById('transactions');
      out.transactions = !t ? null : {
        lanes: all('svg.lanes', t).map(function (s) { var b = s.getBoundingClientRect(); return [Math.round(b.width), Math.round(b.height)]; }),
        splits: all('svg.lanes rect.split', t).length,
        labels: all('svg.lanes text.tlabel', t).map(function (e) { return e.firstChild.textContent; }),
        stories: all('p.story', t).map(function (p) { return p.textContent; }),
        rows: all('table.ops tbody tr', t).length
      };
      var pre = document.createElement('pre');
      pre.id = 'fl-probe';
      pre.textContent = JSON.stringify(out);
      document.body.appendChild(pre);
    } catch (e) { fail('probe: ' + e); }
  }); });
})();
</script>"#;

/// What Chromium made of a report.
struct Page {
    /// The document after its scripts ran.
    dom: String,
    /// What the probe found (see [`PROBE`]).
    probe: serde_json::Value,
    /// How long Chromium took from its start to its exit: loading the page, drawing the
    /// timeline's first page and the probe's steps through the pager.
    took: Duration,
}

/// Opens `report` (a report.html) in headless Chromium with the probe in front of its script,
/// and returns the document it built; fails on any script error, in the probe's marker or in
/// the console, and on a Chromium that does not finish in time (killing it).
fn open(report: &Path, scratch: &Path) -> Page {
    let html = std::fs::read_to_string(report).unwrap();
    let at = html.find("<head>").expect("the report has a <head>") + "<head>".len();
    // Beside the report, so that its relative links mean what they mean in the report.
    let probed = report.with_file_name("report-probe.html");
    std::fs::write(&probed, format!("{}{PROBE}{}", &html[..at], &html[at..])).unwrap();

    let dom_file = scratch.join("dom.html");
    let log_file = scratch.join("chromium.log");
    let mut cmd = chromium();
    cmd.args([
        "--headless",
        "--disable-gpu",
        "--no-sandbox",
        "--no-first-run",
        "--hide-scrollbars",
        "--window-size=1300,2400",
        "--enable-logging=stderr",
        "--v=1",
        "--virtual-time-budget=5000",
    ])
    .arg(format!(
        "--user-data-dir={}",
        scratch.join("profile").display()
    ))
    .arg("--dump-dom")
    .arg(format!("file://{}", probed.display()))
    .stdin(Stdio::null())
    .stdout(File::create(&dom_file).unwrap())
    .stderr(File::create(&log_file).unwrap())
    // Its own process group: on a timeout the browser and all its helpers are killed at once.
    .process_group(0);
    let mut child = cmd.spawn().expect("chromium starts");
    let group = nix::unistd::Pid::from_raw(child.id() as i32);
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > BROWSER_LIMIT {
            let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
            let _ = child.wait();
            let log = std::fs::read_to_string(&log_file).unwrap_or_default();
            panic!(
                "chromium did not finish {} within {BROWSER_LIMIT:?} (killed); the end of its log:\n{}",
                report.display(),
                tail(&log)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let took = started.elapsed();
    // Helpers that outlived the browser, if any.
    let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
    let dom = std::fs::read_to_string(&dom_file).unwrap();
    let log = std::fs::read_to_string(&log_file).unwrap_or_default();
    assert!(
        status.success(),
        "chromium failed ({status}) on {}:\n{}",
        report.display(),
        tail(&log)
    );

    // No script error: none in the console …
    let console: Vec<&str> = log.lines().filter(|l| l.contains(":CONSOLE")).collect();
    let uncaught: Vec<&&str> = console
        .iter()
        .filter(|l| l.contains("Uncaught") || l.contains(":ERROR:CONSOLE"))
        .collect();
    assert!(
        uncaught.is_empty(),
        "script errors in the console: {uncaught:#?}"
    );
    // … and none caught by the probe.
    let head = &dom[..dom.find("<head").unwrap_or(0)];
    assert!(
        !head.contains("data-fl-error"),
        "a script error: {}",
        &head[head.find("data-fl-error").unwrap()..]
    );
    let probe = dom
        .split_once(r#"<pre id="fl-probe">"#)
        .and_then(|(_, rest)| rest.split_once("</pre>"))
        .map(|(json, _)| unescape(json))
        .unwrap_or_else(|| {
            panic!(
                "the probe did not run: no #fl-probe in the DOM\n{}",
                tail(&log)
            )
        });
    let probe = serde_json::from_str(&probe).expect("the probe's JSON");
    std::fs::remove_file(probed).unwrap();
    Page { dom, probe, took }
}

fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// Text content as the DOM serializer escapes it.
fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

/// `faultline run ARGS…` in a temporary folder (`tag`), which must exit with `expect`; its
/// report as Chromium made it.
fn report_of_run(tag: &str, args: &[&str], expect: i32) -> Page {
    chromium();
    let tmp = Temp::new(tag);
    let results = tmp.0.join("results");
    let out = run(args, &results);
    assert_eq!(
        out.status.code(),
        Some(expect),
        "faultline run {args:?}:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = std::fs::canonicalize(results.join("latest")).unwrap();
    open(&dir.join("report.html"), &tmp.0)
}

/// Writes `scenario` (TOML) beside the history stored in `dir` and the report of the two.
fn write_report(dir: &Path, scenario: &str) {
    std::fs::write(dir.join("scenario.toml"), scenario).unwrap();
    report_of(dir);
}

/// The scenario of a synthetic register history.
const SYNTH: &str = "name = \"synth\"\nworkload = \"register\"\nseed = 1\n";

fn scenario(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios")
        .join(format!("{name}.toml"))
        .display()
        .to_string()
}

/// The anomaly section, whose summary must begin with `summary`.
fn anomalies<'p>(p: &'p serde_json::Value, summary: &str) -> &'p serde_json::Value {
    let a = &p["anomalies"];
    assert!(a.is_object(), "no anomaly section: {p}");
    assert!(a["summary"].as_str().unwrap().starts_with(summary), "{p}");
    a
}

/// The timeline's first page is drawn, laid out, with bars, and one page of one.
fn assert_timeline(p: &serde_json::Value) {
    assert_eq!(
        p["script"], "function",
        "the report's script did not load: {p}"
    );
    let t = &p["timeline"];
    assert_eq!(t["svg"], true, "no timeline SVG in the view: {p}");
    assert!(
        t["width"].as_u64().unwrap() > 500,
        "timeline not laid out: {p}"
    );
    assert!(
        t["height"].as_u64().unwrap() > 30,
        "timeline not laid out: {p}"
    );
    assert!(t["bars"].as_u64().unwrap() > 20, "too few bars: {p}");
}

fn shades(p: &serde_json::Value, class: &str) -> usize {
    p["timeline"]["shades"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s.as_str() == Some(class))
        .count()
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_redlock_report_draws_the_gantt_chart_and_tells_the_story() {
    // 14 s: three jumps of n3's clock (docs/suite.md); each lands in a lease and breaks it in
    // well over nine runs of ten, so the run is invalid.
    let page = report_of_run(
        "redlock",
        &[
            &scenario("redlock-clock-jump"),
            "--target",
            "redis-lock",
            "--time-limit",
            "14",
            "--seed",
            "100",
        ],
        1,
    );
    let p = &page.probe;
    assert_timeline(p);
    assert!(shades(p, "n-clock") >= 2, "no clock jumps shaded: {p}");
    assert!(shades(p, "n-partition") >= 1, "no client-split shaded: {p}");
    let a = anomalies(p, "Lock safety: invalid");
    assert!(a["blocks"].as_u64().unwrap() >= 1, "{p}");
    let stories = strings(&a["stories"]);
    assert_eq!(stories.len() as u64, a["blocks"].as_u64().unwrap(), "{p}");
    let headings = strings(&a["headings"]);
    for (heading, story) in headings.iter().zip(&stories) {
        // A fault in force before the first window (the standing client-split) may open it.
        assert!(
            story.starts_with("Client ") || story.starts_with("At "),
            "{story}"
        );
        assert!(story.contains(" acquired the lock "), "{story}");
        match heading.rsplit(": ").next().unwrap() {
            "overlap" => assert!(story.ends_with("both believed they held it."), "{story}"),
            "interleaved" => assert!(story.contains("The resource accepted write #"), "{story}"),
            other => panic!("{heading}: a Redlock run without fencing has no {other} anomaly"),
        }
    }
    // One chart per anomaly and one of the whole run, all laid out; overlaps in red, the
    // clock jumps as lines.
    let gantts = a["gantts"].as_array().unwrap();
    assert_eq!(
        gantts.len() as u64,
        a["blocks"].as_u64().unwrap() + 1,
        "{p}"
    );
    assert!(gantts.iter().all(|w| w.as_u64().unwrap() > 500), "{p}");
    assert!(a["overlaps"].as_u64().unwrap() >= 1, "{p}");
    assert!(a["clock_lines"].as_u64().unwrap() >= 2, "{p}");
    assert!(page.dom.contains("<h3>Anomaly 1: "), "{p}");
}

#[test]
fn the_raft_kv_report_draws_partitions_and_its_linearizability() {
    // A fault every second, so that a 4 s run has partitions to shade.
    let page = report_of_run(
        "raft-kv",
        &[
            "--target",
            "raft-kv",
            "--nemesis",
            "partition",
            "--time-limit",
            "4",
            "--interval",
            "1",
            "--seed",
            "7",
        ],
        0,
    );
    let p = &page.probe;
    assert_timeline(p);
    assert!(shades(p, "n-partition") >= 1, "no partition shaded: {p}");
    assert_eq!(p["timeline"]["page"], "page 1 of 1", "{p}");
    let a = anomalies(p, "Linearizability (cas-register): valid — ");
    assert_eq!(a["blocks"], 0, "{p}");
    assert!(page.dom.contains(r#"href="nodes/n5.log""#));
}

#[test]
fn the_snowflake_report_shows_each_duplicate_with_its_fields_and_clocks() {
    let page = report_of_run(
        "snowflake",
        &[
            &scenario("snowflake-clock-backwards"),
            "--time-limit",
            "6",
            "--seed",
            "100",
        ],
        1,
    );
    let p = &page.probe;
    assert_timeline(p);
    assert!(shades(p, "n-clock") >= 1, "no clock jump shaded: {p}");
    let a = anomalies(p, "Unique IDs: invalid");
    let blocks = a["blocks"].as_u64().unwrap();
    assert!(blocks >= 1, "{p}");
    assert_eq!(a["snowflake"].as_u64().unwrap(), blocks, "{p}");
    assert!(a["tables"].as_u64().unwrap() >= 2 * blocks, "{p}");
    assert!(
        strings(&a["headings"])
            .iter()
            .all(|h| h.starts_with("ID ") && h.contains(" returned ")),
        "{p}"
    );
    // Some request of each pair was made while a worker's clock was set back.
    assert!(page.dom.contains(" -2000 ms</td>"), "{p}");
}

#[test]
fn the_transactions_section_draws_a_split_decision() {
    chromium();
    let tmp = Temp::new("txn");
    let dir = tmp.0.join("run");
    std::fs::create_dir_all(&dir).unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../checkers/tests/histories/txn/split-decision.jsonl");
    std::fs::copy(fixture, dir.join("history.jsonl")).unwrap();
    write_report(
        &dir,
        "name = \"hand-2pc\"\ntarget = \"2pc\"\nworkload = \"bank\"\nnodes = 3\nseed = 1\n",
    );
    let page = open(&dir.join("report.html"), &tmp.0);
    let t = &page.probe["transactions"];
    assert!(t.is_object(), "no transactions section: {}", page.probe);
    let lanes = t["lanes"].as_array().unwrap();
    assert_eq!(lanes.len(), 1, "{t}");
    assert!(
        lanes[0][0].as_u64().unwrap() > 500,
        "lanes not laid out: {t}"
    );
    assert!(
        lanes[0][1].as_u64().unwrap() > 60,
        "lanes not laid out: {t}"
    );
    assert_eq!(t["splits"], 2, "the split in red on both lanes: {t}");
    assert_eq!(strings(&t["labels"]), ["1.3", "1.3"], "{t}");
    let stories = strings(&t["stories"]);
    assert!(
        stories.iter().any(|s| s.starts_with(
            "Transaction 1.3 (a transfer of 1 from account 0 to account 3) committed at n2"
        )),
        "{stories:?}"
    );
    assert_eq!(t["rows"], 2, "a row per participant: {t}");
}

#[test]
fn the_timeline_pager_steps_through_a_long_history() {
    chromium();
    let tmp = Temp::new("pages");
    let history = long_register_history();
    let dir = tmp.0.join("run");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("history.jsonl"), history).unwrap();
    write_report(&dir, SYNTH);
    let page = open(&dir.join("report.html"), &tmp.0);
    let p = &page.probe;
    assert_timeline(p);
    assert_eq!(p["timeline"]["page"], "page 1 of 3", "{p}");
    let pages: Vec<(String, u64)> = p["pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            assert_eq!(s["svg"], true, "{s}");
            assert!(s["width"].as_u64().unwrap() > 500, "{s}");
            (
                s["page"].as_str().unwrap().to_string(),
                s["bars"].as_u64().unwrap(),
            )
        })
        .collect();
    let names: Vec<&str> = pages.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["page 2 of 3", "page 3 of 3", "page 3 of 3", "page 2 of 3"],
        "{p}"
    );
    // Pages 1 and 2 hold 5,000 operations each, page 3 the remaining 2,000.
    assert!((5000..5200).contains(&pages[0].1), "{pages:?}");
    assert!((2000..2100).contains(&pages[1].1), "{pages:?}");
    let ranges: Vec<&str> = p["pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["range"].as_str().unwrap())
        .collect();
    assert_ne!(ranges[0], ranges[1], "{p}");
    assert_eq!(p["band"]["page"], "page 3 of 3", "{p}");
    assert_eq!(p["band"]["bars"], pages[1].1, "{p}");
    // Only the page shown is in the document's tree (the others are drawn when asked for).
    assert!(
        p["pages"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["svgs"] == 1),
        "{p}"
    );
}

#[test]
fn a_report_of_a_hundred_thousand_operations_stays_small_and_opens_in_seconds() {
    chromium();
    let tmp = Temp::new("large");
    let ops = 100_000;
    let dir = tmp.0.join("run");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("history.jsonl"),
        checkers::synth::register_jsonl(ops),
    )
    .unwrap();
    write_report(&dir, SYNTH);
    // A million operations must fit in 25 MB: 2 MB for what does not grow with the history
    // (the latency scatter's 20,000 points, mostly) and 23 bytes an operation.
    let bytes = std::fs::metadata(dir.join("report.html")).unwrap().len();
    assert!(
        bytes <= 2_000_000 + 23 * ops as u64,
        "{bytes} bytes for {ops} operations"
    );
    let page = open(&dir.join("report.html"), &tmp.0);
    eprintln!(
        "{ops} operations: report.html of {bytes} bytes, opened, drawn and paged through in {:.2} s",
        page.took.as_secs_f64()
    );
    let p = &page.probe;
    assert_timeline(p);
    assert_eq!(p["timeline"]["page"], "page 1 of 20", "{p}");
    assert_eq!(p["pages"][0]["page"], "page 2 of 20", "{p}");
    // The issue asks for a first paint under 5 s; the machine is shared, so the bound here is
    // generous (the figure is printed, and the benchmark measures it: benches/report.rs).
    assert!(page.took < Duration::from_secs(20), "{:?}", page.took);
}

#[test]
fn the_timeline_draws_a_history_s_markup_as_text() {
    chromium();
    let tmp = Temp::new("escape");
    let dir = tmp.0.join("run");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("history.jsonl"),
        hostile_history().join("\n") + "\n",
    )
    .unwrap();
    write_report(
        &dir,
        "name = \"escape\"\nworkload = \"register\"\nseed = 1\n",
    );
    let page = open(&dir.join("report.html"), &tmp.0);
    let t = &page.probe["timeline"];
    assert_eq!(t["svg"], true, "{}", page.probe);
    assert_eq!(t["bars"], 3, "{}", page.probe);
    // The page the script drew: the history's strings in its hover texts, as text.
    let view = &page.dom[page.dom.find(r#"<div class="view">"#).unwrap()..];
    let view = &view[..view.find("</svg>").unwrap()];
    assert!(!view.contains("<script"), "{view}");
    assert!(
        view.contains(&SCRIPT.replace('<', "&lt;").replace('>', "&gt;")),
        "{view}"
    );
    assert!(view.contains("&amp;"), "{view}");
}
