//! The clock shim: how an external process (Debian's redis-server, …) gets its node's clock
//! offset (DESIGN.md, "Faults: Clock").
//!
//! The shim is an LD_PRELOAD library built from `harness/shim/clock.c` by the build and carried
//! inside the binary ([`SO`]). [`install`] writes it into a directory; [`env`] gives a child
//! process the variables that load it and name the node's offset file, which the harness then
//! moves with [`targets::clock::write_offset`]. The shim adds the offset to `CLOCK_REALTIME` and
//! `CLOCK_REALTIME_COARSE` (through `clock_gettime`), `gettimeofday` and `time`; monotonic time
//! is never skewed. A write to the offset file is seen by the process's next clock read.
//!
//! It cannot reach programs that do not take their time from the C library's dynamic symbols:
//! statically linked programs, Go programs (etcd, …: their runtime reads the vDSO itself), and
//! setuid programs (the loader ignores LD_PRELOAD for them). `harness/shim/README.md` has
//! the details.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The shim, an ELF shared object for the target, built from `harness/shim/clock.c` (empty
/// where the target is not Linux).
pub const SO: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/libfaultline_clock.so"));

/// The name [`install`] gives the shim in its directory.
pub const FILE_NAME: &str = "libfaultline_clock.so";

/// Writes the shim into `dir` (creating it) and returns the shim's absolute path.
///
/// A shim already there with the same bytes is left alone, so this can be called for every
/// node; a different one is replaced atomically (write, then rename), never overwritten in
/// place, so a process already running with the old one is not disturbed. Fails with
/// `InvalidInput` if the path could not be named in `LD_PRELOAD` (which splits on spaces and
/// colons), and with `Unsupported` on a build without the shim.
pub fn install(dir: &Path) -> io::Result<PathBuf> {
    if SO.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this faultline was built without the clock shim (it is Linux-only)",
        ));
    }
    let path = std::path::absolute(dir.join(FILE_NAME))?;
    let name = path.to_str().ok_or_else(|| unnameable(&path))?;
    if name.contains([' ', ':', '\t', '\n']) {
        return Err(unnameable(&path));
    }
    if std::fs::read(&path).is_ok_and(|bytes| bytes == SO) {
        return Ok(path);
    }
    std::fs::create_dir_all(dir)?;
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let tmp = path.with_file_name(format!(
        ".{FILE_NAME}.{}.{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let written = std::fs::write(&tmp, SO).and_then(|()| std::fs::rename(&tmp, &path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.map(|()| path)
}

fn unnameable(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "the clock shim cannot be installed at {}: LD_PRELOAD cannot name a path that is not \
             UTF-8 or holds spaces or colons",
            path.display()
        ),
    )
}

/// The environment that makes a child process load the shim at `shim` (from [`install`]) and
/// follow the offset file `clock_file`: `LD_PRELOAD` and [`targets::clock::ENV`], both as
/// absolute paths (the child may change directory, as `redis-server --dir` does).
///
/// `LD_PRELOAD` is replaced, not appended to: a child that needs other preloads too must join
/// them itself (separated by `:`). The offset file may not exist yet: the shim reads offset 0
/// until it appears, and looks for it again on a wall-clock read at most once every 10 ms.
pub fn env(shim: &Path, clock_file: &Path) -> Vec<(String, String)> {
    let absolute = |p: &Path| {
        std::path::absolute(p)
            .unwrap_or_else(|_| p.to_path_buf())
            .to_string_lossy()
            .into_owned()
    };
    vec![
        ("LD_PRELOAD".to_string(), absolute(shim)),
        (targets::clock::ENV.to_string(), absolute(clock_file)),
    ]
}
