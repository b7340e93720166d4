//! A worker's pauses between operations: uniform in [0, 2·pace), so that the mean rate is the
//! scenario's, drawn from the worker's own seeded stream (the same seed, the same pauses). A
//! paced client's steps are a pause, then an operation, again, until a pause would end past
//! the time limit ([`Pacer::step`]).

use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::time::Instant;

use crate::worker::Step;

/// One worker's pacing.
pub struct Pacer {
    rng: ChaCha8Rng,
    pace: Duration,
    /// Whether the pause before the next operation is behind it.
    paused: bool,
}

impl Pacer {
    /// Worker `index` of a run seeded `seed`, one operation every `pace` on average.
    pub fn new(seed: u64, index: usize, pace: Duration) -> Pacer {
        Pacer {
            rng: ChaCha8Rng::seed_from_u64(seed ^ (index as u64).wrapping_mul(0x9E37_79B9)),
            pace,
            paused: false,
        }
    }

    /// A paced client's next step: a pause, then the operation `op` makes (drawn when it is
    /// due, not before the pause); done when the pause would end past `until`.
    pub fn step<Op>(&mut self, until: Instant, op: impl FnOnce() -> Op) -> Step<Op> {
        if std::mem::take(&mut self.paused) {
            return Step::Invoke(op());
        }
        match self.next(until) {
            Some(pause) => {
                self.paused = true;
                Step::Sleep(pause)
            }
            None => Step::Done,
        }
    }

    /// The next pause; `None` if it would end at or past `until`.
    fn next(&mut self, until: Instant) -> Option<Duration> {
        let nanos = (self.pace.as_nanos() as u64).saturating_mul(2).max(1);
        let pause = Duration::from_nanos(self.rng.random_range(0..nanos));
        (Instant::now() + pause < until).then_some(pause)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pauses_average_the_pace_and_repeat_with_the_seed() {
        let until = Instant::now() + Duration::from_secs(3600);
        let pace = Duration::from_millis(10);
        let draw = |seed| {
            let mut p = Pacer::new(seed, 2, pace);
            (0..2000)
                .map(|_| p.next(until).unwrap())
                .collect::<Vec<_>>()
        };
        let a = draw(5);
        assert_eq!(a, draw(5));
        assert_ne!(a, draw(6));
        let mean = a.iter().sum::<Duration>() / a.len() as u32;
        assert!(mean > pace * 9 / 10 && mean < pace * 11 / 10, "{mean:?}");
        assert!(a.iter().all(|d| *d < pace * 2));
        let mut p = Pacer::new(5, 2, Duration::from_secs(10));
        assert_eq!(
            p.next(Instant::now()),
            None,
            "a pause past the end is not taken"
        );
    }
}
