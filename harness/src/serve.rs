//! `faultline serve`: browse the results store over HTTP, on 127.0.0.1 only.
//!
//! `/` lists the runs found in `results/<scenario>/<time>/results.json`, newest first, each
//! linking to its report.html; every other path is a file (or folder) under the results
//! folder, served read-only. A path that climbs out of it (`..`, or a link that leads
//! elsewhere) is refused with 403.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use clap::Args;
use maud::{DOCTYPE, Markup, html};

use crate::exit::Exit;
use crate::results::RunResults;
use crate::suite::outcome::anomalies;

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// The port on 127.0.0.1 (0: any free port; the URL is printed).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// The results folder to serve.
    #[arg(long, default_value = "results")]
    pub results: PathBuf,
}

/// Runs `faultline serve` until interrupted.
pub fn run(args: &ServeArgs) -> Exit {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("faultline: error: cannot start the runtime: {e}");
            return Exit::Error;
        }
    };
    match runtime.block_on(serve(args.results.clone(), args.port)) {
        Ok(()) => Exit::Valid,
        Err(e) => {
            eprintln!("faultline: error: {e}");
            Exit::Error
        }
    }
}

async fn serve(root: PathBuf, port: u16) -> Result<(), String> {
    if !root.is_dir() {
        return Err(format!("{}: no such results folder", root.display()));
    }
    let root = root
        .canonicalize()
        .map_err(|e| format!("{}: {e}", root.display()))?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!(
        "faultline serve: http://{addr}/ (results in {})",
        root.display()
    );
    {
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
    }
    let app = Router::new().fallback(handle).with_state(Arc::new(root));
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| e.to_string())
}

fn status(code: StatusCode, message: &str) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{message}\n"),
    )
        .into_response()
}

async fn handle(State(root): State<Arc<PathBuf>>, method: Method, uri: Uri) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return status(
            StatusCode::METHOD_NOT_ALLOWED,
            "read-only: GET and HEAD only",
        );
    }
    let raw = uri.path();
    if raw == "/" {
        let root = root.clone();
        return match tokio::task::spawn_blocking(move || index(&root)).await {
            Ok(page) => html_response(page),
            Err(_) => status(StatusCode::INTERNAL_SERVER_ERROR, "could not list the runs"),
        };
    }
    let path = match resolve(&root, raw) {
        Ok(p) => p,
        Err(Refusal::Forbidden) => {
            return status(
                StatusCode::FORBIDDEN,
                "forbidden: outside the results folder",
            );
        }
        Err(Refusal::Missing) => return status(StatusCode::NOT_FOUND, "not found"),
        Err(Refusal::Bad) => return status(StatusCode::BAD_REQUEST, "bad path"),
    };
    if path.is_dir() {
        if !raw.ends_with('/') {
            let mut r = StatusCode::MOVED_PERMANENTLY.into_response();
            if let Ok(to) = HeaderValue::from_str(&format!("{raw}/")) {
                r.headers_mut().insert(header::LOCATION, to);
            }
            return r;
        }
        return html_response(listing(&root, &path, raw));
    }
    match tokio::fs::read(&path).await {
        Ok(bytes) => {
            let mut r = Response::new(Body::from(bytes));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(content_type(&path)),
            );
            r.headers_mut().insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            r
        }
        Err(_) => status(StatusCode::NOT_FOUND, "not found"),
    }
}

fn html_response(page: Markup) -> Response {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page.into_string(),
    )
        .into_response()
}

/// Why a path is not served.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// It leads out of the results folder.
    Forbidden,
    Missing,
    /// Not a decodable path.
    Bad,
}

/// Decodes `%XX` escapes; `None` for a malformed escape or bytes that are not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The file under `root` (canonical) that the URL path `raw` names. Any `..` segment is
/// refused outright, and so is anything whose real path (links followed) is not under `root`.
pub fn resolve(root: &Path, raw: &str) -> Result<PathBuf, Refusal> {
    let decoded = percent_decode(raw).ok_or(Refusal::Bad)?;
    if decoded.contains('\0') {
        return Err(Refusal::Bad);
    }
    let mut path = root.to_path_buf();
    for segment in decoded.split(['/', '\\']) {
        match segment {
            "" | "." => {}
            ".." => return Err(Refusal::Forbidden),
            s => path.push(s),
        }
    }
    let real = path.canonicalize().map_err(|_| Refusal::Missing)?;
    if !real.starts_with(root) {
        return Err(Refusal::Forbidden);
    }
    Ok(real)
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "xml" => "application/xml",
        "jsonl" | "log" | "toml" | "txt" | "md" | "edn" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// One run, as the index lists it.
struct Run {
    scenario: String,
    stamp: String,
    /// `None` when results.json is missing, or of an older faultline (another version).
    results: Option<RunResults>,
    report: bool,
}

/// `20261126T053702` as `2026-11-26 05:37:02 UTC`.
fn when(stamp: &str) -> String {
    let b = stamp.as_bytes();
    if b.len() >= 15
        && b[8] == b'T'
        && b.iter().take(15).filter(|c| c.is_ascii_digit()).count() == 14
    {
        format!(
            "{}-{}-{} {}:{}:{} UTC{}",
            &stamp[0..4],
            &stamp[4..6],
            &stamp[6..8],
            &stamp[9..11],
            &stamp[11..13],
            &stamp[13..15],
            &stamp[15..]
        )
    } else {
        stamp.to_string()
    }
}

/// Every run under `root`, newest first.
fn runs(root: &Path) -> Vec<Run> {
    let mut out = Vec::new();
    let Ok(scenarios) = std::fs::read_dir(root) else {
        return out;
    };
    for s in scenarios.flatten() {
        // `latest` is a link to a run listed anyway.
        if !s.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let Ok(times) = std::fs::read_dir(s.path()) else {
            continue;
        };
        for t in times.flatten() {
            let dir = t.path();
            let results_file = dir.join("results.json");
            if !results_file.is_file() && !dir.join("history.jsonl").is_file() {
                continue;
            }
            let results = std::fs::read_to_string(&results_file)
                .ok()
                .and_then(|text| serde_json::from_str::<RunResults>(&text).ok());
            out.push(Run {
                scenario: s.file_name().to_string_lossy().into_owned(),
                stamp: t.file_name().to_string_lossy().into_owned(),
                results,
                report: dir.join(crate::report::FILE).is_file(),
            });
        }
    }
    out.sort_by(|a, b| b.stamp.cmp(&a.stamp).then(a.scenario.cmp(&b.scenario)));
    out
}

/// A path segment for a URL: everything but unreserved characters percent-encoded.
fn encode(segment: &str) -> String {
    let mut s = String::new();
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1d232b}\
table{border-collapse:collapse}th,td{border-bottom:1px solid #d8dde3;padding:4px 12px;text-align:left}\
th{background:#eef1f4}.valid{color:#2e8b47;font-weight:600}.invalid{color:#c8362f;font-weight:600}\
.unknown{color:#b07a0c;font-weight:600}.muted{color:#5b6673}code{font-size:12px}";

fn index(root: &Path) -> Markup {
    let runs = runs(root);
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "faultline results" }
                style { (maud::PreEscaped(STYLE)) }
            }
            body {
                h1 { "faultline results" }
                p class="muted" { (runs.len()) " runs in " code { (root.display().to_string()) } ", newest first." }
                table {
                    thead { tr { th { "time" } th { "scenario" } th { "verdict" } th { "operations" } th { "anomalies" } th { "" } } }
                    tbody {
                        @for r in &runs {
                            @let base = format!("/{}/{}/", encode(&r.scenario), encode(&r.stamp));
                            @let verdict = r.results.as_ref().map_or("no results", |x| x.valid.word());
                            tr {
                                td { (when(&r.stamp)) }
                                td { (r.scenario) }
                                td class=(verdict) { (verdict) }
                                td { (r.results.as_ref().map(|x| format!("{} ({} ok)", x.history.stats.counts.ops, x.history.stats.counts.ok)).unwrap_or_default()) }
                                td { (r.results.as_ref().map(anomalies_of).unwrap_or_default()) }
                                td {
                                    @if r.report {
                                        a href=(format!("{base}{}", crate::report::FILE)) { "report" }
                                    } @else {
                                        span class="muted" { "no report (faultline report)" }
                                    }
                                    " · " a href=(format!("{base}results.json")) { "results.json" }
                                    " · " a href=(base) { "files" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The run's anomalies in a few words (the suite's summary), or "none".
fn anomalies_of(r: &RunResults) -> String {
    let found = anomalies(&r.history);
    if found.is_empty() {
        "none".into()
    } else {
        found
    }
}

/// A folder's entries, linked.
fn listing(root: &Path, dir: &Path, raw: &str) -> Markup {
    let mut entries: Vec<(String, bool)> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| {
                    (
                        e.file_name().to_string_lossy().into_owned(),
                        e.path().is_dir(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    entries.sort();
    let shown = dir.strip_prefix(root).unwrap_or(dir).display().to_string();
    html! {
        (DOCTYPE)
        html lang="en" {
            head { meta charset="utf-8"; title { "faultline results: /" (shown) } style { (maud::PreEscaped(STYLE)) } }
            body {
                h1 { "/" (shown) }
                p { a href="/" { "all runs" } @if raw != "/" { " · " a href="../" { "up" } } }
                ul {
                    @for (name, is_dir) in &entries {
                        li { a href=(format!("{}{}", encode(name), if *is_dir { "/" } else { "" })) { (name) @if *is_dir { "/" } } }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_results_folder() {
        let root = std::env::temp_dir().join(format!("serve-{}", std::process::id()));
        std::fs::create_dir_all(root.join("s/t")).unwrap();
        std::fs::write(root.join("s/t/results.json"), "{}").unwrap();
        let root = root.canonicalize().unwrap();
        assert_eq!(
            resolve(&root, "/s/t/results.json"),
            Ok(root.join("s/t/results.json"))
        );
        assert_eq!(
            resolve(&root, "/s/%74/results.json"),
            Ok(root.join("s/t/results.json"))
        );
        for bad in [
            "/../etc/passwd",
            "/s/../../x",
            "/%2e%2e/x",
            "/s/..%2f..%2fx",
            "/..\\x",
        ] {
            assert_eq!(resolve(&root, bad), Err(Refusal::Forbidden), "{bad}");
        }
        assert_eq!(resolve(&root, "/nope"), Err(Refusal::Missing));
        assert_eq!(resolve(&root, "/%zz"), Err(Refusal::Bad));
        std::os::unix::fs::symlink("/etc", root.join("out")).unwrap();
        assert_eq!(resolve(&root, "/out/passwd"), Err(Refusal::Forbidden));
        std::fs::remove_dir_all(&root).unwrap();
        assert_eq!(when("20261126T053702"), "2026-11-26 05:37:02 UTC");
        assert_eq!(when("20261126T053702-2"), "2026-11-26 05:37:02 UTC-2");
    }
}
