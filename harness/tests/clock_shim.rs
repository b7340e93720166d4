//! The clock shim (harness/shim/clock.c) in real processes: the test probe built beside it
//! (harness/shim/probe.c) and, when installed, Debian's redis-server.
//!
//! Every process a test starts is killed when its guard drops, pass or fail.
#![cfg(target_os = "linux")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use faultline::clock_shim;
use targets::clock::{ENV, write_offset};

const PROBE: &str = env!("FAULTLINE_CLOCK_PROBE");
const SEC: i64 = 1_000_000_000;
const MS: i64 = 1_000_000;

/// A scratch directory, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!(
            "faultline-clock-shim-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A child process, killed and reaped on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One line of the probe's readings (see probe.c).
#[derive(Debug)]
struct Reading {
    realtime_ns: i64,
    coarse_ns: i64,
    gettimeofday_us: i64,
    time_s: i64,
    monotonic_ns: i64,
    errno: i64,
}

/// A running probe: each [`Probe::read`] asks it for one reading.
struct Probe {
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    _proc: Proc,
}

impl Probe {
    /// Starts the probe with `env` added to (and `LD_PRELOAD` and the offset-file variable
    /// taken out of) this process's environment.
    fn start(env: &[(String, String)]) -> Probe {
        let mut cmd = Command::new(PROBE);
        cmd.env_remove("LD_PRELOAD")
            .env_remove(ENV)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        let mut child = cmd.spawn().expect("the probe starts");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Probe {
            stdin,
            stdout,
            _proc: Proc(child),
        }
    }

    fn read(&mut self) -> Reading {
        self.stdin.write_all(b"\n").unwrap();
        self.stdin.flush().unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        let n: Vec<i64> = line
            .split_whitespace()
            .map(|w| w.parse().unwrap_or_else(|_| panic!("probe said {line:?}")))
            .collect();
        assert_eq!(n.len(), 6, "probe said {line:?}");
        Reading {
            realtime_ns: n[0],
            coarse_ns: n[1],
            gettimeofday_us: n[2],
            time_s: n[3],
            monotonic_ns: n[4],
            errno: n[5],
        }
    }

    /// A reading with the system's wall clock just before and just after it, in nanoseconds.
    fn read_between(&mut self) -> (i64, Reading, i64) {
        let before = now_ns();
        let r = self.read();
        (before, r, now_ns())
    }
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

/// Asserts that every wall-clock reading in `r`, taken between `before` and `after` (system
/// wall clock), is off by `offset` nanoseconds, give or take the clocks' resolutions.
fn assert_offset(before: i64, r: &Reading, after: i64, offset: i64) {
    let check = |what: &str, reading_ns: i64, resolution_ns: i64| {
        let real = reading_ns - offset;
        assert!(
            (before - resolution_ns - 5 * MS..=after + 5 * MS).contains(&real),
            "{what}: {reading_ns} is not {offset} ns off a wall clock between {before} and \
             {after} ({r:?})"
        );
    };
    check("CLOCK_REALTIME", r.realtime_ns, 0);
    check("CLOCK_REALTIME_COARSE", r.coarse_ns, 20 * MS);
    check("gettimeofday", r.gettimeofday_us * 1000, 1000);
    check("time", r.time_s * SEC, SEC + 20 * MS);
    assert_eq!(r.errno, 0, "the shim changed errno: {r:?}");
}

/// How far the probe's CLOCK_REALTIME is off the system's, roughly (in nanoseconds).
fn measured_offset(probe: &mut Probe) -> i64 {
    let (before, r, after) = probe.read_between();
    assert_eq!(r.errno, 0, "the shim changed errno: {r:?}");
    r.realtime_ns - before / 2 - after / 2
}

#[test]
fn the_wall_clock_jumps_by_the_offset_and_back_and_monotonic_time_does_not() {
    let scratch = Scratch::new("jump");
    let shim = clock_shim::install(&scratch.0).unwrap();
    let clock = scratch.0.join("n1.clock");
    write_offset(&clock, 0).unwrap();
    let mut skewed = Probe::start(&clock_shim::env(&shim, &clock));
    let mut reference = Probe::start(&[]);
    for offset in [
        0,
        3600 * SEC,
        -90 * SEC,
        0,
        1_500 * MS + 123_456,
        -1_250 * MS,
    ] {
        write_offset(&clock, offset).unwrap();
        let mono_before = reference.read().monotonic_ns;
        let (before, r, after) = skewed.read_between();
        let mono_after = reference.read().monotonic_ns;
        assert_offset(before, &r, after, offset);
        assert!(
            (mono_before..=mono_after).contains(&r.monotonic_ns),
            "CLOCK_MONOTONIC {} is not between {mono_before} and {mono_after} at offset {offset}",
            r.monotonic_ns
        );
    }
    // The reference probe, without the shim, was never skewed.
    let (before, r, after) = reference.read_between();
    assert_offset(before, &r, after, 0);
}

#[test]
fn a_missing_or_short_offset_file_is_no_offset_until_it_is_written() {
    let scratch = Scratch::new("missing");
    let shim = clock_shim::install(&scratch.0).unwrap();

    // No variable at all, or an empty one: the shim loads and changes nothing.
    let mut unset = Probe::start(&[("LD_PRELOAD".into(), shim.display().to_string())]);
    let (before, r, after) = unset.read_between();
    assert_offset(before, &r, after, 0);
    let mut empty = Probe::start(&[
        ("LD_PRELOAD".into(), shim.display().to_string()),
        (ENV.into(), String::new()),
    ]);
    let (before, r, after) = empty.read_between();
    assert_offset(before, &r, after, 0);

    // A file that does not exist yet, then one too short: offset 0.
    let clock = scratch.0.join("n1.clock");
    let mut probe = Probe::start(&clock_shim::env(&shim, &clock));
    for _ in 0..3 {
        let (before, r, after) = probe.read_between();
        assert_offset(before, &r, after, 0);
        std::thread::sleep(Duration::from_millis(15));
    }
    std::fs::write(&clock, [0x00, 0x10, 0x00, 0x00]).unwrap();
    for _ in 0..3 {
        std::thread::sleep(Duration::from_millis(15));
        let (before, r, after) = probe.read_between();
        assert_offset(before, &r, after, 0);
    }

    // Once it holds eight bytes, the shim maps it within its retry interval (10 ms)...
    let written = Instant::now();
    write_offset(&clock, 3600 * SEC).unwrap();
    while (measured_offset(&mut probe) - 3600 * SEC).abs() > 50 * MS {
        // A generous deadline for an eventual state: a busy machine is slow, not wrong.
        assert!(
            written.elapsed() < Duration::from_secs(30),
            "the shim never saw the offset file appear"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    let seen = written.elapsed();
    // ...and from then on follows every write at once.
    for offset in [-90 * SEC, 0, 42 * SEC] {
        write_offset(&clock, offset).unwrap();
        let (before, r, after) = probe.read_between();
        assert_offset(before, &r, after, offset);
    }
    eprintln!("the shim saw the offset file {seen:?} after it was written");
}

#[test]
fn install_writes_the_shim_once_and_env_names_it() {
    use std::os::unix::fs::MetadataExt;
    let scratch = Scratch::new("install");
    assert!(clock_shim::SO.starts_with(b"\x7fELF"));
    let dir = scratch.0.join("bin");
    let path = clock_shim::install(&dir).unwrap();
    assert_eq!(path, dir.join(clock_shim::FILE_NAME));
    assert_eq!(std::fs::read(&path).unwrap(), clock_shim::SO);
    let inode = std::fs::metadata(&path).unwrap().ino();
    assert_eq!(clock_shim::install(&dir).unwrap(), path);
    assert_eq!(std::fs::metadata(&path).unwrap().ino(), inode, "rewritten");
    std::fs::write(&path, b"stale").unwrap();
    clock_shim::install(&dir).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), clock_shim::SO);
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        1,
        "a temporary file is left"
    );

    let err = clock_shim::install(&scratch.0.join("a:b")).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);

    let env = clock_shim::env(Path::new("shim.so"), Path::new("n1.clock"));
    let cwd = std::env::current_dir().unwrap();
    assert_eq!(
        env,
        vec![
            (
                "LD_PRELOAD".to_string(),
                cwd.join("shim.so").display().to_string()
            ),
            (ENV.to_string(), cwd.join("n1.clock").display().to_string()),
        ]
    );
}

/// A redis-server on a free local port, killed on drop.
struct Redis {
    conn: BufReader<TcpStream>,
    log: PathBuf,
    _proc: Proc,
}

#[derive(Debug, PartialEq)]
enum Reply {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Option<String>),
    Array(Vec<Reply>),
}

impl Redis {
    /// Starts redis-server with `env`, working in `dir`, and waits for it to answer PING;
    /// returns it and how long that took.
    fn start(dir: &Path, name: &str, env: &[(String, String)]) -> (Redis, Duration) {
        let log = dir.join(format!("{name}.log"));
        let mut last = String::new();
        for _ in 0..3 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let started = Instant::now();
            let child = Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
                .arg("--dir")
                .arg(dir)
                .arg("--logfile")
                .arg(&log)
                .env_remove("LD_PRELOAD")
                .env_remove(ENV)
                .envs(env.iter().map(|(k, v)| (k, v)))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("redis-server starts");
            let mut proc = Proc(child);
            while started.elapsed() < Duration::from_secs(10) {
                if let Some(status) = proc.0.try_wait().unwrap() {
                    last = format!("redis-server exited ({status}): {}", read_log(&log));
                    break;
                }
                if let Ok(stream) = TcpStream::connect(("127.0.0.1", port)) {
                    stream
                        .set_read_timeout(Some(Duration::from_secs(5)))
                        .unwrap();
                    let mut redis = Redis {
                        conn: BufReader::new(stream),
                        log: log.clone(),
                        _proc: proc,
                    };
                    assert_eq!(redis.cmd(&["PING"]), Reply::Simple("PONG".into()));
                    return (redis, started.elapsed());
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            if last.is_empty() {
                panic!(
                    "redis-server did not answer within 10 s (a hang, as under libfaketime?): {}",
                    read_log(&log)
                );
            }
        }
        panic!("{last}");
    }

    fn cmd(&mut self, args: &[&str]) -> Reply {
        let mut req = format!("*{}\r\n", args.len());
        for a in args {
            req.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
        self.conn.get_mut().write_all(req.as_bytes()).unwrap();
        self.reply()
    }

    fn reply(&mut self) -> Reply {
        let mut line = String::new();
        if let Err(e) = self.conn.read_line(&mut line) {
            panic!("no reply from redis ({e}): {}", read_log(&self.log));
        }
        let line = line.trim_end_matches("\r\n");
        let (kind, rest) = line.split_at(1);
        match kind {
            "+" => Reply::Simple(rest.into()),
            "-" => Reply::Error(rest.into()),
            ":" => Reply::Int(rest.parse().unwrap()),
            "$" => {
                let len: i64 = rest.parse().unwrap();
                if len < 0 {
                    return Reply::Bulk(None);
                }
                let mut buf = vec![0; len as usize + 2];
                self.conn.read_exact(&mut buf).unwrap();
                buf.truncate(len as usize);
                Reply::Bulk(Some(String::from_utf8(buf).unwrap()))
            }
            "*" => Reply::Array(
                (0..rest.parse::<i64>().unwrap())
                    .map(|_| self.reply())
                    .collect(),
            ),
            _ => panic!("redis said {line:?}"),
        }
    }

    /// The server's wall clock (TIME), in nanoseconds.
    fn time_ns(&mut self) -> i64 {
        match self.cmd(&["TIME"]) {
            Reply::Array(parts) => match &parts[..] {
                [Reply::Bulk(Some(s)), Reply::Bulk(Some(us))] => {
                    s.parse::<i64>().unwrap() * SEC + us.parse::<i64>().unwrap() * 1000
                }
                other => panic!("TIME said {other:?}"),
            },
            other => panic!("TIME said {other:?}"),
        }
    }

    /// Asserts that the server's wall clock is `offset` ns off the system's.
    fn assert_offset(&mut self, offset: i64) {
        let before = now_ns();
        let time = self.time_ns() - offset;
        let after = now_ns();
        assert!(
            (before - 5 * MS..=after + 5 * MS).contains(&time),
            "redis's TIME is not {offset} ns off the system's wall clock"
        );
    }
}

fn read_log(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| format!("(no log: {e})"))
}

/// Fails the test, as the other redis-server tests do, when Debian's redis-server is missing:
/// a test that skips itself passes having checked nothing.
fn require_redis() {
    let found = Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "redis-server is not installed: `apt-get install redis-server` (.ci/run installs it)"
    );
}

fn ok() -> Reply {
    Reply::Simple("OK".into())
}

fn bulk(s: &str) -> Reply {
    Reply::Bulk(Some(s.into()))
}

#[test]
fn redis_under_the_shim_expires_a_key_early_after_a_forward_jump() {
    require_redis();
    let scratch = Scratch::new("redis");
    let shim = clock_shim::install(&scratch.0).unwrap();
    let clock = scratch.0.join("n1.clock");
    write_offset(&clock, 0).unwrap();

    // It starts and answers at once (libfaketime makes Debian's redis-server hang here).
    let (mut redis, took) = Redis::start(&scratch.0, "skewed", &clock_shim::env(&shim, &clock));
    eprintln!("redis-server under the shim answered PING after {took:?}");
    redis.assert_offset(0);
    assert_eq!(redis.cmd(&["SET", "k", "v", "PX", "60000"]), ok());
    assert_eq!(redis.cmd(&["SET", "long", "v", "PX", "600000"]), ok());
    assert_eq!(redis.cmd(&["GET", "k"]), bulk("v"));

    write_offset(&clock, 120 * SEC).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    redis.assert_offset(120 * SEC);
    assert_eq!(
        redis.cmd(&["GET", "k"]),
        Reply::Bulk(None),
        "k outlived a 120 s jump"
    );
    assert_eq!(redis.cmd(&["GET", "long"]), bulk("v"));
    assert_eq!(redis.cmd(&["EXISTS", "k"]), Reply::Int(0));

    write_offset(&clock, 0).unwrap();
    redis.assert_offset(0);
    assert_eq!(redis.cmd(&["GET", "long"]), bulk("v"));
    assert!(matches!(redis.cmd(&["PTTL", "long"]), Reply::Int(ms) if ms > 590_000));
    assert_eq!(redis.cmd(&["PING"]), Reply::Simple("PONG".into()));

    // Without the shim the same offset file changes nothing: the key survives.
    write_offset(&clock, 120 * SEC).unwrap();
    let env = vec![(ENV.to_string(), clock.display().to_string())];
    let (mut plain, _) = Redis::start(&scratch.0, "plain", &env);
    assert_eq!(plain.cmd(&["SET", "k", "v", "PX", "60000"]), ok());
    std::thread::sleep(Duration::from_millis(200));
    plain.assert_offset(0);
    assert_eq!(plain.cmd(&["GET", "k"]), bulk("v"));
}
