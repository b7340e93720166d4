//! The timeline's operations as compact columns, for the page's script to draw (`timeline.js`):
//! one array per field — start (µs after the previous op's), duration (µs, -1 when the op never
//! completed), process, outcome, and an index into a table of the ops' distinct texts — plus
//! the fault periods and marks, as JSON, gzip-compressed and base64-encoded.
//!
//! A history grows the report by a few bytes an operation this way, not by an SVG element with
//! its tooltip; and the embedded text is base64, which holds no `<` nor `&`: nothing from the
//! history can close the `<script>` element that carries it, nor be read as markup.

use std::collections::HashMap;
use std::io::Write as _;

use base64::Engine as _;
use checkers::history::{Operation, Outcome};
use flate2::Compression;
use flate2::write::GzEncoder;
use serde::Serialize;

use super::data::Data;
use super::text::clip;

/// How many characters of its values an op's text keeps: 60, or fewer in a long history, so
/// that all the values together stay within [`VALUE_BUDGET`] characters — a million
/// operations returning random IDs would otherwise need some 50 bytes each (random text does
/// not compress), and the report would be 55 MB; with 16 characters it is about 20 MB.
fn value_width(ops: usize) -> usize {
    (VALUE_BUDGET / ops.max(1)).clamp(16, 60)
}

/// Characters that each of the ops' values (what was asked, what came back) may keep, summed
/// over the ops.
const VALUE_BUDGET: usize = 16_000_000;

/// What `timeline.js` decodes (its field names are the script's).
#[derive(Serialize)]
struct Columns {
    /// Operations per page.
    page: usize,
    /// Start: µs after the previous op's start (the first op's: after 0).
    t: Vec<i64>,
    /// Duration in µs; -1 when the op never completed.
    d: Vec<i64>,
    /// Process.
    p: Vec<u64>,
    /// Outcome: 0 ok, 1 fail, 2 info, 3 never completed.
    o: Vec<u8>,
    /// The op's text: an index into `strings`.
    s: Vec<u32>,
    strings: Vec<String>,
    /// Fault periods: CSS class, label, start µs, end µs.
    faults: Vec<(&'static str, String, u64, u64)>,
    /// Instant actions: µs, label.
    marks: Vec<(u64, String)>,
}

/// The op's text without its process and times (the script adds them), its values cut to
/// `width` characters: `cas [1,2] (ok, n1)`, `write 3 (info: timeout)`.
fn text(data: &Data<'_>, op: &Operation, width: usize) -> String {
    let inv = op.invocation(data.history);
    let mut s = op.f.to_string();
    if let Some(k) = &inv.key {
        s.push_str(&format!(" key {k}"));
    }
    if !inv.value.is_nil() {
        s.push(' ');
        s.push_str(&clip(&inv.value.to_string(), width));
    }
    let comp = op.completion(data.history);
    if let Some(c) = comp
        && op.outcome == Outcome::Ok
        && (c.value != inv.value || inv.value.is_nil())
    {
        s.push_str(" → ");
        s.push_str(&clip(&c.value.to_string(), width));
    }
    s.push_str(&format!(" ({}", op.outcome.word()));
    if let Some(e) = comp.and_then(|c| c.error.as_deref()) {
        s.push_str(": ");
        s.push_str(&clip(e, 60));
    }
    if let Some(n) = comp.and_then(|c| c.node.as_deref()) {
        s.push_str(&format!(", {n}"));
    }
    s.push(')');
    s
}

/// The columns of `data`'s client operations, paged by `page`, as base64 of gzipped JSON.
pub fn encode(data: &Data<'_>, page: usize) -> String {
    let us = |ns: u64| ns / 1000;
    let n = data.ops.len();
    let mut c = Columns {
        page,
        t: Vec::with_capacity(n),
        d: Vec::with_capacity(n),
        p: Vec::with_capacity(n),
        o: Vec::with_capacity(n),
        s: Vec::with_capacity(n),
        strings: Vec::new(),
        faults: data
            .periods
            .iter()
            .map(|p| (p.kind.class(), p.label.clone(), us(p.start), us(p.end)))
            .collect(),
        marks: data
            .marks
            .iter()
            .map(|(t, l)| (us(*t), l.clone()))
            .collect(),
    };
    let width = value_width(n);
    let mut index: HashMap<String, u32> = HashMap::new();
    let mut previous = 0;
    for op in &data.ops {
        let start = us(data.start(op));
        c.t.push(start as i64 - previous as i64);
        previous = start;
        c.d.push(data.done(op).map_or(-1, |d| us(d) as i64 - start as i64));
        c.p.push(op.process);
        c.o.push(match (op.complete, op.outcome) {
            (None, _) => 3,
            (_, Outcome::Ok) => 0,
            (_, Outcome::Fail) => 1,
            (_, Outcome::Info) => 2,
        });
        let text = text(data, op, width);
        let next = index.len() as u32;
        let at = *index.entry(text).or_insert_with_key(|t| {
            c.strings.push(t.clone());
            next
        });
        c.s.push(at);
    }
    let json = serde_json::to_vec(&c).expect("columns serialize");
    let mut gz = GzEncoder::new(Vec::new(), Compression::best());
    gz.write_all(&json).expect("gzip into memory");
    let bytes = gz.finish().expect("gzip into memory");
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::value_width;

    #[test]
    fn values_are_cut_shorter_only_in_long_histories() {
        assert_eq!(value_width(0), 60);
        assert_eq!(value_width(100_000), 60);
        assert_eq!(value_width(400_000), 40);
        assert_eq!(value_width(1_000_000), 16);
        assert_eq!(value_width(10_000_000), 16);
    }
}
