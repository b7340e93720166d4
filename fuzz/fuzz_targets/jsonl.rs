//! `read_jsonl`: faultline's own JSON Lines history format, then pairing.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    faultline_fuzz::check_result(text, checkers::history::read_jsonl("fuzz.jsonl", text));
});
