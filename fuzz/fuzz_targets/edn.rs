//! `read_edn` on Jepsen `history.edn` text (a vector or a sequence of op maps), then pairing.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    faultline_fuzz::check_result(text, checkers::import::read_edn("history.edn", text));
});
