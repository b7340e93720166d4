//! The double buffer: which IDs a request gets, and when to fetch the next segment. Free of
//! I/O and of time — the shell fetches segments and hands them in with [`Buffer::install`].
//!
//! The state is the *current* segment with a cursor (`next`, the next ID to hand out), an
//! optional *next* segment already fetched, and whether a fetch is in flight. At most one
//! fetch is ever in flight: a decision to fetch ([`Take::need_fetch`], or `true` from
//! [`Buffer::install`]) marks it so, and only `install` clears the mark. So the shell, which
//! starts one fetch per `true` it is given, never runs two at once, and never holds more than
//! two segments.
//!
//! | mode | a fetch starts when no next segment is ready or in flight and … |
//! |---|---|
//! | double buffer (default) | the current segment is at least `prefetch` used (exhausted included), or there is none |
//! | single (`--no-double-buffer`) | a request came up short (the current segment ran out under it), or there is none |
//!
//! So with a double buffer the next segment is normally in place before the current one runs
//! out, and a request crossing the boundary simply continues in it ([`Buffer::take`] switches
//! over in the middle of a batch); with a single buffer the request at each boundary waits for
//! a store round trip. The threshold is `ceil(prefetch × size)` IDs, computed in integers
//! (parts per million), so `0.7` of 100 is 70, not 71.

/// A range of IDs handed out by the store: `lo` exclusive, `hi` inclusive — the IDs
/// `lo + 1 ..= hi`, the store's old and new maximum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    pub lo: u64,
    pub hi: u64,
}

impl Segment {
    /// How many IDs it holds.
    pub fn size(&self) -> u64 {
        self.hi.saturating_sub(self.lo)
    }
}

/// The segment being handed out, and how far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub segment: Segment,
    /// The next ID to hand out; `hi + 1` once the segment is exhausted.
    pub next: u64,
    /// A prefetch is due once this many IDs are used.
    threshold: u64,
}

impl Cursor {
    fn new(segment: Segment, prefetch_ppm: u64) -> Cursor {
        let size = segment.size();
        // ceil(size × ppm / 10^6), in integers.
        let threshold = (u128::from(size) * u128::from(prefetch_ppm)).div_ceil(1_000_000);
        Cursor {
            segment,
            next: segment.lo + 1,
            threshold: threshold.min(u128::from(size)) as u64,
        }
    }

    /// How many IDs were handed out.
    pub fn used(&self) -> u64 {
        self.next - self.segment.lo - 1
    }

    /// How many IDs are left.
    pub fn left(&self) -> u64 {
        self.segment.hi + 1 - self.next
    }

    pub fn exhausted(&self) -> bool {
        self.left() == 0
    }
}

/// What a request got.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Take {
    /// As many IDs as were ready, up to the number asked for, increasing within a segment.
    pub ids: Vec<u64>,
    /// Start a fetch now (the buffer now counts it as in flight).
    pub need_fetch: bool,
    /// Fewer IDs than asked for: nothing more is ready; wait for an install and take again.
    pub exhausted: bool,
}

/// The double (or single) buffer of segments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Buffer {
    double: bool,
    prefetch_ppm: u64,
    current: Option<Cursor>,
    next: Option<Segment>,
    fetching: bool,
    /// Segments installed so far.
    installed: u64,
}

impl Buffer {
    /// An empty buffer. `prefetch` is the fraction of a segment used that triggers the next
    /// fetch (clamped to 0..=1); it matters only with `double` on.
    pub fn new(double: bool, prefetch: f64) -> Buffer {
        let prefetch = if prefetch.is_nan() {
            0.0
        } else {
            prefetch.clamp(0.0, 1.0)
        };
        Buffer {
            double,
            prefetch_ppm: (prefetch * 1_000_000.0).round() as u64,
            current: None,
            next: None,
            fetching: false,
            installed: 0,
        }
    }

    /// Whether to fetch the first segment now (`true` the first time: there is none).
    pub fn start(&mut self) -> bool {
        self.wants_fetch(false)
    }

    /// Takes up to `n` IDs: the rest of the current segment, then the next one if it is ready,
    /// and so on. IDs taken are gone whatever the caller does with them — a request that
    /// cannot be completed drops its IDs, and they are never handed out again.
    pub fn take(&mut self, n: usize) -> Take {
        let want = n as u64;
        let mut ids = Vec::with_capacity(n);
        while (ids.len() as u64) < want {
            match &mut self.current {
                Some(cursor) if !cursor.exhausted() => {
                    let k = cursor.left().min(want - ids.len() as u64);
                    ids.extend(cursor.next..cursor.next + k);
                    cursor.next += k;
                }
                _ => match self.next.take() {
                    Some(segment) => self.current = Some(Cursor::new(segment, self.prefetch_ppm)),
                    None => break,
                },
            }
        }
        // Move on as soon as the current segment is used up, so the prefetch decision below
        // (and /health) look at the segment that will serve next.
        if self.current.is_some_and(|c| c.exhausted()) {
            if let Some(segment) = self.next.take() {
                self.current = Some(Cursor::new(segment, self.prefetch_ppm));
            }
        }
        let exhausted = (ids.len() as u64) < want;
        Take {
            need_fetch: self.wants_fetch(exhausted),
            ids,
            exhausted,
        }
    }

    /// A fetched segment arrives: it becomes the current one if that is missing or used up,
    /// otherwise the next one. Returns whether to start another fetch right away (a double
    /// buffer whose new current segment is already past the threshold, e.g. `prefetch` 0).
    pub fn install(&mut self, segment: Segment) -> bool {
        self.fetching = false;
        self.installed += 1;
        match self.current {
            Some(cursor) if !cursor.exhausted() => {
                debug_assert!(self.next.is_none(), "two fetches were in flight");
                self.next = Some(segment);
            }
            _ => self.current = Some(Cursor::new(segment, self.prefetch_ppm)),
        }
        self.wants_fetch(false)
    }

    /// Decides, and if so records, that a fetch starts now. `short`: a request is waiting for
    /// IDs that are not there.
    fn wants_fetch(&mut self, short: bool) -> bool {
        if self.fetching || self.next.is_some() {
            return false;
        }
        let want = match &self.current {
            None => true,
            Some(cursor) if self.double => cursor.exhausted() || cursor.used() >= cursor.threshold,
            Some(_) => short,
        };
        self.fetching = want;
        want
    }

    /// The segment being handed out, if any.
    pub fn current(&self) -> Option<Cursor> {
        self.current
    }

    /// The segment fetched ahead, if any.
    pub fn next(&self) -> Option<Segment> {
        self.next
    }

    /// Whether a fetch is in flight.
    pub fn fetching(&self) -> bool {
        self.fetching
    }

    /// How many segments were installed.
    pub fn installed(&self) -> u64 {
        self.installed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(lo: u64, hi: u64) -> Segment {
        Segment { lo, hi }
    }

    /// A buffer whose first fetch was started and installed `segment`.
    fn with(double: bool, prefetch: f64, segment: Segment) -> Buffer {
        let mut buffer = Buffer::new(double, prefetch);
        assert!(buffer.start(), "an empty buffer fetches at once");
        assert!(!buffer.start(), "but only once");
        buffer.install(segment);
        buffer
    }

    #[test]
    fn ids_come_from_the_segment_in_order() {
        let mut buffer = with(true, 0.5, seg(100, 110));
        let take = buffer.take(3);
        assert_eq!(take.ids, vec![101, 102, 103]);
        assert!(!take.need_fetch && !take.exhausted);
        let cursor = buffer.current().unwrap();
        assert_eq!(
            (cursor.segment, cursor.next, cursor.used(), cursor.left()),
            (seg(100, 110), 104, 3, 7)
        );
    }

    #[test]
    fn the_prefetch_triggers_at_exactly_the_threshold() {
        let mut buffer = with(true, 0.1, seg(0, 100));
        for _ in 0..9 {
            let take = buffer.take(1);
            assert!(
                !take.need_fetch,
                "used {}",
                buffer.current().unwrap().used()
            );
        }
        let take = buffer.take(1);
        assert_eq!(take.ids, vec![10]);
        assert!(take.need_fetch, "10 of 100 used is 10%");
        assert!(buffer.fetching());
        // The threshold rounds up, in integers: 0.7 of 100 is 70, 0.105 of 100 is 11.
        let mut buffer = with(true, 0.7, seg(0, 100));
        assert!(!buffer.take(69).need_fetch);
        assert!(buffer.take(1).need_fetch);
        let mut buffer = with(true, 0.105, seg(0, 100));
        assert!(!buffer.take(10).need_fetch);
        assert!(buffer.take(1).need_fetch);
        // A batch that jumps over the threshold triggers it too.
        let mut buffer = with(true, 0.1, seg(0, 100));
        assert!(buffer.take(50).need_fetch);
    }

    #[test]
    fn no_second_prefetch_while_one_is_in_flight_or_ready() {
        let mut buffer = with(true, 0.1, seg(0, 100));
        assert!(buffer.take(20).need_fetch);
        for _ in 0..5 {
            assert!(
                !buffer.take(10).need_fetch,
                "one fetch is already in flight"
            );
        }
        assert!(
            !buffer.install(seg(100, 200)),
            "the current segment still serves"
        );
        assert_eq!(buffer.next(), Some(seg(100, 200)));
        assert!(!buffer.fetching());
        let take = buffer.take(10);
        assert!(!take.need_fetch, "a next segment is ready");
        assert_eq!(take.ids, (71..=80).collect::<Vec<_>>());
    }

    #[test]
    fn a_batch_spanning_two_segments_takes_the_rest_then_the_next() {
        let mut buffer = with(true, 0.1, seg(0, 10));
        assert!(buffer.take(8).need_fetch);
        buffer.install(seg(50, 60));
        let take = buffer.take(5);
        assert_eq!(take.ids, vec![9, 10, 51, 52, 53]);
        assert!(!take.exhausted);
        // Now in the new segment, 3 of 10 used: past 10%, so the next prefetch is due.
        assert!(take.need_fetch);
        assert_eq!(buffer.current().unwrap().segment, seg(50, 60));
        assert_eq!(buffer.next(), None);
    }

    #[test]
    fn a_segment_used_up_exactly_gives_way_to_the_next_at_once() {
        let mut buffer = with(true, 0.5, seg(0, 4));
        assert!(buffer.take(2).need_fetch);
        buffer.install(seg(4, 8));
        let take = buffer.take(2);
        assert_eq!(take.ids, vec![3, 4]);
        assert_eq!(buffer.current().unwrap().segment, seg(4, 8));
        assert_eq!(buffer.current().unwrap().used(), 0);
        assert!(!take.need_fetch, "0 of the new segment used");
    }

    #[test]
    fn exhausted_without_a_next_segment_must_fetch_and_wait() {
        let mut buffer = with(true, 1.0, seg(0, 5));
        let take = buffer.take(3);
        assert!(!take.need_fetch, "a prefetch of 1.0 waits for the end");
        let take = buffer.take(4);
        assert_eq!(take.ids, vec![4, 5]);
        assert!(take.exhausted);
        assert!(take.need_fetch);
        let take = buffer.take(2);
        assert_eq!(
            take,
            Take {
                ids: vec![],
                need_fetch: false,
                exhausted: true
            }
        );
        assert!(!buffer.install(seg(5, 10)));
        assert_eq!(buffer.take(2).ids, vec![6, 7]);
    }

    #[test]
    fn a_single_buffer_never_prefetches_and_fetches_only_for_a_request_that_came_up_short() {
        let mut buffer = with(false, 0.1, seg(0, 10));
        for i in 1..=10 {
            let take = buffer.take(1);
            assert_eq!(take.ids, vec![i]);
            assert!(!take.need_fetch, "used {i} of 10");
        }
        assert!(buffer.current().unwrap().exhausted());
        assert!(!buffer.fetching(), "used up, but nobody asked for more yet");
        let take = buffer.take(3);
        assert_eq!(
            take,
            Take {
                ids: vec![],
                need_fetch: true,
                exhausted: true
            }
        );
        assert!(!buffer.take(3).need_fetch, "already fetching");
        assert!(!buffer.install(seg(10, 20)));
        let take = buffer.take(3);
        assert_eq!(take.ids, vec![11, 12, 13]);
        assert!(!take.need_fetch);
    }

    #[test]
    fn a_prefetch_of_zero_fetches_as_soon_as_a_segment_is_installed() {
        let mut buffer = Buffer::new(true, 0.0);
        assert!(buffer.start());
        assert!(
            buffer.install(seg(0, 10)),
            "0 used is already at the threshold"
        );
        assert!(!buffer.install(seg(10, 20)), "the next one is ready");
        assert_eq!(buffer.take(12).ids, (1..=12).collect::<Vec<_>>());
    }

    #[test]
    fn a_segment_arriving_for_an_empty_buffer_serves_at_once() {
        let mut buffer = Buffer::new(false, 0.1);
        let take = buffer.take(2);
        assert_eq!(
            take,
            Take {
                ids: vec![],
                need_fetch: true,
                exhausted: true
            }
        );
        assert!(!buffer.install(seg(7, 9)));
        assert_eq!(buffer.installed(), 1);
        assert_eq!(buffer.take(2).ids, vec![8, 9]);
    }
}
