//! Runs on hosts over SSH (issue 13), on a local bed: `faultline hosts up N` makes N network
//! namespaces, each with its own sshd, and the scenarios of `scenarios/` run on them with
//! `--hosts hosts.toml` and nothing else changed.
//!
//! Needs root, Debian's openssh-server and iptables (`.ci/run` installs them): without them
//! these tests fail, naming what is missing.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{assert_exit, faultline, results_dir, survivors, wait_for};

/// A bed of `n` hosts in a folder of its own, taken down when dropped. Its hosts keep their
/// runs under the bed's folder (`dir` in hosts.toml), so that what a run leaves on them can
/// be told from other tests' runs.
struct Bed {
    dir: PathBuf,
}

impl Bed {
    fn up(tag: &str, n: usize) -> Bed {
        assert!(
            Path::new("/usr/sbin/sshd").exists(),
            "these tests need Debian's openssh-server (/usr/sbin/sshd)"
        );
        let dir = results_dir(&format!("bed-{tag}"));
        let out = faultline()
            .args(["hosts", "up", &n.to_string()])
            .current_dir(&dir)
            .output()
            .unwrap();
        assert_exit(&out, 0);
        let bed = Bed { dir };
        let inventory = bed.dir.join("hosts.toml");
        let text = std::fs::read_to_string(&inventory).unwrap();
        let default = format!("dir = \"{}\"", faultline::hosts::inventory::DEFAULT_DIR);
        assert!(text.contains(&default), "{text}");
        let text = text.replace(&default, &format!("dir = \"{}\"", bed.host_dir().display()));
        std::fs::write(&inventory, text).unwrap();
        bed
    }

    fn inventory(&self) -> PathBuf {
        self.dir.join("hosts.toml")
    }

    /// Where the hosts keep runs.
    fn host_dir(&self) -> PathBuf {
        self.dir.join("on-hosts")
    }

    /// Runs `scenario` (a file of `scenarios/`) on the bed, with `extra` flags.
    fn run(&self, scenario: &str, extra: &[&str]) -> Output {
        faultline()
            .arg("run")
            .arg(scenario_file(scenario))
            .arg("--hosts")
            .arg(self.inventory())
            .args(extra)
            .args(["--quiet", "--results"])
            .arg(self.dir.join("results"))
            .output()
            .unwrap()
    }

    /// Every host's firewall rules that faultline added.
    fn rules(&self) -> Vec<String> {
        let list = Command::new("ip").args(["netns", "list"]).output().unwrap();
        let text = String::from_utf8_lossy(&list.stdout).into_owned();
        let mut rules = Vec::new();
        for ns in text.lines().filter_map(|l| l.split_whitespace().next()) {
            if !self.namespaces().contains(&ns.to_string()) {
                continue;
            }
            let out = Command::new("ip")
                .args(["netns", "exec", ns, "iptables", "-w", "-S"])
                .output()
                .unwrap();
            rules.extend(
                String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .filter(|l| l.contains("FAULTLINE") || l.contains("faultline"))
                    .map(|l| format!("{ns}: {l}")),
            );
        }
        rules
    }

    /// The namespaces of this bed (by the hosts' addresses in hosts.toml).
    fn namespaces(&self) -> Vec<String> {
        let inventory = faultline::hosts::inventory::Inventory::load(&self.inventory()).unwrap();
        let list = Command::new("ip").args(["netns", "list"]).output().unwrap();
        let text = String::from_utf8_lossy(&list.stdout).into_owned();
        text.lines()
            .filter_map(|l| l.split_whitespace().next())
            .filter(|ns| {
                let out = Command::new("ip")
                    .args(["netns", "exec", ns, "ip", "-o", "addr"])
                    .output()
                    .unwrap();
                let addrs = String::from_utf8_lossy(&out.stdout).into_owned();
                inventory
                    .hosts
                    .iter()
                    .any(|h| addrs.contains(&format!(" {}/", h.address)))
            })
            .map(String::from)
            .collect()
    }
}

impl Drop for Bed {
    fn drop(&mut self) {
        let _ = faultline()
            .args(["hosts", "down"])
            .current_dir(&self.dir)
            .output();
        // Its folder holds the binary deployed to every host and their runs (hundreds of MB):
        // kept only when the test failed, for what the failure names in it.
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn scenario_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios")
        .join(format!("{name}.toml"))
}

/// Runs `scenario` on a bed of its own (of 5 hosts, as the scenarios have 5 nodes) for
/// `seconds`, asserts its exit code, and that the node logs came back and nothing is left on
/// the hosts; returns the summary.
fn on_a_bed(scenario: &str, seconds: &str, code: i32) -> String {
    let bed = Bed::up(scenario, 5);
    let out = bed.run(scenario, &["--time-limit", seconds]);
    let summary = assert_exit(&out, code);
    let logs: Vec<PathBuf> = walk(&bed.dir.join("results"))
        .into_iter()
        .filter(|p| p.parent().is_some_and(|d| d.ends_with("nodes")))
        .collect();
    assert!(logs.iter().any(|p| p.ends_with("n5.log")), "{logs:?}");
    assert!(bed.rules().is_empty(), "{:?}", bed.rules());
    let left = survivors(&bed.host_dir());
    assert!(left.is_empty(), "{left:?}");
    summary
}

#[test]
fn the_correct_raft_stays_valid_on_hosts_under_partitions_kills_and_pauses() {
    let summary = on_a_bed("raft-kv-partition", "10", 0);
    assert!(summary.contains("valid"), "{summary}");
}

#[test]
fn etcd_741s_stale_reads_are_caught_on_hosts_with_firewall_partitions() {
    let summary = on_a_bed("raft-kv-stale-reads", "12", 1);
    assert!(summary.contains("linearizab"), "{summary}");
}

#[test]
fn kleppmanns_clock_jump_is_caught_on_hosts_with_clients_split_by_source_address() {
    let summary = on_a_bed("redlock-clock-jump", "14", 1);
    assert!(summary.contains("both wrote as holders"), "{summary}");
}

#[test]
fn debians_etcd_and_zookeeper_run_on_hosts_too() {
    assert!(
        Path::new("/usr/bin/etcd").exists() && Path::new("/usr/share/java/zookeeper.jar").exists(),
        "this test runs Debian's etcd-server and zookeeper (.ci/run installs them)"
    );
    let bed = Bed::up("real", 3);
    // etcd's members listen on their hosts' addresses and are partitioned by their firewalls.
    let out = bed.run("etcd-register-partition-kill", &["--time-limit", "8"]);
    assert_exit(&out, 0);
    // ZooKeeper's unfenced lock, its holder paused past its session on a host.
    let out = bed.run("zookeeper-lock-pause-unfenced", &["--time-limit", "8"]);
    let summary = assert_exit(&out, 1);
    assert!(summary.contains("interleaved"), "{summary}");
    assert!(bed.rules().is_empty(), "{:?}", bed.rules());
    assert!(survivors(&bed.host_dir()).is_empty());
}

#[test]
fn a_harness_killed_mid_run_leaves_no_node_and_no_rule() {
    let bed = Bed::up("sigkill", 3);
    let results = bed.dir.join("results");
    // A long run with a partition in place from the start.
    let mut harness = faultline()
        .arg("run")
        .args([
            "--target",
            "raft-kv",
            "--nodes",
            "3",
            "--nemesis",
            "partition",
        ])
        .args(["--interval", "1", "--time-limit", "60", "--hosts"])
        .arg(bed.inventory())
        .args(["--quiet", "--results"])
        .arg(&results)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let log = results.join("latest").join("faultline.log");
    let cut = wait_for(
        || std::fs::read_to_string(&log).is_ok_and(|l| l.contains("nemesis start-partition")),
        Duration::from_secs(40),
    );
    assert!(
        cut,
        "no partition within 40 s: {:?}",
        std::fs::read_to_string(&log)
    );
    assert!(
        !survivors(&bed.host_dir()).is_empty(),
        "the nodes run on the hosts"
    );
    harness.kill().unwrap();
    harness.wait().unwrap();
    // The agents see their sessions end and take their nodes and rules with them.
    let clean = wait_for(
        || survivors(&bed.host_dir()).is_empty() && bed.rules().is_empty(),
        Duration::from_secs(20),
    );
    assert!(
        clean,
        "left behind: {:?} {:?}",
        survivors(&bed.host_dir()),
        bed.rules()
    );
    // And the next run on the same hosts starts clean and ends clean.
    let out = bed.run("raft-kv-partition", &["--nodes", "3", "--time-limit", "4"]);
    assert_exit(&out, 0);
    assert!(bed.rules().is_empty(), "{:?}", bed.rules());
    assert!(survivors(&bed.host_dir()).is_empty());
}

#[test]
fn a_run_that_does_not_fit_its_hosts_is_refused_in_one_line() {
    let bed = Bed::up("refusals", 2);
    for (scenario, extra, says) in [
        (
            "raft-kv-partition",
            vec![],
            "the run has 5 nodes and the inventory lists 2 hosts",
        ),
        (
            "zab-register-partition-kill",
            vec!["--nodes", "2"],
            "listens on 127.0.0.1 only",
        ),
    ] {
        let out = bed.run(scenario, &extra);
        assert_exit(&out, 3);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(err.contains(says), "{scenario}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() && !p.is_symlink() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// The networks `--net netns` runs recorded (`<harness pid>-<n>` folders).
fn netns_records() -> Vec<(u32, PathBuf)> {
    std::fs::read_dir(faultline::hosts::netns::RECORDS)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    Some((name.split('-').next()?.parse().ok()?, e.path()))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The namespaces that exist now whose names start with one of `prefixes`.
fn namespaces_named(prefixes: &[String]) -> Vec<String> {
    let list = Command::new("ip").args(["netns", "list"]).output().unwrap();
    String::from_utf8_lossy(&list.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|ns| prefixes.iter().any(|p| ns.starts_with(p.as_str())))
        .map(String::from)
        .collect()
}

#[test]
fn net_netns_runs_give_the_verdicts_without_proxies_and_leave_nothing() {
    assert!(
        Path::new("/usr/sbin/iptables").exists(),
        "--net netns needs iptables (Debian's iptables)"
    );
    let results = results_dir("netns");
    let run = |scenario: &str, limit: &str| {
        faultline()
            .arg("run")
            .arg(scenario_file(scenario))
            .args([
                "--net",
                "netns",
                "--time-limit",
                limit,
                "--quiet",
                "--results",
            ])
            .arg(&results)
            .output()
            .unwrap()
    };
    assert_exit(&run("raft-kv-partition", "8"), 0);
    let summary = assert_exit(&run("redlock-clock-jump", "14"), 1);
    assert!(summary.contains("both wrote as holders"), "{summary}");
    // Only live harnesses have networks recorded: a dead one's would be a leak.
    let dead: Vec<(u32, PathBuf)> = netns_records()
        .into_iter()
        .filter(|(pid, _)| !Path::new(&format!("/proc/{pid}")).exists())
        .collect();
    assert!(dead.is_empty(), "{dead:?}");

    // A harness killed outright leaves its namespaces; the next netns run removes them.
    let mut harness = faultline()
        .args([
            "run",
            "--target",
            "raft-kv",
            "--nodes",
            "3",
            "--nemesis",
            "partition",
        ])
        .args([
            "--net",
            "netns",
            "--time-limit",
            "60",
            "--quiet",
            "--results",
        ])
        .arg(&results)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = harness.id();
    let mine = || -> Vec<String> {
        netns_records()
            .into_iter()
            .filter(|(p, _)| *p == pid)
            .filter_map(|(_, dir)| faultline::hosts::bed::state(&dir).ok()??.namespaces.into())
            .flatten()
            .collect()
    };
    assert!(
        wait_for(|| mine().len() == 3, Duration::from_secs(30)),
        "the run made no namespaces"
    );
    let mut spaces = mine();
    spaces.sort();
    std::thread::sleep(Duration::from_secs(2));
    harness.kill().unwrap();
    harness.wait().unwrap();
    let mut left = namespaces_named(&spaces);
    left.sort();
    assert_eq!(left, spaces, "a SIGKILLed harness cannot remove them");
    // Its nodes died with it all the same.
    assert!(wait_for(
        || survivors(&results).is_empty(),
        Duration::from_secs(10)
    ));
    assert_exit(&run("raft-kv-partition", "4"), 0);
    assert!(namespaces_named(&spaces).is_empty(), "left: {spaces:?}");
    assert!(netns_records().iter().all(|(p, _)| *p != pid));
}
