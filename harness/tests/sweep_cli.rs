//! `faultline sweep` end to end: a quiet three-node raft-kv scenario of a few seconds over two
//! values of one parameter, and parameters it must refuse.

mod common;

use std::path::{Path, PathBuf};

use common::{assert_exit, faultline, results_dir, survivors};

fn scenario(root: &Path) -> PathBuf {
    let path = root.join("quiet.toml");
    std::fs::write(
        &path,
        "name = \"quiet\"\ntarget = \"raft-kv\"\nnemesis = []\nnodes = 3\nconcurrency = 3\n\
         rate = 30\ntime-limit = 2\nrecovery = 0.5\n",
    )
    .unwrap();
    path
}

/// The one folder under `dir`.
fn only_child(dir: &Path) -> PathBuf {
    let children: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(children.len(), 1, "{children:?}");
    children.into_iter().next().unwrap()
}

#[test]
fn a_sweep_runs_every_cell_and_writes_csv_json_svg_and_an_index() {
    let root = results_dir("sweep");
    let file = scenario(&root);
    let results = root.join("results");
    let out = faultline()
        .arg("sweep")
        .arg(&file)
        .args(["--param", "interval=1,2", "--runs", "1", "--seed", "3"])
        .args(["--quiet", "--results"])
        .arg(&results)
        .output()
        .unwrap();
    let stdout = assert_exit(&out, 0);
    for needle in ["interval", "anomaly rate", "availability", "0% (0/1)"] {
        assert!(stdout.contains(needle), "{needle}: {stdout}");
    }
    let sweep = only_child(&results.join("sweeps").join("quiet"));
    let csv = std::fs::read_to_string(sweep.join("sweep.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[0].starts_with("interval,runs,invalid,unknown,errors,anomaly_rate,availability"));
    assert!(lines[1].starts_with("1,1,0,0,0,0.0000,"), "{csv}");
    assert!(lines[2].starts_with("2,1,0,0,0,0.0000,"), "{csv}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sweep.join("sweep.json")).unwrap()).unwrap();
    let cells = json["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 2);
    assert_eq!(json["params"][0]["name"], "interval");
    for (cell, interval) in cells.iter().zip([1, 2]) {
        assert_eq!(cell["params"]["interval"], interval);
        assert_eq!(cell["anomaly_rate"], 0.0);
        let run = &cell["run_results"][0];
        assert_eq!(run["seed"], 3);
        assert_eq!(run["valid"], true);
        // Each run is a normal run, stored under the results folder with its scenario.
        let dir = PathBuf::from(run["dir"].as_str().unwrap());
        assert!(dir.starts_with(results.join("quiet")), "{}", dir.display());
        let stored = std::fs::read_to_string(dir.join("scenario.toml")).unwrap();
        assert!(
            stored.contains(&format!("interval = {interval}.0")),
            "{stored}"
        );
        assert!(dir.join("results.json").is_file());
    }
    let svg = std::fs::read_to_string(sweep.join("sweep.svg")).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("<polyline"),
        "{svg}"
    );
    let index = std::fs::read_to_string(sweep.join("index.html")).unwrap();
    assert!(index.contains("sweep.svg") && index.contains("sweep.csv"));
    // Links to the runs' folders, relative to the sweep's.
    for cell in cells {
        let dir = PathBuf::from(cell["run_results"][0]["dir"].as_str().unwrap());
        let name = dir.file_name().unwrap().to_str().unwrap();
        let link = format!("href=\"../../../quiet/{name}/\"");
        assert!(index.contains(&link), "{link}: {index}");
        assert!(sweep.join("../../../quiet").join(name).is_dir());
    }
    assert!(survivors(&root).is_empty(), "{:?}", survivors(&root));
    std::fs::remove_dir_all(root).unwrap();
}

#[test]
fn bad_parameters_are_one_line_and_exit_3_with_nothing_run() {
    let root = results_dir("sweep-bad");
    let file = scenario(&root);
    let results = root.join("results");
    for (params, message) in [
        (
            &["--param", "nodez=3"][..],
            "--param nodez: unknown parameter",
        ),
        (&["--param", "nodes=three"], "cannot use `three` as nodes"),
        (&["--param", "nodes=0"], "nodes=0: nodes must be positive"),
        (&["--param", "interval"], "expected NAME=v1,v2"),
        (
            &["--param", "clock.jump=1s", "--param", "clock-ms=5"],
            "clock-ms is already swept",
        ),
    ] {
        let out = faultline()
            .arg("sweep")
            .arg(&file)
            .args(params)
            .args(["--runs", "1", "--quiet", "--results"])
            .arg(&results)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{params:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{params:?}: {stderr}");
        assert!(stderr.contains(message), "{params:?}: {stderr}");
        assert!(!results.exists(), "{params:?}: something ran");
    }
    std::fs::remove_dir_all(root).unwrap();
}
