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

#[path = "../tests/support/mod.rs"]
mod support;

use support::redis::{RedisServer, Server, redis_benchmark, require};

const ROUNDS: usize = 3;
const REQUESTS: &str = "100000";
/// What [`redis_benchmark`] measures, in the order of its figures.
const TESTS: [&str; 2] = ["SET", "GET"];

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() {
    require("redis-server", "redis-server");
    require("redis-benchmark", "redis-tools");
    let bundled = Server::start(&["--appendonly", "no"]);
    let redis = RedisServer::start();
    let servers = [("bundled", bundled.addr), ("redis-server", redis.addr)];
    // runs[server][test]: requests per second of each run.
    let mut runs = [[(); 2].map(|()| Vec::new()), [(); 2].map(|()| Vec::new())];
    println!("redis-benchmark -t set,get -n {REQUESTS} -q, {ROUNDS} rounds, alternating (ops/s):");
    for round in 0..ROUNDS {
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for s in order {
            let (name, addr) = servers[s];
            let rates = redis_benchmark(addr, &["-n", REQUESTS]);
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
