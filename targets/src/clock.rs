//! The wall clock a bundled node reads, skewable by the harness (DESIGN.md, "Faults: Clock").
//!
//! Each node has an *offset file*: eight bytes, a little-endian `i64` of nanoseconds added to
//! the system's wall clock. The harness writes it ([`write_offset`]); a bundled node reads wall
//! time only through a [`WallClock`], which follows the file; an external process gets the same
//! offset from the LD_PRELOAD shim, which maps the same file (its path in the environment
//! variable [`ENV`]). Monotonic time is never skewed — like a real `settimeofday` jump, only
//! the wall clock moves.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The environment variable naming the offset file, for the LD_PRELOAD shim.
pub const ENV: &str = "FAULTLINE_CLOCK_FILE";

/// How often a [`WallClock`] re-reads its offset file: a jump takes effect within this.
pub const POLL: Duration = Duration::from_millis(1);

/// Writes `nanos` as the offset in `path` (creating it), in place, in one write.
pub fn write_offset(path: &Path, nanos: i64) -> std::io::Result<()> {
    use std::io::{Seek, SeekFrom, Write};
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    f.seek(SeekFrom::Start(0))?;
    f.write_all(&nanos.to_le_bytes())?;
    Ok(())
}

/// Reads the offset in `path`; 0 if the file is missing or short.
pub fn read_offset(path: &Path) -> i64 {
    std::fs::read(path)
        .ok()
        .and_then(|b| b.get(..8).and_then(|b| b.try_into().ok()))
        .map_or(0, i64::from_le_bytes)
}

/// Wall-clock time, plus the offset the harness set.
#[derive(Clone, Debug)]
pub struct WallClock {
    offset: Arc<AtomicI64>,
}

impl WallClock {
    /// The system's wall clock, never skewed.
    pub fn system() -> WallClock {
        WallClock {
            offset: Arc::new(AtomicI64::new(0)),
        }
    }

    /// A clock that follows the offset file at `path` (polled every [`POLL`] by a thread that
    /// lives as long as any clone of the clock).
    pub fn following(path: PathBuf) -> WallClock {
        let offset = Arc::new(AtomicI64::new(read_offset(&path)));
        let weak = Arc::downgrade(&offset);
        std::thread::Builder::new()
            .name("clock".into())
            .spawn(move || {
                while let Some(offset) = weak.upgrade() {
                    offset.store(read_offset(&path), Ordering::Relaxed);
                    drop(offset);
                    std::thread::sleep(POLL);
                }
            })
            .expect("a thread to follow the clock file");
        WallClock { offset }
    }

    /// A node's clock: one that follows `clock_file` (its `--clock-file`) if given, else the
    /// system's.
    pub fn for_node(clock_file: Option<&Path>) -> WallClock {
        match clock_file {
            Some(path) => WallClock::following(path.to_path_buf()),
            None => WallClock::system(),
        }
    }

    /// The current offset, in nanoseconds.
    pub fn offset_nanos(&self) -> i64 {
        self.offset.load(Ordering::Relaxed)
    }

    /// Milliseconds since the Unix epoch, offset applied.
    pub fn now_millis(&self) -> i64 {
        self.now_nanos().div_euclid(1_000_000)
    }

    /// Nanoseconds since the Unix epoch, offset applied.
    pub fn now_nanos(&self) -> i64 {
        let real = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i64);
        real.saturating_add(self.offset_nanos())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clock_follows_its_offset_file() {
        let path = std::env::temp_dir().join(format!("clock-{}", std::process::id()));
        write_offset(&path, 0).unwrap();
        let clock = WallClock::following(path.clone());
        let before = clock.now_millis();
        write_offset(&path, 3_600_000_000_000).unwrap();
        std::thread::sleep(POLL * 20);
        let jumped = clock.now_millis() - before;
        assert!((3_599_000..3_700_000).contains(&jumped), "{jumped}");
        assert_eq!(read_offset(&path), 3_600_000_000_000);
        write_offset(&path, -5_000_000_000).unwrap();
        std::thread::sleep(POLL * 20);
        assert_eq!(clock.offset_nanos(), -5_000_000_000);
        std::fs::remove_file(&path).unwrap();
        assert_eq!(read_offset(&path), 0, "a missing file is no offset");
        assert_eq!(WallClock::system().offset_nanos(), 0);
    }
}
