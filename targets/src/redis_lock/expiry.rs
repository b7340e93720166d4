//! The clock keys expire on.
//!
//! Redis measures a key's time to live on the wall clock: `SET k v PX 2000` stores "expires at
//! wall time now + 2 s", so a wall clock that jumps forward expires the key early — the jump
//! Kleppmann's Redlock argument turns on. `--expiry-clock monotonic` is the fix he asks of a
//! lease: the node reads its wall clock once, at start, and from then on advances it by the
//! monotonic clock, which no `settimeofday` moves. Expiry times stay absolute milliseconds (the
//! append-only file and `PEXPIREAT` mean what they did), so a node restarted while its wall
//! clock is skewed starts again from the skewed reading.
//!
//! `TIME` always answers the wall clock; only expiry follows this choice.

use std::time::Instant;

use clap::ValueEnum;

use crate::clock::WallClock;

/// Which clock a key's time to live runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExpiryClock {
    /// The node's wall clock, skewable by the harness: Redis's behaviour.
    Wall,
    /// The wall clock as read at start, advanced by the monotonic clock.
    Monotonic,
}

/// Reads the time keys expire by.
#[derive(Clone, Debug)]
pub struct Expiry {
    mode: ExpiryClock,
    wall: WallClock,
    /// The wall clock's reading at start, in nanoseconds, and the instant it was taken.
    base_nanos: i64,
    started: Instant,
}

impl Expiry {
    pub fn new(mode: ExpiryClock, wall: WallClock) -> Expiry {
        Expiry {
            mode,
            base_nanos: wall.now_nanos(),
            started: Instant::now(),
            wall,
        }
    }

    /// Milliseconds since the Unix epoch, on this clock.
    pub fn now_millis(&self) -> i64 {
        match self.mode {
            ExpiryClock::Wall => self.wall.now_millis(),
            ExpiryClock::Monotonic => {
                let elapsed = i64::try_from(self.started.elapsed().as_nanos()).unwrap_or(i64::MAX);
                self.base_nanos
                    .saturating_add(elapsed)
                    .div_euclid(1_000_000)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::write_offset;

    #[test]
    fn a_wall_clock_jump_moves_wall_expiry_and_not_monotonic_expiry() {
        let dir = std::env::temp_dir().join(format!("expiry-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("offset");
        write_offset(&file, 0).unwrap();
        let wall = WallClock::for_node(Some(&file));
        let (by_wall, by_monotonic) = (
            Expiry::new(ExpiryClock::Wall, wall.clone()),
            Expiry::new(ExpiryClock::Monotonic, wall.clone()),
        );
        let before = by_monotonic.now_millis();
        write_offset(&file, 60_000_000_000).unwrap();
        // The offset file is polled: wait until the wall clock has seen the jump.
        let seen = Instant::now();
        while wall.offset_nanos() != 60_000_000_000 {
            assert!(seen.elapsed().as_secs() < 30, "the jump was never seen");
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert!(by_wall.now_millis() - before >= 60_000);
        let after = by_monotonic.now_millis();
        assert!(
            (0..30_000).contains(&(after - before)),
            "{before} → {after}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
