//! JUnit XML for `faultline suite --junit FILE`: one `<testcase>` per scenario run, in the
//! shape CI servers (Jenkins, GitLab, GitHub reporters) read.
//!
//! ```xml
//! <testsuites name="faultline" tests="2" failures="1" errors="0" skipped="0" time="6.500">
//!   <testsuite name="faultline suite" tests="2" failures="1" errors="0" skipped="0" time="6.500">
//!     <testcase classname="faultline.raft-kv" name="quiet #1 (seed 7)" time="3.250">
//!       <failure message="expected invalid, got valid" type="verdict">…</failure>
//!     </testcase>
//!   </testsuite>
//! </testsuites>
//! ```
//!
//! A run whose verdict differs from its scenario's `expect` is a `<failure>`; a run the harness
//! could not finish is an `<error>`; every case's `<system-out>` names its verdict and results
//! folder. Written by hand: the format is small, and [`escape`] is the one thing to get right.

use std::fmt::Write;

use super::outcome::{Case, Outcome};

/// Escapes text for XML 1.0 content and attribute values: the five predefined entities;
/// tabs, newlines and carriage returns as character references (so attribute values keep
/// them); other characters XML 1.0 forbids (C0 controls, U+FFFE, U+FFFF) as U+FFFD.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Text content: as [`escape`], but newlines stay newlines (readable in the file).
fn escape_text(s: &str) -> String {
    escape(s).replace("&#10;", "\n")
}

/// The whole document.
pub fn render(cases: &[Case]) -> String {
    let tests = cases.len();
    let errors = cases.iter().filter(|c| c.failed_to_run()).count();
    let failures = cases
        .iter()
        .filter(|c| !c.passed() && !c.failed_to_run())
        .count();
    let time: f64 = cases.iter().map(|c| c.duration_s).sum();
    let counts = format!(
        "tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"0\" time=\"{time:.3}\""
    );
    let mut x = String::new();
    x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(x, "<testsuites name=\"faultline\" {counts}>");
    let _ = writeln!(x, "  <testsuite name=\"faultline suite\" {counts}>");
    for case in cases {
        let _ = writeln!(
            x,
            "    <testcase classname=\"faultline.{}\" name=\"{}\" time=\"{:.3}\">",
            escape(&case.target),
            escape(&case.name()),
            case.duration_s
        );
        match &case.outcome {
            Outcome::Failed(e) => {
                let _ = writeln!(
                    x,
                    "      <error message=\"{}\" type=\"harness\">{}</error>",
                    escape(e),
                    escape_text(e)
                );
            }
            Outcome::Checked {
                verdict,
                dir,
                anomalies,
            } => {
                let mut detail = format!("results: {}", dir.display());
                if !anomalies.is_empty() {
                    detail.push_str(&format!("\nanomalies: {anomalies}"));
                }
                if let Some(mismatch) = case.mismatch() {
                    let _ = writeln!(
                        x,
                        "      <failure message=\"{}\" type=\"verdict\">{}</failure>",
                        escape(&mismatch),
                        escape_text(&format!("{mismatch}\n{detail}"))
                    );
                }
                let verdict = match case.expected {
                    Some(e) if e == *verdict => format!("{}, as expected", verdict.word()),
                    Some(_) => verdict.word().to_string(),
                    None => format!("{} (no expectation)", verdict.word()),
                };
                let _ = writeln!(
                    x,
                    "      <system-out>{}</system-out>",
                    escape_text(&format!("verdict: {verdict}\n{detail}"))
                );
            }
        }
        x.push_str("    </testcase>\n");
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use checkers::Validity;

    #[test]
    fn escape_covers_markup_quotes_and_forbidden_characters() {
        assert_eq!(escape("<script>&\"'"), "&lt;script&gt;&amp;&quot;&apos;");
        assert_eq!(escape("a\tb\nc\rd"), "a&#9;b&#10;c&#13;d");
        assert_eq!(
            escape("\u{1}\u{1b}[0m\u{FFFF}"),
            "\u{FFFD}\u{FFFD}[0m\u{FFFD}"
        );
        assert_eq!(escape("déjà vu → ok"), "déjà vu → ok");
        assert_eq!(escape_text("line 1\nline <2>"), "line 1\nline &lt;2&gt;");
    }

    fn case(
        scenario: &str,
        run: u32,
        expected: Option<Validity>,
        verdict: Validity,
        anomalies: &str,
    ) -> Case {
        Case {
            scenario: scenario.into(),
            target: "raft-kv".into(),
            run,
            seed: 6 + u64::from(run),
            expected,
            duration_s: 3.25,
            outcome: Outcome::Checked {
                verdict,
                dir: format!("results/{scenario}/20261126T0600{run:02}").into(),
                anomalies: anomalies.into(),
            },
        }
    }

    /// The document for fixed inputs, whole: a pass, a wrong expectation, a run without one,
    /// a harness error, and names that need escaping.
    #[test]
    fn snapshot() {
        let cases = vec![
            case("quiet", 1, Some(Validity::Valid), Validity::Valid, ""),
            case(
                "quiet-expects-invalid",
                1,
                Some(Validity::Invalid),
                Validity::Valid,
                "",
            ),
            case(
                "stale<reads>&\"co\"",
                1,
                None,
                Validity::Invalid,
                "key 2 not linearizable",
            ),
            Case {
                target: "redis-server".into(),
                duration_s: 0.5,
                outcome: Outcome::Failed("node n1 never came up: see <nodes/n1.log>".into()),
                ..case("redlock", 2, Some(Validity::Invalid), Validity::Valid, "")
            },
        ];
        let expected = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="faultline" tests="4" failures="1" errors="1" skipped="0" time="10.250">
  <testsuite name="faultline suite" tests="4" failures="1" errors="1" skipped="0" time="10.250">
    <testcase classname="faultline.raft-kv" name="quiet #1 (seed 7)" time="3.250">
      <system-out>verdict: valid, as expected
results: results/quiet/20261126T060001</system-out>
    </testcase>
    <testcase classname="faultline.raft-kv" name="quiet-expects-invalid #1 (seed 7)" time="3.250">
      <failure message="expected invalid, got valid" type="verdict">expected invalid, got valid
results: results/quiet-expects-invalid/20261126T060001</failure>
      <system-out>verdict: valid
results: results/quiet-expects-invalid/20261126T060001</system-out>
    </testcase>
    <testcase classname="faultline.raft-kv" name="stale&lt;reads&gt;&amp;&quot;co&quot; #1 (seed 7)" time="3.250">
      <system-out>verdict: invalid (no expectation)
results: results/stale&lt;reads&gt;&amp;&quot;co&quot;/20261126T060001
anomalies: key 2 not linearizable</system-out>
    </testcase>
    <testcase classname="faultline.redis-server" name="redlock #2 (seed 8)" time="0.500">
      <error message="node n1 never came up: see &lt;nodes/n1.log&gt;" type="harness">node n1 never came up: see &lt;nodes/n1.log&gt;</error>
    </testcase>
  </testsuite>
</testsuites>
"#;
        assert_eq!(render(&cases), expected);
    }
}
