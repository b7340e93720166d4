//! What a `zab` server persists (the core's [`Persisted`]): its history, in an append-only
//! transaction log (`zab.log`), and its two epochs, in a small file replaced whole (`epochs`).
//!
//! Each [`Ready`](crate::zab::core::Ready) is made durable in the order the core's contract
//! asks: the truncation and the new transactions are appended with one `write` and one
//! `fdatasync`; then, if they changed, the epochs are written to `epochs.tmp`, fsync'd, renamed
//! over `epochs`, and the directory fsync'd — so a crash leaves the old epochs or the new,
//! never half of each, and never epochs ahead of the history they describe.
//!
//! # The log's format
//!
//! ```text
//! file   := MAGIC record*                     record: the framing of `record_log`
//! payload:= serde_json of Record: {"Truncate":{"after":ZXID}} | {"Txn":{"zxid":…,"payload":[…]}}
//! ```
//!
//! On start the log is replayed from the beginning; the first record that is incomplete or
//! fails its checksum ends it — what a SIGKILL in the middle of a write leaves — and is cut off
//! before anything is appended. Nothing in a torn write was acted on (messages go out only
//! after the fsync), so forgetting it is crashing a moment earlier. Whether the history that
//! remains is consistent with the epochs is for [`Zab::new`](crate::zab::core::Zab::new) to
//! judge.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::record_log::{self, Framed};
use crate::zab::core::{Epochs, Persisted, Txn, Zxid};

/// The first bytes of every log file: this format, version 1.
const MAGIC: &[u8; 8] = b"FLZAB001";
const LOG: &str = "zab.log";
const EPOCHS: &str = "epochs";
const EPOCHS_TMP: &str = "epochs.tmp";

/// One change to the persisted history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Record {
    /// Delete every transaction after this zxid.
    Truncate {
        after: Zxid,
    },
    Txn(Txn),
}

/// Appends `record`, framed, to `out`.
pub(crate) fn encode(record: &Record, out: &mut Vec<u8>) {
    let payload = serde_json::to_vec(record).expect("a record is plain data and always serializes");
    record_log::frame(&payload, out);
}

/// Replays the records in `buf` (the log after its magic): the history, how many bytes hold
/// whole records, and why the rest was dropped, if anything was.
pub(crate) fn replay(buf: &[u8]) -> (Vec<Txn>, usize, Option<String>) {
    let mut history: Vec<Txn> = Vec::new();
    let mut at = 0;
    let torn = loop {
        let rest = &buf[at..];
        if rest.is_empty() {
            break None;
        }
        let (payload, used) = match record_log::unframe(rest) {
            Framed::Record(payload, used) => (payload, used),
            Framed::Incomplete => break Some("an incomplete record".to_string()),
            Framed::Corrupt(why) => break Some(why),
        };
        match serde_json::from_slice(payload) {
            Ok(Record::Truncate { after }) => history.retain(|t| t.zxid <= after),
            Ok(Record::Txn(txn)) => history.push(txn),
            Err(e) => break Some(format!("a record that is not one: {e}")),
        }
        at += used;
    };
    let torn = torn.map(|why| format!("{} bytes dropped: {why}", buf.len() - at));
    (history, at, torn)
}

/// The data directory, open for appending.
#[derive(Debug)]
pub(crate) struct Storage {
    dir: PathBuf,
    log: File,
}

/// What [`Storage::open`] found on disk.
#[derive(Debug)]
pub(crate) struct Opened {
    pub(crate) storage: Storage,
    pub(crate) persisted: Persisted,
    /// Set when a torn tail was cut off: what was dropped.
    pub(crate) torn: Option<String>,
}

fn with_path(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

impl Storage {
    /// Opens (creating them if needed) the log and epochs in `dir`, and reads them back.
    pub(crate) fn open(dir: &Path) -> io::Result<Opened> {
        fs::create_dir_all(dir).map_err(|e| with_path(dir, e))?;
        let path = dir.join(LOG);
        let mut log = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(|e| with_path(&path, e))?;
        let mut buf = Vec::new();
        log.read_to_end(&mut buf).map_err(|e| with_path(&path, e))?;
        let (history, torn) = if buf.len() < MAGIC.len() && MAGIC.starts_with(&buf) {
            // New, or torn while it was being created: start it afresh, its directory entry
            // synced too, or the file itself could vanish in a crash.
            log.set_len(0)?;
            log.write_all(MAGIC)?;
            log.sync_all()?;
            File::open(dir)?.sync_all()?;
            (Vec::new(), None)
        } else if !buf.starts_with(MAGIC) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} is not a zab transaction log", path.display()),
            ));
        } else {
            let (history, valid, torn) = replay(&buf[MAGIC.len()..]);
            if torn.is_some() {
                // Appends go to the end of the file: the garbage must go first.
                log.set_len((MAGIC.len() + valid) as u64)?;
                log.sync_all()?;
            }
            (history, torn)
        };
        let epochs_path = dir.join(EPOCHS);
        let epochs = match fs::read(&epochs_path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{} is corrupt: {e}", epochs_path.display()),
                )
            })?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Epochs::default(),
            Err(e) => return Err(with_path(&epochs_path, e)),
        };
        Ok(Opened {
            storage: Storage {
                dir: dir.to_path_buf(),
                log,
            },
            persisted: Persisted { epochs, history },
            torn,
        })
    }

    /// Makes one Ready's changes durable, in the contract's order: the history (truncation,
    /// then the new transactions), then the epochs. Does nothing, and syncs nothing, when there
    /// is nothing.
    pub(crate) fn persist(
        &mut self,
        truncate_after: Option<Zxid>,
        append: &[Txn],
        epochs: Option<Epochs>,
    ) -> io::Result<()> {
        let mut buf = Vec::new();
        if let Some(after) = truncate_after {
            encode(&Record::Truncate { after }, &mut buf);
        }
        for txn in append {
            encode(&Record::Txn(txn.clone()), &mut buf);
        }
        if !buf.is_empty() {
            self.log.write_all(&buf)?;
            self.log.sync_data()?;
        }
        if let Some(epochs) = epochs {
            let tmp = self.dir.join(EPOCHS_TMP);
            let mut file = File::create(&tmp)?;
            file.write_all(&serde_json::to_vec(&epochs).expect("epochs always serialize"))?;
            file.sync_all()?;
            fs::rename(&tmp, self.dir.join(EPOCHS))?;
            File::open(&self.dir)?.sync_all()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::empty_temp_dir;

    fn txn(epoch: u64, counter: u64) -> Txn {
        Txn {
            zxid: Zxid::new(epoch, counter),
            payload: format!("{epoch}:{counter}").into_bytes(),
        }
    }

    #[test]
    fn replay_applies_truncations_and_stops_at_a_torn_tail() {
        let mut buf = Vec::new();
        for record in [
            Record::Txn(txn(1, 1)),
            Record::Txn(txn(1, 2)),
            Record::Truncate {
                after: Zxid::new(1, 1),
            },
            Record::Txn(txn(2, 1)),
        ] {
            encode(&record, &mut buf);
        }
        let whole = buf.len();
        assert_eq!(replay(&buf), (vec![txn(1, 1), txn(2, 1)], whole, None));
        encode(&Record::Txn(txn(2, 2)), &mut buf);
        for cut in whole + 1..buf.len() {
            let (history, valid, torn) = replay(&buf[..cut]);
            assert_eq!((history.len(), valid), (2, whole), "cut at {cut}");
            assert!(torn.is_some());
        }
        let last = buf.len() - 1;
        buf[last] ^= 1;
        assert!(replay(&buf).2.unwrap().contains("checksum"));
    }

    #[test]
    fn a_reopened_directory_holds_what_was_persisted() {
        let dir = empty_temp_dir("zab-storage");
        let mut opened = Storage::open(&dir).unwrap();
        assert_eq!(opened.persisted, Persisted::default());
        let epochs = Epochs {
            accepted: 2,
            current: 1,
        };
        opened
            .storage
            .persist(None, &[txn(1, 1), txn(1, 2)], Some(epochs))
            .unwrap();
        opened
            .storage
            .persist(Some(Zxid::new(1, 1)), &[txn(2, 1)], None)
            .unwrap();
        drop(opened);
        // A torn write at the end is cut off.
        let mut log = OpenOptions::new().append(true).open(dir.join(LOG)).unwrap();
        log.write_all(&[9, 0, 0]).unwrap();
        drop(log);
        let again = Storage::open(&dir).unwrap();
        assert_eq!(
            again.persisted,
            Persisted {
                epochs,
                history: vec![txn(1, 1), txn(2, 1)]
            }
        );
        assert!(again.torn.is_some());
        drop(again);
        assert!(Storage::open(&dir).unwrap().torn.is_none());

        fs::write(dir.join(LOG), b"something else").unwrap();
        assert!(Storage::open(&dir).is_err());
        let _ = fs::remove_dir_all(&dir);
    }
}
