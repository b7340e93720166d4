//! The bundled `redis-lock` node ([`Server`]) and a real redis-server ([`RedisServer`]), each
//! on a free loopback port and stopped, its directory removed, when dropped — for the tests
//! that compare the two and for the benchmark that measures them.

use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use targets::redis_lock::{Config, Error, Listener, serve_on};

use super::{NodeThread, temp_dir};

/// How long a server may take to accept connections, or a reply to arrive.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// Panics, naming the Debian package, unless `program` runs.
pub fn require(program: &str, package: &str) {
    let ran = Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !matches!(ran, Ok(status) if status.success()) {
        panic!(
            "`{program}` is not installed (or does not run: {ran:?}); it is needed to compare \
             the bundled server with the real one: install the Debian package `{package}` \
             (apt-get install redis-server redis-tools)"
        );
    }
}

/// One `redis-benchmark -t set,get -q` run against `addr` (`args` adds the request count,
/// clients, …): requests per second of `SET` and `GET`, in that order. Panics with its output
/// when it fails or prints no figure for a test.
pub fn redis_benchmark(addr: SocketAddr, args: &[&str]) -> [f64; 2] {
    let output = Command::new("redis-benchmark")
        .args(["-h", "127.0.0.1", "-p", &addr.port().to_string()])
        .args(["-t", "set,get", "-q"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("redis-benchmark runs");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "redis-benchmark failed ({}): {text}{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    // Progress lines end in CR; each test's result is "SET: 97087.38 requests per second, …".
    let rate = |test: &str| {
        text.split(['\r', '\n'])
            .filter_map(|line| line.trim().strip_prefix(test)?.strip_prefix(':'))
            .find_map(|rest| {
                let (number, unit) = rest.trim().split_once(' ')?;
                unit.starts_with("requests per second")
                    .then(|| number.parse::<f64>().ok())?
            })
            .unwrap_or_else(|| panic!("no {test} figure in redis-benchmark's output: {text:?}"))
    };
    ["SET", "GET"].map(rate)
}

/// Waits until something accepts TCP connections on `addr`; `alive` says why not, once the
/// server is gone.
pub fn wait_for_port(addr: SocketAddr, mut alive: impl FnMut() -> Result<(), String>) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return;
        }
        if let Err(why) = alive() {
            panic!("the server for {addr} is gone: {why}");
        }
        assert!(
            Instant::now() < deadline,
            "nothing accepts on {addr} after {PATIENCE:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The bundled node, running on its own thread and runtime (two workers, as `main` runs it).
pub struct Server {
    pub addr: SocketAddr,
    dir: PathBuf,
    options: Vec<String>,
    node: Option<NodeThread<Error>>,
}

impl Server {
    /// Starts a node in a fresh data directory, with `options` added to its command line.
    pub fn start(options: &[&str]) -> Server {
        let mut server = Server {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            dir: temp_dir("redis-lock-node"),
            options: options.iter().map(|o| o.to_string()).collect(),
            node: None,
        };
        server.run();
        server
    }

    fn run(&mut self) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        self.addr = listener.local_addr().unwrap();
        let mut args: Vec<String> = ["--id", "n1", "--port", "0", "--data-dir"]
            .into_iter()
            .map(String::from)
            .collect();
        args.push(self.dir.join("data").display().to_string());
        args.extend(self.options.iter().cloned());
        let config = Config::from_args(args).expect("a valid command line");
        let node = self
            .node
            .insert(NodeThread::spawn(2, move |stopped| async move {
                let listener = Listener::from_std(listener)?;
                serve_on(config, listener, stopped).await
            }));
        wait_for_port(self.addr, || match node.is_finished() {
            true => Err("its thread ended".into()),
            false => Ok(()),
        });
    }

    /// Stops the node and waits for its thread; it must have stopped cleanly.
    pub fn stop(&mut self) {
        if let Some(node) = &mut self.node {
            node.stop();
        }
    }

    /// Stops the node and starts it again on the same data directory (on a new port).
    pub fn restart(&mut self) {
        self.stop();
        self.run();
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.node.take()); // stops the node and joins its thread
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A real redis-server, as a child process: no persistence, loopback only.
pub struct RedisServer {
    pub addr: SocketAddr,
    dir: PathBuf,
    child: Child,
}

impl RedisServer {
    pub fn start() -> RedisServer {
        require("redis-server", "redis-server");
        let dir = temp_dir("redis-server");
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
            listener.local_addr().unwrap().port()
        };
        let log = dir.join("redis.log");
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--protected-mode", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(&dir)
            .arg("--logfile")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run redis-server (Debian package `redis-server`): {e}")
            });
        let mut server = RedisServer {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            dir,
            child,
        };
        let (addr, child) = (server.addr, &mut server.child);
        wait_for_port(addr, || match child.try_wait() {
            Ok(Some(status)) => Err(format!(
                "redis-server exited ({status}): {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            )),
            _ => Ok(()),
        });
        server
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
