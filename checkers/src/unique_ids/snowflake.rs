//! Snowflake IDs: a timestamp, a worker and a sequence number packed into one 64-bit integer.

use serde::{Deserialize, Serialize};

use crate::value::Value;

/// How a snowflake ID is laid out, from the most significant bit down: `timestamp_bits` of
/// milliseconds since `epoch_ms`, then `worker_bits` of worker, then `sequence_bits` of
/// sequence number. Bits above the three fields must be zero (the default leaves the sign bit
/// of a 64-bit integer unused).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SnowflakeLayout {
    /// The Unix time (ms) that a timestamp of 0 stands for.
    pub epoch_ms: i64,
    pub timestamp_bits: u32,
    pub worker_bits: u32,
    pub sequence_bits: u32,
}

impl Default for SnowflakeLayout {
    /// Twitter's layout with a 2020-01-01T00:00:00Z epoch: 41 + 10 + 12 = 63 bits.
    fn default() -> SnowflakeLayout {
        SnowflakeLayout {
            epoch_ms: 1_577_836_800_000,
            timestamp_bits: 41,
            worker_bits: 10,
            sequence_bits: 12,
        }
    }
}

/// A snowflake ID's fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Snowflake {
    /// Unix time, ms: the layout's epoch plus the timestamp field.
    pub timestamp_ms: i64,
    pub worker: u64,
    pub sequence: u64,
}

/// The lowest `bits` bits set (`bits` ≤ 64).
fn mask(bits: u32) -> u64 {
    if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    }
}

impl SnowflakeLayout {
    /// The bits the three fields take together.
    pub fn total_bits(&self) -> u32 {
        self.timestamp_bits
            .saturating_add(self.worker_bits)
            .saturating_add(self.sequence_bits)
    }

    /// The largest ID the layout can hold.
    pub fn max_id(&self) -> u64 {
        mask(self.total_bits())
    }

    /// Whether the layout makes sense: the fields fit in 64 bits, and every timestamp it can
    /// hold, added to the epoch, fits in an `i64`.
    pub fn validate(&self) -> Result<(), String> {
        let total = u64::from(self.timestamp_bits)
            + u64::from(self.worker_bits)
            + u64::from(self.sequence_bits);
        if total > 64 {
            return Err(format!(
                "snowflake layout takes {total} bits ({} timestamp + {} worker + {} sequence; expected at most 64)",
                self.timestamp_bits, self.worker_bits, self.sequence_bits
            ));
        }
        if self.timestamp_bits > 63 {
            return Err(format!(
                "snowflake layout has {} timestamp bits (expected at most 63)",
                self.timestamp_bits
            ));
        }
        let latest = i128::from(self.epoch_ms) + i128::from(mask(self.timestamp_bits));
        if i64::try_from(latest).is_err() {
            return Err(format!(
                "snowflake layout's epoch {} ms plus {} timestamp bits overflows a 64-bit time",
                self.epoch_ms, self.timestamp_bits
            ));
        }
        Ok(())
    }

    /// The fields of `id`, or `None` when `id` has bits set above the layout's fields. The
    /// layout must be valid ([`SnowflakeLayout::validate`]).
    pub fn decode(&self, id: u64) -> Option<Snowflake> {
        if id > self.max_id() {
            return None;
        }
        // Shifts by 64 or more would overflow: such fields are zero.
        let shr = |x: u64, by: u32| x.checked_shr(by).unwrap_or(0);
        let sequence = id & mask(self.sequence_bits);
        let worker = shr(id, self.sequence_bits) & mask(self.worker_bits);
        let timestamp = shr(id, self.sequence_bits + self.worker_bits) & mask(self.timestamp_bits);
        Some(Snowflake {
            timestamp_ms: self.epoch_ms + timestamp as i64,
            worker,
            sequence,
        })
    }

    /// The ID with these fields, or `None` when a field does not fit the layout (or the time is
    /// before the epoch). The layout must be valid.
    pub fn encode(&self, fields: Snowflake) -> Option<u64> {
        let timestamp = u64::try_from(fields.timestamp_ms.checked_sub(self.epoch_ms)?).ok()?;
        if timestamp > mask(self.timestamp_bits)
            || fields.worker > mask(self.worker_bits)
            || fields.sequence > mask(self.sequence_bits)
        {
            return None;
        }
        let shl = |x: u64, by: u32| x.checked_shl(by).unwrap_or(0);
        Some(
            shl(timestamp, self.sequence_bits + self.worker_bits)
                | shl(fields.worker, self.sequence_bits)
                | fields.sequence,
        )
    }
}

/// A generated ID as an unsigned 64-bit number: a non-negative integer, or a string of decimal
/// digits (no sign, no spaces) that fits in 64 bits. What it is not, for an error message.
pub(super) fn number(id: &Value) -> Result<u64, &'static str> {
    const EXPECTED: &str = "a non-negative integer or a decimal string of at most 64 bits";
    match id {
        Value::Int(i) => u64::try_from(*i).map_err(|_| EXPECTED),
        Value::Str(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse::<u64>().map_err(|_| EXPECTED)
        }
        _ => Err(EXPECTED),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_layout_round_trips_and_fills_63_bits() {
        let l = SnowflakeLayout::default();
        assert_eq!(l.validate(), Ok(()));
        assert_eq!(l.total_bits(), 63);
        assert_eq!(l.max_id(), i64::MAX as u64);
        let f = Snowflake {
            timestamp_ms: 1_700_000_000_123,
            worker: 1023,
            sequence: 4095,
        };
        let id = l.encode(f).unwrap();
        assert_eq!(l.decode(id), Some(f));
        assert_eq!(l.decode(i64::MAX as u64 + 1), None);
        assert_eq!(
            l.decode(0),
            Some(Snowflake {
                timestamp_ms: l.epoch_ms,
                worker: 0,
                sequence: 0
            })
        );
        // Fields that do not fit.
        assert_eq!(l.encode(Snowflake { worker: 1024, ..f }), None);
        assert_eq!(
            l.encode(Snowflake {
                sequence: 4096,
                ..f
            }),
            None
        );
        assert_eq!(
            l.encode(Snowflake {
                timestamp_ms: 0,
                ..f
            }),
            None
        );
    }

    #[test]
    fn odd_layouts_are_checked_and_decode_without_overflow() {
        let bad = |t, w, s, e| {
            SnowflakeLayout {
                epoch_ms: e,
                timestamp_bits: t,
                worker_bits: w,
                sequence_bits: s,
            }
            .validate()
            .is_err()
        };
        assert!(bad(41, 12, 12, 0));
        assert!(bad(64, 0, 0, 0));
        assert!(bad(63, 0, 0, i64::MAX));
        assert!(bad(u32::MAX, u32::MAX, 2, 0));
        // All 64 bits used; one field of 0 bits.
        let full = SnowflakeLayout {
            epoch_ms: 0,
            timestamp_bits: 32,
            worker_bits: 0,
            sequence_bits: 32,
        };
        assert_eq!(full.validate(), Ok(()));
        assert_eq!(
            full.decode(u64::MAX),
            Some(Snowflake {
                timestamp_ms: u32::MAX as i64,
                worker: 0,
                sequence: u32::MAX as u64
            })
        );
        let seq_only = SnowflakeLayout {
            epoch_ms: 0,
            timestamp_bits: 0,
            worker_bits: 0,
            sequence_bits: 64,
        };
        assert_eq!(seq_only.decode(u64::MAX).unwrap().sequence, u64::MAX);
    }

    #[test]
    fn ids_are_integers_or_plain_decimal_strings() {
        assert_eq!(number(&Value::Int(7)), Ok(7));
        assert_eq!(number(&Value::str("18446744073709551615")), Ok(u64::MAX));
        for bad in [
            Value::Int(-1),
            Value::str("18446744073709551616"),
            Value::str("+7"),
            Value::str(" 7"),
            Value::str(""),
            Value::str("abc"),
            Value::Float(7.0),
        ] {
            assert!(number(&bad).is_err(), "{bad}");
        }
    }
}
