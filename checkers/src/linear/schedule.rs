//! Runs many partitions' searches on a few threads, fairly.
//!
//! Each partition is a task in a round-robin queue; a worker takes one, runs it for a slice of
//! [`SLICE`] steps, and puts it back at the end if it is still undecided. So a partition that
//! takes minutes cannot hold up one that takes a millisecond, and with one thread the verdict on
//! the easiest invalid key comes as early as with many. The first invalid partition cancels the
//! rest unless every key's verdict was asked for; the deadline ends every undecided partition as
//! unknown.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// Steps per slice: around a millisecond of work…
pub const SLICE: u64 = 20_000;
/// …and never much more than this, however slow the steps.
pub const SLICE_TIME: Duration = Duration::from_millis(5);

/// What a task reports after a slice.
pub enum Step<R> {
    /// Not finished: run me again.
    Again,
    /// Finished; `invalid` cancels the others unless all keys were asked for.
    Done { result: R, invalid: bool },
}

/// One unit of fair work.
pub trait Task: Send {
    type Result: Send;
    /// Runs one slice; stops early (returning [`Step::Again`]) once `cancelled` is set.
    fn slice(&mut self, cancelled: &AtomicBool) -> Step<Self::Result>;
    /// The task is abandoned: why (the deadline passed, or another key was invalid).
    fn abandon(&mut self, why: Abandoned) -> Self::Result;
}

/// Why a task was not finished.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Abandoned {
    Deadline,
    Cancelled,
}

struct Queue<T: Task> {
    ready: VecDeque<(usize, T)>,
    /// Tasks not yet finished (queued or running).
    unfinished: usize,
}

/// Runs `tasks` on `threads` threads; results come back in task order.
pub fn run<T: Task>(
    tasks: Vec<T>,
    threads: usize,
    timeout: Option<Duration>,
    stop_on_invalid: bool,
) -> Vec<T::Result> {
    let n = tasks.len();
    let deadline = timeout.map(|t| Instant::now() + t);
    let queue = Mutex::new(Queue {
        ready: tasks.into_iter().enumerate().collect(),
        unfinished: n,
    });
    let wake = Condvar::new();
    let cancelled = AtomicBool::new(false);
    let results: Mutex<Vec<Option<T::Result>>> = Mutex::new((0..n).map(|_| None).collect());
    let threads = threads.clamp(1, n.max(1));

    let worker = || {
        loop {
            let (i, mut task) = {
                let mut q = queue.lock().unwrap_or_else(|e| e.into_inner());
                loop {
                    if let Some(t) = q.ready.pop_front() {
                        break t;
                    }
                    if q.unfinished == 0 {
                        return;
                    }
                    q = wake.wait(q).unwrap_or_else(|e| e.into_inner());
                }
            };
            let abandoned = if cancelled.load(Ordering::Acquire) {
                Some(Abandoned::Cancelled)
            } else if deadline.is_some_and(|d| Instant::now() >= d) {
                Some(Abandoned::Deadline)
            } else {
                None
            };
            let result = match abandoned {
                Some(why) => Some(task.abandon(why)),
                None => match task.slice(&cancelled) {
                    Step::Again => None,
                    Step::Done { result, invalid } => {
                        if invalid && stop_on_invalid {
                            cancelled.store(true, Ordering::Release);
                        }
                        Some(result)
                    }
                },
            };
            let mut q = queue.lock().unwrap_or_else(|e| e.into_inner());
            match result {
                None => q.ready.push_back((i, task)),
                Some(r) => {
                    results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(r);
                    q.unfinished -= 1;
                    if q.unfinished == 0 {
                        wake.notify_all();
                    }
                }
            }
            drop(q);
            wake.notify_one();
        }
    };
    std::thread::scope(|s| {
        for _ in 1..threads {
            s.spawn(worker);
        }
        worker();
    });
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .map(|r| r.expect("every task finishes"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Finishes after `left` slices; `bad` ones report invalid.
    struct Countdown {
        left: u32,
        bad: bool,
    }

    impl Task for Countdown {
        type Result = Result<u32, Abandoned>;
        fn slice(&mut self, _: &AtomicBool) -> Step<Self::Result> {
            if self.left == 0 {
                return Step::Done {
                    result: Ok(0),
                    invalid: self.bad,
                };
            }
            self.left -= 1;
            Step::Again
        }
        fn abandon(&mut self, why: Abandoned) -> Self::Result {
            Err(why)
        }
    }

    #[test]
    fn a_long_task_does_not_starve_a_short_invalid_one() {
        for threads in [1, 2, 3] {
            let tasks = vec![
                Countdown {
                    left: u32::MAX,
                    bad: false,
                },
                Countdown { left: 5, bad: true },
                Countdown {
                    left: 1,
                    bad: false,
                },
            ];
            let results = run(tasks, threads, None, true);
            assert_eq!(results[0], Err(Abandoned::Cancelled), "threads {threads}");
            assert_eq!(results[1], Ok(0));
            assert_eq!(results[2], Ok(0));
        }
    }

    #[test]
    fn the_deadline_abandons_what_is_left() {
        let tasks = vec![
            Countdown {
                left: u32::MAX,
                bad: false,
            },
            Countdown {
                left: 0,
                bad: false,
            },
        ];
        let results = run(tasks, 2, Some(Duration::from_millis(20)), false);
        assert_eq!(results, vec![Err(Abandoned::Deadline), Ok(0)]);
    }

    #[test]
    fn no_tasks_no_threads() {
        let results = run(Vec::<Countdown>::new(), 4, None, true);
        assert!(results.is_empty());
    }
}
