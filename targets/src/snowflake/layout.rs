//! How a snowflake ID's 64 bits are laid out, free of I/O.
//!
//! ```text
//!  bit 63   62 ……………………………… 22   21 ……… 12   11 ……… 0        (the default layout)
//!  ┌───┬──────────────────────────┬─────────────┬────────────┐
//!  │ 0 │ ms since the epoch (41)  │ worker (10) │ sequence   │
//!  │   │                          │             │ (12)       │
//!  └───┴──────────────────────────┴─────────────┴────────────┘
//! ```
//!
//! The sign bit is always 0, so an ID is a positive `i64` as well as a `u64`, and IDs from one
//! worker sort by time, then sequence. The three fields' widths are configurable
//! (`--bits timestamp=41,worker=10,sequence=12`, summing to 63) and so is the epoch
//! (`--epoch-ms`, Unix milliseconds; by default 2020-01-01T00:00:00Z). With 41 bits the
//! timestamp lasts 2^41 ms, about 69.7 years past the epoch; a wall clock outside
//! `[epoch, epoch + 2^timestamp_bits)` cannot be encoded at all ([`LayoutError::Timestamp`]).

use std::fmt;
use std::str::FromStr;

/// 2020-01-01T00:00:00Z in Unix milliseconds: the default epoch.
pub const DEFAULT_EPOCH_MS: i64 = 1_577_836_800_000;

/// The largest epoch accepted: with at most 62 timestamp bits, every timestamp stays an `i64`.
pub const MAX_EPOCH_MS: i64 = 1 << 62;

/// Field widths and the epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    timestamp_bits: u32,
    worker_bits: u32,
    sequence_bits: u32,
    epoch_ms: i64,
}

/// An ID's fields, decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Parts {
    /// Absolute: Unix milliseconds, epoch added.
    pub timestamp_ms: i64,
    pub worker: u64,
    pub sequence: u64,
}

/// Why fields cannot be encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayoutError {
    /// The timestamp is before the epoch, or `2^timestamp_bits` ms or more after it.
    Timestamp { timestamp_ms: i64 },
    /// The worker id does not fit its field.
    Worker { worker: u64 },
    /// The sequence number does not fit its field.
    Sequence { sequence: u64 },
}

impl fmt::Display for LayoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LayoutError::Timestamp { timestamp_ms } => {
                write!(
                    f,
                    "timestamp {timestamp_ms} ms is outside the layout's range"
                )
            }
            LayoutError::Worker { worker } => write!(f, "worker {worker} does not fit"),
            LayoutError::Sequence { sequence } => write!(f, "sequence {sequence} does not fit"),
        }
    }
}

impl std::error::Error for LayoutError {}

impl Default for Layout {
    /// Twitter's: 41 bits of milliseconds, 10 of worker, 12 of sequence; epoch 2020-01-01.
    fn default() -> Layout {
        Layout {
            timestamp_bits: 41,
            worker_bits: 10,
            sequence_bits: 12,
            epoch_ms: DEFAULT_EPOCH_MS,
        }
    }
}

impl Layout {
    /// A layout with these widths and epoch. The widths must sum to 63, the timestamp and the
    /// sequence have at least one bit (the worker may have none: a single worker), and the
    /// epoch is in `0..=MAX_EPOCH_MS`.
    pub fn new(
        timestamp_bits: u32,
        worker_bits: u32,
        sequence_bits: u32,
        epoch_ms: i64,
    ) -> Result<Layout, String> {
        let sum = timestamp_bits as u64 + worker_bits as u64 + sequence_bits as u64;
        if sum != 63 {
            return Err(format!(
                "the bits must sum to 63 (one sign bit is kept 0), not {sum}: \
                 timestamp={timestamp_bits},worker={worker_bits},sequence={sequence_bits}"
            ));
        }
        if timestamp_bits == 0 || sequence_bits == 0 {
            return Err("the timestamp and the sequence need at least one bit each".into());
        }
        if !(0..=MAX_EPOCH_MS).contains(&epoch_ms) {
            return Err(format!(
                "the epoch must be from 0 to {MAX_EPOCH_MS} ms, not {epoch_ms}"
            ));
        }
        Ok(Layout {
            timestamp_bits,
            worker_bits,
            sequence_bits,
            epoch_ms,
        })
    }

    /// The same widths, another epoch.
    pub fn with_epoch(self, epoch_ms: i64) -> Result<Layout, String> {
        Layout::new(
            self.timestamp_bits,
            self.worker_bits,
            self.sequence_bits,
            epoch_ms,
        )
    }

    pub fn timestamp_bits(&self) -> u32 {
        self.timestamp_bits
    }

    pub fn worker_bits(&self) -> u32 {
        self.worker_bits
    }

    pub fn sequence_bits(&self) -> u32 {
        self.sequence_bits
    }

    pub fn epoch_ms(&self) -> i64 {
        self.epoch_ms
    }

    /// The number of worker ids: `2^worker_bits`.
    pub fn workers(&self) -> u64 {
        1 << self.worker_bits
    }

    /// The number of IDs a worker may issue in one millisecond: `2^sequence_bits`.
    pub fn sequences(&self) -> u64 {
        1 << self.sequence_bits
    }

    /// Whether `timestamp_ms` (Unix ms) can be encoded: in `[epoch, epoch + 2^timestamp_bits)`.
    pub fn covers(&self, timestamp_ms: i64) -> bool {
        timestamp_ms >= self.epoch_ms
            && ((timestamp_ms - self.epoch_ms) as u64) >> self.timestamp_bits == 0
    }

    /// The ID with these fields.
    pub fn encode(&self, parts: Parts) -> Result<u64, LayoutError> {
        if !self.covers(parts.timestamp_ms) {
            return Err(LayoutError::Timestamp {
                timestamp_ms: parts.timestamp_ms,
            });
        }
        if parts.worker >= self.workers() {
            return Err(LayoutError::Worker {
                worker: parts.worker,
            });
        }
        if parts.sequence >= self.sequences() {
            return Err(LayoutError::Sequence {
                sequence: parts.sequence,
            });
        }
        let elapsed = (parts.timestamp_ms - self.epoch_ms) as u64;
        Ok((elapsed << (self.worker_bits + self.sequence_bits))
            | (parts.worker << self.sequence_bits)
            | parts.sequence)
    }

    /// An ID's fields. Any `u64` decodes (the sign bit is ignored); for an ID this layout
    /// encoded, `encode(decode(id)) == id`.
    pub fn decode(&self, id: u64) -> Parts {
        let mask = |bits: u32| (1u64 << bits) - 1;
        let elapsed = (id >> (self.worker_bits + self.sequence_bits)) & mask(self.timestamp_bits);
        Parts {
            timestamp_ms: self.epoch_ms + elapsed as i64,
            worker: (id >> self.sequence_bits) & mask(self.worker_bits),
            sequence: id & mask(self.sequence_bits),
        }
    }
}

impl fmt::Display for Layout {
    /// The widths, as `--bits` takes them: `timestamp=41,worker=10,sequence=12`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "timestamp={},worker={},sequence={}",
            self.timestamp_bits, self.worker_bits, self.sequence_bits
        )
    }
}

impl FromStr for Layout {
    type Err = String;

    /// `timestamp=41,worker=10,sequence=12` (any order, each named once), with the default
    /// epoch.
    fn from_str(s: &str) -> Result<Layout, String> {
        let (mut timestamp, mut worker, mut sequence) = (None, None, None);
        for item in s.split(',') {
            let (name, bits) = item
                .split_once('=')
                .ok_or_else(|| format!("{item:?} is not NAME=BITS"))?;
            let bits: u32 = bits
                .trim()
                .parse()
                .map_err(|_| format!("{item:?}: {bits:?} is not a number of bits"))?;
            let field = match name.trim() {
                "timestamp" => &mut timestamp,
                "worker" => &mut worker,
                "sequence" => &mut sequence,
                other => {
                    return Err(format!(
                        "{other:?} is not a field (timestamp, worker, sequence)"
                    ));
                }
            };
            if field.replace(bits).is_some() {
                return Err(format!("{:?} is given twice", name.trim()));
            }
        }
        match (timestamp, worker, sequence) {
            (Some(t), Some(w), Some(s)) => Layout::new(t, w, s, DEFAULT_EPOCH_MS),
            _ => Err(format!(
                "{s:?} must give timestamp=, worker= and sequence= bits"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_twitters_layout() {
        let layout = Layout::default();
        assert_eq!(layout.to_string(), "timestamp=41,worker=10,sequence=12");
        assert_eq!(layout.epoch_ms(), 1_577_836_800_000);
        assert_eq!((layout.workers(), layout.sequences()), (1024, 4096));
        assert_eq!("timestamp=41,worker=10,sequence=12".parse(), Ok(layout));
        assert_eq!(
            " sequence = 12 ,timestamp=41,worker=10".parse::<Layout>(),
            Ok(layout)
        );
    }

    #[test]
    fn fields_round_trip() {
        let layout = Layout::default();
        let epoch = layout.epoch_ms();
        let parts = Parts {
            timestamp_ms: epoch + 123_456_789,
            worker: 1023,
            sequence: 4095,
        };
        let id = layout.encode(parts).unwrap();
        assert_eq!(id, (123_456_789 << 22) | (1023 << 12) | 4095);
        assert_eq!(layout.decode(id), parts);
        assert!(id < 1 << 63, "the sign bit stays 0");

        // The extremes, and an odd layout.
        let last = Parts {
            timestamp_ms: epoch + (1 << 41) - 1,
            worker: 0,
            sequence: 0,
        };
        assert_eq!(layout.decode(layout.encode(last).unwrap()), last);
        let odd = Layout::new(50, 3, 10, 0).unwrap();
        for (t, w, s) in [(0, 0, 0), (1_700_000_000_000, 7, 1023), (5, 1, 1)] {
            let parts = Parts {
                timestamp_ms: t,
                worker: w,
                sequence: s,
            };
            assert_eq!(odd.decode(odd.encode(parts).unwrap()), parts);
        }
        // Later timestamps are larger IDs, whatever the other fields.
        let a = layout
            .encode(Parts {
                timestamp_ms: epoch + 10,
                worker: 1023,
                sequence: 4095,
            })
            .unwrap();
        let b = layout
            .encode(Parts {
                timestamp_ms: epoch + 11,
                worker: 0,
                sequence: 0,
            })
            .unwrap();
        assert!(a < b);
    }

    #[test]
    fn fields_that_do_not_fit_are_errors() {
        let layout = Layout::default();
        let epoch = layout.epoch_ms();
        let parts = |timestamp_ms, worker, sequence| Parts {
            timestamp_ms,
            worker,
            sequence,
        };
        assert_eq!(
            layout.encode(parts(epoch - 1, 0, 0)),
            Err(LayoutError::Timestamp {
                timestamp_ms: epoch - 1
            })
        );
        assert!(matches!(
            layout.encode(parts(epoch + (1 << 41), 0, 0)),
            Err(LayoutError::Timestamp { .. })
        ));
        assert_eq!(
            layout.encode(parts(epoch, 1024, 0)),
            Err(LayoutError::Worker { worker: 1024 })
        );
        assert_eq!(
            layout.encode(parts(epoch, 0, 4096)),
            Err(LayoutError::Sequence { sequence: 4096 })
        );
        assert!(layout.covers(epoch) && !layout.covers(i64::MIN) && !layout.covers(i64::MAX));
    }

    #[test]
    fn bad_layouts_are_refused() {
        for bits in [
            "timestamp=41,worker=10,sequence=13",
            "timestamp=41,worker=10",
            "timestamp=41,worker=10,sequence=12,sequence=12",
            "timestamp=41,worker=10,seq=12",
            "timestamp=41,worker=ten,sequence=12",
            "timestamp=0,worker=51,sequence=12",
            "timestamp=51,worker=12,sequence=0",
            "timestamp=4294967295,worker=4294967295,sequence=2",
            "",
        ] {
            assert!(bits.parse::<Layout>().is_err(), "{bits}");
        }
        assert!(Layout::new(51, 0, 12, 0).is_ok(), "a single worker");
        assert!(Layout::default().with_epoch(-1).is_err());
        assert!(Layout::default().with_epoch(MAX_EPOCH_MS + 1).is_err());
    }
}
