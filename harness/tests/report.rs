//! report.html, results.schema.json and `faultline serve`: a short real run gets its report and
//! a results.json that validates against the schema; `faultline report` rebuilds a report from
//! a stored run (with or without results.json); hand-made histories check the escaping, the
//! lock Gantt chart and story, the unique-ID view, the transactions' lanes and story (a split
//! decision over 2PC) and the timeline's pages and embedded operations; `faultline serve` lists runs and refuses paths
//! out of the results folder.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::{
    SCRIPT, faultline, hostile_history, long_register_history, report_of, results_dir, run,
};

fn schema() -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/results.schema.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Validates `instance` against the schema's definition `def` (or the whole schema).
fn assert_valid(instance: &serde_json::Value, def: Option<&str>) {
    let mut schema = schema();
    if let Some(def) = def {
        schema["$ref"] = format!("#/$defs/{def}").into();
    }
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

/// A temporary run folder holding `history` (JSON Lines) and `scenario` (TOML).
fn hand_made(tag: &str, history: &[String], scenario: &str) -> PathBuf {
    let dir = results_dir(tag);
    std::fs::create_dir_all(dir.join("nodes")).unwrap();
    std::fs::write(dir.join("history.jsonl"), history.join("\n") + "\n").unwrap();
    std::fs::write(dir.join("scenario.toml"), scenario).unwrap();
    std::fs::write(dir.join("nodes/n1.log"), "hello\n").unwrap();
    dir
}

/// The timeline's operations as the page embeds them: base64 of gzipped JSON.
fn timeline_ops(html: &str) -> serde_json::Value {
    use base64::Engine as _;
    use std::io::Read as _;
    let at = html
        .find(r#"id="timeline-ops">"#)
        .expect("the timeline's operations")
        + 18;
    let packed = &html[at..at + html[at..].find("</script>").unwrap()];
    assert!(
        packed
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b)),
        "not base64"
    );
    let gz = base64::engine::general_purpose::STANDARD
        .decode(packed)
        .unwrap();
    let mut json = String::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_string(&mut json)
        .unwrap();
    serde_json::from_str(&json).unwrap()
}

fn assert_self_contained(html: &str) {
    for external in ["http://", "https://", "src=", "<link", "@import"] {
        assert!(!html.contains(external), "the report mentions {external}");
    }
    // `url(#id)` names a part of the page itself (an arrowhead); any other url( loads.
    assert!(
        html.match_indices("url(")
            .all(|(at, _)| html[at..].starts_with("url(#")),
        "the report loads something with url("
    );
}

#[test]
fn a_short_run_has_a_report_and_results_that_match_the_schema() {
    let results = results_dir("report-run");
    let out = run(
        &[
            "--target",
            "raft-kv",
            "--nemesis",
            "partition",
            "--nodes",
            "3",
            "--time-limit",
            "3",
            "--interval",
            "1",
            "--seed",
            "11",
        ],
        &results,
    );
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = std::fs::canonicalize(results.join("latest")).unwrap();
    let html = std::fs::read_to_string(dir.join("report.html")).expect("the run wrote a report");
    for section in [
        r#"id="summary""#,
        r#"id="timeline-section""#,
        r#"<svg class="chart overview""#,
        r#"id="timeline-ops""#,
        r#"id="latency""#,
        "Latency quantiles per second",
        "Completions per second",
        r#"id="files""#,
        r#"href="nodes/n1.log""#,
        r#"href="faultline.log""#,
        "faultline run --target raft-kv",
        "page 1 of 1",
        "partition",
    ] {
        assert!(html.contains(section), "no {section} in the report");
    }
    assert_self_contained(&html);

    // results.json matches the schema, and so does `faultline check --json`.
    let stored: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    assert_valid(&stored, None);
    let check = faultline()
        .args(["check", "--json"])
        .arg(dir.join("history.jsonl"))
        .output()
        .unwrap();
    let check: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
    assert_valid(&check, Some("CheckResults"));
    // A result with a field the schema does not know fails it.
    let mut wrong = stored.clone();
    wrong["history"]["stats"]["extra"] = 1.into();
    let validator = jsonschema::validator_for(&schema()).unwrap();
    assert!(!validator.is_valid(&wrong));

    // `faultline report` rebuilds it from what is stored, and without results.json, by checking
    // the history again.
    std::fs::remove_file(dir.join("report.html")).unwrap();
    let rebuilt = report_of(&dir);
    assert!(rebuilt.contains(r#"<svg class="chart overview""#));
    std::fs::rename(dir.join("results.json"), dir.join("results.json.bak")).unwrap();
    let rechecked = report_of(&dir);
    assert!(rechecked.contains(r#"<svg class="chart overview""#));
    assert!(rechecked.contains(&format!(
        "verdict {}",
        if stored["valid"] == true {
            "valid"
        } else {
            "invalid"
        }
    )));
    std::fs::remove_dir_all(results).unwrap();
}

#[test]
fn every_string_from_a_history_is_escaped() {
    let lines = hostile_history();
    let scenario = format!(
        "name = {}\ntarget = \"raft-kv\"\nworkload = \"register\"\nseed = 1\n",
        serde_json::Value::from(format!("esc{SCRIPT}"))
    );
    let dir = hand_made("report-escape", &lines, &scenario);
    let html = report_of(&dir);
    assert!(!html.contains("<script>alert"), "unescaped script");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("&quot;'&amp;"));
    // The only scripts are the report's own: the timeline's operations and the pager.
    assert_eq!(html.matches("<script").count(), 2);
    // The operations' texts travel unescaped inside the compressed columns (the page's script
    // escapes them as it draws), as base64, which no markup can hide in.
    let ops = timeline_ops(&html);
    assert!(ops["strings"].to_string().contains(SCRIPT), "{ops}");
    // The history is not linearizable: the counterexample shows the values, escaped.
    assert!(html.contains("not linearizable"));
    assert_self_contained(&html);
    std::fs::remove_dir_all(dir).unwrap();
}

/// Kleppmann's scenario by hand: client 1 acquires via n1 n2 n3; n3's clock jumps; client 2
/// acquires via n3 n4 n5 while client 1 still believes it holds the lock.
fn lock_history() -> Vec<String> {
    let ev = |t: f64, p: &str, ty: &str, f: &str, v: &str| {
        format!(
            r#"{{"time":{},"process":{p},"type":"{ty}","f":"{f}","value":{v}}}"#,
            (t * 1e9).round() as u64
        )
    };
    let acq = |lock: &str, validity: u64, nodes: &str| {
        format!(r#"{{"lock":"{lock}","token":null,"validity_ms":{validity},"nodes":{nodes}}}"#)
    };
    let w = |seq: u64, order: u64| format!(r#"{{"token":null,"seq":{seq},"order":{order}}}"#);
    let nem = r#""nemesis""#;
    let split = r#"{"shape":"client-split","grudge":{"n1":["c3"]}}"#;
    let bump = r#"{"offsets_ms":{"n3":5000}}"#;
    vec![
        ev(0.0002, nem, "invoke", "start-partition", split),
        ev(0.0003, nem, "info", "start-partition", split),
        ev(1.100, "1", "invoke", "acquire", "null"),
        ev(
            1.216,
            "1",
            "ok",
            "acquire",
            &acq("p1-1", 1004, r#"["n1","n2","n3"]"#),
        ),
        ev(1.300, "1", "invoke", "write", r#"{"token":null,"seq":1}"#),
        ev(1.301, "1", "ok", "write", &w(1, 1)),
        ev(1.900, "1", "invoke", "write", r#"{"token":null,"seq":2}"#),
        ev(1.901, "1", "ok", "write", &w(2, 2)),
        ev(2.000, "2", "invoke", "acquire", "null"),
        ev(2.060, nem, "invoke", "clock-bump", bump),
        ev(2.0601, nem, "info", "clock-bump", bump),
        ev(
            2.107,
            "2",
            "ok",
            "acquire",
            &acq("p2-1", 1007, r#"["n3","n4","n5"]"#),
        ),
        ev(2.120, "2", "invoke", "write", r#"{"token":null,"seq":1}"#),
        ev(2.121, "2", "ok", "write", &w(1, 3)),
        ev(2.150, "1", "invoke", "write", r#"{"token":null,"seq":3}"#),
        ev(2.151, "1", "ok", "write", &w(3, 4)),
        ev(2.300, "1", "invoke", "release", r#"{"lock":"p1-1"}"#),
        ev(
            2.301,
            "1",
            "ok",
            "release",
            r#"{"lock":"p1-1","nodes":["n1","n2","n3"]}"#,
        ),
        ev(2.500, "3", "invoke", "acquire", "null"),
        ev(2.600, "3", "fail", "acquire", r#"{"nodes":["n1"]}"#),
        ev(3.000, "2", "invoke", "release", r#"{"lock":"p2-1"}"#),
        ev(
            3.001,
            "2",
            "ok",
            "release",
            r#"{"lock":"p2-1","nodes":["n3","n4","n5"]}"#,
        ),
        ev(4.000, nem, "invoke", "clock-reset", r#"["n3"]"#),
        ev(4.001, nem, "info", "clock-reset", r#"["n3"]"#),
    ]
}

#[test]
fn a_lock_history_shows_the_gantt_chart_and_the_story() {
    let scenario = "name = \"hand-lock\"\ntarget = \"redis-lock\"\nworkload = \"lock\"\nnemesis = [\"clock\"]\nlock-algorithm = \"redlock\"\nseed = 1\n";
    let dir = hand_made("report-lock", &lock_history(), scenario);
    let html = report_of(&dir);
    assert!(html.contains(r#"<svg class="chart gantt""#));
    assert!(html.contains(r#"class="overlap""#), "overlaps drawn in red");
    assert!(
        html.contains(r#"class="clockline""#),
        "the clock jump drawn"
    );
    assert!(html.contains(r#"class="win hl""#));
    assert!(html.contains(r#"class="wr ok""#), "writes drawn as ticks");
    let story = "Client 1 acquired the lock at 1.216 s via n1 n2 n3 and believed it held it until 2.220 s (when the validity it computed ran out). \
                 At 2.060 s node n3's clock jumped +5000 ms. \
                 Client 2 acquired the lock via n3 n4 n5 at 2.107 s: for 113 ms both believed they held it.";
    assert!(html.contains(story), "no story in the report");
    // Client 2's write came between two of client 1's: interleaved holders, told too.
    assert!(html.contains("The resource then accepted write #4 from client 1 at 2.151 s."));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_split_decision_shows_the_transactions_lanes_and_story() {
    let text = include_str!("../../checkers/tests/histories/txn/split-decision.jsonl");
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    let scenario = "name = \"hand-2pc\"\ntarget = \"2pc\"\nworkload = \"bank\"\nnodes = 3\nnemesis = [\"kill\"]\nseed = 1\n";
    let dir = hand_made("report-txn", &lines, scenario);
    let html = report_of(&dir);
    assert_self_contained(&html);
    assert!(html.contains(r#"<svg class="chart lanes""#));
    assert!(html.contains(r#"<h3>Transactions</h3>"#));
    assert_eq!(html.matches(r#"<rect class="split""#).count(), 2);
    assert!(html.contains("committed at n2 (at 0.009 s) and aborted at n3 (at 0.009 s)"));
    assert!(html.contains("<h3>Time in doubt</h3>"));
    assert!(!html.contains("NaN"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn duplicated_ids_show_their_nodes_fields_and_clocks() {
    // Snowflake: 41 bits of ms since 2020, 10 of worker, 12 of sequence.
    let id = (1000u64 << 22) | (2 << 12) | 5;
    let ev = |t: u64, p: u64, ty: &str, v: &str, node: &str| {
        format!(r#"{{"time":{t},"process":{p},"type":"{ty}","f":"generate","value":{v}{node}}}"#)
    };
    let lines = vec![
        ev(1_000_000, 0, "invoke", "null", ""),
        ev(2_000_000, 0, "ok", &format!("\"{id}\""), r#","node":"n2""#),
        r#"{"time":3000000,"process":"nemesis","type":"invoke","f":"clock-bump","value":{"offsets_ms":{"n2":-5000}}}"#.to_string(),
        r#"{"time":3000100,"process":"nemesis","type":"info","f":"clock-bump","value":{"offsets_ms":{"n2":-5000}}}"#.to_string(),
        ev(4_000_000, 1, "invoke", "null", ""),
        ev(5_000_000, 1, "ok", &format!("[\"{}\",\"{id}\"]", id + 1), r#","node":"n2""#),
    ];
    let scenario =
        "name = \"hand-ids\"\ntarget = \"snowflake\"\nworkload = \"unique-ids\"\nseed = 1\n";
    let dir = hand_made("report-ids", &lines, scenario);
    let html = report_of(&dir);
    assert!(html.contains(&format!("ID <code>{id}</code> returned 2 times")));
    assert!(html.contains("worker <b>2</b>"), "decoded worker");
    assert!(html.contains("sequence <b>5</b>"));
    assert!(html.contains("<td>n2</td>"));
    assert!(html.contains("n2 -5000 ms"), "the clock offset in force");
    assert!(html.contains("all clocks true"));
    assert!(html.contains("a batch of 2"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_long_history_is_drawn_in_pages() {
    let out = long_register_history();
    let dir = results_dir("report-pages");
    std::fs::write(dir.join("history.jsonl"), out).unwrap();
    std::fs::write(
        dir.join("scenario.toml"),
        "name = \"synth\"\nworkload = \"register\"\nseed = 1\n",
    )
    .unwrap();
    let html = report_of(&dir);
    assert!(html.contains("page 1 of 3"));
    // The overview has a band per page; the bars are the script's to draw, from the columns,
    // which hold every operation.
    assert!(html.contains(r#"data-page="3""#) && !html.contains(r#"data-page="4""#));
    assert!(html.contains(r#"<div class="view"><p class="note">Drawing the timeline"#));
    let ops = timeline_ops(&html);
    assert_eq!(ops["page"], 5000);
    assert_eq!(ops["t"].as_array().unwrap().len(), 12_000);
    assert_eq!(ops["s"].as_array().unwrap().len(), 12_000);
    assert!(
        ops["strings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s.as_str().unwrap().starts_with("write ")),
        "{ops}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// The lock checker's report, the unique-ids checker's (snowflake-decoded, with
/// monotonicity), the bank checker's (every kind of error) and the atomicity and blocking
/// checkers' match the schema too:
/// `faultline check --json` on hand-made histories.
#[test]
fn lock_unique_ids_and_bank_reports_match_the_schema() {
    let dir = results_dir("report-schema");
    std::fs::write(dir.join("lock.jsonl"), lock_history().join("\n") + "\n").unwrap();
    let id = (1000u64 << 22) | (2 << 12) | 5;
    let generate = |t: u64, p: u64, ty: &str, v: &str| {
        format!(r#"{{"time":{t},"process":{p},"type":"{ty}","f":"generate","value":{v}}}"#)
    };
    let ids = [
        generate(1, 0, "invoke", "null"),
        generate(2, 0, "ok", &format!(r#""{}""#, id + 1)),
        generate(3, 1, "invoke", "null"),
        generate(4, 1, "ok", &format!(r#"["{id}","{id}"]"#)),
        generate(5, 1, "invoke", "null"),
        generate(6, 1, "fail", "null").replace('}', r#","error":"clock-moved-backwards"}"#),
    ];
    std::fs::write(dir.join("ids.jsonl"), ids.join("\n") + "\n").unwrap();
    let bank = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../checkers/tests/histories/bank/jepsen-invalid.edn");
    std::fs::copy(bank, dir.join("bank.edn")).unwrap();
    // A bank history over 2PC with the participants' decisions: atomicity and blocking too.
    let txn = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../checkers/tests/histories/txn/split-decision.jsonl");
    std::fs::copy(txn, dir.join("txn.jsonl")).unwrap();
    for (file, extra) in [
        ("lock.jsonl", None),
        ("ids.jsonl", Some("--snowflake")),
        ("bank.edn", None),
        ("txn.jsonl", None),
    ] {
        let out = faultline()
            .args(["check", "--json"])
            .args(extra)
            .arg(dir.join(file))
            .output()
            .unwrap();
        let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(r["valid"], false, "{file}: {r}");
        assert_valid(&r, Some("CheckResults"));
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// Kills the server when the test ends, however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// results.json for a stored run of scenario `name` whose history is `dir/history.jsonl`, as a
/// run leaves it: the history checked by `faultline check --json`, the scenario resolved.
fn stored_results(dir: &Path, name: &str, workload: &str) -> String {
    use faultline::results::{CheckResults, RunResults, VERSION};
    let out = faultline()
        .args(["check", "--json", "--timeout", "60"])
        .arg(dir.join("history.jsonl"))
        .output()
        .unwrap();
    let check: CheckResults = serde_json::from_slice(&out.stdout).unwrap();
    let file = format!("name = \"{name}\"\nworkload = \"{workload}\"\nseed = 1\n");
    let scenario = faultline::scenario::ScenarioFile::parse("scenario.toml", &file)
        .unwrap()
        .resolve(0);
    let history = check.histories.into_iter().next().unwrap();
    serde_json::to_string(&RunResults {
        version: VERSION,
        valid: history.valid,
        command: format!("faultline run --workload {workload} --seed 1"),
        scenario,
        dir: dir.to_path_buf(),
        duration_s: 0.0,
        ready_s: Some(0.0),
        faults: 0,
        faults_by_kind: Default::default(),
        history,
    })
    .unwrap()
}

/// One HTTP/1.1 request; the status code and the body.
fn get(addr: &str, method: &str, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map_or("", |x| x.1).to_string();
    (code, body)
}

#[test]
fn serve_lists_runs_newest_first_and_refuses_paths_out_of_the_results() {
    let root = results_dir("serve");
    let register = [
        r#"{"time":1,"process":0,"type":"invoke","f":"write","value":1}"#.to_string(),
        r#"{"time":2,"process":0,"type":"ok","f":"write","value":1}"#.to_string(),
        r#"{"time":3,"process":0,"type":"invoke","f":"read","value":null}"#.to_string(),
        r#"{"time":4,"process":0,"type":"ok","f":"read","value":1}"#.to_string(),
    ];
    let runs = [
        ("older-lock", "20260101T000000", lock_history(), "lock"),
        ("newer-kv", "20260102T000000", register.to_vec(), "register"),
    ];
    for (name, stamp, history, workload) in runs {
        let dir = root.join(name).join(stamp);
        std::fs::create_dir_all(dir.join("nodes")).unwrap();
        std::fs::write(dir.join("history.jsonl"), history.join("\n") + "\n").unwrap();
        std::fs::write(
            dir.join("results.json"),
            stored_results(&dir, name, workload),
        )
        .unwrap();
        std::fs::write(dir.join("report.html"), format!("<p>{name}</p>")).unwrap();
        std::fs::write(dir.join("nodes/n1.log"), "node log\n").unwrap();
    }
    std::os::unix::fs::symlink("newer-kv/20260102T000000", root.join("latest")).unwrap();
    let mut child = faultline()
        .args(["serve", "--port", "0", "--results"])
        .arg(&root)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let server = Server(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"));
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();

    let (code, index) = get(&addr, "GET", "/");
    assert_eq!(code, 200, "{index}");
    let newer = index.find("newer-kv").unwrap();
    let older = index.find("older-lock").unwrap();
    assert!(newer < older, "newest first");
    assert!(index.contains(r#"href="/newer-kv/20260102T000000/report.html""#));
    assert!(
        index.contains(r#"<td class="invalid">invalid</td>"#),
        "{index}"
    );
    assert!(index.contains(r#"<td class="valid">valid</td>"#), "{index}");
    assert!(index.contains("1 overlap"), "{index}");
    assert!(index.contains("2 (2 ok)"), "{index}");
    assert!(index.contains("2026-01-02 00:00:00 UTC"));
    // `latest` is a link to a run already listed: a header and two runs.
    assert_eq!(index.matches("<tr>").count(), 3, "{index}");

    let (code, body) = get(&addr, "GET", "/newer-kv/20260102T000000/report.html");
    assert_eq!((code, body.as_str()), (200, "<p>newer-kv</p>"));
    let (code, body) = get(&addr, "GET", "/latest/nodes/n1.log");
    assert_eq!((code, body.as_str()), (200, "node log\n"));
    for bad in [
        "/../../../../etc/passwd",
        "/newer-kv/../../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/newer-kv/..%2f..%2f..%2fetc%2fpasswd",
    ] {
        let (code, body) = get(&addr, "GET", bad);
        assert_eq!(code, 403, "{bad}: {body}");
        assert!(!body.contains("root:"), "{bad}");
    }
    assert_eq!(get(&addr, "GET", "/nothing-here").0, 404);
    assert_eq!(get(&addr, "POST", "/").0, 405);
    drop(server);
    std::fs::remove_dir_all(root).unwrap();
}

/// The 1,000,000-operation benchmark: `cargo test --release -p faultline --test report --
/// --ignored --nocapture`. Generates a history (checkers::synth), stores it with its results,
/// and times `faultline report` on it: reading, drawing and writing (it prints the time; the
/// target is under 30 s). Asserted: every page is there.
#[test]
#[ignore]
fn a_million_operations_render_every_page() {
    let ops = 1_000_000;
    let dir = results_dir("report-million");
    let out = checkers::synth::register_jsonl(ops);
    std::fs::write(dir.join("history.jsonl"), &out).unwrap();
    std::fs::write(
        dir.join("scenario.toml"),
        "name = \"million\"\nworkload = \"register\"\nseed = 1\n",
    )
    .unwrap();
    // Stored results, as a run leaves them: the time measured is the report's alone.
    let checked = std::time::Instant::now();
    let results = stored_results(&dir, "million", "register");
    std::fs::write(dir.join("results.json"), results).unwrap();
    eprintln!("checked in {:.1} s", checked.elapsed().as_secs_f64());
    let started = Instant::now();
    let html = report_of(&dir);
    let took = started.elapsed();
    eprintln!(
        "{ops} operations ({} MB of history): report.html of {} MB in {:.1} s",
        out.len() / 1_000_000,
        html.len() / 1_000_000,
        took.as_secs_f64()
    );
    assert!(html.contains(&format!("page 1 of {}", ops.div_ceil(5000))));
    std::fs::remove_dir_all(dir).unwrap();
}

/// A list-append history with a cycle: `faultline check --json` infers the model, names the
/// anomaly, and its results match the schema; the report draws the cycle.
#[test]
fn a_transactional_history_checks_against_the_schema_and_draws_its_cycle() {
    // Write skew (G2-item), then a reader that saw both appends.
    let history: Vec<String> = [
        r#"{"index":0,"time":0,"process":0,"type":"invoke","f":"txn","value":[["r","x",null],["append","y",1]]}"#,
        r#"{"index":1,"time":1,"process":1,"type":"invoke","f":"txn","value":[["r","y",null],["append","x",1]]}"#,
        r#"{"index":2,"time":2,"process":0,"type":"ok","f":"txn","value":[["r","x",[]],["append","y",1]]}"#,
        r#"{"index":3,"time":3,"process":1,"type":"ok","f":"txn","value":[["r","y",[]],["append","x",1]]}"#,
        r#"{"index":4,"time":4,"process":2,"type":"invoke","f":"txn","value":[["r","x",null],["r","y",null]]}"#,
        r#"{"index":5,"time":5,"process":2,"type":"ok","f":"txn","value":[["r","x",[1]],["r","y",[1]]]}"#,
    ]
    .map(String::from)
    .to_vec();
    let dir = hand_made(
        "txn",
        &history,
        "name = \"txn\"\ntarget = \"raft-kv\"\nworkload = \"list-append\"\nseed = 1\ntime-limit = 1\n",
    );
    let check = faultline()
        .args(["check", "--json"])
        .arg(dir.join("history.jsonl"))
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
    assert_valid(&json, Some("CheckResults"));
    let analysis = &json["histories"][0]["checkers"][0]["analysis"];
    assert_eq!(analysis["workload"], "list-append");
    assert_eq!(analysis["consistency"], "strict-serializable");
    assert_eq!(analysis["anomaly_counts"]["G2-item"], 1, "{analysis}");
    // Snapshot isolation allows write skew.
    let si = faultline()
        .args(["check", "--consistency", "snapshot-isolation"])
        .arg(dir.join("history.jsonl"))
        .output()
        .unwrap();
    assert_eq!(
        si.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&si.stdout)
    );
    let html = report_of(&dir);
    assert!(html.contains("G2-item — prohibited"));
    assert_eq!(html.matches("class=\"edge rel-rw\"").count(), 2);
    assert_self_contained(&html);
    std::fs::remove_dir_all(dir).unwrap();
}
