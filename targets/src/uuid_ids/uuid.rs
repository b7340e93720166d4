//! UUIDs as RFC 9562 lays them out, free of I/O: the 128 bits, the canonical text form, and the
//! two versions the `uuid` node issues.
//!
//! ```text
//!  v4:  random (48) │ ver=4 (4) │ random (12) │ var=10 (2) │ random (62)
//!  v7:  unix ms (48)│ ver=7 (4) │ rand_a (12) │ var=10 (2) │ rand_b (62)
//! ```
//!
//! Octet 6's high nibble is the version, octet 8's two high bits the variant (`10`: RFC 9562).
//! A v7's first 48 bits are Unix milliseconds, big-endian, so its text sorts by time; the node
//! uses `rand_a` as a counter within a millisecond (RFC 9562 §6.2, method 1).

use std::fmt;
use std::str::FromStr;

/// The largest Unix millisecond a v7 UUID holds: 2^48 − 1 (in the year 10889).
pub const MAX_V7_MS: i64 = (1 << 48) - 1;

/// A UUID: 16 octets, most significant first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Uuid(pub [u8; 16]);

impl Uuid {
    /// A version-4 UUID from 16 random octets (6 of their bits are overwritten).
    pub fn v4(random: [u8; 16]) -> Uuid {
        Uuid(random).with_version(4)
    }

    /// A version-7 UUID: `unix_ms` (at most [`MAX_V7_MS`]) in the first 48 bits, then the low
    /// 12 bits of `rand_a`, then the low 62 bits of `rand_b`.
    pub fn v7(unix_ms: u64, rand_a: u16, rand_b: u64) -> Uuid {
        debug_assert!(unix_ms <= MAX_V7_MS as u64);
        let bits = ((unix_ms as u128 & MAX_V7_MS as u128) << 80)
            | (((rand_a & 0x0fff) as u128) << 64)
            | (rand_b as u128);
        Uuid(bits.to_be_bytes()).with_version(7)
    }

    /// The version and variant bits set.
    fn with_version(mut self, version: u8) -> Uuid {
        self.0[6] = (self.0[6] & 0x0f) | (version << 4);
        self.0[8] = (self.0[8] & 0x3f) | 0x80;
        self
    }

    /// The version: octet 6's high nibble.
    pub fn version(&self) -> u8 {
        self.0[6] >> 4
    }

    /// Whether the variant is RFC 9562's (`10` in octet 8's high bits).
    pub fn is_rfc_variant(&self) -> bool {
        self.0[8] >> 6 == 0b10
    }

    /// A v7's Unix milliseconds; `None` for any other version.
    pub fn timestamp_ms(&self) -> Option<u64> {
        (self.version() == 7).then(|| (u128::from_be_bytes(self.0) >> 80) as u64)
    }

    /// A v7's 12-bit `rand_a` field (the node's counter).
    pub fn rand_a(&self) -> u16 {
        ((u128::from_be_bytes(self.0) >> 64) & 0x0fff) as u16
    }
}

impl fmt::Display for Uuid {
    /// The canonical form: `8-4-4-4-12` lowercase hex digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, byte) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl FromStr for Uuid {
    type Err = String;

    /// The canonical form (either case).
    fn from_str(s: &str) -> Result<Uuid, String> {
        let bad = || format!("{s:?} is not a UUID in 8-4-4-4-12 form");
        let groups: Vec<&str> = s.split('-').collect();
        if groups.iter().map(|g| g.len()).collect::<Vec<_>>() != [8, 4, 4, 4, 12] {
            return Err(bad());
        }
        let hex = groups.concat();
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad()); // from_str_radix would take a '+'
        }
        let mut bytes = [0u8; 16];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = hex
                .get(2 * i..2 * i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(bad)?;
        }
        Ok(Uuid(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v4_has_its_version_and_variant_and_keeps_the_rest() {
        let u = Uuid::v4([0xff; 16]);
        assert_eq!((u.version(), u.is_rfc_variant()), (4, true));
        assert_eq!(u.to_string(), "ffffffff-ffff-4fff-bfff-ffffffffffff");
        let u = Uuid::v4([0; 16]);
        assert_eq!(u.to_string(), "00000000-0000-4000-8000-000000000000");
        assert_eq!(u.timestamp_ms(), None);
    }

    #[test]
    fn v7_carries_its_timestamp() {
        // RFC 9562, appendix A.6: 2022-02-22 14:22:22.00 -05:00 is 0x017F22E279B0 ms.
        let u = Uuid::v7(0x017F_22E2_79B0, 0xCC3, 0x18C4_DC0C_0C07_398F);
        assert_eq!(u.to_string(), "017f22e2-79b0-7cc3-98c4-dc0c0c07398f");
        assert_eq!((u.version(), u.is_rfc_variant()), (7, true));
        assert_eq!(u.timestamp_ms(), Some(1_645_557_742_000));
        assert_eq!(u.rand_a(), 0xCC3);
        // Later milliseconds sort later, as text too.
        let a = Uuid::v7(1_700_000_000_000, 0xfff, u64::MAX);
        let b = Uuid::v7(1_700_000_000_001, 0, 0);
        assert!(a < b && a.to_string() < b.to_string());
        let max = Uuid::v7(MAX_V7_MS as u64, 0, 0);
        assert_eq!(max.timestamp_ms(), Some(MAX_V7_MS as u64));
    }

    #[test]
    fn the_text_form_round_trips() {
        let u = Uuid::v4(*b"0123456789abcdef");
        assert_eq!(u.to_string().parse(), Ok(u));
        assert_eq!(u.to_string().to_uppercase().parse(), Ok(u));
        for bad in [
            "",
            "017f22e2-79b0-7cc3-98c4-dc0c0c07398",
            "017f22e279b07cc398c4dc0c0c07398f",
            "017f22e2-79b0-7cc3-98c4-dc0c0c07398g",
            "017f22e2-79b0-7cc3-98c4dc-0c0c07398f",
            "+17f22e2-79b0-7cc3-98c4-dc0c0c07398f",
        ] {
            assert!(bad.parse::<Uuid>().is_err(), "{bad}");
        }
    }
}
