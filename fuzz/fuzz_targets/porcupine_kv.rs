//! `read_edn` on Porcupine kv logs (one EDN op map per line, untimed, with `:key`), then pairing.
//!
//! Same reader as the `edn` target; it differs by its seed corpus (`kv/*.txt` lines), which
//! steers it towards the kv-log shape: bare op maps, string keys and values, no `:time`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    faultline_fuzz::check_result(text, checkers::import::read_edn("kv.txt", text));
});
