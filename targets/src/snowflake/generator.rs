//! The snowflake generator: what ID comes next, given the wall clock. Free of I/O — the time
//! is passed in, and a decision to wait comes back out for the shell to carry out.
//!
//! The state is the last millisecond an ID was issued in and the sequence number used in it.
//! For a wall-clock reading `now` (Unix ms):
//!
//! | `now` vs `last_ms` | decision |
//! |---|---|
//! | later | a new millisecond: sequence 0 |
//! | the same | sequence + 1; once the sequence runs out, [`Decision::Wait`] until the next ms |
//! | earlier, by at most the allowed wait | [`Decision::Wait`] until the clock is past `last_ms` |
//! | earlier, by more | [`Refusal::ClockMovedBackwards`]: a definite error |
//! | outside the layout's range | [`Refusal::TimestampExhausted`]: a definite error |
//!
//! A wait or a refusal changes nothing: the shell sleeps (on monotonic time) and asks again
//! with a fresh reading, or gives up. So the IDs of one worker strictly increase, and no two
//! are equal, whatever the clock does — unless the generator is built with
//! [`Backwards::Ignore`], the classic bug (`--bug no-clock-guard`): a clock that moved
//! backwards is simply believed, its millisecond is treated as new, the sequence starts over
//! at 0, and once the clock re-passes milliseconds already used, the IDs issued in them are
//! issued again.

use super::layout::{Layout, Parts};

/// What to do when the clock reads earlier than the last millisecond used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backwards {
    /// Wait out a step back of at most `max_wait_ms`; refuse beyond that.
    Guard { max_wait_ms: u64 },
    /// Believe the clock: use its millisecond as a new one (the bug; re-issues IDs).
    Ignore,
}

/// Why no ID can be issued now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The clock is `behind_ms` behind the last millisecond used, more than the guard waits.
    ClockMovedBackwards { behind_ms: u64 },
    /// The clock reads `now_ms`, outside what the layout's timestamp can hold.
    TimestampExhausted { now_ms: i64 },
}

/// The answer to one request for an ID.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Id(u64),
    /// Ask again after `ms` milliseconds (of monotonic time) with a fresh clock reading.
    Wait {
        ms: u64,
    },
    Refuse(Refusal),
}

/// The answer to a request for a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Batch {
    /// At least one ID and at most the number asked for, increasing: fewer when the
    /// millisecond's sequence ran out (ask again for the rest).
    Ids(Vec<u64>),
    /// No ID now: ask again after `ms` milliseconds.
    Wait {
        ms: u64,
    },
    Refuse(Refusal),
}

/// One worker's generator.
#[derive(Clone, Debug)]
pub struct Generator {
    layout: Layout,
    worker: u64,
    backwards: Backwards,
    /// The millisecond (Unix) the last ID was issued in; `None` before the first.
    last_ms: Option<i64>,
    /// The sequence number of the last ID.
    sequence: u64,
}

impl Generator {
    /// A generator for `worker`, which must fit the layout's worker field.
    pub fn new(layout: Layout, worker: u64, backwards: Backwards) -> Result<Generator, String> {
        if worker >= layout.workers() {
            return Err(format!(
                "worker {worker} does not fit {} bits (0 to {})",
                layout.worker_bits(),
                layout.workers() - 1
            ));
        }
        Ok(Generator {
            layout,
            worker,
            backwards,
            last_ms: None,
            sequence: 0,
        })
    }

    pub fn layout(&self) -> Layout {
        self.layout
    }

    pub fn worker(&self) -> u64 {
        self.worker
    }

    /// The millisecond the last ID was issued in.
    pub fn last_ms(&self) -> Option<i64> {
        self.last_ms
    }

    /// Starts where a previous process may have left off: as if an ID had been issued in
    /// millisecond `ms` with its last sequence number, so no ID comes from `ms` or before.
    pub fn resume(&mut self, ms: i64) {
        self.last_ms = Some(ms);
        self.sequence = self.layout.sequences() - 1;
    }

    /// The next ID, for a clock reading `now_ms` (Unix ms).
    pub fn next(&mut self, now_ms: i64) -> Decision {
        let (timestamp_ms, sequence) = match self.last_ms {
            Some(last) if now_ms == last => {
                if self.sequence + 1 >= self.layout.sequences() {
                    return Decision::Wait { ms: 1 };
                }
                (last, self.sequence + 1)
            }
            Some(last) if now_ms < last => match self.backwards {
                Backwards::Guard { max_wait_ms } => {
                    let behind_ms = last.abs_diff(now_ms);
                    return match behind_ms <= max_wait_ms {
                        true => Decision::Wait { ms: behind_ms + 1 },
                        false => Decision::Refuse(Refusal::ClockMovedBackwards { behind_ms }),
                    };
                }
                Backwards::Ignore => (now_ms, 0),
            },
            _ => (now_ms, 0),
        };
        let parts = Parts {
            timestamp_ms,
            worker: self.worker,
            sequence,
        };
        match self.layout.encode(parts) {
            Ok(id) => {
                self.last_ms = Some(timestamp_ms);
                self.sequence = sequence;
                Decision::Id(id)
            }
            Err(_) => Decision::Refuse(Refusal::TimestampExhausted { now_ms }),
        }
    }

    /// Up to `n` IDs for one clock reading: [`Batch::Ids`] as soon as there is at least one,
    /// otherwise the wait or refusal that stopped the first.
    pub fn next_batch(&mut self, now_ms: i64, n: usize) -> Batch {
        let mut ids = Vec::with_capacity(n.min(self.layout.sequences() as usize));
        while ids.len() < n {
            match self.next(now_ms) {
                Decision::Id(id) => ids.push(id),
                Decision::Wait { .. } | Decision::Refuse(_) if !ids.is_empty() => break,
                Decision::Wait { ms } => return Batch::Wait { ms },
                Decision::Refuse(refusal) => return Batch::Refuse(refusal),
            }
        }
        Batch::Ids(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    const EPOCH: i64 = super::super::layout::DEFAULT_EPOCH_MS;
    const T: i64 = EPOCH + 1_000_000;
    const GUARD: Backwards = Backwards::Guard { max_wait_ms: 10 };

    fn generator(backwards: Backwards) -> Generator {
        Generator::new(Layout::default(), 3, backwards).unwrap()
    }

    fn id(decision: Decision) -> u64 {
        match decision {
            Decision::Id(id) => id,
            other => panic!("not an ID: {other:?}"),
        }
    }

    #[test]
    fn ids_carry_time_worker_and_sequence() {
        let mut g = generator(GUARD);
        let layout = g.layout();
        let a = id(g.next(T));
        let b = id(g.next(T));
        let c = id(g.next(T + 5));
        let decode = |id| {
            let p = layout.decode(id);
            (p.timestamp_ms, p.worker, p.sequence)
        };
        assert_eq!(decode(a), (T, 3, 0));
        assert_eq!(decode(b), (T, 3, 1));
        assert_eq!(decode(c), (T + 5, 3, 0));
        assert!(a < b && b < c);
        assert_eq!(g.last_ms(), Some(T + 5));
    }

    #[test]
    fn a_resumed_generator_issues_nothing_at_or_before_the_mark() {
        let mut g = generator(GUARD);
        g.resume(T);
        assert_eq!(
            g.next(T),
            Decision::Wait { ms: 1 },
            "the mark's ms is spent"
        );
        assert_eq!(g.next(T - 5), Decision::Wait { ms: 6 });
        assert_eq!(
            g.next(T - 500),
            Decision::Refuse(Refusal::ClockMovedBackwards { behind_ms: 500 })
        );
        let next = id(g.next(T + 1));
        assert_eq!(g.layout().decode(next).timestamp_ms, T + 1);
    }

    #[test]
    fn a_spent_sequence_waits_for_the_next_millisecond() {
        // Four IDs a millisecond.
        let layout = Layout::new(51, 10, 2, EPOCH).unwrap();
        let mut g = Generator::new(layout, 1, GUARD).unwrap();
        let ids: Vec<u64> = (0..4).map(|_| id(g.next(T))).collect();
        assert_eq!(g.next(T), Decision::Wait { ms: 1 });
        assert_eq!(
            g.next(T),
            Decision::Wait { ms: 1 },
            "waiting changed nothing"
        );
        let next = id(g.next(T + 1));
        assert_eq!(layout.decode(next).sequence, 0);
        assert!(ids.windows(2).all(|w| w[0] < w[1]) && ids[3] < next);

        // A batch stops at the end of the millisecond and goes on in the next one.
        let mut g = Generator::new(layout, 1, GUARD).unwrap();
        assert_eq!(g.next_batch(T, 3), Batch::Ids(ids[..3].to_vec()));
        assert_eq!(g.next_batch(T, 3), Batch::Ids(ids[3..].to_vec()));
        assert_eq!(g.next_batch(T, 3), Batch::Wait { ms: 1 });
        let Batch::Ids(rest) = g.next_batch(T + 1, 3) else {
            panic!("no batch")
        };
        assert_eq!(rest.len(), 3);
        assert_eq!(rest[0], next);
    }

    #[test]
    fn the_guard_waits_out_a_small_step_back_and_refuses_a_large_one() {
        let mut g = generator(GUARD);
        let before = id(g.next(T));
        // 4 ms behind: wait until the clock is past T.
        assert_eq!(g.next(T - 4), Decision::Wait { ms: 5 });
        // Exactly the allowed wait still waits; one more is refused.
        assert_eq!(g.next(T - 10), Decision::Wait { ms: 11 });
        assert_eq!(
            g.next(T - 11),
            Decision::Refuse(Refusal::ClockMovedBackwards { behind_ms: 11 })
        );
        assert_eq!(
            g.next_batch(T - 2000, 10),
            Batch::Refuse(Refusal::ClockMovedBackwards { behind_ms: 2000 })
        );
        // Nothing changed: once the clock is back, IDs go on increasing.
        let same_ms = id(g.next(T));
        let after = id(g.next(T + 1));
        assert!(before < same_ms && same_ms < after);
        let no_wait = generator(Backwards::Guard { max_wait_ms: 0 }).next(T);
        assert!(matches!(no_wait, Decision::Id(_)));
    }

    #[test]
    fn without_the_guard_a_step_back_reissues_ids() {
        let mut g = generator(Backwards::Ignore);
        let mut issued = HashSet::new();
        for ms in T - 50..T {
            let Batch::Ids(ids) = g.next_batch(ms, 5) else {
                panic!("no batch")
            };
            issued.extend(ids);
        }
        // The clock steps back 200 ms and runs forward again: it believes it.
        let mut duplicates = 0;
        for ms in T - 200..T {
            let Batch::Ids(ids) = g.next_batch(ms, 5) else {
                panic!("no batch")
            };
            duplicates += ids.iter().filter(|id| issued.contains(id)).count();
        }
        assert_eq!(duplicates, 50 * 5, "every ID of the last 50 ms, again");

        // With the guard, the same clock gets refusals and no duplicate.
        let mut g = generator(Backwards::Guard { max_wait_ms: 10 });
        let mut issued = HashSet::new();
        for ms in (T - 50..T).chain(T - 200..T + 50) {
            match g.next_batch(ms, 5) {
                Batch::Ids(ids) => assert!(ids.into_iter().all(|id| issued.insert(id))),
                Batch::Refuse(Refusal::ClockMovedBackwards { .. }) | Batch::Wait { .. } => {}
                other => panic!("{other:?}"),
            }
        }
        // 50 ms before the step, the rest of T - 1 once the clock is back there, 50 ms after.
        assert_eq!(issued.len(), 50 * 5 + 5 + 50 * 5);
    }

    #[test]
    fn a_clock_outside_the_layouts_range_is_refused() {
        let mut g = generator(GUARD);
        assert_eq!(
            g.next(EPOCH - 1),
            Decision::Refuse(Refusal::TimestampExhausted { now_ms: EPOCH - 1 })
        );
        let end = EPOCH + (1 << 41);
        assert_eq!(
            g.next_batch(end, 3),
            Batch::Refuse(Refusal::TimestampExhausted { now_ms: end })
        );
        assert!(matches!(g.next(end - 1), Decision::Id(_)));
        // Unguarded, a clock stepping back before the epoch is refused too.
        let mut g = generator(Backwards::Ignore);
        assert!(matches!(g.next(EPOCH), Decision::Id(_)));
        assert!(matches!(
            g.next(EPOCH - 5),
            Decision::Refuse(Refusal::TimestampExhausted { .. })
        ));
    }

    #[test]
    fn workers_must_fit_the_layout() {
        assert!(Generator::new(Layout::default(), 1023, GUARD).is_ok());
        assert!(Generator::new(Layout::default(), 1024, GUARD).is_err());
        let single = Layout::new(51, 0, 12, EPOCH).unwrap();
        assert!(Generator::new(single, 0, GUARD).is_ok());
        assert!(Generator::new(single, 1, GUARD).is_err());
    }

    #[test]
    fn ids_of_different_workers_never_collide() {
        let mut a = generator(Backwards::Ignore);
        let mut b = Generator::new(Layout::default(), 4, Backwards::Ignore).unwrap();
        let mut seen = HashSet::new();
        for ms in (T..T + 20).chain(T - 10..T + 20) {
            for g in [&mut a, &mut b] {
                if let Batch::Ids(ids) = g.next_batch(ms, 3) {
                    for id in ids {
                        let p = g.layout().decode(id);
                        // Duplicates, if any, are within a worker (the bug), never across.
                        if !seen.insert(id) {
                            assert_eq!(p.worker, g.worker());
                        }
                    }
                }
            }
        }
    }
}
