//! The high-water mark: the latest millisecond this worker may have put in an ID, kept on disk
//! so that a restarted worker never goes below it.
//!
//! The clock guard keeps one process's IDs increasing, but it lives in memory: a worker killed
//! and restarted while its wall clock is behind would start afresh and issue IDs in
//! milliseconds it has already used. So before the generator may use a millisecond past the
//! mark, the mark moves [`LEASE_MS`] ahead of it and is written and fsynced (a write to a
//! temporary file, then a rename: a crash leaves the old mark or the new one, never half of
//! either). A restarted node starts its generator at the mark ([`super::generator::Generator::resume`]),
//! so its guard waits, or refuses, until the clock has passed every millisecond the previous
//! process could have used. One fsync per lease; after a restart, up to a lease of refusals.
//!
//! The mark lives in the file `high-water` of the data directory, as decimal Unix milliseconds.

use std::io::Write;
use std::path::{Path, PathBuf};

/// How far ahead of the clock the mark is set each time it moves.
pub const LEASE_MS: i64 = 1000;

/// The file name, in the data directory.
const FILE: &str = "high-water";

/// The mark and where it is kept.
#[derive(Debug)]
pub struct HighWater {
    path: PathBuf,
    mark_ms: Option<i64>,
}

impl HighWater {
    /// Reads the mark kept in `dir`, if any. A file that cannot be read or parsed is an error
    /// naming it: starting without the mark could re-issue IDs.
    pub fn open(dir: &Path) -> Result<HighWater, String> {
        let path = dir.join(FILE);
        let mark_ms = match std::fs::read_to_string(&path) {
            Ok(text) => Some(text.trim().parse::<i64>().map_err(|_| {
                format!(
                    "{}: expected Unix milliseconds, found {:?}",
                    path.display(),
                    text.trim()
                )
            })?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        Ok(HighWater { path, mark_ms })
    }

    /// The mark read at start, or last written.
    pub fn mark_ms(&self) -> Option<i64> {
        self.mark_ms
    }

    /// Makes sure the mark covers millisecond `ms`: if it does not, moves it to
    /// `ms + LEASE_MS` on disk first. Only after `Ok` may IDs of millisecond `ms` go out.
    pub fn cover(&mut self, ms: i64) -> std::io::Result<()> {
        if self.mark_ms.is_some_and(|mark| mark >= ms) {
            return Ok(());
        }
        let mark = ms.saturating_add(LEASE_MS);
        let tmp = self.path.with_extension("tmp");
        let mut file = std::fs::File::create(&tmp)?;
        writeln!(file, "{mark}")?;
        file.sync_all()?;
        std::fs::rename(&tmp, &self.path)?;
        if let Some(dir) = self.path.parent() {
            std::fs::File::open(dir)?.sync_all()?;
        }
        self.mark_ms = Some(mark);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> PathBuf {
        crate::shell::empty_temp_dir(&format!("high-water-{tag}"))
    }

    #[test]
    fn the_mark_moves_a_lease_ahead_only_when_passed_and_survives_a_reopen() {
        let dir = temp_dir("moves");
        let mut hw = HighWater::open(&dir).unwrap();
        assert_eq!(hw.mark_ms(), None);
        hw.cover(5_000).unwrap();
        assert_eq!(hw.mark_ms(), Some(5_000 + LEASE_MS));
        hw.cover(5_000 + LEASE_MS).unwrap();
        assert_eq!(hw.mark_ms(), Some(5_000 + LEASE_MS), "still covered");
        hw.cover(7_000).unwrap();
        assert_eq!(HighWater::open(&dir).unwrap().mark_ms(), Some(8_000));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_corrupt_mark_is_an_error_naming_the_file() {
        let dir = temp_dir("corrupt");
        std::fs::write(dir.join(FILE), "soon\n").unwrap();
        let err = HighWater::open(&dir).unwrap_err();
        assert!(err.contains("high-water") && err.contains("soon"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
