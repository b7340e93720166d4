//! A workload's own scenario fields: a typed struct per workload (`lock-ttl-ms`, `batch-size`,
//! …), written flat in a scenario file beside the fields every scenario has, carried through
//! the harness as a TOML table, and read back typed by the workload that owns them.
//!
//! ```text
//! scenario.toml ──▶ the harness keeps the keys that are not its own ──▶ toml::Table
//!   ──▶ Settings::read (unknown keys refused, types checked, defaults filled) ──▶ S
//! ```

use serde::Serialize;
use serde::de::{self, DeserializeOwned, Visitor};
use targets::descriptor::Protocol;

/// A workload's settings: every field has a default, so a scenario may leave them all out.
pub trait Settings: Serialize + DeserializeOwned + Default + Send + Sync + 'static {
    /// Checks values the types allow but the workload does not (a zero lease, …, or a lock
    /// algorithm the target's `protocol` cannot run).
    fn check(&self, _protocol: Protocol) -> Result<(), String> {
        Ok(())
    }
}

/// Captures the field names a `Deserialize` derive passes to `deserialize_struct`.
struct FieldNames<'a>(&'a mut &'static [&'static str]);

impl<'de> de::Deserializer<'de> for FieldNames<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("field names only"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = fields;
        Err(de::Error::custom("field names only"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

/// The fields of a struct as its `Deserialize` derive spells them (kebab-case, in a scenario).
pub fn field_names<T: DeserializeOwned>() -> &'static [&'static str] {
    let mut names: &'static [&'static str] = &[];
    let _ = T::deserialize(FieldNames(&mut names));
    names
}

/// The defaults of `S`, as a table.
pub fn defaults<S: Settings>() -> toml::Table {
    toml::Table::try_from(S::default()).unwrap_or_default()
}

/// Reads `table` as `workload`'s settings `S`: every key must be one of its fields, every
/// value of the field's type; missing fields take their defaults.
pub fn read<S: Settings>(
    workload: &str,
    table: &toml::Table,
    protocol: Protocol,
) -> Result<S, String> {
    let fields = field_names::<S>();
    if let Some(key) = table.keys().find(|k| !fields.contains(&k.as_str())) {
        return Err(format!(
            "workload {workload} has no setting `{key}` (its settings: {})",
            if fields.is_empty() {
                "none".to_string()
            } else {
                fields.join(", ")
            }
        ));
    }
    let settings = S::deserialize(toml::Value::Table(table.clone()))
        .map_err(|e| format!("workload {workload}: {}", e.message().trim()))?;
    settings.check(protocol)?;
    Ok(settings)
}

/// Checks the types of `S`'s fields in a scenario file's `text` (other keys are not `S`'s
/// business), naming the line and column of a wrong one.
pub fn check_text<S: Settings>(file: &str, text: &str) -> Result<(), String> {
    toml::from_str::<S>(text)
        .map(drop)
        .map_err(|e| located(file, text, &e))
}

/// A TOML error as one line: `file:line:column: message`.
pub fn located(file: &str, text: &str, e: &toml::de::Error) -> String {
    let (line, column) = match e.span() {
        Some(span) => line_column(text, span.start),
        None => (1, 1),
    };
    let message = e.message().replace('\n', " ");
    format!("{file}:{line}:{column}: {}", message.trim())
}

/// The line and column (from 1) of a byte offset.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
    #[serde(rename_all = "kebab-case", default)]
    struct Demo {
        batch_size: u32,
        fast: bool,
    }

    impl Settings for Demo {
        fn check(&self, _protocol: Protocol) -> Result<(), String> {
            (self.batch_size < 100)
                .then_some(())
                .ok_or_else(|| "batch-size must be below 100".into())
        }
    }

    #[test]
    fn fields_defaults_and_reading() {
        assert_eq!(field_names::<Demo>(), ["batch-size", "fast"]);
        assert_eq!(defaults::<Demo>().len(), 2);
        let mut t = toml::Table::new();
        t.insert("batch-size".into(), toml::Value::Integer(7));
        let d: Demo = read("demo", &t, Protocol::HttpKv).unwrap();
        assert_eq!(
            d,
            Demo {
                batch_size: 7,
                fast: false
            }
        );
        t.insert("bacth-size".into(), toml::Value::Integer(7));
        let e = read::<Demo>("demo", &t, Protocol::HttpKv).unwrap_err();
        assert_eq!(
            e,
            "workload demo has no setting `bacth-size` (its settings: batch-size, fast)"
        );
        t.remove("bacth-size");
        t.insert("batch-size".into(), toml::Value::Integer(700));
        assert_eq!(
            read::<Demo>("demo", &t, Protocol::HttpKv).unwrap_err(),
            "batch-size must be below 100"
        );
        t.insert("fast".into(), toml::Value::String("yes".into()));
        assert!(
            read::<Demo>("demo", &t, Protocol::HttpKv)
                .unwrap_err()
                .starts_with("workload demo: ")
        );
    }

    #[test]
    fn a_wrong_type_in_a_file_is_located() {
        let e = check_text::<Demo>("s.toml", "nodes = 3\nfast = \"yes\"\n").unwrap_err();
        assert!(e.starts_with("s.toml:2:8:"), "{e}");
        assert!(!e.contains('\n'));
        check_text::<Demo>("s.toml", "nodes = 3\nfast = true\n").unwrap();
    }
}
