//! `faultline suite` end to end over a temporary catalogue of tiny scenarios: three-node raft-kv
//! clusters without faults, a few seconds each.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{assert_exit, faultline, results_dir, survivors};

/// A quiet raft-kv scenario: valid in any run. `time-limit` is long on purpose: the suite runs
/// it with `--ci`, for its `ci-time-limit`.
fn quiet(name: &str, expect: &str, extra: &str) -> String {
    format!(
        "name = \"{name}\"\ntarget = \"raft-kv\"\nnemesis = []\nnodes = 3\nconcurrency = 3\n\
         rate = 30\ntime-limit = 60\nci-time-limit = 2\nrecovery = 0.5\n{expect}{extra}"
    )
}

/// A catalogue folder holding `files`.
fn catalogue(tag: &str, files: &[(&str, String)]) -> (PathBuf, PathBuf) {
    let root = results_dir(&format!("suite-{tag}"));
    let dir = root.join("scenarios");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    (root, dir)
}

fn suite(dir: &Path, root: &Path, args: &[&str]) -> Output {
    faultline()
        .arg("suite")
        .arg(dir)
        .args(["--quiet", "--results"])
        .arg(root.join("results"))
        .args(args)
        .output()
        .expect("faultline runs")
}

fn testcases(xml: &str) -> Vec<&str> {
    xml.split("<testcase ").skip(1).collect()
}

#[test]
fn a_wrong_expectation_fails_the_suite_and_the_junit_xml_says_what_differed() {
    let (root, dir) = catalogue(
        "wrong",
        &[
            (
                "b-wrong.toml",
                quiet("quiet-wrong", "expect = \"invalid\"\n", ""),
            ),
            (
                "a-right.toml",
                quiet("quiet-right", "expect = \"valid\"\n", ""),
            ),
        ],
    );
    let junit = root.join("out").join("junit.xml");
    let out = suite(&dir, &root, &["--ci", "--junit", junit.to_str().unwrap()]);
    let stdout = assert_exit(&out, 1);
    let xml = std::fs::read_to_string(&junit).unwrap();
    let cases = testcases(&xml);
    assert_eq!(cases.len(), 2, "{xml}");
    // Sorted by file name; classname from the target.
    assert!(cases[0].starts_with("classname=\"faultline.raft-kv\" name=\"quiet-right #1 (seed "));
    assert!(!cases[0].contains("<failure"), "{xml}");
    assert!(cases[1].contains("name=\"quiet-wrong #1 (seed "), "{xml}");
    assert!(
        cases[1].contains("<failure message=\"expected invalid, got valid\""),
        "{xml}"
    );
    let failure = cases[1].split("<failure").nth(1).unwrap();
    let results = root.join("results").join("quiet-wrong");
    assert!(
        failure.contains(&format!("results: {}", results.display())),
        "{failure}"
    );
    assert!(
        xml.contains("tests=\"2\" failures=\"1\" errors=\"0\""),
        "{xml}"
    );
    // --ci ran each for its ci-time-limit (2 s), not its time-limit (60 s).
    for case in &cases {
        let time: f64 = case
            .split("time=\"")
            .nth(1)
            .and_then(|t| t.split('"').next())
            .unwrap()
            .parse()
            .unwrap();
        assert!(time < 30.0, "{case}");
    }
    // The table: each scenario, what it expected and what it got.
    for needle in ["quiet-right", "quiet-wrong", "valid 1/1", "FAIL", "pass"] {
        assert!(stdout.contains(needle), "{needle}: {stdout}");
    }
    assert!(stdout.contains("expected invalid, got valid"), "{stdout}");
    assert!(survivors(&root).is_empty(), "{:?}", survivors(&root));
    std::fs::remove_dir_all(root).unwrap();
}

#[test]
fn a_filter_selects_scenarios_and_runs_repeat_with_the_next_seeds_two_at_a_time() {
    let (root, dir) = catalogue(
        "filter",
        &[
            (
                "raft-a.toml",
                quiet("raft-a", "expect = \"valid\"\n", "seed = 5\n"),
            ),
            ("raft-b.toml", quiet("raft-b", "", "seed = 5\n")),
            // Filtered out, so never run: its expectation would fail the suite.
            ("other.toml", quiet("other", "expect = \"invalid\"\n", "")),
        ],
    );
    let junit = root.join("junit.xml");
    let out = suite(
        &dir,
        &root,
        &[
            "--ci",
            "--filter",
            "raft-?",
            "--runs",
            "2",
            // Two at a time: the XML still lists them in catalogue order.
            "--jobs",
            "2",
            "--junit",
            junit.to_str().unwrap(),
        ],
    );
    let stdout = assert_exit(&out, 0);
    let xml = std::fs::read_to_string(&junit).unwrap();
    let names: Vec<&str> = testcases(&xml)
        .iter()
        .map(|c| {
            c.split(" name=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
        })
        .collect();
    assert_eq!(
        names,
        [
            "raft-a #1 (seed 5)",
            "raft-a #2 (seed 6)",
            "raft-b #1 (seed 5)",
            "raft-b #2 (seed 6)"
        ]
    );
    // raft-b expects nothing: reported, never failing.
    assert!(xml.contains("verdict: valid (no expectation)"), "{xml}");
    assert!(stdout.contains("no expectation"), "{stdout}");
    assert!(!stdout.contains("other"), "{stdout}");
    assert!(!root.join("results").join("other").exists());
    std::fs::remove_dir_all(root).unwrap();
}

/// Bad input stops the suite before anything runs: exit 3 and one line naming the problem.
#[test]
fn bad_input_is_one_line_and_exit_3_with_nothing_run() {
    /// A catalogue (tag, files), suite flags, and what the one line must say.
    type Bad<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a [&'a str], &'a str);
    let cases: [Bad<'_>; 5] = [
        (
            "malformed",
            &[
                ("good.toml", "nodes = 3\n"),
                ("bad.toml", "nodes = 3\ntime-limit = [\n"),
            ],
            &[],
            "bad.toml:2:",
        ),
        (
            "expect",
            &[("bad.toml", "nodes = 3\n\nexpect = \"maybe\"\n")],
            &[],
            "bad.toml:3: expect must be \"valid\" or \"invalid\", found \"maybe\"",
        ),
        (
            "target",
            &[("bad.toml", "target = \"etcd-9\"\n")],
            &[],
            "bad.toml: unknown target `etcd-9`",
        ),
        ("empty", &[], &[], "no scenario files"),
        (
            "nomatch",
            &[("good.toml", "nodes = 3\n")],
            &["--filter", "zzz"],
            "no scenario in",
        ),
    ];
    for (tag, files, args, message) in cases {
        let files: Vec<(&str, String)> = files.iter().map(|(n, t)| (*n, t.to_string())).collect();
        let (root, dir) = catalogue(&format!("bad-{tag}"), &files);
        let out = suite(&dir, &root, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{tag}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{tag}: {stderr}");
        assert!(stderr.contains(message), "{tag}: {stderr}");
        assert!(!root.join("results").exists(), "{tag}: something ran");
        std::fs::remove_dir_all(root).unwrap();
    }
    let out = faultline()
        .args(["suite", "/nonexistent/scenarios", "--quiet"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr.starts_with("faultline: error: /nonexistent/scenarios: cannot read:"),
        "{stderr}"
    );
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
}
