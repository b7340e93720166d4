//! What the `faultline run` tests share: a results folder per test, running the binary (or a
//! scenario of `scenarios/`), and finding what a run left behind (node processes, listening
//! ports).
// Each test file uses its own subset.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Asserts that `out` exited with `code`, showing its output if not; returns its stdout.
pub fn assert_exit(out: &Output, code: i32) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(code),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

pub fn results_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("faultline-run-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn faultline() -> Command {
    Command::new(env!("CARGO_BIN_EXE_faultline"))
}

pub fn run(args: &[&str], results: &Path) -> Output {
    faultline()
        .arg("run")
        .args(args)
        .args(["--quiet", "--results"])
        .arg(results)
        .output()
        .expect("faultline runs")
}

/// Live node processes that mention `needle` in their command line (bundled nodes) or their
/// environment (external programs run under the clock shim, which rename themselves), other
/// than the harness itself.
pub fn survivors(needle: &Path) -> Vec<String> {
    let needle = needle.display().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let cmd = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).ok()?;
            let env = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let mentions = cmd.contains(&needle) || String::from_utf8_lossy(&env).contains(&needle);
            let harness = cmd.contains("\0run\0");
            (mentions && !harness && !stat.contains(") Z "))
                .then(|| format!("{pid}: {}", cmd.replace('\0', " ")))
        })
        .collect()
}

/// The ports the live nodes mentioning `needle` were told to listen on (from their command
/// lines).
pub fn node_ports(needle: &Path) -> Vec<u16> {
    let needle = needle.display().to_string();
    let mut ports = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(cmd) = std::fs::read_to_string(entry.path().join("cmdline")) else {
            continue;
        };
        if !cmd.contains(&needle) || !cmd.contains("\0node\0") {
            continue;
        }
        for arg in cmd.split('\0') {
            if let Some(port) = arg.strip_prefix("127.0.0.1:").and_then(|p| p.parse().ok()) {
                ports.push(port);
            }
        }
    }
    ports
}

/// Whether anything listens on `port` (from /proc/net/tcp: state 0A is LISTEN).
pub fn listening(port: u16) -> bool {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    table.lines().skip(1).any(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        f.len() > 3
            && f[3] == "0A"
            && f[1]
                .rsplit(':')
                .next()
                .and_then(|p| u16::from_str_radix(p, 16).ok())
                == Some(port)
    })
}

/// No node of the run survives and none of its ports is still listening.
pub fn assert_all_gone(results: &Path, ports: &[u16]) {
    assert!(
        wait_for(|| survivors(results).is_empty(), Duration::from_secs(5)),
        "{:?}",
        survivors(results)
    );
    assert!(wait_for(
        || ports.iter().all(|p| !listening(*p)),
        Duration::from_secs(5)
    ));
}

pub fn results_json(results: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(results.join("latest").join("results.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The analysis of the checker called `name` in a run's results.json (`null` when it did not
/// run).
pub fn analysis<'r>(results: &'r serde_json::Value, name: &str) -> &'r serde_json::Value {
    results["history"]["checkers"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == name))
        .map_or(&serde_json::Value::Null, |c| &c["analysis"])
}

pub fn wait_for(mut what: impl FnMut() -> bool, limit: Duration) -> bool {
    let t = Instant::now();
    while t.elapsed() < limit {
        if what() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// A process's state letter from /proc (`S` sleeping, `T` stopped, `Z` zombie; `?` if gone).
pub fn process_state(pid: u32) -> char {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    s.rsplit(") ")
        .next()
        .and_then(|r| r.chars().next())
        .unwrap_or('?')
}

/// Live (not zombie) members of process group `pgid`.
pub fn group_members(pgid: u32) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let fields: Vec<&str> = s.rsplit(") ").next().unwrap_or("").split(' ').collect();
            fields.get(2).and_then(|g| g.parse::<u32>().ok()) == Some(pgid)
                && fields.first() != Some(&"Z")
        })
        .collect()
}

/// Runs `scenarios/<name>.toml` against `target` for `seconds`, with a fixed seed; returns the
/// exit code and results.json, after checking that no node survived the run.
pub fn run_scenario(name: &str, target: &str, seconds: &str) -> (Option<i32>, serde_json::Value) {
    if target == "redis-server" {
        assert!(
            std::process::Command::new("redis-server")
                .arg("--version")
                .output()
                .is_ok(),
            "these tests run the real redis-server: apt-get install redis-server (.ci/run does)"
        );
    }
    if target == "zookeeper" {
        assert!(
            Path::new("/usr/share/java/zookeeper.jar").is_file(),
            "these tests run Apache ZooKeeper: apt-get install zookeeper (.ci/run does)"
        );
    }
    if target == "etcd" {
        assert!(
            std::process::Command::new("etcd")
                .arg("--version")
                .output()
                .is_ok(),
            "these tests run etcd: apt-get install etcd-server (.ci/run does)"
        );
    }
    let results = results_dir(&format!("{name}-{target}"));
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios")
        .join(format!("{name}.toml"));
    let out = run(
        &[
            scenario.to_str().unwrap(),
            "--target",
            target,
            "--time-limit",
            seconds,
            "--seed",
            "1",
        ],
        &results,
    );
    let code = out.status.code();
    assert!(
        code == Some(0) || code == Some(1),
        "{name} on {target}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let r = results_json(&results);
    assert!(survivors(&results).is_empty(), "{:?}", survivors(&results));
    std::fs::remove_dir_all(results).unwrap();
    (code, r)
}

/// A lock holder paused past its lease or session, on `target`: without fencing
/// (`scenarios/<unfenced>.toml`) the resource takes both holders' writes — invalid, with an
/// interleaving or a fencing anomaly; with the token checked (`<fenced>.toml`) it rejects the
/// paused one's — valid, with writes rejected and the lock still changing hands.
pub fn assert_only_fencing_saves_a_paused_holder(unfenced: &str, fenced: &str, target: &str) {
    let (code, r) = run_scenario(unfenced, target, "8");
    assert_eq!(code, Some(1), "{r}");
    let kinds: Vec<&str> = analysis(&r, "lock-safety")["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.iter().any(|k| *k == "interleaved" || *k == "fencing"),
        "{kinds:?}"
    );
    let (code, r) = run_scenario(fenced, target, "8");
    assert_eq!(code, Some(0), "{r}");
    let counts = &analysis(&r, "lock-safety")["counts"];
    assert!(counts["writes"]["rejected"].as_u64().unwrap() > 0, "{r}");
    assert!(counts["acquires"]["ok"].as_u64().unwrap() >= 3, "{r}");
}

/// 12,000 simulated register operations over four keys, as JSON Lines: a history whose
/// timeline takes three pages.
pub fn long_register_history() -> Vec<u8> {
    let h = checkers::synth::register_history(&checkers::synth::Config {
        ops: 12_000,
        keys: 4,
        workers: 8,
        crash: 0.01,
        max_latency: 2_000,
        ..checkers::synth::Config::default()
    });
    let mut out = Vec::new();
    for e in &h.events {
        checkers::history::write_jsonl_line(e, &mut out);
    }
    out
}

/// Runs `faultline report` on the run folder `dir` (its history.jsonl and scenario.toml) and
/// returns the report.html it wrote.
pub fn report_of(dir: &Path) -> String {
    let out = faultline().arg("report").arg(dir).output().unwrap();
    assert_exit(&out, 0);
    std::fs::read_to_string(dir.join("report.html")).unwrap()
}

/// A script element, as a history may carry one in any string.
pub const SCRIPT: &str = "<script>alert(1)</script>";

/// A short register history with [`SCRIPT`] (and `"'&`) in its values, keys, errors, node
/// names and fault descriptions, as JSON Lines: a report must show them all as text.
pub fn hostile_history() -> Vec<String> {
    let v = serde_json::Value::from(SCRIPT);
    let odd = serde_json::Value::from("\"'&");
    vec![
        format!(
            r#"{{"time":1000000,"process":"nemesis","type":"invoke","f":"start-partition","value":{{"shape":{v},"grudge":{{}}}}}}"#
        ),
        format!(
            r#"{{"time":2000000,"process":0,"type":"invoke","f":"write","key":{v},"value":{v}}}"#
        ),
        format!(
            r#"{{"time":3000000,"process":0,"type":"ok","f":"write","key":{v},"value":{v},"node":{odd}}}"#
        ),
        format!(
            r#"{{"time":4000000,"process":1,"type":"invoke","f":"read","key":{v},"value":null}}"#
        ),
        format!(r#"{{"time":5000000,"process":1,"type":"ok","f":"read","key":{v},"value":{odd}}}"#),
        format!(
            r#"{{"time":6000000,"process":2,"type":"invoke","f":"write","key":{v},"value":{odd}}}"#
        ),
        format!(
            r#"{{"time":7000000,"process":2,"type":"info","f":"write","key":{v},"value":{odd},"error":{v}}}"#
        ),
        format!(r#"{{"time":8000000,"process":"nemesis","type":"invoke","f":{v},"value":{v}}}"#),
    ]
}
