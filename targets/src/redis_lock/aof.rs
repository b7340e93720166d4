//! The append-only file: every change, in order, as RESP commands, replayed at start.
//!
//! ```text
//!  command ──effects──▶ Aof::append (under the engine's lock: file order = apply order)
//!                          │ write(2) into the page cache; `written` grows
//!  always:   reply ◀── Aof::sync_to(position) ── one fdatasync covers every writer waiting
//!  everysec: a task calls sync_to(written) once a second
//!  start:    Aof::open ──▶ commands ──▶ command::replay (nothing expires while loading)
//! ```
//!
//! The format is Redis's own: a sequence of multibulk commands (`*3\r\n$3\r\nSET\r\n…`), one
//! file, `appendonly.aof` in the data directory. Only deterministic, absolute-time commands
//! are written (see [`db`](super::db)): `SET k v [PXAT ms|KEEPTTL]`, `PEXPIREAT k ms`,
//! `DEL k…`, `INCR k`, `FLUSHALL`, and a script's writes inside `MULTI` … `EXEC`.
//!
//! With `always`, a reply — to a read as well as a write — leaves only after the file is
//! synced up to every change made before the command ran, so no client can see a change that
//! a crash could still lose. Writers that arrive while one sync runs share the next one.
//!
//! A crash can leave a command half-written at the end of the file. On start, as Redis with
//! `aof-load-truncated yes`, the torn tail (and a `MULTI` with no `EXEC`) is cut off the file
//! and the rest replayed; bytes that are not RESP anywhere else are an error. The file is
//! never rewritten or compacted: it grows for the life of the data directory.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::{Bytes, BytesMut};
use resp::{Frame, RequestParser};

/// The file's name in the data directory.
pub const FILE: &str = "appendonly.aof";

/// What was read back at start.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The commands to replay, in order, without `MULTI`/`EXEC`.
    pub commands: Vec<Vec<Bytes>>,
    /// If a torn tail was cut off: how many bytes, and why.
    pub truncated: Option<String>,
}

/// An open append-only file.
#[derive(Debug)]
pub struct Aof {
    path: PathBuf,
    file: Arc<File>,
    /// Bytes in the file, as written (not necessarily synced).
    written: AtomicU64,
    /// Bytes known to be on disk.
    synced: AtomicU64,
    /// One sync at a time; those who wait may find their bytes synced by the one before.
    sync_lock: tokio::sync::Mutex<()>,
}

fn is_command(args: &[Bytes], name: &str) -> bool {
    args.len() == 1 && args[0].eq_ignore_ascii_case(name.as_bytes())
}

/// Reads the commands in `data`: the commands, and the length of the prefix that is whole.
pub fn parse(data: &[u8]) -> Result<(Vec<Vec<Bytes>>, usize), String> {
    let mut buf = BytesMut::from(data);
    let mut parser = RequestParser::new();
    let mut commands = Vec::new();
    let mut transaction: Option<(Vec<Vec<Bytes>>, usize)> = None;
    let mut whole = 0;
    loop {
        let offset = data.len() - buf.len();
        if buf.first().is_some_and(|&b| b != b'*') {
            return Err(format!(
                "bad file format at byte {offset}: not a RESP command"
            ));
        }
        let args = match parser.next(&mut buf) {
            Ok(Some(args)) => args,
            Ok(None) => break,
            Err(e) => return Err(format!("bad file format at byte {offset}: {e}")),
        };
        let end = data.len() - buf.len();
        if is_command(&args, "MULTI") {
            if transaction.is_some() {
                return Err(format!("bad file format at byte {offset}: nested MULTI"));
            }
            transaction = Some((Vec::new(), offset));
        } else if is_command(&args, "EXEC") {
            let Some((inner, _)) = transaction.take() else {
                return Err(format!(
                    "bad file format at byte {offset}: EXEC without MULTI"
                ));
            };
            commands.extend(inner);
            whole = end;
        } else if let Some((inner, _)) = &mut transaction {
            inner.push(args);
        } else {
            commands.push(args);
            whole = end;
        }
    }
    Ok((commands, whole))
}

impl Aof {
    /// Opens (creating) the file in `dir` and reads it back, cutting off a torn tail.
    pub fn open(dir: &Path) -> Result<(Aof, Loaded), String> {
        let path = dir.join(FILE);
        let data = match std::fs::read(&path) {
            Ok(data) => data,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        let (commands, whole) = parse(&data).map_err(|e| format!("{}: {e}", path.display()))?;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        let mut truncated = None;
        if whole < data.len() {
            file.set_len(whole as u64)
                .and_then(|()| file.sync_all())
                .map_err(|e| format!("cannot cut the torn tail of {}: {e}", path.display()))?;
            truncated = Some(format!(
                "cut {} bytes of an unfinished command off the end of {}",
                data.len() - whole,
                path.display()
            ));
        }
        let aof = Aof {
            path,
            file: Arc::new(file),
            written: AtomicU64::new(whole as u64),
            synced: AtomicU64::new(whole as u64),
            sync_lock: tokio::sync::Mutex::new(()),
        };
        Ok((
            aof,
            Loaded {
                commands,
                truncated,
            },
        ))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `effects` (call with the engine's lock held, so the file's order is the order
    /// they were applied in); the file's length after.
    pub fn append(&self, effects: &[Vec<Bytes>]) -> io::Result<u64> {
        let mut out = BytesMut::new();
        for command in effects {
            Frame::Array(command.iter().cloned().map(Frame::Bulk).collect()).encode(&mut out);
        }
        (&*self.file).write_all(&out)?;
        let len = out.len() as u64;
        Ok(self.written.fetch_add(len, Ordering::AcqRel) + len)
    }

    /// The file's length, as written.
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Acquire)
    }

    /// Returns once the file is on disk up to `position` at least.
    pub async fn sync_to(&self, position: u64) -> io::Result<()> {
        if self.synced.load(Ordering::Acquire) >= position {
            return Ok(());
        }
        let _one_at_a_time = self.sync_lock.lock().await;
        if self.synced.load(Ordering::Acquire) >= position {
            return Ok(());
        }
        // Everything written so far is in the page cache: this sync covers all of it.
        let target = self.written();
        let file = self.file.clone();
        tokio::task::spawn_blocking(move || file.sync_data())
            .await
            .map_err(io::Error::other)??;
        self.synced.fetch_max(target, Ordering::AcqRel);
        Ok(())
    }

    /// Syncs everything written, blocking (at shutdown).
    pub fn sync_now(&self) -> io::Result<()> {
        let target = self.written();
        self.file.sync_data()?;
        self.synced.fetch_max(target, Ordering::AcqRel);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(words: &[&str]) -> Vec<Bytes> {
        words
            .iter()
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect()
    }

    fn encode(commands: &[Vec<Bytes>]) -> Vec<u8> {
        let mut out = BytesMut::new();
        for c in commands {
            Frame::Array(c.iter().cloned().map(Frame::Bulk).collect()).encode(&mut out);
        }
        out.to_vec()
    }

    fn temp_dir(name: &str) -> PathBuf {
        crate::shell::empty_temp_dir(&format!("aof-{name}"))
    }

    #[test]
    fn transactions_replay_whole_or_not_at_all() {
        let set = command(&["SET", "a", "1"]);
        let data = encode(&[
            set.clone(),
            command(&["MULTI"]),
            command(&["INCR", "a"]),
            command(&["DEL", "b"]),
            command(&["EXEC"]),
            command(&["MULTI"]),
            command(&["INCR", "a"]),
        ]);
        let (commands, whole) = parse(&data).unwrap();
        assert_eq!(commands.len(), 3);
        assert_eq!(commands[0], set);
        let cut = encode(&[command(&["MULTI"]), command(&["INCR", "a"])]).len();
        assert_eq!(whole, data.len() - cut);
        assert!(parse(b"*1\r\n$4\r\nEXEC\r\n").is_err());
        assert!(parse(b"GET a\r\n").is_err());
        assert!(parse(b"*1\r\n$x\r\n").is_err());
    }

    #[test]
    fn a_torn_tail_is_cut_off_and_appends_follow_the_whole_part() {
        let dir = temp_dir("torn");
        let whole = encode(&[command(&["SET", "a", "1"]), command(&["INCR", "a"])]);
        let mut data = whole.clone();
        data.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$1\r\nb");
        std::fs::write(dir.join(FILE), &data).unwrap();
        let (aof, loaded) = Aof::open(&dir).unwrap();
        assert_eq!(loaded.commands.len(), 2);
        assert!(loaded.truncated.is_some());
        assert_eq!(aof.written(), whole.len() as u64);
        let end = aof.append(&[command(&["DEL", "a"])]).unwrap();
        aof.sync_now().unwrap();
        drop(aof);
        let on_disk = std::fs::read(dir.join(FILE)).unwrap();
        assert_eq!(on_disk.len() as u64, end);
        let (again, loaded) = Aof::open(&dir).unwrap();
        assert_eq!(loaded.commands.len(), 3);
        assert_eq!(loaded.commands[2], command(&["DEL", "a"]));
        assert!(loaded.truncated.is_none());
        drop(again);
        std::fs::write(dir.join(FILE), b"garbage\r\n").unwrap();
        assert!(Aof::open(&dir).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn syncs_cover_everything_written_before_them() {
        let dir = temp_dir("sync");
        let (aof, loaded) = Aof::open(&dir).unwrap();
        assert!(loaded.commands.is_empty());
        let first = aof.append(&[command(&["SET", "a", "1"])]).unwrap();
        let second = aof.append(&[command(&["SET", "b", "2"])]).unwrap();
        aof.sync_to(second).await.unwrap();
        assert!(aof.synced.load(Ordering::Acquire) >= second);
        aof.sync_to(first).await.unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
