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
//!
//! [`LogFile`] is such a log of serde records, whole: opened and replayed, appended and
//! fsync'd — for the logs that are nothing but a list of records (the 2PC and 3PC nodes').

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

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

/// An append-only file of serde_json records after an 8-byte magic, open for appending.
#[derive(Debug)]
pub(crate) struct LogFile {
    path: PathBuf,
    file: File,
}

/// What [`LogFile::open`] found.
#[derive(Debug)]
pub(crate) struct Reopened<R> {
    pub(crate) log: LogFile,
    /// Every whole record, in order.
    pub(crate) records: Vec<R>,
    /// What was cut off the end, if anything: a torn write (or garbage), said in one line.
    pub(crate) dropped: Option<String>,
}

impl LogFile {
    /// Opens `path` (creating it, and its magic, if new), replays its records, and cuts off a
    /// torn tail: the first record that is incomplete, fails its checksum or is not an `R`
    /// ends the log. A file that does not start with `magic` is refused.
    pub(crate) fn open<R: DeserializeOwned>(
        path: &Path,
        magic: &[u8; 8],
    ) -> io::Result<Reopened<R>> {
        let named = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", path.display()));
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(named)?;
        let mut buf = Vec::new();
        file.read_to_end(&mut buf).map_err(named)?;
        let mut log = LogFile {
            path: path.to_path_buf(),
            file,
        };
        if buf.len() < magic.len() && magic.starts_with(&buf) {
            // New, or torn while it was being created: start it afresh, its directory entry
            // synced too, or the file itself could vanish in a crash.
            log.file.set_len(0).map_err(named)?;
            log.file.write_all(magic).map_err(named)?;
            log.file.sync_all().map_err(named)?;
            if let Some(dir) = path.parent() {
                File::open(dir).and_then(|d| d.sync_all()).map_err(named)?;
            }
            return Ok(Reopened {
                log,
                records: Vec::new(),
                dropped: None,
            });
        }
        if !buf.starts_with(magic) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{} does not start with {:?}: not this node's log",
                    path.display(),
                    String::from_utf8_lossy(magic)
                ),
            ));
        }
        let (records, valid, dropped) = replay(&buf[magic.len()..]);
        if dropped.is_some() {
            // Appends go to the end of the file: the garbage must go first.
            log.file
                .set_len((magic.len() + valid) as u64)
                .and_then(|()| log.file.sync_all())
                .map_err(named)?;
        }
        Ok(Reopened {
            log,
            records,
            dropped,
        })
    }

    /// Appends `records` with one write and one fdatasync; nothing at all when there are none.
    pub(crate) fn append<R: Serialize>(&mut self, records: &[R]) -> io::Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let mut buf = Vec::new();
        for record in records {
            let payload =
                serde_json::to_vec(record).expect("a record is plain data and always serializes");
            frame(&payload, &mut buf);
        }
        self.file
            .write_all(&buf)
            .and_then(|()| self.file.sync_data())
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", self.path.display())))
    }
}

/// The records in `buf` (a log after its magic), how many bytes hold them, and what was
/// dropped after them, if anything.
fn replay<R: DeserializeOwned>(buf: &[u8]) -> (Vec<R>, usize, Option<String>) {
    let mut records = Vec::new();
    let mut at = 0;
    let why = loop {
        let rest = &buf[at..];
        if rest.is_empty() {
            break None;
        }
        let (payload, used) = match unframe(rest) {
            Framed::Record(payload, used) => (payload, used),
            Framed::Incomplete => break Some("an incomplete record".to_string()),
            Framed::Corrupt(why) => break Some(why),
        };
        match serde_json::from_slice(payload) {
            Ok(record) => records.push(record),
            Err(e) => break Some(format!("a record that is not one: {e}")),
        }
        at += used;
    };
    let dropped = why.map(|why| {
        format!(
            "{} bytes dropped after record {} (byte {at}): {why}",
            buf.len() - at,
            records.len()
        )
    });
    (records, at, dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_file_keeps_every_whole_record_and_says_what_it_dropped() {
        let dir = crate::shell::empty_temp_dir("record-log");
        let path = dir.join("test.log");
        const MAGIC: &[u8; 8] = b"FLTEST01";
        let mut opened = LogFile::open::<u32>(&path, MAGIC).unwrap();
        assert!(opened.records.is_empty() && opened.dropped.is_none());
        opened.log.append(&[1u32, 2]).unwrap();
        opened.log.append::<u32>(&[]).unwrap();
        opened.log.append(&[3u32]).unwrap();
        drop(opened);
        let whole = std::fs::read(&path).unwrap();
        // Every cut inside the last record (9 bytes: its header and `3`) keeps the first two
        // and names what it dropped.
        for cut in whole.len() - 8..whole.len() {
            std::fs::write(&path, &whole[..cut]).unwrap();
            let again = LogFile::open::<u32>(&path, MAGIC).unwrap();
            assert_eq!(again.records, [1, 2], "cut at {cut}");
            let dropped = again.dropped.unwrap();
            assert!(dropped.contains("after record 2"), "{dropped}");
            drop(again.log);
            // …and cut it off: the next open is clean, and appends follow the whole records.
            let mut again = LogFile::open::<u32>(&path, MAGIC).unwrap();
            assert!(again.dropped.is_none());
            again.log.append(&[4u32]).unwrap();
            drop(again);
            assert_eq!(
                LogFile::open::<u32>(&path, MAGIC).unwrap().records,
                [1, 2, 4]
            );
            std::fs::write(&path, &whole).unwrap();
        }
        // A record of the wrong type ends the log as a torn one does.
        let opened = LogFile::open::<String>(&path, MAGIC).unwrap();
        assert!(opened.records.is_empty());
        assert!(opened.dropped.unwrap().contains("not one"));
        std::fs::write(&path, b"something else entirely").unwrap();
        let err = LogFile::open::<u32>(&path, MAGIC).unwrap_err();
        assert!(err.to_string().contains("not this node's log"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

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
