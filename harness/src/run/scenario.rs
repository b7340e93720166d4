//! Scenarios: what a test runs, from a TOML file, command-line flags, or both (flags win).
//!
//! Every field has a default, so `faultline run --target raft-kv` alone is a meaningful test.
//! The resolved scenario (seed included) is stored with the run, so that it can be repeated
//! exactly.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A scenario as written: every field optional.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ScenarioFile {
    pub name: Option<String>,
    pub target: Option<String>,
    pub workload: Option<String>,
    /// Faults: `partition`, `kill`, `pause` (empty: none).
    pub nemesis: Option<Vec<String>>,
    pub nodes: Option<usize>,
    /// Seconds of workload.
    pub time_limit: Option<f64>,
    /// Operations per second, all clients together.
    pub rate: Option<f64>,
    pub concurrency: Option<usize>,
    pub seed: Option<u64>,
    /// Seconds each fault lasts, and each quiet period between faults.
    pub interval: Option<f64>,
    /// Seconds between healing everything and the final reads.
    pub recovery: Option<f64>,
    /// Seconds a client waits for one operation.
    pub op_timeout: Option<f64>,
    /// Partition shapes to draw from (default: all).
    pub partition_shapes: Option<Vec<String>>,
    /// How a cut link behaves: `blackhole` or `reset`.
    pub partition_mode: Option<String>,
    /// Latency added to every link, in milliseconds.
    pub latency_ms: Option<f64>,
    /// Probability that a chunk on a link is delayed by a retransmission.
    pub loss: Option<f64>,
    /// Target switches that turn on a known bug (e.g. `stale-reads`).
    pub bugs: Option<Vec<String>>,
    /// Register workload: operations per key before moving to the next.
    pub ops_per_key: Option<u64>,
    /// Unique-ids workload: IDs asked for per request.
    pub batch_size: Option<u32>,
    /// Lock workload: `single`, `watchdog` or `redlock`.
    pub lock_algorithm: Option<String>,
    /// Lock workload: the lease, in milliseconds.
    pub lock_ttl_ms: Option<u64>,
    /// Lock workload: the resource rejects tokens older than one it accepted.
    pub fencing: Option<bool>,
    /// Lock workload: writes each holder makes.
    pub writes_per_hold: Option<u32>,
    /// A partition (a shape name) in place for the whole test, besides the nemesis's.
    pub standing_partition: Option<String>,
    /// The nodes kills, pauses, restarts and clock faults hit (default: drawn at random).
    pub fault_nodes: Option<Vec<String>>,
    /// How far clock faults move a clock, in milliseconds (negative: backwards).
    pub clock_ms: Option<i64>,
    /// How long a client pause lasts, in milliseconds.
    pub client_pause_ms: Option<u64>,
    /// Target settings to switch on (e.g. `aof-always`).
    pub options: Option<Vec<String>>,
    /// The verdict this scenario must give in the regression suite.
    pub expect: Option<String>,
    /// Seconds of workload under `faultline suite --ci` (instead of `time-limit`): long enough
    /// for the expected verdict, short enough for CI. Not a `run` flag.
    pub ci_time_limit: Option<f64>,
}

/// A resolved scenario: every field decided.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "kebab-case")]
pub struct Scenario {
    pub name: String,
    pub target: String,
    pub workload: String,
    pub nemesis: Vec<String>,
    pub nodes: usize,
    pub time_limit: f64,
    pub rate: f64,
    pub concurrency: usize,
    pub seed: u64,
    pub interval: f64,
    pub recovery: f64,
    pub op_timeout: f64,
    pub partition_shapes: Vec<String>,
    pub partition_mode: String,
    pub latency_ms: f64,
    pub loss: f64,
    pub bugs: Vec<String>,
    pub ops_per_key: u64,
    pub batch_size: u32,
    pub lock_algorithm: String,
    pub lock_ttl_ms: u64,
    pub fencing: bool,
    pub writes_per_hold: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub standing_partition: Option<String>,
    pub fault_nodes: Vec<String>,
    pub clock_ms: i64,
    pub client_pause_ms: u64,
    pub options: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expect: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ci_time_limit: Option<f64>,
}

impl ScenarioFile {
    /// Parses a scenario file; the error names the file, line and column.
    pub fn parse(file: &str, text: &str) -> Result<ScenarioFile, String> {
        toml::from_str(text).map_err(|e| {
            let (line, column) = match e.span() {
                Some(span) => line_column(text, span.start),
                None => (1, 1),
            };
            let message = e.message().replace('\n', " ");
            format!("{file}:{line}:{column}: {}", message.trim())
        })
    }

    /// Fields set here replace those of `base`.
    pub fn over(self, base: ScenarioFile) -> ScenarioFile {
        macro_rules! pick {
            ($($f:ident),*) => { ScenarioFile { $($f: self.$f.or(base.$f)),* } };
        }
        pick!(
            name,
            target,
            workload,
            nemesis,
            nodes,
            time_limit,
            rate,
            concurrency,
            seed,
            interval,
            recovery,
            op_timeout,
            partition_shapes,
            partition_mode,
            latency_ms,
            loss,
            bugs,
            ops_per_key,
            batch_size,
            lock_algorithm,
            lock_ttl_ms,
            fencing,
            writes_per_hold,
            standing_partition,
            fault_nodes,
            clock_ms,
            client_pause_ms,
            options,
            expect,
            ci_time_limit
        )
    }

    /// These settings over the target's own defaults (see `Descriptor::defaults`); an unknown
    /// target is left for validation to name.
    pub fn over_target_defaults(self) -> Result<ScenarioFile, String> {
        let target = self.target.clone().unwrap_or_else(|| "raft-kv".into());
        match targets::descriptor::find(&target) {
            Some(d) if !d.defaults.trim().is_empty() => {
                let defaults =
                    ScenarioFile::parse(&format!("the defaults of target {target}"), d.defaults)?;
                Ok(self.over(defaults))
            }
            _ => Ok(self),
        }
    }

    /// Fills in defaults. `fresh_seed` is used when no seed was given.
    pub fn resolve(self, fresh_seed: u64) -> Scenario {
        let target = self.target.unwrap_or_else(|| "raft-kv".into());
        let workload = self.workload.unwrap_or_else(|| "register".into());
        let nemesis = self
            .nemesis
            .unwrap_or_else(|| vec!["partition".into(), "kill".into(), "pause".into()]);
        let name = self.name.unwrap_or_else(|| {
            let faults = if nemesis.is_empty() {
                "none".to_string()
            } else {
                nemesis.join("-")
            };
            format!("{target}-{workload}-{faults}")
        });
        Scenario {
            name,
            target,
            workload,
            nemesis,
            nodes: self.nodes.unwrap_or(5),
            time_limit: self.time_limit.unwrap_or(30.0),
            rate: self.rate.unwrap_or(100.0),
            concurrency: self.concurrency.unwrap_or(10),
            seed: self.seed.unwrap_or(fresh_seed),
            interval: self.interval.unwrap_or(5.0),
            recovery: self.recovery.unwrap_or(3.0),
            op_timeout: self.op_timeout.unwrap_or(1.0),
            partition_shapes: self.partition_shapes.unwrap_or_default(),
            partition_mode: self.partition_mode.unwrap_or_else(|| "blackhole".into()),
            latency_ms: self.latency_ms.unwrap_or(0.0),
            loss: self.loss.unwrap_or(0.0),
            bugs: self.bugs.unwrap_or_default(),
            ops_per_key: self.ops_per_key.unwrap_or(200),
            batch_size: self.batch_size.unwrap_or(1),
            lock_algorithm: self.lock_algorithm.unwrap_or_else(|| "single".into()),
            lock_ttl_ms: self.lock_ttl_ms.unwrap_or(1000),
            fencing: self.fencing.unwrap_or(false),
            writes_per_hold: self.writes_per_hold.unwrap_or(3),
            standing_partition: self.standing_partition,
            fault_nodes: self.fault_nodes.unwrap_or_default(),
            clock_ms: self.clock_ms.unwrap_or(10_000),
            client_pause_ms: self.client_pause_ms.unwrap_or(2_000),
            options: self.options.unwrap_or_default(),
            expect: self.expect,
            ci_time_limit: self.ci_time_limit,
        }
    }
}

impl Scenario {
    pub fn time_limit(&self) -> Duration {
        Duration::from_secs_f64(self.time_limit)
    }

    pub fn interval(&self) -> Duration {
        Duration::from_secs_f64(self.interval)
    }

    pub fn recovery(&self) -> Duration {
        Duration::from_secs_f64(self.recovery)
    }

    pub fn op_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.op_timeout)
    }

    /// The scenario as TOML, to store with the run.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }

    /// The command that repeats this run: flags when every setting has one, else the scenario
    /// file stored with the run (`stored`), which holds the seed.
    pub fn command(&self, stored: &Path) -> String {
        if self.has_file_only_settings() {
            return format!("faultline run {}", stored.display());
        }
        let mut c = format!(
            "faultline run --target {} --workload {} --nemesis {} --nodes {} --time-limit {} --rate {} --concurrency {} --interval {} --seed {}",
            self.target,
            self.workload,
            if self.nemesis.is_empty() {
                "none".to_string()
            } else {
                self.nemesis.join(",")
            },
            self.nodes,
            self.time_limit,
            self.rate,
            self.concurrency,
            self.interval,
            self.seed
        );
        for bug in &self.bugs {
            c.push_str(&format!(" --bug {bug}"));
        }
        for option in &self.options {
            c.push_str(&format!(" --option {option}"));
        }
        if self.workload == "lock" {
            c.push_str(&format!(
                " --lock-algorithm {} --lock-ttl-ms {}{}",
                self.lock_algorithm,
                self.lock_ttl_ms,
                if self.fencing { " --fencing" } else { "" }
            ));
        }
        c
    }

    /// Whether a setting that only a scenario file can give differs from its default (the
    /// target's, if it has one).
    fn has_file_only_settings(&self) -> bool {
        let d = ScenarioFile {
            target: Some(self.target.clone()),
            ..ScenarioFile::default()
        }
        .over_target_defaults()
        .unwrap_or_default()
        .resolve(self.seed);
        self.recovery != d.recovery
            || self.op_timeout != d.op_timeout
            || self.partition_shapes != d.partition_shapes
            || self.partition_mode != d.partition_mode
            || self.latency_ms != d.latency_ms
            || self.loss != d.loss
            || self.ops_per_key != d.ops_per_key
            || self.batch_size != d.batch_size
            || self.writes_per_hold != d.writes_per_hold
            || self.standing_partition != d.standing_partition
            || self.fault_nodes != d.fault_nodes
            || self.clock_ms != d.clock_ms
            || self.client_pause_ms != d.client_pause_ms
    }
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_and_flags_merge_with_flags_winning() {
        let file = ScenarioFile::parse(
            "s.toml",
            "name = \"raft\"\nnodes = 3\nnemesis = [\"partition\"]\nseed = 9\n",
        )
        .unwrap();
        let flags = ScenarioFile {
            nodes: Some(5),
            ..ScenarioFile::default()
        };
        let s = flags.over(file).resolve(1);
        assert_eq!((s.name.as_str(), s.nodes, s.seed), ("raft", 5, 9));
        assert_eq!(s.nemesis, vec!["partition"]);
        assert_eq!(s.target, "raft-kv");
    }

    #[test]
    fn defaults_make_a_meaningful_test_and_the_seed_is_recorded() {
        let s = ScenarioFile::default().resolve(1234);
        assert_eq!(s.seed, 1234);
        assert_eq!(s.name, "raft-kv-register-partition-kill-pause");
        assert!(s.to_toml().contains("seed = 1234"));
        let stored = Path::new("results/x/scenario.toml");
        assert!(s.command(stored).contains("--seed 1234"));
        let file_only = ScenarioFile {
            clock_ms: Some(5000),
            ..ScenarioFile::default()
        };
        assert_eq!(
            file_only.resolve(1).command(stored),
            "faultline run results/x/scenario.toml"
        );
    }

    #[test]
    fn every_targets_defaults_make_a_valid_scenario() {
        for d in targets::descriptor::ALL {
            let s = ScenarioFile {
                target: Some(d.name.into()),
                ..ScenarioFile::default()
            }
            .over_target_defaults()
            .unwrap()
            .resolve(1);
            crate::run::runner::validate(&s).unwrap();
            assert!(d.workloads.contains(&s.workload.as_str()));
            assert!(
                s.command(Path::new("x"))
                    .starts_with("faultline run --target")
            );
        }
        let redlock = ScenarioFile {
            target: Some("redlock".into()),
            nodes: Some(7),
            ..ScenarioFile::default()
        }
        .over_target_defaults()
        .unwrap()
        .resolve(1);
        assert_eq!(
            (redlock.nodes, redlock.lock_algorithm.as_str()),
            (7, "redlock")
        );
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = ScenarioFile::parse("bad.toml", "nodes = 3\nnodez = 4\n").unwrap_err();
        assert!(e.starts_with("bad.toml:2:1:"), "{e}");
        assert!(e.contains("nodez"), "{e}");
        let e = ScenarioFile::parse("bad.toml", "nodes = \"five\"\n").unwrap_err();
        assert!(e.starts_with("bad.toml:1:9:"), "{e}");
        let e = ScenarioFile::parse("bad.toml", "nodes = [\n").unwrap_err();
        assert!(e.starts_with("bad.toml:"), "{e}");
        assert!(!e.contains('\n'));
    }
}
