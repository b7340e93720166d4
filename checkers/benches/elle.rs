//! `cargo bench -p checkers --bench elle`: the Elle-style checker against adya 0.1.0 (a Rust
//! take on Elle) on the same synthetic list-append histories, in the same run.
//!
//! Histories: `checkers::elle::synth`, 10 processes over 1,000 keys (each retired after 32
//! appends), 1–4 micro-ops per transaction, half of them reads; valid (strict serializable)
//! by construction. Sizes: 10k, 100k and 1M transactions (`-- quick`: 10k and 100k).
//!
//! Each measurement runs in a child process of its own, so that its peak memory (VmHWM, reset
//! after the history is generated, where the kernel allows) is its own; times are the best of
//! three runs (one for a million transactions). Both checkers get the history as the same JSON
//! Lines text and are timed separately on reading it and on checking it, both against strict
//! serializability. A child that takes longer than [`LIMIT`] is stopped and reported as such.
//! Also an invalid case: the same histories with one read in about a thousand made stale.
//! Prints figures; asserts only the verdicts (valid, or invalid with stale reads).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use checkers::Validity;
use checkers::Value;
use checkers::elle::synth::{Config, list_append_history};
use checkers::elle::{self, Options, Workload};
use checkers::history::{EventType, read_jsonl, write_jsonl_line};
use checkers::synth::Rng;

/// How long one child may run.
const LIMIT: Duration = Duration::from_secs(240);

fn peak_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// The history of `txns` transactions, as JSON Lines; with `stale`, one `ok` read in about a
/// thousand loses its last element (a stale read: invalid, with cycles through real time).
fn history_text(txns: usize, stale: bool) -> String {
    let mut h = list_append_history(&Config {
        seed: 7,
        txns,
        ..Config::default()
    });
    if stale {
        let mut rng = Rng::new(11);
        for e in h.events.iter_mut().filter(|e| e.kind == EventType::Ok) {
            let Value::List(mops) = &mut e.value else {
                continue;
            };
            for mop in mops.iter_mut() {
                if let Value::List(m) = mop
                    && let [f, _, Value::List(read)] = &mut m[..]
                    && f.as_str() == Some("r")
                    && !read.is_empty()
                    && rng.chance(0.001)
                {
                    *read = read[..read.len() - 1].into();
                }
            }
        }
    }
    let mut out = Vec::new();
    for e in &h.events {
        write_jsonl_line(e, &mut out);
    }
    String::from_utf8(out).expect("JSON is UTF-8")
}

/// Child side: reads and checks one history with one checker; prints
/// `read_s check_s read_peak_mib peak_mib verdict` (the peak once the history is read, and at
/// the end).
fn child(which: &str, txns: usize, stale: bool) {
    let text = history_text(txns, stale);
    // Forget the generator's peak (Linux ≥ 4.0): what remains is the text, shared by both.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let (read, read_peak, check, valid) = match which {
        "ours" => {
            let t = Instant::now();
            let h = read_jsonl("synthetic.jsonl", &text).expect("reads");
            let read = t.elapsed();
            let read_peak = peak_mib();
            let t = Instant::now();
            let ops = h.operations().expect("pairs");
            let r =
                elle::check(Workload::ListAppend, &h, &ops, &Options::default()).expect("checks");
            (read, read_peak, t.elapsed(), r.valid)
        }
        _ => {
            let t = Instant::now();
            let h = adya::History::from_json(&text).expect("adya reads");
            let read = t.elapsed();
            let read_peak = peak_mib();
            let t = Instant::now();
            let opts = adya::Opts {
                models: vec!["strict-serializable".into()],
                ..adya::Opts::default()
            };
            let r = adya::check(&h, adya::Workload::ListAppend, &opts);
            let valid = match r.valid {
                adya::Valid::True => Validity::Valid,
                adya::Valid::False => Validity::Invalid,
                adya::Valid::Unknown => Validity::Unknown,
            };
            (read, read_peak, t.elapsed(), valid)
        }
    };
    println!(
        "{:.3} {:.3} {:.0} {:.0} {}",
        read.as_secs_f64(),
        check.as_secs_f64(),
        read_peak,
        peak_mib(),
        valid.word()
    );
}

struct Measured {
    read: f64,
    check: f64,
    /// Peak memory once the history was read, and at the end.
    read_peak: f64,
    peak: f64,
}

/// Runs a child; an error if it did not finish within [`LIMIT`] (or failed). Asserts the
/// verdict: valid, or with `stale` reads invalid.
fn measure(which: &str, txns: usize, stale: bool) -> Result<Measured, String> {
    let me = std::env::current_exe().expect("own path");
    let mut child = Command::new(me)
        .args(["--child", which, &txns.to_string()])
        .args(stale.then_some("--stale"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("child starts");
    let started = Instant::now();
    loop {
        if child.try_wait().expect("child waits").is_some() {
            break;
        }
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("did not finish in {} s", LIMIT.as_secs()));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("child output");
    let text = String::from_utf8_lossy(&out.stdout);
    let fields: Vec<&str> = text.split_whitespace().collect();
    match fields.as_slice() {
        [read, check, read_peak, peak, verdict] => {
            let expected = if stale { "invalid" } else { "valid" };
            assert_eq!(*verdict, expected, "{which} on {txns} transactions");
            Ok(Measured {
                read: read.parse().expect("seconds"),
                check: check.parse().expect("seconds"),
                read_peak: read_peak.parse().expect("MiB"),
                peak: peak.parse().expect("MiB"),
            })
        }
        _ => Err(format!(
            "failed: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("no output")
        )),
    }
}

/// The best of a few runs (one for a million transactions): the machine is shared, and the
/// best run is the one least disturbed.
fn best(which: &str, txns: usize, stale: bool) -> Result<Measured, String> {
    let runs = if txns >= 1_000_000 { 1 } else { 3 };
    let mut best = measure(which, txns, stale)?;
    for _ in 1..runs {
        let m = measure(which, txns, stale)?;
        best.read = best.read.min(m.read);
        best.check = best.check.min(m.check);
    }
    Ok(best)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        let stale = args.iter().any(|a| a == "--stale");
        child(&args[i + 1], args[i + 2].parse().expect("a size"), stale);
        return;
    }
    let quick = args.iter().any(|a| a == "quick");
    let sizes: &[usize] = if quick {
        &[10_000, 100_000]
    } else {
        &[10_000, 100_000, 1_000_000]
    };
    println!("list-append, strict-serializable; 10 processes, 1,000 keys (32 appends each)");
    println!("times in seconds (read = parse the JSON Lines, check = pair + check)");
    println!("peak memory in MiB: once read / at the end (the text and the history included)");
    println!("\nvalid histories:");
    table(sizes, false);
    println!("\ninvalid: one read in ~1,000 stale (cycles through real time):");
    table(&sizes[..sizes.len().min(2)], true);
}

fn table(sizes: &[usize], stale: bool) {
    println!(
        "{:>9}  {:>7} {:>7} {:>11} {:>7}  {:>7} {:>7} {:>11}  {:>9}",
        "txns", "ours rd", "check", "peak", "µs/txn", "adya rd", "check", "peak", "adya/ours"
    );
    let mut previous: Option<(usize, f64)> = None;
    let mut growth = Vec::new();
    for &n in sizes {
        let ours = best("ours", n, stale);
        let adya = best("adya", n, stale);
        let Ok(o) = &ours else {
            println!("{n:>9}  ours {}", ours.err().unwrap_or_default());
            continue;
        };
        let per_txn = o.check / n as f64 * 1e6;
        let adya_cols = match &adya {
            Ok(a) => format!(
                "{:>7.3} {:>7.3} {:>11}  {:>9.2}",
                a.read,
                a.check,
                format!("{:.0} / {:.0}", a.read_peak, a.peak),
                a.check / o.check
            ),
            Err(e) => format!("adya {e}"),
        };
        println!(
            "{n:>9}  {:>7.3} {:>7.3} {:>11} {:>7.2}  {adya_cols}",
            o.read,
            o.check,
            format!("{:.0} / {:.0}", o.read_peak, o.peak),
            per_txn
        );
        if let Some((n0, t0)) = previous {
            growth.push(format!(
                "{n0} → {n}: {}× the transactions, {:.1}× the check time",
                n / n0,
                o.check / t0
            ));
        }
        previous = Some((n, o.check));
    }
    if !growth.is_empty() {
        println!("growth of our check time: {}", growth.join("; "));
    }
}
