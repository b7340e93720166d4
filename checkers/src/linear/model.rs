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
//!
//! Values and states share one [`Interner`], so a register's state *is* the id of its value.

pub use super::interner::Interner;
use crate::history::{History, Operation, Outcome};
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
}

impl Effect {
    /// A read: legal in one state, and changes nothing.
    pub fn is_read_only(self) -> bool {
        matches!(self, Effect::Set { sets: None, .. })
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
}

/// The model called `name`; `initial` overrides a register's initial value (nil).
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
                requires: output(op, h).map(|v| values.intern(v)),
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
