//! A worker's pacing: operations on a schedule whose gaps are uniform in [0, 2·pace), so that
//! the mean rate is the scenario's, drawn from the worker's own seeded stream (the same seed,
//! the same gaps). A paced client's steps are a wait for the next operation's due time, then
//! the operation, again, until one would be due past the time limit ([`Pacer::step`]).
//!
//! The schedule, not the gap, is what a worker waits for: each operation is due one gap after
//! the previous one was *due*, not after it ended. The timer wakes a sleeper late (tokio's
//! resolution is a millisecond), and an operation takes time; waiting a whole gap after each
//! would run well below the rate asked for (a third of it at 100k ops/s over 32 clients). A
//! worker that falls behind runs its operations back to back until it catches up — but never
//! catches up more than [`SLACK`]: after a stall (a partition, a pause) it does not burst
//! through everything it missed.

use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::time::Instant;

use crate::worker::Step;

/// How far behind its schedule a worker may be and still catch up.
pub const SLACK: Duration = Duration::from_millis(10);

/// One worker's pacing.
pub struct Pacer {
    rng: ChaCha8Rng,
    pace: Duration,
    /// When the last operation was due (none yet: the schedule starts at the first step).
    due: Option<Instant>,
    /// Whether the wait before the next operation is behind it.
    waited: bool,
}

impl Pacer {
    /// Worker `index` of a run seeded `seed`, one operation every `pace` on average.
    pub fn new(seed: u64, index: usize, pace: Duration) -> Pacer {
        Pacer {
            rng: ChaCha8Rng::seed_from_u64(seed ^ (index as u64).wrapping_mul(0x9E37_79B9)),
            pace,
            due: None,
            waited: false,
        }
    }

    /// A paced client's next step: a wait until the next operation is due (none if it is due
    /// already), then the operation `op` makes (drawn when it is due, not before); done when
    /// it would be due at or past `until`.
    pub fn step<Op>(&mut self, until: Instant, op: impl FnOnce() -> Op) -> Step<Op> {
        if std::mem::take(&mut self.waited) {
            return Step::Invoke(op());
        }
        match self.next(Instant::now(), until) {
            Some(wait) if wait.is_zero() => Step::Invoke(op()),
            Some(wait) => {
                self.waited = true;
                Step::Sleep(wait)
            }
            None => Step::Done,
        }
    }

    /// Schedules the next operation, at `now`: how long until it is due; `None` if it would be
    /// due at or past `until`.
    fn next(&mut self, now: Instant, until: Instant) -> Option<Duration> {
        let gap = self.gap();
        let last = self
            .due
            .unwrap_or(now)
            .max(now.checked_sub(SLACK).unwrap_or(now));
        let due = last + gap;
        if due >= until {
            return None;
        }
        self.due = Some(due);
        Some(due.saturating_duration_since(now))
    }

    /// The next gap between due times.
    fn gap(&mut self) -> Duration {
        let nanos = (self.pace.as_nanos() as u64).saturating_mul(2).max(1);
        Duration::from_nanos(self.rng.random_range(0..nanos))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_average_the_pace_and_repeat_with_the_seed() {
        let pace = Duration::from_millis(10);
        let draw = |seed| {
            let mut p = Pacer::new(seed, 2, pace);
            (0..2000).map(|_| p.gap()).collect::<Vec<_>>()
        };
        let a = draw(5);
        assert_eq!(a, draw(5));
        assert_ne!(a, draw(6));
        let mean = a.iter().sum::<Duration>() / a.len() as u32;
        assert!(mean > pace * 9 / 10 && mean < pace * 11 / 10, "{mean:?}");
        assert!(a.iter().all(|d| *d < pace * 2));
    }

    #[tokio::test]
    async fn operations_follow_the_schedule_not_the_time_they_took() {
        let pace = Duration::from_millis(10);
        let start = Instant::now();
        let until = start + Duration::from_secs(3600);
        let mut p = Pacer::new(5, 2, pace);
        let mut twin = Pacer::new(5, 2, pace);
        // On time: each wait is the gap from the last due time.
        let first = p.next(start, until).unwrap();
        assert_eq!(first, twin.gap());
        // The operation took 3 ms: the next wait is 3 ms shorter than its gap (or none).
        let gap = twin.gap();
        let later = start + first + Duration::from_millis(3);
        assert_eq!(
            p.next(later, until).unwrap(),
            gap.saturating_sub(Duration::from_millis(3))
        );
    }

    #[tokio::test]
    async fn a_worker_far_behind_catches_up_at_most_the_slack() {
        let pace = Duration::from_micros(100);
        let start = Instant::now();
        let until = start + Duration::from_secs(3600);
        let mut p = Pacer::new(5, 0, pace);
        p.next(start, until).unwrap();
        // A stall of a second: only SLACK's worth of operations run back to back.
        let now = start + Duration::from_secs(1);
        let mut immediate = 0;
        while p.next(now, until) == Some(Duration::ZERO) {
            immediate += 1;
            assert!(immediate < 1000, "catching up the whole stall");
        }
        let expected = (SLACK.as_micros() / pace.as_micros()) as i32;
        assert!(
            (immediate - expected).abs() < expected / 2,
            "{immediate} operations back to back (about {expected} expected)"
        );
    }

    #[tokio::test]
    async fn nothing_is_scheduled_past_the_time_limit() {
        let mut p = Pacer::new(5, 2, Duration::from_secs(10));
        let now = Instant::now();
        assert_eq!(
            p.next(now, now),
            None,
            "an operation past the end is not run"
        );
    }
}
