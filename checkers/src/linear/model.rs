//! Models: the sequential specifications operations are checked against.
//!
//! A model reads each operation into an [`Effect`] on an interned state, and names the initial
//! state. Effects are a small instruction set the search engine executes without calling back
//! into the model:
//!
//! * [`Effect::Set`]: legal when the state equals `requires` (if given); leaves the state at
//!   `sets` (if given), else unchanged. Reads, writes, compare-and-set, mutex acquire/release
//!   are all of this form, which is what makes the pruning in [`super::prune`] sound for them.
//! * [`Effect::Append`]: the state (a string) grows by a suffix — Porcupine's kv append.
//! * [`Effect::Txn`]: the state is a map; the transaction reads some keys (legal only when
//!   each holds what was read) and writes others — Knossos's multi-register.
//!
//! Values and states share one [`Interner`], so a register's state *is* the id of its value.

pub use super::interner::Interner;
use crate::history::{History, NilReads, Operation, Outcome};
use crate::value::Value;

/// What one operation does to the state (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Effect {
    Set {
        requires: Option<u32>,
        sets: Option<u32>,
    },
    Append {
        suffix: u32,
    },
    /// `ops` is an interned list of micro-ops `[read k v]` / `[write k v]`, applied in order
    /// (a read after the transaction's own write sees it; reads of nil are left out); the
    /// state is an interned map sorted by key.
    Txn {
        ops: u32,
        writes: bool,
    },
}

impl Effect {
    /// A read: legal in one state, and changes nothing.
    pub fn is_read_only(self) -> bool {
        matches!(
            self,
            Effect::Set { sets: None, .. } | Effect::Txn { writes: false, .. }
        )
    }
}

/// A sequential specification.
pub trait Model: Sync {
    /// The name used on the command line.
    fn name(&self) -> &'static str;

    /// The initial state.
    fn init(&self, values: &mut Interner) -> u32;

    /// What `op` does, read from its invocation and (for `ok` operations) its completion.
    /// `fail` operations never reach a model: they did not happen. An error says what was
    /// expected; the caller adds the file and line.
    fn effect(
        &self,
        op: &Operation,
        history: &History,
        values: &mut Interner,
    ) -> Result<Effect, String>;

    /// A human-readable form of a state.
    fn describe_state(&self, value: &Value) -> String {
        value.to_string()
    }

    /// What an `ok` read of nil means here: the history's format decides, unless the model
    /// does (Knossos's multi-register ignores such reads in any format).
    fn nil_reads(&self, history: &History) -> NilReads {
        history.nil_reads
    }
}

/// The model called `name`; `initial` overrides a register's initial value (nil), or is the
/// multi-register's initial map (empty).
pub fn by_name(name: &str, initial: Option<Value>) -> Option<Box<dyn Model>> {
    Some(match name {
        "register" => Box::new(Register {
            cas: false,
            initial: initial.unwrap_or_default(),
        }),
        "cas-register" => Box::new(Register {
            cas: true,
            initial: initial.unwrap_or_default(),
        }),
        "multi-register" => Box::new(MultiRegister::new(initial)),
        "kv" => Box::new(Kv),
        "mutex" => Box::new(Mutex),
        _ => return None,
    })
}

fn output<'h>(op: &Operation, history: &'h History) -> Option<&'h Value> {
    match op.outcome {
        Outcome::Ok => op.output(history),
        _ => None,
    }
}

/// What an `ok` read returned, `None` when it says nothing: an unknown outcome, or a nil where
/// reads of nil carry no information ([`NilReads::Unknown`]).
fn read<'h>(model: &dyn Model, op: &Operation, history: &'h History) -> Option<&'h Value> {
    output(op, history).filter(|v| !(v.is_nil() && model.nil_reads(history) == NilReads::Unknown))
}

/// How many of `ops` are `ok` reads of nil: plain reads, and the read micro-ops of
/// transactions.
pub fn nil_reads(ops: &[Operation], history: &History) -> usize {
    let is_nil_read = |m: &Value| matches!(m.as_list(), Some([f, _, v]) if f.as_str() == Some("read") && v.is_nil());
    ops.iter()
        .filter_map(|op| Some((op, output(op, history)?)))
        .map(|(op, out)| match &*op.f {
            "read" => usize::from(out.is_nil()),
            "txn" => out
                .as_list()
                .map_or(0, |ms| ms.iter().filter(|m| is_nil_read(m)).count()),
            _ => 0,
        })
        .sum()
}

/// A read-write register (`read`, `write`), optionally with `cas` (value `[expected, new]`).
#[derive(Debug)]
pub struct Register {
    pub cas: bool,
    pub initial: Value,
}

impl Model for Register {
    fn name(&self) -> &'static str {
        if self.cas { "cas-register" } else { "register" }
    }

    fn init(&self, values: &mut Interner) -> u32 {
        values.intern(&self.initial)
    }

    fn effect(&self, op: &Operation, h: &History, values: &mut Interner) -> Result<Effect, String> {
        match &*op.f {
            "read" => Ok(Effect::Set {
                // An unknown read constrains nothing; the caller drops read-only `info` ops.
                requires: read(self, op, h).map(|v| values.intern(v)),
                sets: None,
            }),
            "write" => Ok(Effect::Set {
                requires: None,
                sets: Some(values.intern(op.input(h))),
            }),
            "cas" if self.cas => match op.input(h).as_list() {
                Some([from, to]) => Ok(Effect::Set {
                    requires: Some(values.intern(from)),
                    sets: Some(values.intern(to)),
                }),
                _ => Err(format!(
                    "expected a cas value [expected, new], found {}",
                    op.input(h)
                )),
            },
            "cas" => Err(
                "expected read or write (the register model has no cas: use --model cas-register)"
                    .into(),
            ),
            f => Err(format!(
                "expected f {}, found `{f}`",
                if self.cas {
                    "read, write or cas"
                } else {
                    "read or write"
                }
            )),
        }
    }
}

/// Knossos's multi-register: one map of registers, read and written by transactions. An
/// operation (`f` `txn`) is a list of micro-ops `[read k v]` / `[write k v]`; the reads hold
/// at one point of the map's history, at which the writes apply. A read of nil constrains
/// nothing, as in Knossos, whatever the history's format; keys missing from the initial map
/// hold nil.
#[derive(Debug)]
pub struct MultiRegister {
    /// The initial map, sorted by key.
    initial: Value,
}

impl MultiRegister {
    /// Starts from `initial`'s pairs (a map; anything else is an empty map: the command line
    /// refuses it first).
    pub fn new(initial: Option<Value>) -> MultiRegister {
        let pairs = match initial {
            Some(Value::Map(pairs)) => pairs.into_vec(),
            _ => Vec::new(),
        };
        MultiRegister {
            initial: sorted_map(pairs),
        }
    }
}

/// A map value with its pairs sorted by key, the last of equal keys kept: one value per
/// state, whatever order it was built in.
fn sorted_map(mut pairs: Vec<(Value, Value)>) -> Value {
    pairs.reverse();
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    pairs.dedup_by(|later, first| later.0 == first.0);
    Value::Map(pairs.into())
}

impl Model for MultiRegister {
    fn name(&self) -> &'static str {
        "multi-register"
    }

    fn init(&self, values: &mut Interner) -> u32 {
        values.intern(&self.initial)
    }

    fn nil_reads(&self, _: &History) -> NilReads {
        NilReads::Unknown
    }

    fn effect(&self, op: &Operation, h: &History, values: &mut Interner) -> Result<Effect, String> {
        if &*op.f != "txn" {
            return Err(format!(
                "expected f txn (a list of [read k v] / [write k v]), found `{}`",
                op.f
            ));
        }
        // An ok txn's completion carries what it read; an unknown one, only what it asked.
        let micro_ops = output(op, h).unwrap_or(op.input(h));
        let Some(micro_ops) = micro_ops.as_list() else {
            return Err(format!(
                "expected a txn's value to be a list of [read k v] / [write k v], found {micro_ops}"
            ));
        };
        let mut kept = Vec::with_capacity(micro_ops.len());
        let mut writes = false;
        for m in micro_ops {
            match m.as_list() {
                Some([f, _, v]) if f.as_str() == Some("read") => {
                    // Unknown reads (nil, or an op that never completed) constrain nothing.
                    if op.outcome == Outcome::Ok && !v.is_nil() {
                        kept.push(m.clone());
                    }
                }
                Some([f, _, _]) if f.as_str() == Some("write") => {
                    writes = true;
                    kept.push(m.clone());
                }
                _ => {
                    return Err(format!(
                        "expected a micro-op [read k v] or [write k v], found {m}"
                    ));
                }
            }
        }
        Ok(Effect::Txn {
            ops: values.intern(&Value::list(kept)),
            writes,
        })
    }
}

/// Porcupine's key-value store, per key: `get` reads the string, `put` sets it, `append`
/// concatenates onto it. Every key starts as the empty string.
#[derive(Debug)]
pub struct Kv;

fn string<'v>(v: Option<&'v Value>, what: &str) -> Result<&'v str, String> {
    match v {
        Some(Value::Str(s)) => Ok(s),
        Some(other) => Err(format!("expected {what} to be a string, found {other}")),
        None => Err(format!("expected {what}")),
    }
}

impl Model for Kv {
    fn name(&self) -> &'static str {
        "kv"
    }

    fn init(&self, values: &mut Interner) -> u32 {
        values.intern(&Value::str(""))
    }

    fn effect(&self, op: &Operation, h: &History, values: &mut Interner) -> Result<Effect, String> {
        match &*op.f {
            "get" => Ok(Effect::Set {
                requires: match output(op, h) {
                    Some(v) => {
                        string(Some(v), "the value a get returns")?;
                        Some(values.intern(v))
                    }
                    None => None,
                },
                sets: None,
            }),
            "put" => {
                string(Some(op.input(h)), "the value of a put")?;
                Ok(Effect::Set {
                    requires: None,
                    sets: Some(values.intern(op.input(h))),
                })
            }
            "append" => {
                string(Some(op.input(h)), "the value of an append")?;
                Ok(Effect::Append {
                    suffix: values.intern(op.input(h)),
                })
            }
            f => Err(format!("expected f get, put or append, found `{f}`")),
        }
    }
}

/// A lock without owners: `acquire` needs it free and takes it, `release` needs it held and
/// frees it.
#[derive(Debug)]
pub struct Mutex;

impl Model for Mutex {
    fn name(&self) -> &'static str {
        "mutex"
    }

    fn init(&self, values: &mut Interner) -> u32 {
        values.intern(&Value::str("free"))
    }

    fn effect(&self, op: &Operation, _: &History, values: &mut Interner) -> Result<Effect, String> {
        let free = values.intern(&Value::str("free"));
        let held = values.intern(&Value::str("held"));
        match &*op.f {
            "acquire" => Ok(Effect::Set {
                requires: Some(free),
                sets: Some(held),
            }),
            "release" => Ok(Effect::Set {
                requires: Some(held),
                sets: Some(free),
            }),
            f => Err(format!("expected f acquire or release, found `{f}`")),
        }
    }
}

/// The model a history's operation names suggest, when the user named none.
pub fn infer(fs: &mut dyn Iterator<Item = &str>) -> Option<&'static str> {
    let mut seen = [false; 4];
    for f in fs {
        let group = match f {
            "read" | "write" | "cas" => 0,
            "get" | "put" | "append" => 1,
            "acquire" | "release" => 2,
            _ => 3,
        };
        seen[group] = true;
    }
    match seen {
        [true, false, false, false] => Some("cas-register"),
        [false, true, false, false] => Some("kv"),
        [false, false, true, false] => Some("mutex"),
        _ => None,
    }
}
