//! The catalogue: every `*.toml` scenario file of a folder, sorted by file name, each read,
//! resolved and validated before anything runs — a malformed file stops the suite with one
//! line naming it.

use std::path::{Path, PathBuf};

use checkers::Validity;

use crate::run::runner;
use crate::scenario::{Common, Scenario, ScenarioFile, key_line};

/// One scenario of the catalogue.
#[derive(Clone, Debug)]
pub struct Entry {
    pub file: PathBuf,
    /// Resolved; its seed is the first run's.
    pub scenario: Scenario,
    pub expect: Option<Validity>,
}

impl Entry {
    /// Whether `pattern` selects this scenario: a substring of its name or file name, or,
    /// with `*` or `?` in it, a glob matching either whole.
    pub fn matches(&self, pattern: &str) -> bool {
        let stem = self
            .file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        [self.scenario.name.as_str(), stem.as_str()]
            .iter()
            .any(|name| {
                if pattern.contains(['*', '?']) {
                    glob(pattern, name)
                } else {
                    name.contains(pattern)
                }
            })
    }
}

/// `*` matches any run of characters, `?` any one; everything else itself.
pub fn glob(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // Iterative matching with backtracking to the last star.
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < n.len() {
        if i < p.len() && (p[i] == '?' || p[i] == n[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some((i, j));
            i += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|c| *c == '*')
}

/// The scenario files of `dir`, sorted by file name.
pub fn files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let read =
        std::fs::read_dir(dir).map_err(|e| format!("{}: cannot read: {e}", dir.display()))?;
    let mut files = Vec::new();
    for entry in read {
        let entry = entry.map_err(|e| format!("{}: cannot read: {e}", dir.display()))?;
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "toml") && path.is_file() {
            files.push(path);
        }
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(files)
}

/// Reads a scenario file: its settings, with the file's stem as the name when it has none.
/// Errors name the file and line.
pub fn read(path: &Path) -> Result<(ScenarioFile, String), String> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{name}: cannot read: {e}"))?;
    let mut file = ScenarioFile::parse(&name, &text)?;
    if file.common.name.is_none() {
        file.common.name = path.file_stem().map(|s| s.to_string_lossy().into_owned());
    }
    Ok((file, text))
}

/// Loads every scenario of `dir`. With `ci`, a scenario's `ci-time-limit` (when it has one)
/// replaces its `time-limit`. Scenarios without a seed start at `seed`.
pub fn load(dir: &Path, ci: bool, seed: u64) -> Result<Vec<Entry>, String> {
    let files = files(dir)?;
    if files.is_empty() {
        return Err(format!("{}: no scenario files (*.toml)", dir.display()));
    }
    let mut entries: Vec<Entry> = Vec::new();
    for path in files {
        let (file, text) = read(&path)?;
        let name = path.display();
        let expect = match file.common.expect.as_deref() {
            None => None,
            Some("valid") => Some(Validity::Valid),
            Some("invalid") => Some(Validity::Invalid),
            Some(other) => {
                return Err(format!(
                    "{name}:{}: expect must be \"valid\" or \"invalid\", found \"{other}\"",
                    key_line(&text, "expect")
                ));
            }
        };
        if let Some(t) = file.common.ci_time_limit
            && t.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater)
        {
            return Err(format!(
                "{name}:{}: ci-time-limit must be positive, found {t}",
                key_line(&text, "ci-time-limit")
            ));
        }
        let ci_flags = ScenarioFile::from(Common {
            time_limit: file.common.ci_time_limit.filter(|_| ci),
            ..Common::default()
        });
        let scenario = ci_flags
            .over(file)
            .over_target_defaults()
            .map_err(|e| format!("{name}: {e}"))?
            .resolve(seed);
        runner::validate(&scenario).map_err(|e| format!("{name}: {e}"))?;
        if let Some(other) = entries.iter().find(|e| e.scenario.name == scenario.name) {
            return Err(format!(
                "{name}:{}: the name \"{}\" is already {}'s",
                key_line(&text, "name"),
                scenario.name,
                other.file.display()
            ));
        }
        entries.push(Entry {
            file: path,
            scenario,
            expect,
        });
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_whole_names() {
        assert!(glob("redlock-*", "redlock-clock-jump"));
        assert!(glob("*clock*", "snowflake-clock-backwards"));
        assert!(glob("raft-kv-?tale-reads", "raft-kv-stale-reads"));
        assert!(glob("*", ""));
        assert!(!glob("redlock-*", "raft-kv-partition"));
        assert!(!glob("*-jump", "redlock-clock-jump-redis-server"));
        assert!(glob("a*b*c", "aXbYbZc"));
    }

    /// The catalogue in scenarios/ loads: every file parses, validates, and expects a verdict
    /// with a CI length.
    #[test]
    fn the_catalogue_is_well_formed() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
        let entries = load(&dir, true, 1).unwrap();
        assert!(entries.len() >= 10);
        for e in &entries {
            assert!(e.expect.is_some(), "{}", e.file.display());
            let file = read(&e.file).unwrap().0;
            let ci = file
                .common
                .ci_time_limit
                .expect("every scenario has a ci-time-limit");
            assert_eq!(e.scenario.time_limit, ci, "{}", e.file.display());
        }
        // The budget keeps `.ci/run` well under 20 minutes: the suite's runs take about 1.4×
        // their workload (start-up, healing, checking), the rest of CI about 11 minutes. 330 s
        // before the etcd scenarios; raised by their 42 s (register 20 s, lock 22 s), then by
        // zab-bug's 4 s (two pauses of the leader), the two lock twins' 16 s,
        // uuid-time-seeded-rng's 6 s, the transactional scenarios' 36 s (list-append 10 s,
        // rw-register 10 s, the txn bug and its twin 8 s each), etcd-list-append's and
        // etcd-rw-register's 20 s (10 s each), redlock-clock-jump-monotonic-expiry's 14 s,
        // and the one-switch twins' 68 s (zab 12 s + 12 s, etcd 10 s, 2PC 10 s + 10 s, Redlock on
        // redis-server 14 s). CI runs the catalogue two at a time (`--jobs 2`), which about halves its wall time.
        let total: f64 = entries.iter().map(|e| e.scenario.time_limit).sum();
        assert!(
            total <= 536.0,
            "the CI suite's workload adds up to {total} s"
        );
    }
}
