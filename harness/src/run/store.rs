//! The results store: one folder per run, `results/<scenario>/<YYYYMMDDTHHMMSS>/`, holding the
//! resolved scenario, the history, the results, each node's log and the harness's own log;
//! `results/latest` points at the last run.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::civil::civil;

/// A run's folder.
#[derive(Clone, Debug)]
pub struct RunDir {
    pub path: PathBuf,
    log: Arc<Mutex<File>>,
    started: Instant,
}

/// `YYYYMMDDTHHMMSS` in UTC.
pub(crate) fn stamp(now: SystemTime) -> String {
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (year, month, day, rem) = civil(secs as i64);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

impl RunDir {
    /// Creates a fresh folder for a run of `scenario` under `root`, and points `latest` at it.
    pub fn create(root: &Path, scenario: &str) -> std::io::Result<RunDir> {
        let base = root.join(scenario);
        let stamp = stamp(SystemTime::now());
        fs::create_dir_all(&base)?;
        // Claimed by creating it: two runs starting in the same second (`suite --jobs`) must
        // not both find a name free and then share the folder.
        let mut path = base.join(&stamp);
        let mut n = 1;
        loop {
            match fs::create_dir(&path) {
                Ok(()) => break,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    n += 1;
                    path = base.join(format!("{stamp}-{n}"));
                }
                Err(e) => return Err(e),
            }
        }
        fs::create_dir(path.join("nodes"))?;
        let latest = root.join("latest");
        let _ = fs::remove_file(&latest);
        let relative = Path::new(scenario).join(path.file_name().unwrap_or_default());
        let _ = std::os::unix::fs::symlink(relative, &latest);
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path.join("faultline.log"))?;
        Ok(RunDir {
            path,
            log: Arc::new(Mutex::new(log)),
            started: Instant::now(),
        })
    }

    pub fn history(&self) -> PathBuf {
        self.path.join("history.jsonl")
    }

    pub fn node_log(&self, node: &str) -> PathBuf {
        self.path.join("nodes").join(format!("{node}.log"))
    }

    pub fn write(&self, name: &str, contents: &str) -> std::io::Result<()> {
        fs::write(self.path.join(name), contents)
    }

    /// A line in the harness's own log, stamped with seconds since the run began.
    pub fn log(&self, line: &str) {
        let mut f = self.log.lock().unwrap_or_else(|e| e.into_inner());
        let _ = writeln!(f, "{:9.3} {line}", self.started.elapsed().as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_utc_civil_times() {
        let t = UNIX_EPOCH + std::time::Duration::from_secs(1_795_660_000);
        assert_eq!(stamp(t), "20261126T022640");
        assert_eq!(stamp(UNIX_EPOCH), "19700101T000000");
    }

    #[test]
    fn runs_get_their_own_folder_and_latest_follows() {
        let root = std::env::temp_dir().join(format!("store-{}", std::process::id()));
        let a = RunDir::create(&root, "s").unwrap();
        let b = RunDir::create(&root, "s").unwrap();
        assert_ne!(a.path, b.path);
        assert!(b.path.join("nodes").is_dir());
        let latest = fs::canonicalize(root.join("latest")).unwrap();
        assert_eq!(latest, fs::canonicalize(&b.path).unwrap());
        b.log("hello");
        let log = fs::read_to_string(b.path.join("faultline.log")).unwrap();
        assert!(log.trim_end().ends_with("hello"));
        fs::remove_dir_all(&root).unwrap();
    }
}
