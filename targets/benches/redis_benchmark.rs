//! `cargo bench -p targets --bench redis_benchmark`: the bundled `redis-lock` node against a
//! real redis-server, both measured by `redis-benchmark -t set,get -n 100000 -q` (50 clients,
//! no pipelining, its defaults). The bundled node runs in this process on a two-worker tokio
//! runtime, as `faultline node redis-lock` runs it; redis-server is a child process without
//! persistence. The runs alternate (bundled, redis-server, then the other way round, three
//! rounds), and the median of each is reported with the ratio bundled / redis-server: the
//! target is at least 0.5. Figures only, no assertion: the machine is shared and noisy.
//!
//! Needs `redis-server` and `redis-benchmark` (Debian packages `redis-server`, `redis-tools`);
//! without them it fails, naming the package.

use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use targets::redis_lock::{Config, Error, Listener, serve_on};
use tokio::sync::oneshot;

const ROUNDS: usize = 3;
const REQUESTS: &str = "100000";
const TESTS: [&str; 2] = ["SET", "GET"];

fn require(program: &str, package: &str) {
    let ran = Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !matches!(ran, Ok(status) if status.success()) {
        panic!(
            "`{program}` is not installed (or does not run: {ran:?}): install the Debian \
             package `{package}` (apt-get install redis-server redis-tools)"
        );
    }
}

fn temp_dir(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "faultline-redis-benchmark-{what}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    dir
}

fn wait_for_port(addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(Instant::now() < deadline, "nothing accepts on {addr}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The bundled node on its own thread and two-worker runtime.
struct Bundled {
    addr: SocketAddr,
    dir: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<Result<(), Error>>>,
}

impl Bundled {
    fn start() -> Bundled {
        let dir = temp_dir("node");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        let addr = listener.local_addr().unwrap();
        let config = Config::from_args(
            [
                "--id",
                "n1",
                "--port",
                &addr.port().to_string(),
                "--data-dir",
                &dir.display().to_string(),
                "--appendonly",
                "no",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
        )
        .expect("a valid command line");
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async move {
                let listener = Listener::from_std(listener)?;
                serve_on(config, listener, async {
                    let _ = stopped.await;
                })
                .await
            })
        });
        wait_for_port(addr);
        Bundled {
            addr,
            dir,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for Bundled {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A real redis-server child process.
struct RedisServer {
    addr: SocketAddr,
    dir: PathBuf,
    child: Child,
}

impl RedisServer {
    fn start() -> RedisServer {
        let dir = temp_dir("redis");
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
            listener.local_addr().unwrap().port()
        };
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--protected-mode", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(&dir)
            .arg("--logfile")
            .arg(dir.join("redis.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server runs");
        let server = RedisServer {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            dir,
            child,
        };
        wait_for_port(server.addr);
        server
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One `redis-benchmark` run: requests per second of each test, in [`TESTS`] order.
fn benchmark(addr: SocketAddr) -> [f64; 2] {
    let output = Command::new("redis-benchmark")
        .args(["-h", "127.0.0.1", "-p", &addr.port().to_string()])
        .args(["-t", "set,get", "-n", REQUESTS, "-q"])
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
    TESTS.map(rate)
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() {
    require("redis-server", "redis-server");
    require("redis-benchmark", "redis-tools");
    let bundled = Bundled::start();
    let redis = RedisServer::start();
    let servers = [("bundled", bundled.addr), ("redis-server", redis.addr)];
    // runs[server][test]: requests per second of each run.
    let mut runs = [[(); 2].map(|()| Vec::new()), [(); 2].map(|()| Vec::new())];
    println!("redis-benchmark -t set,get -n {REQUESTS} -q, {ROUNDS} rounds, alternating (ops/s):");
    for round in 0..ROUNDS {
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for s in order {
            let (name, addr) = servers[s];
            let rates = benchmark(addr);
            println!(
                "  round {} {name:>12}: SET {:>10.0}  GET {:>10.0}",
                round + 1,
                rates[0],
                rates[1]
            );
            for (t, rate) in rates.into_iter().enumerate() {
                runs[s][t].push(rate);
            }
        }
    }
    println!();
    println!(
        "{:<5} {:>16} {:>16} {:>22}",
        "test", "bundled ops/s", "redis-server", "bundled/redis-server"
    );
    for (t, test) in TESTS.iter().enumerate() {
        let ours = median(runs[0][t].clone());
        let theirs = median(runs[1][t].clone());
        let ratio = ours / theirs;
        let verdict = if ratio >= 0.5 {
            "ok"
        } else {
            "below the 0.5 target"
        };
        println!("{test:<5} {ours:>16.0} {theirs:>16.0} {ratio:>15.2} ({verdict})");
    }
    drop(bundled);
    drop(redis);
}
