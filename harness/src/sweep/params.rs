//! Sweep parameters: `--param NAME=v1,v2,…`, where NAME is a scenario field in kebab-case (or
//! the alias `clock.jump`), each value typed as the field is — by letting the scenario file's
//! own parser read `NAME = value` — and the grid of every combination.

use crate::scenario::{self, ScenarioFile};

/// Fields that are not parameters: the name names the sweep's runs, the seed is `--seed`, and
/// `expect` and `ci-time-limit` belong to the suite.
const NOT_PARAMETERS: [&str; 4] = ["name", "seed", "expect", "ci-time-limit"];

/// Fields measured in seconds: they take durations (`500ms`, `2s`) as well as numbers.
const SECONDS: [&str; 4] = ["time-limit", "interval", "recovery", "op-timeout"];

/// Aliases: (alias, field).
const ALIASES: [(&str, &str); 1] = [("clock.jump", "clock-ms")];

/// One swept parameter.
#[derive(Clone, Debug)]
pub struct Param {
    /// As given (`clock.jump`, `interval`).
    pub name: String,
    /// The scenario field it sets (`clock-ms`, `interval`).
    pub field: String,
    pub values: Vec<ParamValue>,
}

/// One value of a parameter.
#[derive(Clone, Debug)]
pub struct ParamValue {
    /// As given (`2s`, `1`).
    pub text: String,
    /// The field set to it.
    pub setting: ScenarioFile,
    /// The value as the field reads it.
    pub json: serde_json::Value,
    /// Where it sits on a chart's axis, when it is a number.
    pub number: Option<f64>,
}

/// Every scenario field a sweep may vary, as a scenario file spells it: the common ones and
/// every workload's.
pub fn fields() -> Vec<&'static str> {
    scenario::all_fields()
        .into_iter()
        .filter(|f| !NOT_PARAMETERS.contains(f))
        .collect()
}

/// `2s`, `-500ms`, `1.5s`, `2m` → seconds.
pub fn parse_duration(s: &str) -> Option<f64> {
    let (number, scale) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60.0)
    } else {
        return None;
    };
    let v: f64 = number.trim().parse().ok()?;
    v.is_finite().then_some(v * scale)
}

/// The value with the field's unit applied to a duration: milliseconds for `…-ms` fields,
/// seconds for the fields in [`SECONDS`]; otherwise the text itself.
fn literal_number(field: &str, text: &str) -> Option<String> {
    let secs = parse_duration(text)?;
    if field.ends_with("-ms") {
        Some(format!("{}", (secs * 1000.0).round() as i64))
    } else if SECONDS.contains(&field) {
        Some(format!("{secs}"))
    } else {
        None
    }
}

/// `field = literal`, read as a scenario file: the setting and the value as read, if the
/// literal is one TOML value of the field's type.
fn try_literal(field: &str, literal: &str) -> Option<(ScenarioFile, serde_json::Value)> {
    let text = format!("{field} = {literal}\n");
    let table: toml::Table = toml::from_str(&text).ok()?;
    if table.len() != 1 {
        return None;
    }
    let value = table.get(field)?;
    let setting = ScenarioFile::parse("--param", &text).ok()?;
    Some((setting, serde_json::to_value(value).ok()?))
}

/// A TOML basic string.
fn quoted(s: &str) -> String {
    let mut q = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            c if c.is_control() => q.push_str(&format!("\\u{:04X}", c as u32)),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

/// One value of `field`: a duration, a number or boolean, a string, or a list (items joined by
/// `+`; `none` is the empty list) — whichever the field reads.
fn parse_value(name: &str, field: &str, text: &str) -> Result<ParamValue, String> {
    let mut candidates = Vec::new();
    if let Some(n) = literal_number(field, text) {
        candidates.push(n);
    }
    if !text.is_empty() && !text.contains(['\n', '\r', '#', '=', '[', '{', '"', '\'']) {
        candidates.push(text.to_string());
    }
    candidates.push(quoted(text));
    let items: Vec<String> = if text == "none" || text.is_empty() {
        Vec::new()
    } else {
        text.split('+').map(quoted).collect()
    };
    candidates.push(format!("[{}]", items.join(", ")));
    for literal in &candidates {
        if let Some((setting, json)) = try_literal(field, literal) {
            let number = match &json {
                serde_json::Value::Number(n) => n.as_f64(),
                serde_json::Value::Bool(b) => Some(f64::from(u8::from(*b))),
                _ => None,
            };
            return Ok(ParamValue {
                text: text.to_string(),
                setting,
                json,
                number,
            });
        }
    }
    // The quoted attempt's complaint names the type the field wants.
    let why = ScenarioFile::parse("--param", &format!("{field} = {}\n", quoted(text)))
        .err()
        .and_then(|e| e.splitn(4, ':').nth(3).map(|m| m.trim().to_string()))
        .unwrap_or_default();
    Err(format!(
        "--param {name}: cannot use `{text}` as {field}: {why}"
    ))
}

/// Parses one `--param NAME=v1,v2,…`.
pub fn parse(arg: &str) -> Result<Param, String> {
    let (name, values) = arg
        .split_once('=')
        .ok_or_else(|| format!("--param {arg}: expected NAME=v1,v2,…"))?;
    let name = name.trim();
    let known = fields();
    let field = ALIASES
        .iter()
        .find(|(alias, _)| *alias == name)
        .map_or(name, |(_, field)| *field);
    if !known.contains(&field) {
        let aliases: Vec<&str> = ALIASES.iter().map(|a| a.0).collect();
        return Err(format!(
            "--param {name}: unknown parameter (known: {}, {})",
            known.join(", "),
            aliases.join(", ")
        ));
    }
    let values = values
        .split(',')
        .map(|v| parse_value(name, field, v.trim()))
        .collect::<Result<Vec<_>, _>>()?;
    for (i, v) in values.iter().enumerate() {
        if values[..i].iter().any(|w| w.json == v.json) {
            return Err(format!("--param {name}: `{}` is given twice", v.text));
        }
    }
    Ok(Param {
        name: name.to_string(),
        field: field.to_string(),
        values,
    })
}

/// Parses every `--param`; a field may be swept once.
pub fn parse_all(args: &[String]) -> Result<Vec<Param>, String> {
    let mut params: Vec<Param> = Vec::new();
    for arg in args {
        let p = parse(arg)?;
        if let Some(q) = params.iter().find(|q| q.field == p.field) {
            return Err(format!(
                "--param {}: {} is already swept (--param {})",
                p.name, p.field, q.name
            ));
        }
        params.push(p);
    }
    if params.is_empty() {
        return Err("nothing to sweep: give at least one --param NAME=v1,v2,…".into());
    }
    Ok(params)
}

/// Every combination, as indices into each parameter's values; the first parameter varies
/// slowest.
pub fn grid(params: &[Param]) -> Vec<Vec<usize>> {
    let mut cells: Vec<Vec<usize>> = vec![Vec::new()];
    for p in params {
        cells = cells
            .into_iter()
            .flat_map(|cell| {
                (0..p.values.len()).map(move |i| {
                    let mut c = cell.clone();
                    c.push(i);
                    c
                })
            })
            .collect();
    }
    cells
}

/// The settings of one cell, all together.
pub fn settings(params: &[Param], cell: &[usize]) -> ScenarioFile {
    params
        .iter()
        .zip(cell)
        .fold(ScenarioFile::default(), |acc, (p, &i)| {
            p.values[i].setting.clone().over(acc)
        })
}

/// `interval=1, nodes=3`.
pub fn label(params: &[Param], cell: &[usize]) -> String {
    params
        .iter()
        .zip(cell)
        .map(|(p, &i)| format!("{}={}", p.name, p.values[i].text))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fields_are_the_scenario_files() {
        let f = fields();
        for name in [
            "clock-ms",
            "lock-ttl-ms",
            "interval",
            "rate",
            "nodes",
            "time-limit",
            "client-pause-ms",
            "batch-size",
            "nemesis",
            "partition-shapes",
        ] {
            assert!(f.contains(&name), "{name} missing from {f:?}");
        }
        assert!(!f.contains(&"seed") && !f.contains(&"expect"));
    }

    #[test]
    fn values_are_typed_by_their_field() {
        let p = parse("interval=1,2.5,500ms").unwrap();
        let intervals: Vec<Option<f64>> =
            p.values.iter().map(|v| v.setting.common.interval).collect();
        assert_eq!(intervals, [Some(1.0), Some(2.5), Some(0.5)]);
        let p = parse("clock.jump=0s,2s,-2s,500ms,-750").unwrap();
        assert_eq!(p.field, "clock-ms");
        let jumps: Vec<Option<i64>> = p.values.iter().map(|v| v.setting.common.clock_ms).collect();
        assert_eq!(
            jumps,
            [Some(0), Some(2000), Some(-2000), Some(500), Some(-750)]
        );
        assert_eq!(p.values[1].number, Some(2000.0));
        let p = parse("nodes=3,5").unwrap();
        assert_eq!(p.values[1].setting.common.nodes, Some(5));
        let p = parse("lock-algorithm=single,redlock").unwrap();
        assert_eq!(
            p.values[1].setting.settings["lock-algorithm"].as_str(),
            Some("redlock")
        );
        assert_eq!(p.values[1].number, None);
        let p = parse("nemesis=partition+kill,none").unwrap();
        assert_eq!(
            p.values[0].setting.common.nemesis,
            Some(vec!["partition".to_string(), "kill".to_string()])
        );
        assert_eq!(p.values[1].setting.common.nemesis, Some(vec![]));
        let p = parse("fencing=true,false").unwrap();
        assert_eq!(
            p.values[0].setting.settings["fencing"].as_bool(),
            Some(true)
        );
    }

    #[test]
    fn bad_parameters_are_one_line() {
        let e = parse("nodez=3").unwrap_err();
        assert!(e.starts_with("--param nodez: unknown parameter"), "{e}");
        assert!(e.contains("clock.jump") && !e.contains('\n'), "{e}");
        let e = parse("nodes=three").unwrap_err();
        assert!(e.contains("cannot use `three` as nodes"), "{e}");
        assert!(!e.contains('\n'), "{e}");
        assert!(parse("nodes=2s").is_err());
        assert!(parse("seed=1,2").is_err());
        assert!(parse("nodes").is_err());
        assert!(parse("nodes=3,3").is_err());
        assert!(parse("rate=1\nseed = 4").is_err());
        assert!(parse_all(&["clock.jump=1s".into(), "clock-ms=5".into()]).is_err());
    }

    #[test]
    fn the_grid_is_every_combination_first_parameter_slowest() {
        let params = parse_all(&["nodes=3,5".into(), "rate=10,20,30".into()]).unwrap();
        let cells = grid(&params);
        assert_eq!(cells.len(), 6);
        assert_eq!(cells[0], [0, 0]);
        assert_eq!(cells[1], [0, 1]);
        assert_eq!(cells[3], [1, 0]);
        let s = settings(&params, &cells[5]);
        assert_eq!((s.common.nodes, s.common.rate), (Some(5), Some(30.0)));
        assert_eq!(label(&params, &cells[5]), "nodes=5, rate=30");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("2s"), Some(2.0));
        assert_eq!(parse_duration("-2s"), Some(-2.0));
        assert_eq!(parse_duration("500ms"), Some(0.5));
        assert_eq!(parse_duration("1m"), Some(60.0));
        assert_eq!(parse_duration("2"), None);
        assert_eq!(parse_duration("xs"), None);
    }
}
