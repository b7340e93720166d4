//! The `uuid` node's generator, free of I/O: a small random number generator seeded once, and
//! for v7 the last millisecond and counter used. The time is passed in.
//!
//! **v4**: 122 random bits. Uniqueness rests entirely on the generator's seed: seeded from the
//! operating system ([`Rng::from_os`]), two nodes never share a stream; seeded from the clock
//! (the `time-seeded-rng` bug), two nodes started in the same second issue the same UUIDs.
//!
//! **v7** (RFC 9562 §6.2, method 1): the millisecond, then a 12-bit counter, then 62 random
//! bits. A new millisecond starts the counter at a random value below 2^11 (so it has room to
//! grow); within the same millisecond it counts up; when it would overflow, the timestamp is
//! moved one millisecond ahead of the clock. A clock that reads earlier than the last
//! millisecond used is not believed — the last one is kept — so one node's UUIDs strictly
//! increase whatever its clock does (RFC 9562 §6.2 allows both). Since the random bits alone
//! make a collision vanishingly unlikely, a backward clock costs v7 its order, never its
//! uniqueness; the node has no guard and never refuses for the clock. It refuses only a clock
//! outside `0..=MAX_V7_MS`, which 48 bits cannot hold.

use super::uuid::{MAX_V7_MS, Uuid};

/// Which UUIDs to issue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    V4,
    V7,
}

impl Version {
    pub fn number(self) -> u8 {
        match self {
            Version::V4 => 4,
            Version::V7 => 7,
        }
    }
}

/// xoshiro256** (Blackman and Vigna): small, fast, and plenty for IDs whose only job is not to
/// collide. Not for secrets.
#[derive(Clone, Debug)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// A generator whose whole state comes from `seed`, through SplitMix64.
    pub fn from_seed(seed: u64) -> Rng {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        Rng {
            s: [next(), next(), next(), next()],
        }
    }

    /// A generator seeded with 256 bits from the operating system.
    pub fn from_os() -> Result<Rng, String> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| format!("no randomness from the OS: {e}"))?;
        let mut s = [0u64; 4];
        for (word, chunk) in s.iter_mut().zip(bytes.chunks_exact(8)) {
            *word = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        }
        // The one state xoshiro cannot leave.
        if s == [0; 4] {
            return Ok(Rng::from_seed(0));
        }
        Ok(Rng { s })
    }

    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    pub fn bytes16(&mut self) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        out[8..].copy_from_slice(&self.next_u64().to_le_bytes());
        out
    }
}

/// The clock reads outside what a v7 UUID can hold (before 1970, or past [`MAX_V7_MS`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimestampExhausted {
    pub now_ms: i64,
}

/// One node's generator.
#[derive(Clone, Debug)]
pub struct Generator {
    version: Version,
    rng: Rng,
    /// v7: the millisecond of the last UUID (ahead of the clock after a counter overflow or a
    /// backward step) and its counter.
    last_ms: Option<i64>,
    counter: u16,
}

impl Generator {
    pub fn new(version: Version, rng: Rng) -> Generator {
        Generator {
            version,
            rng,
            last_ms: None,
            counter: 0,
        }
    }

    pub fn version(&self) -> Version {
        self.version
    }

    /// The next UUID, for a clock reading `now_ms` (Unix ms; v4 ignores it).
    pub fn next(&mut self, now_ms: i64) -> Result<Uuid, TimestampExhausted> {
        match self.version {
            Version::V4 => Ok(Uuid::v4(self.rng.bytes16())),
            Version::V7 => self.next_v7(now_ms),
        }
    }

    fn next_v7(&mut self, now_ms: i64) -> Result<Uuid, TimestampExhausted> {
        if !(0..=MAX_V7_MS).contains(&now_ms) {
            return Err(TimestampExhausted { now_ms });
        }
        let fresh_counter = |rng: &mut Rng| (rng.next_u64() & 0x07ff) as u16;
        let (ms, counter) = match self.last_ms {
            Some(last) if now_ms <= last => match self.counter.checked_add(1) {
                Some(c) if c <= 0x0fff => (last, c),
                _ if last < MAX_V7_MS => (last + 1, fresh_counter(&mut self.rng)),
                _ => return Err(TimestampExhausted { now_ms }),
            },
            _ => (now_ms, fresh_counter(&mut self.rng)),
        };
        self.last_ms = Some(ms);
        self.counter = counter;
        Ok(Uuid::v7(ms as u64, counter, self.rng.next_u64()))
    }

    /// `n` UUIDs for one clock reading, or none.
    pub fn next_batch(&mut self, now_ms: i64, n: usize) -> Result<Vec<Uuid>, TimestampExhausted> {
        (0..n).map(|_| self.next(now_ms)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    const T: i64 = 1_750_000_000_000;

    #[test]
    fn v4_uuids_are_version_4_and_distinct() {
        let mut g = Generator::new(Version::V4, Rng::from_os().unwrap());
        let ids = g.next_batch(T, 10_000).unwrap();
        assert!(ids.iter().all(|u| u.version() == 4 && u.is_rfc_variant()));
        assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len());
        // Not the clock's business.
        assert!(g.next(-1).is_ok());
    }

    #[test]
    fn v7_uuids_carry_the_clock_and_increase() {
        let mut g = Generator::new(Version::V7, Rng::from_seed(1));
        let mut ids = Vec::new();
        for ms in [T, T, T, T + 1, T + 7] {
            ids.extend(g.next_batch(ms, 3).unwrap());
        }
        assert!(ids.iter().all(|u| u.version() == 7 && u.is_rfc_variant()));
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "strictly increasing");
        let stamps: Vec<u64> = ids.iter().map(|u| u.timestamp_ms().unwrap()).collect();
        assert_eq!(stamps[..9], [T as u64; 9]);
        assert_eq!(
            stamps[9..],
            [
                T as u64 + 1,
                T as u64 + 1,
                T as u64 + 1,
                T as u64 + 7,
                T as u64 + 7,
                T as u64 + 7
            ]
        );
        // Within a millisecond, the counter counts; a new one starts below 2^11.
        assert_eq!(ids[1].rand_a(), ids[0].rand_a() + 1);
        assert!(ids[0].rand_a() < 0x0800 && ids[9].rand_a() < 0x0800);
    }

    #[test]
    fn a_v7_counter_overflow_borrows_the_next_millisecond() {
        let mut g = Generator::new(Version::V7, Rng::from_seed(2));
        let ids = g.next_batch(T, 5000).unwrap();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        let last = ids.last().unwrap().timestamp_ms().unwrap();
        assert!(last == T as u64 + 1 || last == T as u64 + 2, "{last}");
        // The clock catching up goes on from there.
        let next = g.next(T + 1).unwrap();
        assert!(next > *ids.last().unwrap());
    }

    #[test]
    fn a_v7_clock_stepping_back_keeps_the_order() {
        let mut g = Generator::new(Version::V7, Rng::from_seed(3));
        let before = g.next(T).unwrap();
        let after = g.next(T - 2000).unwrap();
        assert!(after > before);
        assert_eq!(after.timestamp_ms(), Some(T as u64));
    }

    #[test]
    fn a_v7_clock_out_of_range_is_refused() {
        let mut g = Generator::new(Version::V7, Rng::from_seed(4));
        assert_eq!(g.next(-1), Err(TimestampExhausted { now_ms: -1 }));
        assert_eq!(
            g.next_batch(MAX_V7_MS + 1, 2),
            Err(TimestampExhausted {
                now_ms: MAX_V7_MS + 1
            })
        );
        assert_eq!(g.next(0).unwrap().timestamp_ms(), Some(0));
        assert_eq!(
            g.next(MAX_V7_MS).unwrap().timestamp_ms(),
            Some(MAX_V7_MS as u64)
        );
    }

    #[test]
    fn equal_seeds_give_equal_streams() {
        let a = Generator::new(Version::V4, Rng::from_seed(42)).next_batch(T, 5);
        let b = Generator::new(Version::V4, Rng::from_seed(42)).next_batch(T, 5);
        let c = Generator::new(Version::V4, Rng::from_seed(43)).next_batch(T, 5);
        assert_eq!(a, b);
        assert_ne!(a, c);
        let mut r = Rng::from_seed(0);
        assert_ne!(r.next_u64(), r.next_u64());
    }
}
