//! The `http-ids` protocol (docs/protocols/http-ids.md) and the process shell the two bundled ID
//! servers share: [`snowflake`](crate::snowflake) and [`uuid_ids`](crate::uuid_ids).
//!
//! ```text
//!  POST /ids {"count": n} ──▶ parse_count (pure) ──▶ Issuer::issue(n) ──▶ Ok(ids) ──▶ 200 {"ids": […]}
//!                                  │ Err                                 └▶ Err(Failure) ──▶ answer
//!                                  └──────────────▶ 400 bad-request
//!  GET /health ──▶ Issuer::health() ──▶ 200 {"node": …, …}
//! ```
//!
//! A server is an [`Issuer`]: given a count it answers all the IDs or one [`Failure`], never a
//! part of a batch, so every answer but a 200 is *definite* — the client was handed no ID, and
//! a history checker may record the operation `fail`. IDs travel as JSON strings (snowflake
//! IDs in decimal): a 64-bit integer does not survive every JSON reader (JavaScript's numbers
//! hold 53 bits), and a string compares exactly wherever it goes.
//!
//! The rest is what both node processes need around their generator and is not protocol:
//! [`Listener`], the stderr `Logger`, the one-line usage errors, and `run`, the body of
//! their `main`s (a runtime, `serve`, SIGTERM/SIGINT, exit codes).

use std::fmt;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// The most IDs one request may ask for.
pub const MAX_COUNT: usize = 1000;

/// How long shutting down waits for open HTTP connections to finish.
const HTTP_DRAIN: Duration = Duration::from_secs(2);

/// Why a request got no IDs. Every one is definite: nothing was handed out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// A malformed body, or a count out of `1..=MAX_COUNT` (400).
    BadRequest(String),
    /// The wall clock is behind the last timestamp issued by more than the server will wait
    /// out (503).
    ClockMovedBackwards { behind_ms: u64 },
    /// The wall clock is outside the range the ID's timestamp field can hold (500).
    TimestampExhausted { now_ms: i64 },
}

/// The HTTP form of a failure: its status and body.
pub fn failure_answer(failure: &Failure) -> (StatusCode, Value) {
    match failure {
        Failure::BadRequest(message) => (
            StatusCode::BAD_REQUEST,
            json!({"error": "bad-request", "definite": true, "message": message}),
        ),
        Failure::ClockMovedBackwards { behind_ms } => (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"error": "clock-moved-backwards", "definite": true, "behind_ms": behind_ms}),
        ),
        Failure::TimestampExhausted { now_ms } => (
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"error": "timestamp-exhausted", "definite": true, "now_ms": now_ms}),
        ),
    }
}

/// Parses `POST /ids`'s body: a JSON object whose optional `"count"` is an integer in
/// `1..=MAX_COUNT` (1 when absent). Other fields are ignored.
pub fn parse_count(body: &[u8]) -> Result<usize, String> {
    let body: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let Some(fields) = body.as_object() else {
        return Err("the body is not a JSON object".into());
    };
    match fields.get("count") {
        None => Ok(1),
        Some(count) => match count.as_u64() {
            Some(n) if (1..=MAX_COUNT as u64).contains(&n) => Ok(n as usize),
            _ => Err(format!(
                "\"count\" must be an integer from 1 to {MAX_COUNT}, not {count}"
            )),
        },
    }
}

/// An ID server, as the HTTP layer sees it.
pub trait Issuer: Send + Sync + 'static {
    /// Exactly `count` new IDs (`1..=MAX_COUNT`), as the strings sent, or why none.
    fn issue(&self, count: usize) -> impl Future<Output = Result<Vec<String>, Failure>> + Send;

    /// `GET /health`'s body: at least `{"node": name}`.
    fn health(&self) -> Value;
}

type Answer = (StatusCode, Json<Value>);

/// `POST /ids` and `GET /health`, answered by `issuer`.
pub fn router<I: Issuer>(issuer: Arc<I>) -> Router {
    Router::new()
        .route("/ids", post(ids::<I>))
        .route("/health", get(health::<I>))
        .with_state(issuer)
}

async fn ids<I: Issuer>(State(issuer): State<Arc<I>>, body: Bytes) -> Answer {
    let result = match parse_count(&body) {
        Ok(count) => issuer.issue(count).await,
        Err(message) => Err(Failure::BadRequest(message)),
    };
    match result {
        Ok(ids) => (StatusCode::OK, Json(json!({ "ids": ids }))),
        Err(failure) => {
            let (code, body) = failure_answer(&failure);
            (code, Json(body))
        }
    }
}

async fn health<I: Issuer>(State(issuer): State<Arc<I>>) -> Answer {
    (StatusCode::OK, Json(issuer.health()))
}

/// Serves `issuer` on `listener` until `shutdown` completes, then lets open connections
/// finish (for at most two seconds).
pub(crate) async fn serve_http<I: Issuer>(
    listener: Listener,
    issuer: Arc<I>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    let (stop, stopping) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(listener.0, router(issuer)).with_graceful_shutdown(async {
        let _ = stopping.await;
    });
    let mut http = tokio::spawn(async move { server.await });
    tokio::select! {
        () = shutdown => {}
        result = &mut http => {
            return match result {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(Error(format!("the HTTP server failed: {e}"))),
                Err(e) => Err(Error(format!("the HTTP server failed: {e}"))),
            };
        }
    }
    let _ = stop.send(());
    if tokio::time::timeout(HTTP_DRAIN, &mut http).await.is_err() {
        http.abort();
    }
    Ok(())
}

/// Why [`from_args`](crate::snowflake::Config::from_args) gave no configuration.
#[derive(Debug, PartialEq, Eq)]
pub enum ArgsError {
    /// `--help`: print this to stdout and exit 0.
    Info(String),
    /// A usage error, in one line.
    Invalid(String),
}

impl ArgsError {
    /// A clap error, sorted into help text or a one-line usage error.
    pub(crate) fn from_clap(e: &clap::Error) -> ArgsError {
        match e.kind() {
            clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                ArgsError::Info(e.to_string())
            }
            _ => ArgsError::Invalid(one_line(&e.to_string())),
        }
    }
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

/// Why a node could not start, or had to stop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

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
}

/// A node's socket, bound.
#[derive(Debug)]
pub struct Listener(TcpListener);

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

/// The body of a node's `main`: reports `parsed`'s usage error (exit 3) or help (exit 0), or
/// runs `serve(config, stop)` on a two-thread runtime until SIGTERM or SIGINT (exit 0 after a
/// clean stop, 3 on any error, in one line on stderr).
pub(crate) fn run<C, F, S>(
    system: &str,
    parsed: Result<C, ArgsError>,
    name: impl Fn(&C) -> String,
    serve: S,
) -> ExitCode
where
    S: FnOnce(C, std::pin::Pin<Box<dyn Future<Output = ()> + Send>>) -> F,
    F: Future<Output = Result<(), Error>>,
{
    let config = match parsed {
        Ok(config) => config,
        Err(ArgsError::Info(text)) => {
            print!("{text}");
            return ExitCode::SUCCESS;
        }
        Err(ArgsError::Invalid(message)) => {
            eprintln!("{system}: {message}");
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_parse() {
        assert_eq!(parse_count(br#"{"count": 5}"#), Ok(5));
        assert_eq!(parse_count(br#"{}"#), Ok(1));
        assert_eq!(parse_count(br#"{"count": 1000, "other": 1}"#), Ok(1000));
        assert_eq!(parse_count(br#"{"count": 1}"#), Ok(1));
    }

    #[test]
    fn malformed_bodies_and_counts_are_refused() {
        for body in [
            &br#"{"count": 0}"#[..],
            br#"{"count": 1001}"#,
            br#"{"count": -1}"#,
            br#"{"count": 2.5}"#,
            br#"{"count": "3"}"#,
            br#"{"count": null}"#,
            br#"[1]"#,
            br#"3"#,
            b"{",
            b"",
            b"count=3",
        ] {
            let error = parse_count(body).unwrap_err();
            assert!(!error.is_empty(), "{body:?}");
        }
    }

    #[test]
    fn failures_take_the_protocols_statuses() {
        let answer = |f: Failure| failure_answer(&f);
        let (code, body) = answer(Failure::BadRequest("x".into()));
        assert_eq!(code, StatusCode::BAD_REQUEST);
        assert_eq!(
            body,
            json!({"error": "bad-request", "definite": true, "message": "x"})
        );
        let (code, body) = answer(Failure::ClockMovedBackwards { behind_ms: 2000 });
        assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            body,
            json!({"error": "clock-moved-backwards", "definite": true, "behind_ms": 2000})
        );
        let (code, body) = answer(Failure::TimestampExhausted { now_ms: 7 });
        assert_eq!(code, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body["error"], "timestamp-exhausted");
        assert_eq!(body["definite"], true);
    }
}
