//! The framing of the nodes' append-only logs — raft-kv's `raft.log` and zab's `zab.log` —
//! free of I/O: each record is its payload's length, the payload's CRC-32 and the payload.
//!
//! ```text
//! record := len: u32 LE | crc: u32 LE | payload (len bytes)      crc = CRC-32 (IEEE) of payload
//! ```
//!
//! Each log writes its own payloads (and its own magic before the first record). On replay,
//! the first record that is incomplete or fails its checksum ends the log: it is what a SIGKILL
//! (or a power cut) in the middle of a write leaves behind, and the storage cuts it off before
//! it appends anything new.

/// Bytes before a record's payload: its length and checksum.
pub(crate) const HEADER: usize = 8;

/// No honest record comes near this (an entry or a transaction holds one request); a length
/// above it is garbage from a torn write.
const MAX_PAYLOAD: usize = 64 << 20;

/// Appends `payload`, framed, to `out`.
pub(crate) fn frame(payload: &[u8], out: &mut Vec<u8>) {
    let len = u32::try_from(payload.len()).expect("a record is far below 4 GiB");
    out.reserve(HEADER + payload.len());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc32(payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// What the start of a log's remaining bytes holds.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Framed<'a> {
    /// A whole record: its payload, and how many bytes the record took.
    Record(&'a [u8], usize),
    /// The bytes end inside a record.
    Incomplete,
    /// A record is there but its length or checksum is wrong.
    Corrupt(String),
}

/// Reads the record at the start of `buf`.
pub(crate) fn unframe(buf: &[u8]) -> Framed<'_> {
    let Some(header) = buf.get(..HEADER) else {
        return Framed::Incomplete;
    };
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
    let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    if len > MAX_PAYLOAD {
        return Framed::Corrupt(format!("record length {len}"));
    }
    let Some(payload) = buf.get(HEADER..HEADER + len) else {
        return Framed::Incomplete;
    };
    if crc32(payload) != crc {
        return Framed::Corrupt("checksum mismatch".into());
    }
    Framed::Record(payload, HEADER + len)
}

/// CRC-32 (IEEE 802.3, reflected, as zlib and PNG use), table-driven.
fn crc32(bytes: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut n = 0;
        while n < 256 {
            let mut c = n as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            table[n] = c;
            n += 1;
        }
        table
    };
    !bytes.iter().fold(!0u32, |crc, &b| {
        TABLE[((crc ^ u32::from(b)) & 0xFF) as usize] ^ (crc >> 8)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn a_framed_record_reads_back_and_every_cut_of_it_is_incomplete() {
        let mut log = Vec::new();
        frame(b"hello", &mut log);
        frame(b"", &mut log);
        assert_eq!(unframe(&log), Framed::Record(b"hello", HEADER + 5));
        assert_eq!(unframe(&log[HEADER + 5..]), Framed::Record(b"", HEADER));
        for cut in 0..HEADER + 5 {
            assert_eq!(unframe(&log[..cut]), Framed::Incomplete, "cut at {cut}");
        }
        let mut flipped = log.clone();
        flipped[HEADER] ^= 1;
        assert_eq!(
            unframe(&flipped),
            Framed::Corrupt("checksum mismatch".into())
        );
        let huge = [0xFF, 0xFF, 0xFF, 0x7F, 0, 0, 0, 0];
        assert!(matches!(unframe(&huge), Framed::Corrupt(_)));
    }
}
