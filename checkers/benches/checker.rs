//! `cargo bench -p checkers`: the linearizability checker against porcupine-rs 0.3.0 (a Rust
//! port of Porcupine) on Porcupine's own test histories, measured in the same run, plus the
//! scale cases. Prints figures; asserts nothing about time (the machine is shared and noisy),
//! only that every verdict is the expected one.
//!
//! Sections:
//! 1. the etcd corpus (102 Jepsen logs): per-file times, totals, ratio;
//! 2. the kv logs, per key: ours (1 and 2 threads) vs porcupine-rs;
//! 3. c50-bad early exit: the distribution over many runs, 1 and 2 threads;
//! 4. the kv logs without splitting by key (one map-valued state);
//! 5. scale: a 1,000,000-op history over 1,000 keys, 200,000-op single-key histories with
//!    thousands of crashed ops — each in a child process, for its peak memory;
//! 6. the stretch case: key "0" of c50-bad alone.
//!
//! `cargo bench -p checkers -- quick` skips sections 4–6.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use checkers::history::{EventType, History, Operation};
use checkers::import::read_history;
use checkers::linear::{self, Options};
use checkers::synth::{self, Config};
use checkers::{Validity, Value};
use porcupine_rs::{CheckResult, Event, EventModel, Model};

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/histories/porcupine")
}

struct Loaded {
    name: String,
    expected: bool,
    history: History,
    ops: Vec<Operation>,
}

fn load(path: &Path, name: &str, expected: bool) -> Loaded {
    let text = std::fs::read_to_string(path).expect("corpus file");
    let history = read_history(name, &text, None).expect("parses");
    let ops = history.operations().expect("pairs");
    Loaded {
        name: name.to_string(),
        expected,
        history,
        ops,
    }
}

fn verdicts() -> Vec<(String, bool)> {
    let text = std::fs::read_to_string(corpus().join("VERDICTS.tsv")).expect("VERDICTS.tsv");
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            (c[1] != "NA").then(|| (c[0].to_string(), c[1] == "true"))
        })
        .collect()
}

/// Median time of `f` over enough runs to fill ~`budget` (at least 3, at most 200).
fn time<T>(budget: Duration, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut times = Vec::new();
    let started = Instant::now();
    let mut last;
    loop {
        let t = Instant::now();
        last = f();
        times.push(t.elapsed());
        if (times.len() >= 3 && started.elapsed() >= budget) || times.len() >= 200 {
            break;
        }
    }
    times.sort();
    (times[times.len() / 2], last)
}

fn ours(l: &Loaded, model: &str, options: &Options) -> Validity {
    let model = linear::by_name(model, None).expect("model");
    linear::check(&*model, &l.history, &l.ops, options)
        .expect("checks")
        .valid
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

// ---------------------------------------------------------------------------------------------
// porcupine-rs models, written as porcupine-rs's own tests write them.

#[derive(Clone, Debug)]
enum EtcdOp {
    Read {
        exists: bool,
        value: i64,
        unknown: bool,
    },
    Write {
        value: i64,
    },
    Cas {
        from: i64,
        to: i64,
        ok: bool,
        unknown: bool,
    },
}

#[derive(Clone, Debug)]
enum EtcdIn {
    Read,
    Write(i64),
    Cas(i64, i64),
}

#[derive(Clone, Debug)]
enum EtcdOut {
    Read(Option<i64>),
    Unknown,
    Write,
    Cas(bool),
}

#[derive(Clone, Debug)]
struct Etcd;

impl Model for Etcd {
    type State = i64;
    type Op = EtcdOp;
    type Metadata = ();
    fn init() -> i64 {
        -1_000_000
    }
    fn step(state: &i64, op: &EtcdOp) -> (bool, i64) {
        match *op {
            EtcdOp::Read {
                exists,
                value,
                unknown,
            } => (
                (!exists && *state == -1_000_000) || (exists && *state == value) || unknown,
                *state,
            ),
            EtcdOp::Write { value } => (true, value),
            EtcdOp::Cas {
                from,
                to,
                ok,
                unknown,
            } => (
                (from == *state && ok) || (from != *state && !ok) || unknown,
                if from == *state { to } else { *state },
            ),
        }
    }
}

impl EventModel for Etcd {
    type Input = EtcdIn;
    type Output = EtcdOut;
    fn combine(i: &EtcdIn, o: &EtcdOut) -> EtcdOp {
        match (i, o) {
            (EtcdIn::Read, EtcdOut::Read(v)) => EtcdOp::Read {
                exists: v.is_some(),
                value: v.unwrap_or(0),
                unknown: false,
            },
            (EtcdIn::Read, _) => EtcdOp::Read {
                exists: false,
                value: 0,
                unknown: true,
            },
            (EtcdIn::Write(v), _) => EtcdOp::Write { value: *v },
            (EtcdIn::Cas(from, to), EtcdOut::Cas(ok)) => EtcdOp::Cas {
                from: *from,
                to: *to,
                ok: *ok,
                unknown: false,
            },
            (EtcdIn::Cas(from, to), _) => EtcdOp::Cas {
                from: *from,
                to: *to,
                ok: false,
                unknown: true,
            },
        }
    }
}

fn int(v: &Value) -> i64 {
    v.as_int().expect("an integer")
}

/// porcupine-rs events for a Jepsen etcd log, as its loader builds them: a timed-out or
/// missing completion returns "unknown" after the end of the history.
fn etcd_events(l: &Loaded) -> Vec<Event<Etcd>> {
    let h = &l.history;
    let mut events = Vec::new();
    let mut open = Vec::new();
    let op_of: HashMap<usize, usize> = l
        .ops
        .iter()
        .enumerate()
        .flat_map(|(i, o)| std::iter::once((o.invoke, i)).chain(o.complete.map(|c| (c, i))))
        .collect();
    for (pos, e) in h.events.iter().enumerate() {
        let Some(&id) = op_of.get(&pos) else { continue };
        let client = Some(l.ops[id].process as u32);
        let input = match &*e.f {
            "read" => EtcdIn::Read,
            "write" => EtcdIn::Write(int(&l.ops[id].input(h).clone())),
            _ => match l.ops[id].input(h).as_list() {
                Some([a, b]) => EtcdIn::Cas(int(a), int(b)),
                _ => panic!("cas value"),
            },
        };
        match e.kind {
            EventType::Invoke => {
                events.push(Event::Call {
                    client_id: client,
                    value: input,
                    id,
                    metadata: None,
                });
                open.push(id);
            }
            EventType::Info => {}
            kind => {
                let out = match (&input, kind) {
                    (EtcdIn::Read, EventType::Ok) => EtcdOut::Read(e.value.as_int()),
                    (EtcdIn::Read, _) => EtcdOut::Unknown,
                    (EtcdIn::Write(_), _) => EtcdOut::Write,
                    (EtcdIn::Cas(..), k) => EtcdOut::Cas(k == EventType::Ok),
                };
                events.push(Event::Return {
                    client_id: client,
                    value: out,
                    id,
                    metadata: None,
                });
                open.retain(|&o| o != id);
            }
        }
    }
    for id in open {
        events.push(Event::Return {
            client_id: Some(l.ops[id].process as u32),
            value: EtcdOut::Unknown,
            id,
            metadata: None,
        });
    }
    events
}

#[derive(Clone, Debug)]
enum KvOp {
    Get { key: String, value: String },
    Put { key: String, value: String },
    Append { key: String, value: String },
}

impl KvOp {
    fn key(&self) -> &str {
        match self {
            KvOp::Get { key, .. } | KvOp::Put { key, .. } | KvOp::Append { key, .. } => key,
        }
    }
}

fn kv_ops<M: Model<Op = KvOp, Metadata = ()>>(l: &Loaded) -> Vec<porcupine_rs::Operation<M>> {
    let h = &l.history;
    l.ops
        .iter()
        .map(|o| {
            let key = o
                .key
                .as_ref()
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let s = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("").to_string();
            let op = match &*o.f {
                "get" => KvOp::Get {
                    key,
                    value: s(o.output(h)),
                },
                "put" => KvOp::Put {
                    key,
                    value: s(Some(o.input(h))),
                },
                _ => KvOp::Append {
                    key,
                    value: s(Some(o.input(h))),
                },
            };
            porcupine_rs::Operation {
                client_id: Some(o.process as u32),
                call_time: o.invoke as i64,
                return_time: o.complete.map_or(i64::MAX, |c| c as i64),
                op,
                metadata: None,
            }
        })
        .collect()
}

#[derive(Clone, Debug)]
struct KvPerKey;

impl Model for KvPerKey {
    type State = String;
    type Op = KvOp;
    type Metadata = ();
    fn partition_operations(
        history: &[porcupine_rs::Operation<Self>],
    ) -> Vec<Vec<porcupine_rs::Operation<Self>>> {
        let mut by_key: BTreeMap<String, Vec<_>> = BTreeMap::new();
        for op in history {
            by_key
                .entry(op.op.key().to_string())
                .or_default()
                .push(op.clone());
        }
        by_key.into_values().collect()
    }
    fn init() -> String {
        String::new()
    }
    fn step(state: &String, op: &KvOp) -> (bool, String) {
        match op {
            KvOp::Get { value, .. } => (value == state, state.clone()),
            KvOp::Put { value, .. } => (true, value.clone()),
            KvOp::Append { value, .. } => (true, format!("{state}{value}")),
        }
    }
}

#[derive(Clone, Debug)]
struct KvWhole;

impl Model for KvWhole {
    type State = BTreeMap<String, String>;
    type Op = KvOp;
    type Metadata = ();
    fn init() -> Self::State {
        BTreeMap::new()
    }
    fn step(state: &Self::State, op: &KvOp) -> (bool, Self::State) {
        let current = state.get(op.key()).map_or("", String::as_str);
        let mut next = state.clone();
        match op {
            KvOp::Get { value, .. } => return (value == current, next),
            KvOp::Put { key, value } => next.insert(key.clone(), value.clone()),
            KvOp::Append { key, value } => next.insert(key.clone(), format!("{current}{value}")),
        };
        (true, next)
    }
}

fn porcupine_verdict(r: CheckResult) -> Validity {
    match r {
        CheckResult::Ok => Validity::Valid,
        CheckResult::Illegal => Validity::Invalid,
        CheckResult::Unknown => Validity::Unknown,
    }
}

fn expect(got: Validity, l: &Loaded, who: &str) {
    let want = if l.expected {
        Validity::Valid
    } else {
        Validity::Invalid
    };
    assert_eq!(got, want, "{who} on {}", l.name);
}

// ---------------------------------------------------------------------------------------------

fn etcd_section(all: &[(String, bool)]) {
    println!("== 1. etcd corpus: 102 Jepsen logs, one cas register each ==");
    println!(
        "{:<20} {:>8} {:>12} {:>14} {:>8}",
        "file", "verdict", "ours (ms)", "porcupine-rs", "ratio"
    );
    let one = Options {
        threads: 1,
        ..Options::default()
    };
    let (mut total_ours, mut total_theirs) = (Duration::ZERO, Duration::ZERO);
    let mut rows = Vec::new();
    for (path, expected) in all.iter().filter(|(p, _)| p.starts_with("jepsen/")) {
        let l = load(&corpus().join(path), path, *expected);
        let (t_ours, v) = time(Duration::from_millis(30), || ours(&l, "cas-register", &one));
        expect(v, &l, "faultline");
        let events = etcd_events(&l);
        let (t_theirs, v) = time(Duration::from_millis(30), || {
            porcupine_verdict(porcupine_rs::check_events_timeout(
                &events,
                Duration::from_secs(60),
            ))
        });
        expect(v, &l, "porcupine-rs");
        total_ours += t_ours;
        total_theirs += t_theirs;
        rows.push((path.clone(), v, t_ours, t_theirs));
    }
    rows.sort_by_key(|r| std::cmp::Reverse(r.3));
    for (path, v, a, b) in &rows {
        println!(
            "{:<20} {:>8} {:>12.3} {:>14.3} {:>7.0}×",
            path.trim_start_matches("jepsen/"),
            v.word(),
            ms(*a),
            ms(*b),
            b.as_secs_f64() / a.as_secs_f64()
        );
    }
    println!(
        "etcd corpus total: ours {:.2} ms, porcupine-rs {:.2} ms, ratio {:.1}× (target ≥ 20×)\n",
        ms(total_ours),
        ms(total_theirs),
        total_theirs.as_secs_f64() / total_ours.as_secs_f64()
    );
}

fn kv_section(all: &[(String, bool)]) {
    println!("== 2. kv logs, split per key ==");
    println!(
        "{:<12} {:>8} {:>12} {:>12} {:>14} {:>10}",
        "file", "verdict", "ours 1 thr", "ours 2 thr", "porcupine-rs", "ratio(2)"
    );
    for (path, expected) in all.iter().filter(|(p, _)| p.starts_with("kv/")) {
        let l = load(&corpus().join(path), path, *expected);
        let opts = |threads| Options {
            threads,
            ..Options::default()
        };
        let (t1, v) = time(Duration::from_millis(100), || ours(&l, "kv", &opts(1)));
        expect(v, &l, "faultline");
        let (t2, v) = time(Duration::from_millis(100), || ours(&l, "kv", &opts(2)));
        expect(v, &l, "faultline");
        let ops = kv_ops::<KvPerKey>(&l);
        let (tp, v) = time(Duration::from_millis(300), || {
            porcupine_verdict(porcupine_rs::check_operations_timeout(
                &ops,
                Duration::from_secs(60),
            ))
        });
        expect(v, &l, "porcupine-rs");
        println!(
            "{:<12} {:>8} {:>12.3} {:>12.3} {:>14.3} {:>9.1}×",
            path.trim_start_matches("kv/"),
            v.word(),
            ms(t1),
            ms(t2),
            ms(tp),
            tp.as_secs_f64() / t2.as_secs_f64()
        );
    }
    println!("targets: c50-ok ≥ 10× porcupine-rs\n");
}

fn early_exit_section() {
    println!("== 3. c50-bad: time to report invalid, over 50 runs each ==");
    let l = load(&corpus().join("kv/c50-bad.txt"), "kv/c50-bad.txt", false);
    for threads in [1, 2] {
        let options = Options {
            threads,
            ..Options::default()
        };
        let mut times: Vec<Duration> = (0..50)
            .map(|_| {
                let t = Instant::now();
                expect(ours(&l, "kv", &options), &l, "faultline");
                t.elapsed()
            })
            .collect();
        times.sort();
        println!(
            "{threads} thread(s): min {:.3} ms, median {:.3} ms, max {:.3} ms (target: every run < 20 ms)",
            ms(times[0]),
            ms(times[25]),
            ms(times[49])
        );
    }
    println!();
}

fn no_split_section(all: &[(String, bool)]) {
    println!("== 4. kv logs without splitting by key (one map-valued state) ==");
    println!(
        "{:<12} {:>8} {:>12} {:>14} {:>8}",
        "file", "verdict", "ours (ms)", "porcupine-rs", "ratio"
    );
    for name in ["c01-ok", "c01-bad", "c10-ok", "c10-bad"] {
        let path = format!("kv/{name}.txt");
        let expected = all
            .iter()
            .find(|(p, _)| *p == path)
            .map(|p| p.1)
            .unwrap_or(false);
        let l = load(&corpus().join(&path), &path, expected);
        let options = Options {
            threads: 1,
            split: false,
            ..Options::default()
        };
        let (t, v) = time(Duration::from_millis(100), || ours(&l, "kv", &options));
        expect(v, &l, "faultline");
        let ops = kv_ops::<KvWhole>(&l);
        let (tp, v) = time(Duration::ZERO, || {
            porcupine_verdict(porcupine_rs::check_operations_timeout(
                &ops,
                Duration::from_secs(60),
            ))
        });
        expect(v, &l, "porcupine-rs");
        println!(
            "{:<12} {:>8} {:>12.3} {:>14.3} {:>7.0}×",
            name,
            v.word(),
            ms(t),
            ms(tp),
            tp.as_secs_f64() / t.as_secs_f64()
        );
    }
    for name in ["c50-ok", "c50-bad"] {
        let path = format!("kv/{name}.txt");
        let l = load(&corpus().join(&path), &path, name.ends_with("ok"));
        let options = Options {
            threads: 1,
            split: false,
            timeout: Some(Duration::from_secs(30)),
            ..Options::default()
        };
        let t = Instant::now();
        let v = ours(&l, "kv", &options);
        println!(
            "{name:<12} {:>8} {:>12.3}   (porcupine's own tests skip c50 without splitting)",
            v.word(),
            ms(t.elapsed())
        );
    }
    println!("targets: c10-ok and c10-bad each < 200 ms\n");
}

/// A scale case, run in a child process so that its peak memory is its own.
struct ScaleCase {
    name: &'static str,
    what: &'static str,
    config: Config,
    model: &'static str,
    timeout: Duration,
    max_memory: usize,
}

fn scale_cases() -> Vec<ScaleCase> {
    vec![
        ScaleCase {
            name: "million",
            what: "1,000,000 ops over 1,000 keys, 1% crashed, 50 workers (target < 10 s, < 2 GiB)",
            config: Config {
                seed: 7,
                ops: 1_000_000,
                keys: 1000,
                workers: 50,
                crash: 0.01,
                ..Config::default()
            },
            model: "cas-register",
            timeout: Duration::from_secs(120),
            max_memory: 1 << 30,
        },
        ScaleCase {
            name: "single-key-unique",
            what: "200,000 ops on one key, 2% crashed (~4,000), unique values, 10 workers",
            config: Config {
                seed: 11,
                ops: 200_000,
                keys: 0,
                workers: 10,
                crash: 0.02,
                ..Config::default()
            },
            model: "cas-register",
            timeout: Duration::from_secs(60),
            max_memory: 1 << 30,
        },
        ScaleCase {
            name: "single-key-5-values",
            what: "200,000 ops on one key, 2% crashed (~4,000), values 0..5, 10 workers",
            config: Config {
                seed: 13,
                ops: 200_000,
                keys: 0,
                workers: 10,
                crash: 0.02,
                value_range: Some(5),
                ..Config::default()
            },
            model: "cas-register",
            timeout: Duration::from_secs(60),
            max_memory: 1 << 30,
        },
    ]
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Child side: runs one scale case and prints one result line.
fn run_scale_case(name: &str) {
    let case = scale_cases()
        .into_iter()
        .find(|c| c.name == name)
        .expect("case");
    let t = Instant::now();
    let history = synth::register_history(&case.config);
    let ops = history.operations().expect("pairs");
    let generated = t.elapsed();
    let model = linear::by_name(case.model, None).expect("model");
    let options = Options {
        timeout: Some(case.timeout),
        max_memory: case.max_memory,
        ..Options::default()
    };
    let t = Instant::now();
    let report = linear::check(&*model, &history, &ops, &options).expect("checks");
    let checked = t.elapsed();
    let info = ops
        .iter()
        .filter(|o| o.outcome == checkers::history::Outcome::Info)
        .count();
    let pruned: usize = report.partitions.iter().map(|p| p.pruned_info_ops).sum();
    let configurations: u64 = report.partitions.iter().map(|p| p.configurations).sum();
    println!(
        "{:<20} {:>8}  check {:>8.1} ms  (generate {:>7.1} ms)  peak RSS {:>6.0} MiB  {} crashed, {} pruned before search, {} configurations{}",
        case.name,
        report.valid.word(),
        ms(checked),
        ms(generated),
        peak_rss_mib(),
        info,
        pruned,
        configurations,
        report
            .undecided()
            .next()
            .and_then(|p| p.reason.as_ref())
            .map_or_else(String::new, |r| format!("; {r}"))
    );
}

fn scale_section() {
    println!("== 5. scale (each case in its own process; time excludes generating the history) ==");
    let me = std::env::current_exe().expect("own path");
    for case in scale_cases() {
        println!("  {}", case.what);
        let out = Command::new(&me)
            .args(["--scale-case", case.name])
            .output()
            .expect("child runs");
        print!("  {}", String::from_utf8_lossy(&out.stdout));
        if !out.status.success() {
            println!("  child failed: {}", String::from_utf8_lossy(&out.stderr));
        }
    }
    println!();
}

fn stretch_section() {
    println!(
        "== 6. stretch: key \"0\" of c50-bad alone (Porcupine: unknown after 120 s, 24 GB) =="
    );
    let mut l = load(&corpus().join("kv/c50-bad.txt"), "kv/c50-bad.txt", false);
    l.ops.retain(|o| o.key == Some(Value::str("0")));
    let options = Options {
        threads: 1,
        timeout: Some(Duration::from_secs(120)),
        ..Options::default()
    };
    let model = linear::by_name("kv", None).expect("model");
    let t = Instant::now();
    let report = linear::check(&*model, &l.history, &l.ops, &options).expect("checks");
    let p = &report.partitions[0];
    println!(
        "key 0: {} in {:.1} ms, {} configurations, {} dead ends cut by the lookahead",
        report.valid.word(),
        ms(t.elapsed()),
        p.configurations,
        p.dead_ends
    );
    println!();
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--scale-case") {
        run_scale_case(&args[i + 1]);
        return;
    }
    let quick = args.iter().any(|a| a == "quick");
    let all = verdicts();
    etcd_section(&all);
    kv_section(&all);
    early_exit_section();
    if !quick {
        no_split_section(&all);
        scale_section();
        stretch_section();
    }
}
