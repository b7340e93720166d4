//! The EDN reader on its own: `EdnReader::read` and `peek`, value after value to end of input.
#![no_main]

use checkers::import::{EdnError, EdnReader};
use libfuzzer_sys::fuzz_target;

fn check(text: &str, e: &EdnError) {
    assert!(!e.message.contains('\n'), "error is not one line: {e:?}");
    let lines = faultline_fuzz::line_count(text);
    assert!(
        (1..=lines + 1).contains(&e.line),
        "error names line {} of a {lines}-line input: {e:?}",
        e.line
    );
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut reader = EdnReader::new(text);
    loop {
        match reader.peek() {
            Ok(None) => break,
            Ok(Some(_)) => {}
            Err(e) => return check(text, &e),
        }
        let line = reader.line();
        match reader.read() {
            // Printing a value (as JSON) must not panic either.
            Ok(value) => drop(value.to_string()),
            Err(e) => return check(text, &e),
        }
        assert!(reader.line() >= line, "the line number went backwards");
    }
});
