//! What a node persists: Raft's hard state and log, in one append-only file (`raft.log` in the
//! data directory).
//!
//! Each [`Ready`](crate::raft::Ready) becomes a few records appended at the end — the hard state
//! if it changed, a "truncate from" mark if a leader overwrote entries, then the new entries —
//! written with one `write` and made durable with one `fdatasync` before the node sends anything.
//! Nothing is ever rewritten in place, so a crash can only damage the tail.
//!
//! # Format
//!
//! ```text
//! file   := MAGIC record*                        record: the framing of `record_log`
//! payload:= 1 | term: u64 | has_vote: u8 | vote: u64              hard state
//!         | 2 | from: u64                                         delete entries from `from` on
//!         | 3 | term: u64 | index: u64 | data (the rest)          one log entry
//! ```
//!
//! All integers are little-endian. On start the file is replayed from the beginning; the first
//! record that is incomplete or fails its checksum ends the file: it is what a SIGKILL (or a
//! power cut) in the middle of a write leaves behind, and it is cut off before anything new is
//! appended. Nothing in a torn Ready was ever acted on — its messages go out only after the
//! fsync — so forgetting it is the same as crashing a moment earlier. A record that is intact
//! but makes no sense (an entry out of place) is corruption, not a torn write: the node refuses
//! to start rather than guess.
//!
//! Parsing ([`decode`], [`replay`]) is free of I/O; [`Storage`] does the reading and writing.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use crate::raft::{Entry, HardState, Index, Persisted};
use crate::record_log::{self, Framed};

/// The first bytes of every log file: this format, version 1.
const MAGIC: &[u8; 8] = b"FLRAFT01";
/// The file in the data directory.
const FILE_NAME: &str = "raft.log";

const TAG_HARD_STATE: u8 = 1;
const TAG_TRUNCATE: u8 = 2;
const TAG_ENTRY: u8 = 3;

/// One change to the persisted state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Record {
    HardState(HardState),
    /// Delete the entries from this index on.
    TruncateFrom(Index),
    Entry(Entry),
}

/// The outcome of reading one record at the start of a buffer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Decoded {
    /// A record, and how many bytes it took.
    Record(Record, usize),
    /// The buffer ends inside a record.
    Incomplete,
    /// A record is there but its checksum, length or payload is wrong.
    Corrupt(String),
}

/// Appends `record`, framed, to `out`.
pub(crate) fn encode(record: &Record, out: &mut Vec<u8>) {
    let mut payload = Vec::new();
    match record {
        Record::HardState(hs) => {
            payload.push(TAG_HARD_STATE);
            payload.extend_from_slice(&hs.term.to_le_bytes());
            payload.push(u8::from(hs.vote.is_some()));
            payload.extend_from_slice(&hs.vote.unwrap_or(0).to_le_bytes());
        }
        Record::TruncateFrom(from) => {
            payload.push(TAG_TRUNCATE);
            payload.extend_from_slice(&from.to_le_bytes());
        }
        Record::Entry(entry) => {
            payload.reserve(17 + entry.data.len());
            payload.push(TAG_ENTRY);
            payload.extend_from_slice(&entry.term.to_le_bytes());
            payload.extend_from_slice(&entry.index.to_le_bytes());
            payload.extend_from_slice(&entry.data);
        }
    }
    record_log::frame(&payload, out);
}

/// Reads the record at the start of `buf`.
pub(crate) fn decode(buf: &[u8]) -> Decoded {
    let (payload, used) = match record_log::unframe(buf) {
        Framed::Record(payload, used) => (payload, used),
        Framed::Incomplete => return Decoded::Incomplete,
        Framed::Corrupt(why) => return Decoded::Corrupt(why),
    };
    let u64_at = |at: usize| {
        payload
            .get(at..at + 8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
    };
    let record = match (payload.first(), payload.len()) {
        (Some(&TAG_HARD_STATE), 18) => {
            let term = u64_at(1).expect("length checked");
            let vote = u64_at(10).expect("length checked");
            let vote = match payload[9] {
                0 => None,
                1 => Some(vote),
                flag => return Decoded::Corrupt(format!("vote flag {flag}")),
            };
            Record::HardState(HardState { term, vote })
        }
        (Some(&TAG_TRUNCATE), 9) => Record::TruncateFrom(u64_at(1).expect("length checked")),
        (Some(&TAG_ENTRY), 17..) => Record::Entry(Entry {
            term: u64_at(1).expect("length checked"),
            index: u64_at(9).expect("length checked"),
            data: payload[17..].to_vec(),
        }),
        (tag, len) => return Decoded::Corrupt(format!("record tag {tag:?} of {len} bytes")),
    };
    Decoded::Record(record, used)
}

/// What replaying a log file found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Replayed {
    pub(crate) persisted: Persisted,
    /// Bytes of `buf` (after the magic) that hold whole, valid records.
    pub(crate) valid: usize,
    /// Why the rest was dropped, if anything was.
    pub(crate) torn: Option<String>,
}

/// Rebuilds the persisted state from the records in `buf` (the file after its magic), stopping
/// at the first torn record. Fails on records that are intact but inconsistent.
pub(crate) fn replay(buf: &[u8]) -> Result<Replayed, String> {
    let mut persisted = Persisted::default();
    let mut at = 0;
    let torn = loop {
        if at == buf.len() {
            break None;
        }
        let record = match decode(&buf[at..]) {
            Decoded::Record(record, used) => {
                at += used;
                record
            }
            Decoded::Incomplete => break Some("an incomplete record".to_string()),
            Decoded::Corrupt(why) => break Some(why),
        };
        let entries = &mut persisted.entries;
        match record {
            Record::HardState(hs) => persisted.hard_state = hs,
            Record::TruncateFrom(from) => {
                if from == 0 || from > entries.len() as Index + 1 {
                    return Err(format!(
                        "truncation from {from} of a log of {} entries",
                        entries.len()
                    ));
                }
                entries.truncate(from as usize - 1);
            }
            Record::Entry(entry) => {
                if entry.index != entries.len() as Index + 1 {
                    return Err(format!(
                        "entry {} follows entry {}",
                        entry.index,
                        entries.len()
                    ));
                }
                entries.push(entry);
            }
        }
    };
    Ok(Replayed {
        persisted,
        valid: at,
        torn: torn.map(|why| format!("{} bytes dropped: {why}", buf.len() - at)),
    })
}

/// The log file, open for appending.
#[derive(Debug)]
pub(crate) struct Storage {
    file: File,
}

/// What [`Storage::open`] found on disk.
#[derive(Debug)]
pub(crate) struct Opened {
    pub(crate) storage: Storage,
    pub(crate) persisted: Persisted,
    /// Set when a torn tail was cut off: what was dropped.
    pub(crate) torn: Option<String>,
}

impl Storage {
    /// Opens (creating it if needed) the log in `dir` and replays it.
    pub(crate) fn open(dir: &Path) -> io::Result<Opened> {
        let with_path = |path: &Path, e: io::Error| {
            io::Error::new(e.kind(), format!("{}: {e}", path.display()))
        };
        fs::create_dir_all(dir).map_err(|e| with_path(dir, e))?;
        let path: PathBuf = dir.join(FILE_NAME);
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(|e| with_path(&path, e))?;
        let mut buf = Vec::new();
        file.read_to_end(&mut buf)
            .map_err(|e| with_path(&path, e))?;

        if buf.len() < MAGIC.len() && MAGIC.starts_with(&buf) {
            // New, or torn while it was being created: start it afresh. The directory entry is
            // synced too, or the file itself could vanish in a crash.
            file.set_len(0)?;
            file.write_all(MAGIC)?;
            file.sync_all()?;
            File::open(dir)?.sync_all()?;
            return Ok(Opened {
                storage: Storage { file },
                persisted: Persisted::default(),
                torn: None,
            });
        }
        if !buf.starts_with(MAGIC) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} is not a raft-kv log", path.display()),
            ));
        }
        let replayed = replay(&buf[MAGIC.len()..]).map_err(|why| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} is corrupt: {why}", path.display()),
            )
        })?;
        if replayed.torn.is_some() {
            // Appends go to the end of the file, so the garbage must go before the next write.
            file.set_len((MAGIC.len() + replayed.valid) as u64)?;
            file.sync_all()?;
        }
        Ok(Opened {
            storage: Storage { file },
            persisted: replayed.persisted,
            torn: replayed.torn,
        })
    }

    /// Persists one Ready's changes, in the contract's order (hard state, truncation, entries),
    /// and waits until they are durable. Does nothing, and does not sync, when there is nothing.
    pub(crate) fn append(
        &mut self,
        hard_state: Option<HardState>,
        truncate_from: Option<Index>,
        entries: &[Entry],
    ) -> io::Result<()> {
        let mut buf = Vec::new();
        if let Some(hs) = hard_state {
            encode(&Record::HardState(hs), &mut buf);
        }
        if let Some(from) = truncate_from {
            encode(&Record::TruncateFrom(from), &mut buf);
        }
        for entry in entries {
            encode(&Record::Entry(entry.clone()), &mut buf);
        }
        if buf.is_empty() {
            return Ok(());
        }
        self.file.write_all(&buf)?;
        // Data only: the file's length is data for this purpose, and its other metadata
        // (times) does not matter.
        self.file.sync_data()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(index: Index, term: u64) -> Entry {
        Entry {
            term,
            index,
            data: format!("{index}@{term}").into_bytes(),
        }
    }

    fn hs(term: u64, vote: Option<u64>) -> HardState {
        HardState { term, vote }
    }

    fn encoded(records: &[Record]) -> Vec<u8> {
        let mut buf = Vec::new();
        records.iter().for_each(|r| encode(r, &mut buf));
        buf
    }

    /// A fresh directory under the system's temporary directory, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> TempDir {
            let path = std::env::temp_dir().join(format!(
                "faultline-raft-kv-storage-{name}-{}",
                std::process::id()
            ));
            let _ = fs::remove_dir_all(&path);
            TempDir(path)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn records_round_trip() {
        let records = [
            Record::HardState(hs(0, None)),
            Record::HardState(hs(7, Some(3))),
            Record::TruncateFrom(12),
            Record::Entry(entry(1, 2)),
            Record::Entry(Entry {
                term: 5,
                index: 9,
                data: Vec::new(),
            }),
        ];
        for record in records {
            let buf = encoded(std::slice::from_ref(&record));
            assert_eq!(decode(&buf), Decoded::Record(record, buf.len()));
            // Every proper prefix is incomplete, never a wrong record.
            for cut in 0..buf.len() {
                assert_eq!(decode(&buf[..cut]), Decoded::Incomplete, "cut at {cut}");
            }
        }
    }

    #[test]
    fn a_flipped_bit_is_caught() {
        let buf = encoded(&[Record::Entry(entry(1, 1))]);
        for byte in 0..buf.len() {
            let mut bad = buf.clone();
            bad[byte] ^= 0x10;
            assert!(
                !matches!(decode(&bad), Decoded::Record(..)),
                "flip in byte {byte} went unnoticed"
            );
        }
    }

    #[test]
    fn replay_applies_truncations_and_keeps_the_last_hard_state() {
        let buf = encoded(&[
            Record::HardState(hs(1, Some(1))),
            Record::Entry(entry(1, 1)),
            Record::Entry(entry(2, 1)),
            Record::Entry(entry(3, 1)),
            Record::HardState(hs(2, None)),
            Record::TruncateFrom(2),
            Record::Entry(entry(2, 2)),
        ]);
        let replayed = replay(&buf).unwrap();
        assert_eq!(replayed.torn, None);
        assert_eq!(replayed.valid, buf.len());
        assert_eq!(replayed.persisted.hard_state, hs(2, None));
        assert_eq!(replayed.persisted.entries, vec![entry(1, 1), entry(2, 2)]);
    }

    #[test]
    fn replay_refuses_an_intact_but_inconsistent_log() {
        let gap = encoded(&[Record::Entry(entry(1, 1)), Record::Entry(entry(3, 1))]);
        assert!(replay(&gap).is_err());
        let past_the_end = encoded(&[Record::Entry(entry(1, 1)), Record::TruncateFrom(3)]);
        assert!(replay(&past_the_end).is_err());
    }

    #[test]
    fn a_torn_tail_is_ignored_wherever_the_write_stopped() {
        let good = encoded(&[
            Record::HardState(hs(3, Some(2))),
            Record::Entry(entry(1, 3)),
        ]);
        let last = encoded(&[Record::Entry(entry(2, 3))]);
        for cut in 0..last.len() {
            let mut buf = good.clone();
            buf.extend_from_slice(&last[..cut]);
            let replayed = replay(&buf).unwrap();
            assert_eq!(replayed.valid, good.len());
            assert_eq!(replayed.torn.is_some(), cut > 0);
            assert_eq!(replayed.persisted.entries, vec![entry(1, 3)]);
        }
        // A length field torn into garbage, and zeros a file system may leave past the end.
        let mut garbage = good.clone();
        garbage.extend_from_slice(&[0xFF; 12]);
        assert_eq!(replay(&garbage).unwrap().valid, good.len());
        let mut zeros = good.clone();
        zeros.extend_from_slice(&[0; 40]);
        assert_eq!(replay(&zeros).unwrap().valid, good.len());
    }

    #[test]
    fn a_reopened_log_holds_what_was_appended_and_cuts_a_torn_tail() {
        let dir = TempDir::new("reopen");
        let opened = Storage::open(&dir.0).unwrap();
        assert_eq!(opened.persisted, Persisted::default());
        let mut storage = opened.storage;
        storage
            .append(Some(hs(2, Some(1))), None, &[entry(1, 1), entry(2, 2)])
            .unwrap();
        storage.append(None, Some(2), &[entry(2, 2)]).unwrap();
        storage.append(None, None, &[]).unwrap();
        drop(storage);

        // A crash in the middle of the next write.
        let path = dir.0.join(FILE_NAME);
        let whole = fs::read(&path).unwrap();
        let mut torn = whole.clone();
        torn.extend_from_slice(&encoded(&[Record::Entry(entry(3, 2))])[..10]);
        fs::write(&path, &torn).unwrap();

        let opened = Storage::open(&dir.0).unwrap();
        assert!(opened.torn.is_some());
        assert_eq!(opened.persisted.hard_state, hs(2, Some(1)));
        assert_eq!(opened.persisted.entries, vec![entry(1, 1), entry(2, 2)]);
        assert_eq!(fs::read(&path).unwrap(), whole, "the torn tail is cut off");

        // Appending after the cut yields a clean log.
        let mut storage = opened.storage;
        storage.append(None, None, &[entry(3, 2)]).unwrap();
        drop(storage);
        let opened = Storage::open(&dir.0).unwrap();
        assert_eq!(opened.torn, None);
        assert_eq!(opened.persisted.entries.len(), 3);
    }

    #[test]
    fn a_foreign_file_is_refused() {
        let dir = TempDir::new("foreign");
        fs::create_dir_all(&dir.0).unwrap();
        fs::write(dir.0.join(FILE_NAME), b"something else entirely").unwrap();
        assert!(Storage::open(&dir.0).is_err());
    }
}
