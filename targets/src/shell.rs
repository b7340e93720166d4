//! The process shell every bundled node shares: what turns a node's `Config` and `serve`
//! into a well-behaved process the harness can start, read and stop. None of it is protocol;
//! each node keeps its own command line, state and serving code.
//!
//! * `main`: the body of every node's `main(args) -> ExitCode`: `--help` (exit 0), a one-line
//!   usage error (exit 3), a two-worker tokio runtime, `serve(config, stop)` until SIGTERM or
//!   SIGINT, and the exit code (0 after a clean stop, 3 on any error, in one line on stderr).
//! * `parse_args`, [`ArgsError`], `check_name`: a clap command line, with an optional
//!   leading program name, sorted into help text or a one-line usage error.
//! * [`Error`]: why a node could not start, or had to stop (one line).
//! * `Logger`: the node's lines on stderr, with its name and monotonic seconds.
//! * [`Listener`]: a socket bound by the node ([`Listener::bind`]) or handed to it by a test
//!   that picked a free port ([`Listener::from_std`]); [`Listeners`]: a replicated node's
//!   client and peer sockets, the same two ways.
//! * `HttpServer`: an axum router served in the background, stopped with a bounded drain.
//! * `create_data_dir`.
//!
//! A node uses it like this (the ID servers through [`ids_http`](crate::ids_http)):
//!
//! ```text
//! pub use crate::shell::{ArgsError, Error, Listener};
//!
//! impl Config {
//!     pub fn from_args(args: Vec<String>) -> Result<Config, ArgsError> {
//!         let cli: Cli = shell::parse_args("my-node", args)?;
//!         shell::check_name(&cli.id)?;
//!         …
//!     }
//! }
//!
//! pub async fn serve_on(config: Config, listener: Listener, shutdown: impl Future<Output = ()>)
//!     -> Result<(), Error> {
//!     let log = Logger::new(&config.name);
//!     …serve until `shutdown` completes…
//!     log.ended(result)
//! }
//!
//! pub fn main(args: Vec<String>) -> ExitCode {
//!     shell::main("my-node", Config::from_args(args), |c| c.name.clone(), serve)
//! }
//! ```

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long stopping an [`HttpServer`] waits for open connections to finish.
pub(crate) const HTTP_DRAIN: Duration = Duration::from_secs(2);

/// Why a node could not start, or had to stop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// Why a node's `Config::from_args` gave no configuration.
#[derive(Debug, PartialEq, Eq)]
pub enum ArgsError {
    /// `--help` or `--version`: print this to stdout and exit 0.
    Info(String),
    /// A usage error, in one line.
    Invalid(String),
}

/// Parses the arguments after `program` (a leading `program` is tolerated and skipped).
pub(crate) fn parse_args<P: Parser>(program: &str, args: Vec<String>) -> Result<P, ArgsError> {
    parse_command(P::command(), program, args)
}

/// [`parse_args`] for a command built at run time (a generic shell's, named per protocol).
pub(crate) fn parse_command<P: clap::FromArgMatches>(
    command: clap::Command,
    program: &str,
    args: Vec<String>,
) -> Result<P, ArgsError> {
    let mut args = args.into_iter().peekable();
    args.next_if(|a| a == program);
    let error = |e: clap::Error| match e.kind() {
        clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
            ArgsError::Info(e.to_string())
        }
        _ => ArgsError::Invalid(one_line(&e.to_string())),
    };
    let matches = command
        .try_get_matches_from(std::iter::once(program.to_string()).chain(args))
        .map_err(error)?;
    P::from_arg_matches(&matches).map_err(error)
}

/// A clap message folded into one line, without the usage hints.
fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("Usage:") && !l.starts_with("For more"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Checks a node name: non-empty, no whitespace.
pub(crate) fn check_name(name: &str) -> Result<(), ArgsError> {
    if name.trim().is_empty() || name.chars().any(char::is_whitespace) {
        return Err(ArgsError::Invalid(format!(
            "--id {name:?} is not a node name like n1"
        )));
    }
    Ok(())
}

/// Creates `dir` (and its parents) if missing.
pub(crate) fn create_data_dir(dir: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(dir).map_err(|e| {
        Error(format!(
            "cannot create the data directory {}: {e}",
            dir.display()
        ))
    })
}

/// Lines on stderr, each with the node's name and the seconds since it started (monotonic:
/// the node's wall clock may be skewed on purpose, and its log should not be).
#[derive(Clone, Debug)]
pub(crate) struct Logger {
    name: Arc<str>,
    start: Instant,
}

impl Logger {
    pub(crate) fn new(name: &str) -> Logger {
        Logger {
            name: name.into(),
            start: Instant::now(),
        }
    }

    pub(crate) fn line(&self, message: fmt::Arguments<'_>) {
        let t = self.start.elapsed().as_secs_f64();
        eprintln!("{} {t:9.3}s {message}", self.name);
    }

    /// Logs how serving ended (`stopped`, or `stopping: why`), and passes `result` on.
    pub(crate) fn ended(&self, result: Result<(), Error>) -> Result<(), Error> {
        match &result {
            Ok(()) => self.line(format_args!("stopped")),
            Err(e) => self.line(format_args!("stopping: {e}")),
        }
        result
    }
}

/// A node's socket, bound.
#[derive(Debug)]
pub struct Listener(pub(crate) TcpListener);

impl Listener {
    /// Binds `addr`.
    pub async fn bind(addr: SocketAddr) -> Result<Listener, Error> {
        TcpListener::bind(addr)
            .await
            .map(Listener)
            .map_err(|e| Error(format!("cannot bind {addr}: {e}")))
    }

    /// Adopts a socket bound elsewhere (a test that picked a free port). Call within a
    /// runtime.
    pub fn from_std(listener: std::net::TcpListener) -> Result<Listener, Error> {
        listener
            .set_nonblocking(true)
            .and_then(|()| TcpListener::from_std(listener))
            .map(Listener)
            .map_err(|e| Error(format!("cannot adopt a listener: {e}")))
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> Result<SocketAddr, Error> {
        self.0
            .local_addr()
            .map_err(|e| Error(format!("no local address: {e}")))
    }
}

/// A replicated node's two sockets, bound: where its clients reach it and where its peers do
/// (raft-kv, zab).
#[derive(Debug)]
pub struct Listeners {
    pub(crate) client: Listener,
    pub(crate) peer: Listener,
}

impl Listeners {
    /// Binds the `client` and `peer` addresses.
    pub async fn bind(client: SocketAddr, peer: SocketAddr) -> Result<Listeners, Error> {
        let bind = |what: &'static str, addr: SocketAddr| async move {
            TcpListener::bind(addr)
                .await
                .map(Listener)
                .map_err(|e| Error(format!("cannot bind the {what} address {addr}: {e}")))
        };
        Ok(Listeners {
            client: bind("client", client).await?,
            peer: bind("peer", peer).await?,
        })
    }

    /// Adopts sockets bound elsewhere (a test that picked free ports). Call within a runtime.
    pub fn from_std(
        client: std::net::TcpListener,
        peer: std::net::TcpListener,
    ) -> Result<Listeners, Error> {
        Ok(Listeners {
            client: Listener::from_std(client)?,
            peer: Listener::from_std(peer)?,
        })
    }
}

/// An axum router served on its own task until [`stop`](HttpServer::stop)ped.
pub(crate) struct HttpServer {
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl HttpServer {
    /// Starts serving `router` on `listener`.
    pub(crate) fn spawn(listener: Listener, router: axum::Router) -> HttpServer {
        let (stop, stopping) = oneshot::channel::<()>();
        let server = axum::serve(listener.0, router).with_graceful_shutdown(async {
            let _ = stopping.await;
        });
        HttpServer {
            stop,
            task: tokio::spawn(async move { server.await }),
        }
    }

    /// Completes if the server ends by itself: only when it failed, in practice.
    pub(crate) async fn ended(&mut self) -> Result<(), Error> {
        match (&mut self.task).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(Error(format!("the HTTP server failed: {e}"))),
            Err(e) => Err(Error(format!("the HTTP server failed: {e}"))),
        }
    }

    /// Stops accepting, and lets open connections finish for at most [`HTTP_DRAIN`].
    pub(crate) async fn stop(mut self) {
        let _ = self.stop.send(());
        if tokio::time::timeout(HTTP_DRAIN, &mut self.task)
            .await
            .is_err()
        {
            self.task.abort();
        }
    }
}

/// What a node's `serve` is given to stop on: SIGTERM or SIGINT.
pub(crate) type StopSignal = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The body of a node's `main`: reports `parsed`'s usage error (exit 3) or help (exit 0), or
/// runs `serve(config, stop)` on a two-thread runtime until SIGTERM or SIGINT (exit 0 after a
/// clean stop, 3 on any error, in one line on stderr). `program` prefixes the usage error;
/// `name` gives the node's name, which prefixes the others.
pub(crate) fn main<C, F, S>(
    program: &str,
    parsed: Result<C, ArgsError>,
    name: impl Fn(&C) -> String,
    serve: S,
) -> ExitCode
where
    S: FnOnce(C, StopSignal) -> F,
    F: Future<Output = Result<(), Error>>,
{
    let config = match parsed {
        Ok(config) => config,
        Err(ArgsError::Info(text)) => {
            print!("{text}");
            return ExitCode::SUCCESS;
        }
        Err(ArgsError::Invalid(message)) => {
            eprintln!("{program}: {message}");
            return ExitCode::from(3);
        }
    };
    let name = name(&config);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("{name}: cannot start the runtime: {e}");
            return ExitCode::from(3);
        }
    };
    let logger = Logger::new(&name);
    match runtime.block_on(async { serve(config, Box::pin(stop_signal(logger))).await }) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: {e}");
            ExitCode::from(3)
        }
    }
}

/// Completes on SIGTERM or SIGINT.
async fn stop_signal(log: Logger) {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(term) => term,
        Err(e) => {
            log.line(format_args!("cannot watch SIGTERM: {e}"));
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => log.line(format_args!("SIGTERM: stopping")),
        _ = tokio::signal::ctrl_c() => log.line(format_args!("SIGINT: stopping")),
    }
}

/// A command line split at whitespace: the nodes' tests write theirs as one string.
#[cfg(test)]
pub(crate) fn args(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_string).collect()
}

/// An empty directory `faultline-<tag>-<pid>` under the system's temporary directory, for the
/// nodes' tests of what they keep on disk.
#[cfg(test)]
pub(crate) fn empty_temp_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("faultline-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    dir
}

/// Asserts that `parse` refuses each of `lines` with a one-line usage error, and answers
/// `--help` with its help text: the nodes' tests of their command lines.
#[cfg(test)]
pub(crate) fn assert_usage_errors<C: fmt::Debug>(
    parse: impl Fn(Vec<String>) -> Result<C, ArgsError>,
    lines: &[impl AsRef<str>],
) {
    for line in lines {
        let line = line.as_ref();
        match parse(args(line)) {
            Err(ArgsError::Invalid(message)) => {
                assert!(
                    !message.is_empty() && !message.contains('\n'),
                    "{message:?}"
                )
            }
            other => panic!("{line}: {other:?}"),
        }
    }
    assert!(matches!(parse(args("--help")), Err(ArgsError::Info(_))));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Parser)]
    #[command(name = "node")]
    struct Cli {
        #[arg(long)]
        id: String,
    }

    #[test]
    fn a_leading_program_name_is_skipped() {
        let cli: Cli = parse_args("node", args("node --id n1")).unwrap();
        assert_eq!(cli.id, "n1");
        let cli: Cli = parse_args("node", args("--id n2")).unwrap();
        assert_eq!(cli.id, "n2");
    }

    #[test]
    fn clap_errors_become_one_line_or_help() {
        match parse_args::<Cli>("node", args("--id n1 --unknown")) {
            Err(ArgsError::Invalid(message)) => {
                assert!(
                    !message.is_empty() && !message.contains('\n'),
                    "{message:?}"
                );
                assert!(!message.contains("Usage:"), "{message:?}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse_args::<Cli>("node", args("--help")),
            Err(ArgsError::Info(text)) if text.contains("--id")
        ));
    }

    #[test]
    fn node_names_have_no_whitespace() {
        assert_eq!(check_name("n1"), Ok(()));
        assert!(matches!(check_name(" "), Err(ArgsError::Invalid(_))));
        assert!(matches!(check_name("a b"), Err(ArgsError::Invalid(_))));
        assert!(matches!(check_name(""), Err(ArgsError::Invalid(_))));
    }
}
