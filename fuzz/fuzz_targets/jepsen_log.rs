//! `read_jepsen_log`: Jepsen's text log (`INFO  jepsen.util - 3 :invoke :cas [1 2]`), then pairing.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    faultline_fuzz::check_result(text, checkers::import::read_jepsen_log("jepsen.log", text));
});
