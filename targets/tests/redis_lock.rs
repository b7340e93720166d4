//! End-to-end tests of the `redis-lock` node, most of them side by side with a real
//! redis-server (Debian's 7.0, from the `redis-server` and `redis-tools` packages): the same
//! command lines through `redis-cli`, the same malformed bytes over raw TCP, and the replies
//! compared. The bundled node runs on its own thread and tokio runtime in the test process;
//! redis-server is a child process on a free port. Both are stopped, and their data
//! directories removed, when the test's guards are dropped — even after a failed assertion.
//!
//! Without redis-server, redis-cli (or, for the benchmark, redis-benchmark) the tests fail,
//! naming the package to install: they never pass vacuously.

mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use resp::Frame;
use support::redis::{PATIENCE, RedisServer, Server, redis_benchmark, require};
use support::temp_dir;
use targets::clock::write_offset;

impl Server {
    fn client(&self) -> Client {
        Client::connect(self.addr)
    }
}

/// A minimal synchronous RESP2 client.
struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).expect("the server accepts");
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        Client {
            stream,
            buf: Vec::new(),
        }
    }

    fn call(&mut self, args: &[&str]) -> Frame {
        let request = Frame::Array(args.iter().map(Frame::bulk).collect());
        self.stream
            .write_all(&request.to_bytes())
            .expect("the request goes out");
        loop {
            if let Some((frame, used)) = Frame::parse(&self.buf).expect("a well-formed reply") {
                self.buf.drain(..used);
                return frame;
            }
            let mut chunk = [0u8; 4096];
            let n = (self.stream.read(&mut chunk))
                .unwrap_or_else(|e| panic!("no reply to {args:?}: {e}"));
            assert!(n > 0, "the connection closed before replying to {args:?}");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    fn integer(&mut self, args: &[&str]) -> i64 {
        match self.call(args) {
            Frame::Integer(n) => n,
            other => panic!("{args:?}: expected an integer, got {other:?}"),
        }
    }
}

fn ok() -> Frame {
    Frame::ok()
}

fn bulk(text: &str) -> Frame {
    Frame::bulk(text)
}

/// Wall-clock milliseconds since the epoch (the real clock, no offset).
fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// `redis-cli -p PORT ARGS…` in its formatted (`--no-raw`) output, with what it wrote to
/// stderr and its exit status.
fn redis_cli(port: u16, args: &[String]) -> String {
    let output = Command::new("redis-cli")
        .args(["--no-raw", "-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run redis-cli (Debian package `redis-tools`): {e}"));
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.stderr.is_empty() {
        text.push_str("[stderr] ");
        text.push_str(&String::from_utf8_lossy(&output.stderr));
    }
    if !output.status.success() {
        text.push_str(&format!("[{}]", output.status));
    }
    text
}

/// How two replies to one command line are compared.
#[derive(Clone, Copy, Debug)]
enum Check {
    /// Byte for byte.
    Same,
    /// A time to live, in units of `unit` ms: both `-1`, both `-2`, or both positive and
    /// within a second of each other (the two servers saw the command at different moments).
    Ttl { unit: i64 },
    /// `INFO`: both are a Redis `INFO` text.
    Info,
    /// `TIME`: both are two integers, seconds and microseconds, and the seconds agree to 2 s.
    Time,
    /// Not a command: wait this many milliseconds.
    Sleep(u64),
}

struct Step {
    check: Check,
    args: Vec<String>,
}

fn step(check: Check, args: &[&str]) -> Step {
    Step {
        check,
        args: args.iter().map(|a| a.to_string()).collect(),
    }
}

fn same(args: &[&str]) -> Step {
    step(Check::Same, args)
}

fn pttl(key: &str) -> Step {
    step(Check::Ttl { unit: 1 }, &["PTTL", key])
}

fn ttl(key: &str) -> Step {
    step(Check::Ttl { unit: 1000 }, &["TTL", key])
}

/// Whether two `redis-cli` outputs of `check` agree.
fn agree(check: Check, ours: &str, theirs: &str) -> bool {
    match check {
        Check::Same | Check::Sleep(_) => ours == theirs,
        Check::Ttl { unit } => {
            let parse = |text: &str| {
                text.trim()
                    .strip_prefix("(integer) ")
                    .and_then(|n| n.parse::<i64>().ok())
            };
            match (parse(ours), parse(theirs)) {
                (Some(a), Some(b)) if a < 0 || b < 0 => a == b,
                (Some(a), Some(b)) => a > 0 && b > 0 && (a - b).abs() * unit <= 1000,
                _ => false,
            }
        }
        Check::Time => {
            let parse = |text: &str| {
                let parts: Vec<i64> = text
                    .lines()
                    .filter_map(|l| l.split_once(") \"")?.1.strip_suffix('"')?.parse().ok())
                    .collect();
                (parts.len() == 2 && (0..1_000_000).contains(&parts[1])).then_some(parts[0])
            };
            matches!((parse(ours), parse(theirs)), (Some(a), Some(b)) if (a - b).abs() <= 2)
        }
        Check::Info => [ours, theirs]
            .iter()
            .all(|text| text.contains("# Server") && text.contains("redis_version:")),
    }
}

const COMPARE_AND_DELETE: &str = r#"if redis.call("get",KEYS[1]) == ARGV[1] then return redis.call("del",KEYS[1]) else return 0 end"#;
const COMPARE_AND_PEXPIRE: &str = r#"if redis.call("get",KEYS[1]) == ARGV[1] then return redis.call("pexpire",KEYS[1],ARGV[2]) else return 0 end"#;

/// Every command line of the comparison, in order.
fn command_lines() -> Vec<Step> {
    let soon = (now_millis() + 100_000).to_string();
    let soon_s = (now_millis() / 1000 + 200).to_string();
    let past = (now_millis() - 10_000).to_string();
    let sha = |script: &str| {
        let mut child = Command::new("sha1sum")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("sha1sum (coreutils) runs");
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(script.as_bytes()).unwrap();
        drop(stdin);
        let output = child.wait_with_output().unwrap();
        let text = String::from_utf8(output.stdout).unwrap();
        text.split_whitespace().next().unwrap().to_string()
    };
    let cad_sha = sha(COMPARE_AND_DELETE);
    let cap_sha = sha(COMPARE_AND_PEXPIRE);
    vec![
        // Housekeeping.
        same(&["PING"]),
        same(&["PING", "hello world"]),
        same(&["PING", "a", "b"]),
        same(&["ECHO", "a b\tc"]),
        same(&["ECHO"]),
        same(&["ECHO", "a", "b"]),
        same(&["DBSIZE"]),
        same(&["DBSIZE", "x"]),
        same(&["SELECT", "0"]),
        same(&["SELECT", "abc"]),
        same(&["SELECT"]),
        step(Check::Info, &["INFO"]),
        step(Check::Info, &["INFO", "server"]),
        same(&["CONFIG", "GET", "maxmemory"]),
        same(&["CLIENT", "SETNAME", "lock-client"]),
        same(&["CLIENT", "SETNAME", "a b"]),
        same(&["CLIENT", "GETNAME"]),
        same(&["CONFIG", "GET", "appendonly"]),
        same(&["CONFIG", "GET", "nosuchparameter"]),
        step(Check::Time, &["TIME"]),
        same(&["QUIT"]),
        same(&["NOSUCHCOMMAND"]),
        same(&["NOSUCHCOMMAND", "a", "b"]),
        same(&["nosuchcommand", "with", "many", "arguments", "here"]),
        same(&["nosuchcommand", &"x".repeat(300), "more"]),
        same(&["nosuchcommand", "line\nbreak", "it's \"quoted\""]),
        // SET and GET.
        same(&["GET", "k"]),
        same(&["SET", "k", "v"]),
        same(&["GET", "k"]),
        same(&["SET", "k", ""]),
        same(&["GET", "k"]),
        same(&["SET", "k", "v1", "NX"]),
        same(&["SET", "k", "v2", "XX"]),
        same(&["GET", "k"]),
        same(&["SET", "fresh", "v", "XX"]),
        same(&["GET", "fresh"]),
        same(&["SET", "fresh", "v", "NX"]),
        same(&["SET", "k", "v3", "GET"]),
        same(&["SET", "missing", "v", "XX", "GET"]),
        same(&["SET", "k", "v4", "NX", "GET"]),
        same(&["SET", "k", "v5", "XX", "GET"]),
        same(&["set", "k", "v5a", "nx", "nx"]),
        same(&["sEt", "k", "v5b", "xx", "xx", "get", "get"]),
        same(&["get", "k"]),
        same(&["SET", "k", "v5c", "EX", "10", "EX", "20"]),
        ttl("k"),
        same(&["SET", "k", "v5d", "PX", "10000", "PX", "20000"]),
        pttl("k"),
        same(&["SET", "k", "v5e", "KEEPTTL", "KEEPTTL"]),
        pttl("k"),
        same(&["SET", "k", "v6", "px", "100000"]),
        pttl("k"),
        same(&["SET", "k", "v7", "KEEPTTL"]),
        pttl("k"),
        same(&["SET", "k", "v8"]),
        pttl("k"),
        same(&["SET", "k", "v9", "EX", "100"]),
        ttl("k"),
        pttl("k"),
        same(&["SET", "k", "v10", "PXAT", &soon]),
        pttl("k"),
        same(&["SET", "k", "v11", "EXAT", &soon_s]),
        ttl("k"),
        same(&["SET", "k", "v12", "KEEPTTL", "GET"]),
        ttl("k"),
        same(&["SET", "gone", "v", "PXAT", &past]),
        same(&["GET", "gone"]),
        same(&["SET", "gone", "v", "EXAT", "1"]),
        same(&["EXISTS", "gone"]),
        same(&["SET", "short", "v", "PX", "100"]),
        step(Check::Sleep(250), &[]),
        same(&["GET", "short"]),
        same(&["EXISTS", "short"]),
        pttl("short"),
        // SET's errors.
        same(&["SET", "k"]),
        same(&["SET"]),
        same(&["SET", "k", "v", "NX", "XX"]),
        same(&["SET", "k", "v", "XX", "NX"]),
        same(&["SET", "k", "v", "PX", "10", "EX", "10"]),
        same(&["SET", "k", "v", "KEEPTTL", "PX", "10"]),
        same(&["SET", "k", "v", "EX", "10", "KEEPTTL"]),
        same(&["SET", "k", "v", "PX"]),
        same(&["SET", "k", "v", "BOGUS"]),
        same(&["SET", "k", "v", "EX", "0"]),
        same(&["SET", "k", "v", "PX", "0"]),
        same(&["SET", "k", "v", "EX", "-1"]),
        same(&["SET", "k", "v", "PXAT", "0"]),
        same(&["SET", "k", "v", "EXAT", "-5"]),
        same(&["SET", "k", "v", "EX", "abc"]),
        same(&["SET", "k", "v", "PX", "1.5"]),
        same(&["SET", "k", "v", "EX", "9223372036854775807"]),
        same(&["SET", "k", "v", "PX", "9223372036854775807"]),
        same(&["SET", "k", "v", "EXAT", "9223372036854775807"]),
        same(&["SET", "k", "v", "PX", "99999999999999999999"]),
        same(&["GET", "k"]),
        same(&["GET"]),
        same(&["GET", "a", "b"]),
        // DEL and EXISTS.
        same(&["SET", "d1", "x"]),
        same(&["SET", "d2", "x"]),
        same(&["EXISTS", "d1", "d2", "d1", "nope"]),
        same(&["EXISTS"]),
        same(&["DEL", "d1", "d2", "d1", "nope"]),
        same(&["DEL", "d1"]),
        same(&["DEL"]),
        same(&["EXISTS", "d1"]),
        // INCR.
        same(&["INCR", "counter"]),
        same(&["INCR", "counter"]),
        same(&["GET", "counter"]),
        same(&["SET", "counter", "-5"]),
        same(&["INCR", "counter"]),
        same(&["SET", "counter", "9223372036854775806"]),
        same(&["INCR", "counter"]),
        same(&["INCR", "counter"]),
        same(&["GET", "counter"]),
        same(&["SET", "counter", "abc"]),
        same(&["INCR", "counter"]),
        same(&["SET", "counter", " 1"]),
        same(&["INCR", "counter"]),
        same(&["SET", "counter", "007"]),
        same(&["INCR", "counter"]),
        same(&["SET", "counter", "+1"]),
        same(&["INCR", "counter"]),
        same(&["SET", "counter", "-0"]),
        same(&["INCR", "counter"]),
        same(&["SET", "counter", ""]),
        same(&["INCR", "counter"]),
        same(&["SET", "counter", "-9223372036854775808"]),
        same(&["INCR", "counter"]),
        same(&["SET", "counter", "0"]),
        same(&["INCR", "counter"]),
        same(&["SET", "counter", "1.0"]),
        same(&["INCR", "counter"]),
        same(&["SET", "counter", "99999999999999999999"]),
        same(&["INCR", "counter"]),
        same(&["SET", "counter", "41", "PX", "100000"]),
        same(&["INCR", "counter"]),
        pttl("counter"),
        same(&["INCR"]),
        same(&["INCR", "a", "b"]),
        // PEXPIRE, PEXPIREAT, EXPIRE, PTTL, TTL.
        same(&["SET", "e", "v"]),
        pttl("e"),
        ttl("e"),
        pttl("nope"),
        ttl("nope"),
        same(&["PEXPIRE", "nope", "1000"]),
        same(&["PEXPIRE", "e", "100000", "XX"]),
        same(&["PEXPIRE", "e", "100000", "NX"]),
        same(&["PEXPIRE", "e", "100000", "NX"]),
        same(&["SET", "e", "v"]),
        same(&["PEXPIRE", "e", "100000", "GT"]),
        same(&["PEXPIRE", "e", "100000", "LT"]),
        pttl("e"),
        same(&["PEXPIRE", "e", "200000", "NX"]),
        same(&["PEXPIRE", "e", "200000", "XX"]),
        pttl("e"),
        same(&["PEXPIRE", "e", "100000", "GT"]),
        same(&["PEXPIRE", "e", "300000", "GT"]),
        pttl("e"),
        same(&["PEXPIRE", "e", "400000", "LT"]),
        same(&["PEXPIRE", "e", "50000", "LT"]),
        pttl("e"),
        same(&["PEXPIRE", "e", "50000", "nx"]),
        same(&["PEXPIRE", "e", "1", "NX", "XX"]),
        same(&["PEXPIRE", "e", "1", "GT", "LT"]),
        same(&["PEXPIRE", "e", "1", "NX", "GT"]),
        same(&["PEXPIRE", "e", "1", "XX", "GT"]),
        same(&["PEXPIRE", "e", "1", "FOO"]),
        same(&["PEXPIRE", "e", "abc"]),
        same(&["PEXPIRE", "e", "9223372036854775807"]),
        same(&["PEXPIRE", "e"]),
        same(&["PEXPIRE"]),
        pttl("e"),
        same(&["PEXPIRE", "e", "-1"]),
        same(&["EXISTS", "e"]),
        same(&["SET", "e", "v"]),
        same(&["PEXPIRE", "e", "0"]),
        same(&["GET", "e"]),
        same(&["SET", "e", "v"]),
        same(&["PEXPIREAT", "e", &soon]),
        pttl("e"),
        same(&["PEXPIREAT", "e", &soon, "NX"]),
        same(&["PEXPIREAT", "nope", &soon]),
        same(&["PEXPIREAT", "e", "abc"]),
        same(&["PEXPIREAT", "e", "9223372036854775807"]),
        same(&["PEXPIREAT", "e", &past]),
        same(&["EXISTS", "e"]),
        same(&["PEXPIREAT", "e"]),
        same(&["SET", "e", "v"]),
        same(&["EXPIRE", "e", "100"]),
        ttl("e"),
        pttl("e"),
        same(&["EXPIRE", "e", "50", "GT"]),
        same(&["EXPIRE", "e", "50", "LT"]),
        ttl("e"),
        same(&["EXPIRE", "e", "9223372036854775807"]),
        same(&["EXPIRE", "e", "92233720368547758"]),
        same(&["EXPIRE", "e", "1.5"]),
        same(&["EXPIRE", "e"]),
        same(&["EXPIRE", "e", "-10"]),
        same(&["GET", "e"]),
        same(&["PTTL"]),
        same(&["PTTL", "a", "b"]),
        same(&["TTL"]),
        // Scripts: values and conversions.
        same(&["EVAL", "return 1", "0"]),
        same(&["EVAL", "return 3.99", "0"]),
        same(&["EVAL", "return -2.5", "0"]),
        same(&["EVAL", "return 'text'", "0"]),
        same(&["EVAL", "return true", "0"]),
        same(&["EVAL", "return false", "0"]),
        same(&["EVAL", "return nil", "0"]),
        same(&["EVAL", "return {}", "0"]),
        same(&["EVAL", "return {1, 'two', {3, 'four', {}}, 5.5}", "0"]),
        same(&["EVAL", "return {1, 2, nil, 4}", "0"]),
        same(&["EVAL", "return {1, false, 3}", "0"]),
        same(&["EVAL", "return redis.status_reply('FINE')", "0"]),
        same(&["EVAL", "return {ok='STATUS'}", "0"]),
        same(&["EVAL", "return redis.error_reply('MYERR went wrong')", "0"]),
        same(&["EVAL", "return redis.error_reply('no code')", "0"]),
        same(&["EVAL", "return {err='bad thing'}", "0"]),
        same(&["EVAL", "return {err='-ERR with dash'}", "0"]),
        same(&["EVAL", "return {1, {err='nested error'}}", "0"]),
        same(&[
            "EVAL",
            "return KEYS[1] .. ARGV[1] .. #KEYS .. #ARGV",
            "2",
            "a",
            "b",
            "c",
        ]),
        same(&["EVAL", "return {KEYS, ARGV}", "1", "k1", "a1", "a2"]),
        same(&["EVAL", "return redis.sha1hex('')", "0"]),
        same(&["EVAL", "return type(redis.call('get', 'nope'))", "0"]),
        same(&["EVAL", "return redis.call('get', KEYS[1])", "1", "nope"]),
        same(&[
            "EVAL",
            "return redis.call('set', KEYS[1], ARGV[1], 'PX', 100000)",
            "1",
            "sk",
            "sv",
        ]),
        pttl("sk"),
        same(&["EVAL", "return redis.call('incr', KEYS[1])", "1", "sc"]),
        same(&["EVAL", "return redis.call('ping')", "0"]),
        same(&[
            "EVAL",
            "return redis.call('exists', 'sk', 'sc', 'nope')",
            "0",
        ]),
        same(&[
            "EVAL",
            "local r = redis.call('set', 'sk', 'x'); return r['ok']",
            "0",
        ]),
        same(&["EVAL", "return tostring(redis.call('pttl', 'sk'))", "0"]),
        // Scripts: errors.
        same(&["EVAL", "return redis.call('nosuch')", "0"]),
        same(&["EVAL", "return redis.call('get')", "0"]),
        same(&["EVAL", "return redis.call('incr', 'sv_text')", "0"]),
        same(&["SET", "sv_text", "abc"]),
        same(&["EVAL", "return redis.call('incr', 'sv_text')", "0"]),
        same(&["EVAL", "return redis.pcall('incr', 'sv_text')", "0"]),
        same(&[
            "EVAL",
            "local e = redis.pcall('incr', 'sv_text'); return e['err']",
            "0",
        ]),
        same(&["EVAL", "return redis.pcall('nosuch')", "0"]),
        same(&["EVAL", "return redis.call('eval', 'return 1', 0)", "0"]),
        same(&["EVAL", "return redis.call()", "0"]),
        same(&["EVAL", "return redis.call({})", "0"]),
        same(&["EVAL", "error('boom')", "0"]),
        same(&["EVAL", "error({err='TABLE boom'})", "0"]),
        same(&["EVAL", "syntax error here", "0"]),
        same(&["EVAL", "x = 1", "0"]),
        same(&["EVAL", "return undefined_global", "0"]),
        same(&["EVAL", "return 1", "-1"]),
        same(&["EVAL", "return 1", "5", "a"]),
        same(&["EVAL", "return 1", "x"]),
        same(&["EVAL", "return 1"]),
        same(&["EVAL"]),
        // The lock scripts.
        same(&["SET", "lock", "tok", "NX", "PX", "100000"]),
        same(&["SET", "lock", "other", "NX", "PX", "100000"]),
        same(&["EVAL", COMPARE_AND_PEXPIRE, "1", "lock", "other", "200000"]),
        pttl("lock"),
        same(&["EVAL", COMPARE_AND_PEXPIRE, "1", "lock", "tok", "200000"]),
        pttl("lock"),
        same(&["EVAL", COMPARE_AND_DELETE, "1", "lock", "other"]),
        same(&["GET", "lock"]),
        same(&["EVAL", COMPARE_AND_DELETE, "1", "lock", "tok"]),
        same(&["GET", "lock"]),
        same(&["EVAL", COMPARE_AND_DELETE, "1", "lock", "tok"]),
        same(&["EVAL", COMPARE_AND_PEXPIRE, "1", "lock", "tok", "200000"]),
        // EVALSHA and SCRIPT.
        same(&["SCRIPT", "LOAD", COMPARE_AND_DELETE]),
        same(&["SCRIPT", "LOAD", COMPARE_AND_PEXPIRE]),
        same(&["SCRIPT", "LOAD", "syntax error here"]),
        same(&[
            "SCRIPT",
            "EXISTS",
            &cad_sha,
            &cap_sha,
            &"0".repeat(40),
            "short",
        ]),
        same(&["SCRIPT", "EXISTS", &cad_sha.to_uppercase()]),
        same(&["SET", "lock", "tok", "NX", "PX", "100000"]),
        same(&["EVALSHA", &cap_sha, "1", "lock", "tok", "300000"]),
        pttl("lock"),
        same(&["EVALSHA", &cad_sha, "1", "lock", "other"]),
        same(&["EVALSHA", &cad_sha.to_uppercase(), "1", "lock", "tok"]),
        same(&["EXISTS", "lock"]),
        same(&["EVALSHA", &"0".repeat(40), "0"]),
        same(&["EVALSHA", "nosuchsha", "0"]),
        same(&["EVALSHA", &cad_sha, "-1"]),
        same(&["EVALSHA", &cad_sha]),
        same(&["SCRIPT", "FLUSH"]),
        same(&["SCRIPT", "EXISTS", &cad_sha]),
        same(&["EVALSHA", &cad_sha, "1", "lock", "tok"]),
        same(&["SCRIPT", "LOAD", COMPARE_AND_DELETE]),
        same(&["SCRIPT", "FLUSH", "SYNC"]),
        same(&["SCRIPT", "FLUSH", "ASYNC"]),
        same(&["SCRIPT", "FLUSH", "BOGUS"]),
        same(&["EVAL", COMPARE_AND_DELETE, "1", "lock", "tok"]),
        same(&["SCRIPT", "EXISTS", &cad_sha]),
        same(&["SCRIPT", "LOAD"]),
        same(&["SCRIPT", "EXISTS"]),
        same(&["SCRIPT", "BOGUS"]),
        same(&["SCRIPT"]),
        same(&["SCRIPT", "KILL"]),
        // The keyspace at the end.
        same(&["DBSIZE"]),
        same(&["FLUSHDB"]),
        same(&["DBSIZE"]),
        same(&["SET", "k", "v"]),
        same(&["FLUSHALL"]),
        same(&["DBSIZE"]),
    ]
}

#[test]
fn every_supported_command_replies_as_redis_server_does() {
    require("redis-cli", "redis-tools");
    let redis = RedisServer::start();
    let ours = Server::start(&[]);
    let mut mismatches = Vec::new();
    let lines = command_lines();
    for line in &lines {
        if let Check::Sleep(ms) = line.check {
            std::thread::sleep(Duration::from_millis(ms));
            continue;
        }
        let mine = redis_cli(ours.port(), &line.args);
        let real = redis_cli(redis.port(), &line.args);
        if !agree(line.check, &mine, &real) {
            mismatches.push(format!(
                "{:?} ({:?}):\n  bundled:      {mine:?}\n  redis-server: {real:?}",
                line.args, line.check
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} command lines differ:\n{}",
        mismatches.len(),
        lines.len(),
        mismatches.join("\n")
    );
}

/// Sends `bytes` on a new connection and reads until the server closes it (`true`) or has
/// been silent for a while (`false`).
fn exchange(addr: SocketAddr, bytes: &[u8]) -> (Vec<u8>, bool) {
    let mut stream = TcpStream::connect(addr).expect("the server accepts");
    stream
        .set_read_timeout(Some(Duration::from_millis(1500)))
        .unwrap();
    stream.write_all(bytes).expect("the bytes go out");
    let mut reply = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => return (reply, true),
            Ok(n) => reply.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return (reply, true),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return (reply, false);
            }
            Err(e) => panic!("reading from {addr}: {e}"),
        }
    }
}

/// A figure of this process's memory from /proc/self/status (`VmRSS`, `VmData`), in kB.
fn memory_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} line in /proc/self/status"))
}

fn assert_pong(addr: SocketAddr, context: &str) {
    let mut client = Client::connect(addr);
    assert_eq!(
        client.call(&["PING"]),
        Frame::Simple("PONG".into()),
        "{context}"
    );
}

#[test]
fn malformed_resp_gets_a_redis_style_error_and_the_server_lives() {
    let redis = RedisServer::start();
    let ours = Server::start(&[]);
    let long_inline = {
        let mut line = b"GET ".to_vec();
        line.resize(64 * 1024 + 1, b'k');
        line
    };
    let long_count = {
        let mut line = b"*".to_vec();
        line.resize(64 * 1024 + 1, b'1');
        line
    };
    let cases: Vec<(&str, Vec<u8>)> =
        vec![
        ("a non-numeric bulk length", b"*1\r\n$abc\r\n".to_vec()),
        (
            "a negative bulk length",
            b"*2\r\n$3\r\nGET\r\n$-5\r\n".to_vec(),
        ),
        (
            "a nil bulk in a request",
            b"*2\r\n$3\r\nGET\r\n$-1\r\n".to_vec(),
        ),
        ("a bulk over 512 MB", b"*1\r\n$999999999999\r\n".to_vec()),
        ("a multibulk over INT_MAX", b"*99999999999\r\n".to_vec()),
        ("a non-numeric multibulk length", b"*abc\r\n".to_vec()),
        ("no $ before a bulk", b"*1\r\nGET\r\n".to_vec()),
        (
            "an integer in a request",
            b"*2\r\n$3\r\nGET\r\n:5\r\n".to_vec(),
        ),
        ("an unbalanced quote", b"GET \"k\r\n".to_vec()),
        ("an unbalanced single quote", b"GET 'k\r\n".to_vec()),
        (
            "a closing quote not followed by a space",
            b"GET \"k\"x\r\n".to_vec(),
        ),
        ("an inline request over 64 KB", long_inline),
        ("a multibulk count over 64 KB", long_count),
        // Not errors: Redis skips these and carries on.
        (
            "empty and nil multibulks",
            b"*-1\r\n*0\r\n*1\r\n$4\r\nPING\r\nQUIT\r\n".to_vec(),
        ),
        (
            "empty inline lines",
            b"\r\n\n  \r\nPING\r\nQUIT\r\n".to_vec(),
        ),
        (
            "inline quoting",
            b"ECHO \"a\\x41\\n\\\"q\\\"\"\r\nECHO 'b\\'c'\r\nECHO \"\"\r\nECHO a  b\r\nQUIT\r\n"
                .to_vec(),
        ),
        ("a bulk not followed by CRLF", b"*1\r\n$4\r\nPINGxx\r\nQUIT\r\n".to_vec()),
        (
            "a bare LF ending an inline command",
            b"PING\nQUIT\n".to_vec(),
        ),
    ];
    let mut differences = Vec::new();
    for (what, bytes) in &cases {
        let mine = exchange(ours.addr, bytes);
        let real = exchange(redis.addr, bytes);
        if mine != real {
            differences.push(format!(
                "{what}: bundled {:?} (closed: {}), redis-server {:?} (closed: {})",
                String::from_utf8_lossy(&mine.0),
                mine.1,
                String::from_utf8_lossy(&real.0),
                real.1
            ));
        }
        assert!(real.1, "{what}: redis-server closes the connection");
        assert_pong(ours.addr, &format!("after {what}"));
        assert_pong(redis.addr, &format!("redis-server after {what}"));
    }
    assert!(
        differences.is_empty(),
        "replies to malformed requests differ:\n{}",
        differences.join("\n")
    );

    // A huge bulk announced, a little of it sent: the server must not reserve it all. RSS
    // shows memory touched; VmData also shows memory reserved but not yet touched (a buffer
    // of 400 MB allocated up front), with a wider margin for the other tests' threads.
    let before = memory_kb("VmRSS");
    let data_before = memory_kb("VmData");
    {
        let mut stream = TcpStream::connect(ours.addr).unwrap();
        stream
            .write_all(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$400000000\r\n")
            .unwrap();
        let megabyte = vec![b'x'; 1024 * 1024];
        stream.write_all(&megabyte).unwrap();
        // Let the server read it all before looking.
        std::thread::sleep(Duration::from_millis(300));
        let during = memory_kb("VmRSS");
        let data_during = memory_kb("VmData");
        assert!(
            during < before + 64 * 1024,
            "RSS grew from {before} kB to {during} kB while a 400 MB bulk was pending"
        );
        assert!(
            data_during < data_before + 256 * 1024,
            "VmData grew from {data_before} kB to {data_during} kB while a 400 MB bulk was \
             pending"
        );
    }
    std::thread::sleep(Duration::from_millis(100));
    let after = memory_kb("VmRSS");
    assert!(
        after < before + 64 * 1024,
        "RSS grew from {before} kB to {after} kB after a 400 MB bulk was abandoned"
    );
    assert_pong(ours.addr, "after an abandoned 400 MB bulk");

    // A truncated request, then the connection closed: nothing is applied, the server lives.
    for truncated in [
        &b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\nabc"[..],
        b"*3\r\n$3\r\nSET\r\n$1\r\nk",
        b"*3\r\n$3",
        b"SET k v",
    ] {
        for addr in [ours.addr, redis.addr] {
            let mut stream = TcpStream::connect(addr).unwrap();
            stream.write_all(truncated).unwrap();
            drop(stream);
            let mut client = Client::connect(addr);
            assert_eq!(client.call(&["PING"]), Frame::Simple("PONG".into()));
            assert_eq!(
                client.call(&["GET", "k"]),
                Frame::Null,
                "{addr} after {:?}",
                String::from_utf8_lossy(truncated)
            );
        }
    }
}

#[test]
fn append_only_always_remembers_locks_across_a_restart_and_no_forgets() {
    let mut server = Server::start(&["--appendonly", "always"]);
    let mut client = server.client();
    assert_eq!(
        client.call(&["SET", "lock", "tok", "NX", "PX", "60000"]),
        ok()
    );
    assert_eq!(client.call(&["SET", "gone", "v", "PX", "60000"]), ok());
    assert_eq!(client.integer(&["DEL", "gone"]), 1);
    drop(client);
    server.restart();
    let mut client = server.client();
    assert_eq!(client.call(&["GET", "lock"]), bulk("tok"));
    let left = client.integer(&["PTTL", "lock"]);
    assert!((50_000..=60_000).contains(&left), "PTTL {left}");
    assert_eq!(client.call(&["GET", "gone"]), Frame::Null);
    assert_eq!(
        client.call(&["SET", "lock", "other", "NX", "PX", "60000"]),
        Frame::Null,
        "the lock is still held after the restart"
    );
    drop(client);
    drop(server);

    let mut server = Server::start(&["--appendonly", "no"]);
    let mut client = server.client();
    assert_eq!(
        client.call(&["SET", "lock", "tok", "NX", "PX", "60000"]),
        ok()
    );
    assert_eq!(client.call(&["GET", "lock"]), bulk("tok"));
    drop(client);
    server.restart();
    let mut client = server.client();
    assert_eq!(client.call(&["GET", "lock"]), Frame::Null);
    assert_eq!(client.integer(&["DBSIZE"]), 0);
    assert_eq!(
        client.call(&["SET", "lock", "other", "NX", "PX", "60000"]),
        ok(),
        "the forgotten lock can be taken again"
    );
}

#[test]
fn a_forward_clock_jump_expires_a_lease_early() {
    let clock_dir = temp_dir("redis-lock-clock");
    let clock_file = clock_dir.join("offset");
    write_offset(&clock_file, 0).unwrap();
    let clock_arg = clock_file.display().to_string();
    let server = Server::start(&["--clock-file", &clock_arg]);
    let mut client = server.client();
    assert_eq!(client.call(&["SET", "k", "v", "PX", "10000"]), ok());
    assert_eq!(client.call(&["SET", "swept", "v", "PX", "10000"]), ok());
    let left = client.integer(&["PTTL", "k"]);
    assert!((9_000..=10_000).contains(&left), "PTTL {left}");

    // 20 s forward: both leases are past their time. The sweep removes the one nobody
    // touches (DBSIZE touches no key); GET finds the other gone.
    write_offset(&clock_file, 20_000_000_000).unwrap();
    let jumped = Instant::now();
    loop {
        if client.integer(&["DBSIZE"]) == 0 {
            break;
        }
        // The sweep runs every 100 ms; a generous deadline, since a busy machine is slow, not
        // wrong (the leases are 10 s past their time whenever it runs).
        assert!(
            jumped.elapsed() < Duration::from_secs(10),
            "the expired leases are still there {:?} after the jump",
            jumped.elapsed()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(client.call(&["GET", "k"]), Frame::Null);
    assert_eq!(client.call(&["GET", "swept"]), Frame::Null);

    // New leases run on the jumped clock.
    assert_eq!(client.call(&["SET", "n", "v", "PX", "10000"]), ok());
    let left = client.integer(&["PTTL", "n"]);
    assert!((9_000..=10_000).contains(&left), "PTTL {left}");
    let real_in_30s = (now_millis() + 30_000).to_string();
    assert_eq!(client.integer(&["PEXPIREAT", "n", &real_in_30s]), 1);
    let left = client.integer(&["PTTL", "n"]);
    assert!(
        (9_000..=10_000).contains(&left),
        "a deadline 30 s ahead of the real clock is 10 s ahead of the jumped one: PTTL {left}"
    );
    let real_in_10s = (now_millis() + 10_000).to_string();
    assert_eq!(client.call(&["SET", "p", "v", "PXAT", &real_in_10s]), ok());
    assert_eq!(
        client.call(&["GET", "p"]),
        Frame::Null,
        "10 s ahead of the real clock is in the jumped clock's past"
    );
    match client.call(&["TIME"]) {
        Frame::Array(parts) => {
            let Frame::Bulk(seconds) = &parts[0] else {
                panic!("TIME: {parts:?}")
            };
            let seconds: i64 = std::str::from_utf8(seconds).unwrap().parse().unwrap();
            let skew = seconds - now_millis() / 1000;
            assert!((19..=21).contains(&skew), "TIME is {skew} s ahead");
        }
        other => panic!("TIME: {other:?}"),
    }

    // And back 20 s behind the real clock: the lease lasts longer.
    write_offset(&clock_file, -20_000_000_000).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let left = client.integer(&["PTTL", "n"]);
    assert!(
        (49_000..=50_000).contains(&left),
        "after a jump back, PTTL {left}"
    );
    drop(client);
    drop(server);
    let _ = std::fs::remove_dir_all(&clock_dir);
}

/// Debian's redis-benchmark speaks to the bundled server as to Redis: a short `SET`/`GET` run
/// completes with a figure for each test, and leaves the value it set behind (`benches/` holds
/// the long run that compares rates with redis-server).
#[test]
fn redis_benchmark_runs_against_the_bundled_server() {
    require("redis-benchmark", "redis-tools");
    let server = Server::start(&[]);
    let rates = redis_benchmark(server.addr, &["-n", "2000", "-c", "10"]);
    assert!(rates.iter().all(|r| *r > 0.0), "{rates:?}");
    // Its SET wrote three bytes (its default data size) under its fixed key.
    let mut client = server.client();
    let value = client.call(&["GET", "key:__rand_int__"]);
    assert!(
        matches!(&value, Frame::Bulk(b) if b.len() == 3),
        "{value:?}"
    );
}
