//! `read_history` with format detection (by file name, then by content), then pairing.
//!
//! The first byte picks the file name, so that detection by extension is exercised as well as
//! detection by content; the rest is the file's text.
#![no_main]

use checkers::import::{Format, read_history};
use libfuzzer_sys::fuzz_target;

const NAMES: [&str; 6] = [
    "history",
    "history.jsonl",
    "history.edn",
    "jepsen.log",
    "c01-ok.txt",
    "HISTORY.NDJSON",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let file = NAMES[usize::from(pick) % NAMES.len()];
    let _ = Format::detect(file, text);
    faultline_fuzz::check_result(text, read_history(file, text, None));
});
