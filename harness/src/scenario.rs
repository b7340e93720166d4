//! Scenarios: what a test runs, from a TOML file, command-line flags, or both (flags win).
//!
//! Every field has a default, so `faultline run --target raft-kv` alone is a meaningful test.
//! The resolved scenario (seed included) is stored with the run, so that it can be repeated
//! exactly.
//!
//! The fields every scenario has are this module's; a workload's own fields (`lock-ttl-ms`,
//! `batch-size`, …) sit beside them in the same flat file and belong to the workload
//! (`workloads::settings`): they are carried as a TOML table, their types checked against
//! the workload that owns them when the file is read, and their values when the scenario is
//! validated.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use workloads::{Workload, registry};

/// The fields every scenario has, as written: every one optional.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "kebab-case")]
pub struct Common {
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
    /// An inventory (`hosts.toml`): run each node on a host of its own, over SSH, instead of
    /// on this machine (docs/hosts.md). A relative path is read from the working directory.
    pub hosts: Option<String>,
    /// How the nodes of a run on this machine are networked: `proxy` (the default: through
    /// the harness's proxies, or straight when no fault cuts or shapes a link) or `netns`
    /// (each in a network namespace of its own, partitions as firewall rules, no proxy).
    pub net: Option<String>,
    /// On hosts: bring each node's data directory back into the run folder (`data/<node>/`)
    /// after the run, beside its log.
    pub fetch_data: Option<bool>,
    /// The verdict this scenario must give in the regression suite.
    pub expect: Option<String>,
    /// Seconds of workload under `faultline suite --ci` (instead of `time-limit`): long enough
    /// for the expected verdict, short enough for CI. Not a `run` flag.
    pub ci_time_limit: Option<f64>,
}

/// A scenario as written: the common fields, and the workload's own.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ScenarioFile {
    pub common: Common,
    /// The workload's own fields, by their kebab-case names.
    pub settings: toml::Table,
}

/// A resolved scenario: every field decided. Stored as scenario.toml, and in results.json
/// (read back by the report, the suite and `faultline serve`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub standing_partition: Option<String>,
    pub fault_nodes: Vec<String>,
    pub clock_ms: i64,
    pub client_pause_ms: u64,
    pub options: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosts: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub net: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fetch_data: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expect: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ci_time_limit: Option<f64>,
    /// The workload's own fields, every one decided (its defaults filled in).
    #[serde(flatten)]
    pub settings: toml::Table,
}

/// The line (from 1) where `key` is set, for messages; 1 if not found.
pub fn key_line(text: &str, key: &str) -> usize {
    text.lines()
        .position(|l| {
            l.trim_start()
                .strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map_or(1, |i| i + 1)
}

/// The fields every scenario has, as a scenario file spells them.
pub fn common_fields() -> &'static [&'static str] {
    workloads::settings::field_names::<Common>()
}

/// Every field a scenario file may hold: the common ones and every workload's.
pub fn all_fields() -> Vec<&'static str> {
    let mut fields = common_fields().to_vec();
    for field in registry::ALL.iter().flat_map(|w| w.fields()) {
        if !fields.contains(field) {
            fields.push(field);
        }
    }
    fields
}

impl ScenarioFile {
    /// Parses a scenario file; the error names the file, line and column.
    pub fn parse(file: &str, text: &str) -> Result<ScenarioFile, String> {
        use workloads::settings::located;
        let table: toml::Table = toml::from_str(text).map_err(|e| located(file, text, &e))?;
        let common: Common = toml::from_str(text).map_err(|e| located(file, text, &e))?;
        let mut settings = toml::Table::new();
        let mut owners: Vec<&dyn Workload> = Vec::new();
        for (key, value) in table {
            if common_fields().contains(&key.as_str()) {
                continue;
            }
            let Some(owner) = registry::owner(&key) else {
                let line = key_line(text, &key);
                let indent = text
                    .lines()
                    .nth(line - 1)
                    .map_or(0, |l| l.chars().take_while(|c| c.is_whitespace()).count());
                return Err(format!(
                    "{file}:{line}:{}: unknown field `{key}`, expected one of {}",
                    indent + 1,
                    all_fields()
                        .iter()
                        .map(|f| format!("`{f}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            };
            if !owners.iter().any(|o| o.name() == owner.name()) {
                owners.push(owner);
            }
            settings.insert(key, value);
        }
        for owner in owners {
            owner.check_text(file, text)?;
        }
        Ok(ScenarioFile { common, settings })
    }

    /// Fields set here replace those of `base`.
    pub fn over(self, base: ScenarioFile) -> ScenarioFile {
        let mut settings = base.settings;
        settings.extend(self.settings);
        ScenarioFile {
            common: self.common.over(base.common),
            settings,
        }
    }

    /// These settings over the target's own defaults (see `Descriptor::defaults`), which
    /// describe one scenario of one workload: they do not apply to a run of another workload
    /// (`--target zookeeper --workload register` is a register run, without the lock's
    /// settings and faults). An unknown target is left for validation to name.
    pub fn over_target_defaults(self) -> Result<ScenarioFile, String> {
        let target = self
            .common
            .target
            .clone()
            .unwrap_or_else(|| DEFAULT_TARGET.into());
        match targets::descriptor::find(&target) {
            Some(d) if !d.defaults.trim().is_empty() => {
                let defaults =
                    ScenarioFile::parse(&format!("the defaults of target {target}"), d.defaults)?;
                match (&self.common.workload, &defaults.common.workload) {
                    (Some(mine), Some(theirs)) if mine != theirs => Ok(self),
                    _ => Ok(self.over(defaults)),
                }
            }
            _ => Ok(self),
        }
    }

    /// Fills in defaults (the workload's, for its own fields). `fresh_seed` is used when no
    /// seed was given.
    pub fn resolve(self, fresh_seed: u64) -> Scenario {
        let workload = self
            .common
            .workload
            .clone()
            .unwrap_or_else(|| registry::default().name().into());
        // An unknown workload keeps the fields as given, for validation to name.
        let mut settings = registry::find(&workload)
            .map(|w| w.defaults())
            .unwrap_or_default();
        settings.extend(self.settings);
        self.common.resolve(workload, settings, fresh_seed)
    }
}

impl From<Common> for ScenarioFile {
    fn from(common: Common) -> ScenarioFile {
        ScenarioFile {
            common,
            settings: toml::Table::new(),
        }
    }
}

/// The target a scenario runs when it names none.
pub const DEFAULT_TARGET: &str = "raft-kv";

impl Common {
    /// Fields set here replace those of `base`.
    fn over(self, base: Common) -> Common {
        macro_rules! pick {
            ($($f:ident),*) => { Common { $($f: self.$f.or(base.$f)),* } };
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
            standing_partition,
            fault_nodes,
            clock_ms,
            client_pause_ms,
            options,
            hosts,
            net,
            fetch_data,
            expect,
            ci_time_limit
        )
    }

    fn resolve(self, workload: String, settings: toml::Table, fresh_seed: u64) -> Scenario {
        let target = self.target.unwrap_or_else(|| DEFAULT_TARGET.into());
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
            standing_partition: self.standing_partition,
            fault_nodes: self.fault_nodes.unwrap_or_default(),
            clock_ms: self.clock_ms.unwrap_or(10_000),
            client_pause_ms: self.client_pause_ms.unwrap_or(2_000),
            options: self.options.unwrap_or_default(),
            hosts: self.hosts,
            net: self.net,
            fetch_data: self.fetch_data.unwrap_or(false),
            expect: self.expect,
            ci_time_limit: self.ci_time_limit,
            settings,
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
        if let Some(hosts) = &self.hosts {
            c.push_str(&format!(" --hosts {hosts}"));
        }
        if let Some(net) = &self.net {
            c.push_str(&format!(" --net {net}"));
        }
        if self.fetch_data {
            c.push_str(" --fetch-data");
        }
        // The workload's fields that have flags, as flags.
        let flags = registry::find(&self.workload).map_or(&[][..], |w| w.flags());
        for flag in flags {
            match self.settings.get(*flag) {
                Some(toml::Value::Boolean(true)) => c.push_str(&format!(" --{flag}")),
                Some(toml::Value::Boolean(false)) | None => {}
                Some(toml::Value::String(v)) => c.push_str(&format!(" --{flag} {v}")),
                Some(v) => c.push_str(&format!(" --{flag} {v}")),
            }
        }
        c
    }

    /// The workload this scenario runs, if faultline knows it.
    pub fn workload(&self) -> Option<&'static dyn Workload> {
        registry::find(&self.workload)
    }

    /// Whether a setting that only a scenario file can give differs from its default (the
    /// target's, if it has one).
    fn has_file_only_settings(&self) -> bool {
        let d = ScenarioFile {
            common: Common {
                target: Some(self.target.clone()),
                workload: Some(self.workload.clone()),
                ..Common::default()
            },
            ..ScenarioFile::default()
        }
        .over_target_defaults()
        .unwrap_or_default()
        .resolve(self.seed);
        let flags = self.workload().map_or(&[][..], |w| w.flags());
        let unflagged = |s: &toml::Table| -> toml::Table {
            s.iter()
                .filter(|(k, _)| !flags.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        self.recovery != d.recovery
            || self.op_timeout != d.op_timeout
            || self.partition_shapes != d.partition_shapes
            || self.partition_mode != d.partition_mode
            || self.latency_ms != d.latency_ms
            || self.loss != d.loss
            || unflagged(&self.settings) != unflagged(&d.settings)
            || self.standing_partition != d.standing_partition
            || self.fault_nodes != d.fault_nodes
            || self.clock_ms != d.clock_ms
            || self.client_pause_ms != d.client_pause_ms
    }
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
        let flags = ScenarioFile::from(Common {
            nodes: Some(5),
            ..Common::default()
        });
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
        assert!(
            s.to_toml().contains("ops-per-key = 200"),
            "the workload's defaults"
        );
        let stored = Path::new("results/x/scenario.toml");
        assert!(s.command(stored).contains("--seed 1234"));
        let file_only = ScenarioFile::from(Common {
            clock_ms: Some(5000),
            ..Common::default()
        });
        assert_eq!(
            file_only.resolve(1).command(stored),
            "faultline run results/x/scenario.toml"
        );
        let workload_file_only = ScenarioFile::parse("s.toml", "ops-per-key = 7\n").unwrap();
        assert_eq!(
            workload_file_only.resolve(1).command(stored),
            "faultline run results/x/scenario.toml"
        );
    }

    #[test]
    fn a_workloads_fields_are_its_own() {
        let text = "workload = \"lock\"\nlock-algorithm = \"redlock\"\nfencing = true\n";
        let s = ScenarioFile::parse("s.toml", text).unwrap().resolve(1);
        assert_eq!(s.settings["lock-algorithm"].as_str(), Some("redlock"));
        assert_eq!(s.settings["lock-ttl-ms"].as_integer(), Some(1000));
        assert!(!s.settings.contains_key("batch-size"));
        let command = s.command(Path::new("x"));
        assert!(
            command.ends_with("--lock-algorithm redlock --lock-ttl-ms 1000 --fencing"),
            "{command}"
        );
        // Stored and read back: the same scenario.
        let again = ScenarioFile::parse("x", &s.to_toml()).unwrap().resolve(2);
        assert_eq!(again, s);
        // Another workload's field is refused when the scenario is validated.
        let mixed = ScenarioFile::parse(
            "s.toml",
            "target = \"redis-lock\"\nworkload = \"lock\"\nbatch-size = 3\n",
        )
        .unwrap()
        .resolve(1);
        let Err(e) = crate::run::runner::validate(&mixed) else {
            panic!("a lock scenario with a batch-size validated");
        };
        assert!(
            e.starts_with("workload lock has no setting `batch-size`"),
            "{e}"
        );
    }

    /// results.schema.json requires each workload's own fields in its scenarios: exactly the
    /// fields the registry gives it.
    #[test]
    fn the_results_schema_knows_every_workloads_fields() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/results.schema.json");
        let schema: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let rules = schema["$defs"]["Scenario"]["allOf"].as_array().unwrap();
        assert_eq!(rules.len(), registry::ALL.len());
        for w in registry::ALL {
            let rule = rules
                .iter()
                .find(|r| r["if"]["properties"]["workload"]["const"] == w.name())
                .unwrap_or_else(|| panic!("no rule for workload {}", w.name()));
            let required: Vec<&str> = rule["then"]["required"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|f| f.as_str())
                .collect();
            assert_eq!(required, w.fields(), "workload {}", w.name());
        }
    }

    #[test]
    fn every_targets_defaults_make_a_valid_scenario() {
        for d in targets::descriptor::ALL {
            let s = ScenarioFile::from(Common {
                target: Some(d.name.into()),
                ..Common::default()
            })
            .over_target_defaults()
            .unwrap()
            .resolve(1);
            crate::run::runner::validate(&s).unwrap();
            assert!(s.workload().unwrap().protocols().contains(&d.protocol));
            assert!(
                s.command(Path::new("x"))
                    .starts_with("faultline run --target")
            );
        }
        let redlock = ScenarioFile::from(Common {
            target: Some("redlock".into()),
            nodes: Some(7),
            ..Common::default()
        })
        .over_target_defaults()
        .unwrap()
        .resolve(1);
        assert_eq!(
            (redlock.nodes, redlock.settings["lock-algorithm"].as_str()),
            (7, Some("redlock"))
        );
        // Another workload on the same target: the defaults (a lock scenario) do not apply.
        let register = ScenarioFile::from(Common {
            target: Some("zookeeper".into()),
            workload: Some("register".into()),
            ..Common::default()
        })
        .over_target_defaults()
        .unwrap()
        .resolve(1);
        crate::run::runner::validate(&register).unwrap();
        assert!(!register.settings.contains_key("lock-algorithm"));
    }

    #[test]
    fn key_lines_are_found() {
        let text = "# expect = \"x\"\nname = \"a\"\n  expect   = \"sure\"\n";
        assert_eq!(key_line(text, "expect"), 3);
        assert_eq!(key_line(text, "name"), 2);
        assert_eq!(key_line(text, "nodes"), 1);
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
        // A workload's field of the wrong type, located too.
        let e = ScenarioFile::parse("bad.toml", "nodes = 3\nlock-ttl-ms = \"long\"\n").unwrap_err();
        assert!(e.starts_with("bad.toml:2:15:"), "{e}");
    }
}
