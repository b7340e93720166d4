//! Values from a history as short text, for the report's tables, stories and tooltips (and
//! the suite's anomaly summaries).

use checkers::Value;

/// Text for a value from a history: strings bare, anything else as compact JSON.
pub fn text(v: &Value) -> String {
    match v {
        Value::Str(s) => s.to_string(),
        other => other.to_string(),
    }
}

/// A value cut to `max` characters, with an ellipsis.
pub fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}
