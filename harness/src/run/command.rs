//! `faultline run`: the command line around the runner — flags and scenario file merged,
//! repeated runs, Ctrl-C and SIGTERM, the exit code.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use checkers::Validity;
use clap::Args;

use super::runner;
use super::summary;
use crate::exit::Exit;
use crate::scenario::{Common, ScenarioFile};

#[derive(Args, Debug, Default)]
pub struct RunArgs {
    /// A scenario file (TOML); flags given here override its fields.
    #[arg(value_name = "SCENARIO.toml")]
    pub scenario: Option<PathBuf>,
    /// The system under test [default: raft-kv].
    #[arg(long)]
    pub target: Option<String>,
    /// What clients do [default: register].
    #[arg(long)]
    pub workload: Option<String>,
    /// Faults, comma-separated: partition, kill, pause, restart, clock, clock-strobe,
    /// client-pause; or `none` [default: partition,kill,pause].
    #[arg(long, value_delimiter = ',')]
    pub nemesis: Option<Vec<String>>,
    /// Cluster size [default: 5].
    #[arg(long)]
    pub nodes: Option<usize>,
    /// Seconds of workload [default: 30].
    #[arg(long, value_name = "SECONDS")]
    pub time_limit: Option<f64>,
    /// Operations per second, all clients together [default: 100].
    #[arg(long)]
    pub rate: Option<f64>,
    /// Concurrent clients [default: 10].
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Makes the workload and the nemesis schedule reproducible [default: a fresh one].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Seconds per fault and per quiet period between faults [default: 5].
    #[arg(long, value_name = "SECONDS")]
    pub interval: Option<f64>,
    /// Switch on a target's known bug (repeatable), e.g. stale-reads.
    #[arg(long = "bug", value_name = "BUG")]
    pub bugs: Vec<String>,
    /// Switch on a target's setting (repeatable), e.g. aof-always.
    #[arg(long = "option", value_name = "OPTION")]
    pub options: Vec<String>,
    /// Lock workload: single, watchdog or redlock [default: single].
    #[arg(long)]
    pub lock_algorithm: Option<String>,
    /// Lock workload: the lease in milliseconds [default: 1000].
    #[arg(long, value_name = "MS")]
    pub lock_ttl_ms: Option<u64>,
    /// Lock workload: the resource rejects tokens older than one it accepted.
    #[arg(long)]
    pub fencing: bool,
    /// Run each node on a host of its own, listed in this inventory (docs/hosts.md; `faultline
    /// hosts up N` makes a local one).
    #[arg(long, value_name = "HOSTS.toml")]
    pub hosts: Option<PathBuf>,
    /// How nodes on this machine are networked: `proxy` (through the harness's proxies) or
    /// `netns` (a network namespace each, partitions as firewall rules; needs root)
    /// [default: proxy].
    #[arg(long, value_name = "proxy|netns")]
    pub net: Option<String>,
    /// On hosts: bring each node's data directory back into the run folder after the run.
    #[arg(long)]
    pub fetch_data: bool,
    /// Run the scenario this many times (seeds seed, seed+1, …).
    #[arg(long, default_value_t = 1)]
    pub runs: u32,
    /// Where runs are stored.
    #[arg(long, default_value = "results")]
    pub results: PathBuf,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Print the resolved scenario (file, flags, the target's defaults and the seed) as the
    /// run would store it in scenario.toml, and exit without running it.
    #[arg(long)]
    pub print_scenario: bool,
}

impl RunArgs {
    fn flags(&self) -> ScenarioFile {
        let nemesis = self.nemesis.as_ref().map(|n| {
            n.iter()
                .filter(|f| f.as_str() != "none" && !f.is_empty())
                .cloned()
                .collect()
        });
        // The flags of the lock workload's own fields, by the names it gives them.
        let mut settings = toml::Table::new();
        if let Some(a) = &self.lock_algorithm {
            settings.insert("lock-algorithm".into(), a.clone().into());
        }
        if let Some(ms) = self.lock_ttl_ms {
            settings.insert("lock-ttl-ms".into(), (ms as i64).into());
        }
        if self.fencing {
            settings.insert("fencing".into(), true.into());
        }
        ScenarioFile {
            common: Common {
                target: self.target.clone(),
                workload: self.workload.clone(),
                nemesis,
                nodes: self.nodes,
                time_limit: self.time_limit,
                rate: self.rate,
                concurrency: self.concurrency,
                seed: self.seed,
                interval: self.interval,
                bugs: (!self.bugs.is_empty()).then(|| self.bugs.clone()),
                options: (!self.options.is_empty()).then(|| self.options.clone()),
                hosts: self.hosts.as_ref().map(|p| p.display().to_string()),
                net: self.net.clone(),
                fetch_data: self.fetch_data.then_some(true),
                ..Common::default()
            },
            settings,
        }
    }
}

pub(crate) fn fresh_seed() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64)
        % 1_000_000_007
}

/// Waits for Ctrl-C or SIGTERM.
pub(crate) async fn interrupted() -> &'static str {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "interrupted (Ctrl-C)",
        _ = async {
            match term.as_mut() {
                Some(t) => { t.recv().await; }
                None => std::future::pending::<()>().await,
            }
        } => "terminated (SIGTERM)",
    }
}

/// Runs `faultline run`.
pub fn run(args: &RunArgs) -> Exit {
    let file = match &args.scenario {
        None => ScenarioFile::default(),
        Some(path) => {
            let name = path.display().to_string();
            let text = match std::fs::read_to_string(path) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("faultline: error: {name}: cannot read: {e}");
                    return Exit::Error;
                }
            };
            match ScenarioFile::parse(&name, &text) {
                Ok(f) => f,
                Err(e) => {
                    eprintln!("faultline: error: {e}");
                    return Exit::Error;
                }
            }
        }
    };
    let base = match args.flags().over(file).over_target_defaults() {
        Ok(merged) => merged.resolve(fresh_seed()),
        Err(e) => {
            eprintln!("faultline: error: {e}");
            return Exit::Error;
        }
    };
    if let Err(e) = runner::validate(&base) {
        eprintln!("faultline: error: {e}");
        return Exit::Error;
    }
    if args.print_scenario {
        print!("{}", base.to_toml());
        return Exit::Valid;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("faultline: error: cannot start the async runtime: {e}");
            return Exit::Error;
        }
    };
    let mut verdicts = Vec::new();
    for i in 0..args.runs.max(1) {
        let mut scenario = base.clone();
        scenario.seed = base.seed.wrapping_add(u64::from(i));
        let outcome = runtime.block_on(async {
            tokio::select! {
                r = runner::run(scenario, &args.results, !args.quiet) => Ok(r),
                why = interrupted() => Err(why),
            }
        });
        match outcome {
            Ok(Ok(results)) => {
                print!("{}", summary::render(&results));
                verdicts.push(results.valid);
            }
            Ok(Err(e)) => {
                eprintln!("faultline: error: {e}");
                return Exit::Error;
            }
            Err(why) => {
                // The run's cluster was dropped with its future: its nodes are gone.
                eprintln!(
                    "faultline: {why}: the cluster is stopped; the history so far is in {}",
                    args.results.join("latest").join("history.jsonl").display()
                );
                return Exit::Error;
            }
        }
    }
    if verdicts.len() > 1 {
        let count = |v: Validity| verdicts.iter().filter(|x| **x == v).count();
        println!(
            "{} runs: {} valid, {} invalid, {} unknown",
            verdicts.len(),
            count(Validity::Valid),
            count(Validity::Invalid),
            count(Validity::Unknown)
        );
    }
    Exit::from(Validity::all(verdicts))
}
