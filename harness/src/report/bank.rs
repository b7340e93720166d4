//! Bank errors: what every read was checked against (given, or inferred from the first ok
//! read), and each error the report keeps with its read: who read, when, and the balances it
//! returned.

use checkers::bank::{ErrorKind, MAX_PER_KIND, Report};
use maud::{Markup, html};

use super::data::secs;
use super::text::{clip, text};

pub fn render(r: &Report) -> Markup {
    let (reads, transfers) = (&r.counts.reads, &r.counts.transfers);
    let expected = match (r.total, &r.accounts) {
        (Some(total), Some(accounts)) => format!(
            "a total of {total} over {} accounts{}",
            accounts.len(),
            if r.total_inferred || r.accounts_inferred {
                " (inferred from the first ok read)"
            } else {
                ""
            }
        ),
        _ => "nothing: no read completed ok".to_string(),
    };
    let cut = ErrorKind::ALL
        .iter()
        .any(|k| r.error_counts.of(*k) > MAX_PER_KIND);
    html! {
        p {
            "Bank: " b { (r.valid.word()) } " — " (reads.ok) " reads checked against " (expected) "; "
            (transfers.ok) " transfers ok, " (transfers.fail) " failed, " (transfers.info) " unknown; "
            (r.counts.bad_reads) " reads with errors"
            @if r.allow_negative { " (negative balances allowed)" }
            "."
        }
        @if !r.errors.is_empty() {
            table class="ops" {
                thead { tr { th { "error" } th { "process" } th { "completed" } th { "what" } th { "balances read" } } }
                tbody {
                    @for e in &r.errors {
                        tr {
                            td { (e.kind.name()) }
                            td { (e.read.process) }
                            td { (e.read.complete_time.map(secs).unwrap_or_default()) }
                            td { (e.description) }
                            td class="v" { (e.read.output.as_ref().map(|v| clip(&text(v), 200)).unwrap_or_default()) }
                        }
                    }
                }
            }
        }
        @if cut {
            p class="note" { "Only the first " (MAX_PER_KIND) " errors of each kind are kept (results.json counts every one)." }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use checkers::bank::{self, Options};
    use checkers::import::read_history;

    #[test]
    fn every_error_kept_is_a_row_with_its_read() {
        let text = include_str!("../../../checkers/tests/histories/bank/jepsen-invalid.edn");
        let h = read_history("history.edn", text, None).unwrap();
        let r = bank::check(&h, &h.operations().unwrap(), &Options::default()).unwrap();
        let html = render(&r).into_string();
        assert!(html.contains("reads checked against a total of 40 over 4 accounts (inferred"));
        assert_eq!(html.matches("<tr><td>").count(), r.errors.len());
        assert!(html.contains("<td>nil-balance</td>"), "{html}");
        assert!(
            html.contains(r#"{&quot;0&quot;:-2,&quot;1&quot;:null"#),
            "{html}"
        );
    }
}
