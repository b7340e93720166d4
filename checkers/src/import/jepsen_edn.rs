//! Jepsen's `history.edn` (and Porcupine's kv logs, which are the same op maps one per line).
//!
//! The file is either one collection (`[…]` or `(…)`) of op maps, or a sequence of op maps. An op
//! map has `:process`, `:type`, `:f` and `:value`, and optionally `:time` (nanoseconds),
//! `:index`, `:key`, `:node` and `:error`; other keys are kept as extra fields.
//!
//! Transactions (Knossos's multi-register, Elle's list-append and rw-register) carry a list of
//! micro-ops as their value, `[[:append 1 2] [:r 3 nil]]`; Elle's histories may leave out
//! `:f`, which then reads as `:txn`. Reads of nil follow Knossos: they constrain nothing
//! ([`NilReads::Unknown`]).
//!
//! Independent keys: Jepsen's `independent` workloads write values as `[key value]` tuples. When
//! every client event's value is a two-element list and at least one tuple's second element is
//! nil or a list (a read, or a cas — which a plain register never writes as a pair), the history
//! is taken to be independent and each tuple is split into `key` and `value`.

use super::edn::{EdnError, Reader};
use crate::error::InputError;
use crate::history::{Event, EventType, History, Names, NilReads, Process};
use crate::value::Value;

/// Reads EDN op maps.
pub fn read_edn(file: &str, text: &str) -> Result<History, InputError> {
    let mut reader = Reader::new(text);
    let edn_err = |e: EdnError| InputError::new(file, e.line, e.message);
    let mut names = Names::default();
    let mut events = Vec::new();
    let mut timed = true;
    // One collection of op maps, or a bare sequence of them.
    let close = match reader.peek().map_err(edn_err)? {
        Some(b'[') => Some(b']'),
        Some(b'(') => Some(b')'),
        _ => None,
    };
    if close.is_some() {
        reader.bump();
    }
    loop {
        match reader.peek().map_err(edn_err)? {
            None if close.is_some() => {
                return Err(InputError::new(
                    file,
                    reader.line(),
                    "expected the history's closing bracket, found end of input",
                ));
            }
            None => break,
            Some(b) if Some(b) == close => {
                reader.bump();
                if reader.peek().map_err(edn_err)?.is_some() {
                    return Err(InputError::new(
                        file,
                        reader.line(),
                        "expected end of input after the history's closing bracket",
                    ));
                }
                break;
            }
            Some(_) => {}
        }
        let line = reader.line();
        let value = reader.read().map_err(edn_err)?;
        let mut event = op_map(value, events.len(), &mut names, &mut timed)
            .map_err(|m| InputError::new(file, line, m))?;
        event.line = line as u32;
        events.push(event);
    }
    if let Some(prev) = events.windows(2).find(|w| w[1].index <= w[0].index) {
        return Err(InputError::new(
            file,
            prev[1].line as usize,
            format!(
                "expected :index to increase, found {} after {}",
                prev[1].index, prev[0].index
            ),
        ));
    }
    split_independent_tuples(&mut events);
    Ok(History {
        source: file.to_string(),
        events,
        timed,
        // Knossos's register models accept a read of nil in any state.
        nil_reads: NilReads::Unknown,
    })
}

/// Turns one op map into an event; the error says what was expected.
fn op_map(
    value: Value,
    position: usize,
    names: &mut Names,
    timed: &mut bool,
) -> Result<Event, String> {
    let Value::Map(pairs) = value else {
        return Err(format!(
            "expected an op map such as {{:process 0, :type :invoke, :f :read, :value nil}}, found {}",
            value.kind()
        ));
    };
    let mut index = None;
    let mut time = None;
    let mut process = None;
    let mut kind = None;
    let mut f = None;
    let mut key = None;
    let mut val = Value::Nil;
    let mut node = None;
    let mut error = None;
    let mut extra = Vec::new();
    for (k, v) in pairs.into_vec() {
        let Value::Str(k) = k else {
            return Err(format!(
                "expected keyword keys in an op map, found {}",
                k.kind()
            ));
        };
        match &*k {
            "index" => index = Some(non_negative(&v, ":index")?),
            "time" => time = Some(non_negative(&v, ":time")?),
            "process" => {
                process = Some(match v {
                    Value::Int(p) if p >= 0 => Process::Client(p as u64),
                    Value::Str(s) => Process::Named(names.get(&s)),
                    other => {
                        return Err(format!(
                            "expected :process to be a non-negative integer or a keyword, found {other}"
                        ));
                    }
                })
            }
            "type" => {
                let parsed = v.as_str().and_then(EventType::parse);
                kind = Some(parsed.ok_or_else(|| {
                    format!("expected :type to be :invoke, :ok, :fail or :info, found {v}")
                })?);
            }
            "f" => match v {
                Value::Str(s) => f = Some(names.get(&s)),
                other => return Err(format!("expected :f to be a keyword, found {other}")),
            },
            "key" => key = Some(v),
            "value" => val = v,
            "node" => node = v.into_text(),
            "error" => error = v.into_text(),
            _ => extra.push((k, v)),
        }
    }
    let Some(process) = process else {
        return Err("expected a :process in the op map".into());
    };
    let Some(kind) = kind else {
        return Err("expected a :type in the op map".into());
    };
    // Elle's transactional histories may leave out :f: a value of micro-ops is a txn.
    let f = match f {
        Some(f) => f,
        None if is_txn(&val) => names.get("txn"),
        None => return Err("expected an :f in the op map".into()),
    };
    let time = time.unwrap_or_else(|| {
        *timed = false;
        position as u64
    });
    Ok(Event {
        index: index.unwrap_or(position as u64),
        time,
        process,
        kind,
        f,
        key,
        value: val,
        node,
        error,
        extra: extra.into(),
        line: 0,
    })
}

/// A transaction's value: a non-empty list of micro-ops, each a list such as `[:append 1 2]`.
fn is_txn(v: &Value) -> bool {
    v.as_list()
        .is_some_and(|ops| !ops.is_empty() && ops.iter().all(|m| m.as_list().is_some()))
}

fn non_negative(v: &Value, what: &str) -> Result<u64, String> {
    match v {
        Value::Int(i) if *i >= 0 => Ok(*i as u64),
        other => Err(format!(
            "expected {what} to be a non-negative integer, found {other}"
        )),
    }
}

/// Splits Jepsen's `[key value]` tuples (see the module docs for when).
fn split_independent_tuples(events: &mut [Event]) {
    let clients = || {
        events
            .iter()
            .filter(|e| matches!(e.process, Process::Client(_)))
    };
    fn pair(e: &Event) -> Option<(&Value, &Value)> {
        match &e.value {
            Value::List(items) if items.len() == 2 && e.key.is_none() => {
                Some((&items[0], &items[1]))
            }
            _ => None,
        }
    }
    // A transaction of two micro-ops is a pair of lists, not a key and a value.
    let all_pairs = clients().all(|e| pair(e).is_some() && &*e.f != "txn");
    let some_read_or_cas = clients()
        .filter_map(pair)
        .any(|(_, v)| matches!(v, Value::Nil | Value::List(_)));
    if clients().next().is_none() || !all_pairs || !some_read_or_cas {
        return;
    }
    for e in events
        .iter_mut()
        .filter(|e| matches!(e.process, Process::Client(_)))
    {
        if let Value::List(items) = std::mem::take(&mut e.value) {
            let mut items = items.into_vec().into_iter();
            e.key = items.next();
            e.value = items.next().unwrap_or_default();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_vector_of_op_maps_with_times() {
        let text = "[{:type :invoke, :f :write, :value 3, :process 0, :time 10, :index 0}\n \
                    {:type :ok, :f :write, :value 3, :process 0, :time 20, :index 1}\n \
                    {:type :info, :f :start, :value nil, :process :nemesis, :time 30, :index 2}]";
        let h = read_edn("history.edn", text).unwrap();
        assert!(h.timed);
        assert_eq!(h.events.len(), 3);
        assert_eq!(h.events[1].time, 20);
        assert_eq!(h.events[2].process, Process::Named("nemesis".into()));
        assert_eq!(h.events[1].line, 2);
    }

    #[test]
    fn reads_porcupine_kv_lines_untimed_with_keys() {
        let text = "{:process 9, :type :invoke, :f :append, :key \"0\", :value \"x 9 0 y\"}\n\
                    {:process 9, :type :ok, :f :append, :key \"0\", :value \"x 9 0 y\"}\n";
        let h = read_edn("c.txt", text).unwrap();
        assert!(!h.timed);
        assert_eq!(h.events[0].key, Some(Value::str("0")));
        assert_eq!(h.events[1].line, 2);
        assert_eq!(h.events[1].time, 1);
    }

    #[test]
    fn splits_independent_tuples() {
        let text = "{:process 0 :type :invoke :f :read :value [5 nil]}\n\
                    {:process 0 :type :ok :f :read :value [5 3]}\n\
                    {:process 1 :type :invoke :f :cas :value [6 [1 2]]}\n";
        let h = read_edn("i.edn", text).unwrap();
        assert_eq!(h.events[1].key, Some(Value::Int(5)));
        assert_eq!(h.events[1].value, Value::Int(3));
        assert_eq!(h.events[2].value.to_string(), "[1,2]");
    }

    #[test]
    fn a_plain_cas_history_is_not_mistaken_for_tuples() {
        let text = "{:process 1 :type :invoke :f :cas :value [1 2]}\n\
                    {:process 1 :type :ok :f :cas :value [1 2]}\n";
        let h = read_edn("c.edn", text).unwrap();
        assert_eq!(h.events[0].key, None);
    }

    #[test]
    fn a_value_with_keys_nested_in_keys_is_refused_quickly() {
        // Found by the `edn` fuzz target (a timeout): the bad :type was quoted in the error,
        // and printing a map whose keys are maps whose keys are maps … doubles at every level.
        let mut deep = ":x".to_string();
        for _ in 0..40 {
            deep = format!("{{{deep} [\"a\\b\"]}}");
        }
        let text =
            format!("{{:process 0 :type :invoke :f :read}}\n{{:process 0 :type {deep} :f :read}}");
        let e = read_edn("deep.edn", &text).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("map keys inside map keys"), "{e}");
    }

    fn error_of(text: &str) -> String {
        read_edn("bad.edn", text).unwrap_err().to_string()
    }

    #[test]
    fn malformed_op_maps_name_the_line() {
        let ok = "{:process 0 :type :invoke :f :read :value nil}";
        let cases = [
            (format!("{ok}\n[1 2]"), "bad.edn:2: expected an op map"),
            (
                format!("{ok}\n{{:type :invoke :f :read}}"),
                "bad.edn:2: expected a :process",
            ),
            (
                format!("{ok}\n{{:process 0 :f :read}}"),
                "bad.edn:2: expected a :type",
            ),
            (
                format!("{ok}\n{{:process 0 :type :done :f :read}}"),
                "bad.edn:2: expected :type to be",
            ),
            (
                format!("{ok}\n{{:process -2 :type :ok :f :read}}"),
                "bad.edn:2: expected :process",
            ),
            (
                format!("{ok}\n{{:process 0 :type :ok :f 3}}"),
                "bad.edn:2: expected :f",
            ),
            (
                format!("{ok}\n{{:process 0 :type :ok :f :read :time -1}}"),
                "bad.edn:2: expected :time",
            ),
            (
                format!("[{ok}\n"),
                "bad.edn:2: expected the history's closing bracket",
            ),
            (format!("[{ok}]\n{ok}"), "bad.edn:2: expected end of input"),
            (
                format!("{ok}\n{{:process 0"),
                "bad.edn:2: expected `}` to close",
            ),
        ];
        for (text, want) in cases {
            let got = error_of(&text);
            assert!(
                got.starts_with(want),
                "for {text:?}\n got {got}\nwant {want}"
            );
        }
    }
}
