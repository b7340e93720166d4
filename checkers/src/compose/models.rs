//! The names `faultline check --model` accepts, each a list of checkers — and, for a history
//! whose model is not named, the one its operation names suggest.

use crate::history::Operation;
use crate::linear;

use super::checker::Checker;

/// A name for a list of checkers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Model {
    pub name: &'static str,
    pub checkers: &'static [Checker],
}

/// Every model `--model` can name.
pub const MODELS: [Model; 8] = [
    Model {
        name: "register",
        checkers: &[Checker::Linearizable("register")],
    },
    Model {
        name: "cas-register",
        checkers: &[Checker::Linearizable("cas-register")],
    },
    Model {
        name: "multi-register",
        checkers: &[Checker::Linearizable("multi-register")],
    },
    Model {
        name: "kv",
        checkers: &[Checker::Linearizable("kv")],
    },
    Model {
        name: "mutex",
        checkers: &[Checker::Linearizable("mutex")],
    },
    Model {
        name: "unique-ids",
        checkers: &[Checker::UniqueIds, Checker::Monotonic],
    },
    Model {
        name: "lock",
        checkers: &[Checker::LockSafety, Checker::Mutex],
    },
    Model {
        name: "bank",
        checkers: &[Checker::Bank, Checker::Atomicity, Checker::Blocking],
    },
];

impl Model {
    /// The model called `name`.
    pub fn named(name: &str) -> Option<&'static Model> {
        MODELS.iter().find(|m| m.name == name)
    }

    /// Every model's name, for `--model` and messages.
    pub fn names() -> impl Iterator<Item = &'static str> {
        MODELS.iter().map(|m| m.name)
    }
}

/// The model a history's operations suggest, when none was named: unique IDs when every op
/// is a `generate`, a lock when the ops are a lock workload's (with writes to its resource),
/// a bank when they are transfers and reads (with a transfer: reads alone are a register's),
/// else the linearizability model their names fit (an empty history: `cas-register`).
pub fn infer(ops: &[Operation]) -> Option<&'static Model> {
    let name = if ops.is_empty() {
        "cas-register"
    } else if ops.iter().all(|o| &*o.f == "generate") {
        "unique-ids"
    } else if ops
        .iter()
        .all(|o| matches!(&*o.f, "acquire" | "release" | "renew" | "write"))
        && ops.iter().any(|o| &*o.f == "write")
    {
        "lock"
    } else if ops.iter().all(|o| matches!(&*o.f, "transfer" | "read"))
        && ops.iter().any(|o| &*o.f == "transfer")
    {
        "bank"
    } else {
        linear::infer(&mut ops.iter().map(|o| &*o.f))?
    };
    Model::named(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::read_jsonl;

    fn inferred(fs: &[&str]) -> Option<&'static str> {
        let lines: Vec<String> = fs
            .iter()
            .enumerate()
            .map(|(p, f)| {
                format!(
                    "{{\"process\":{p},\"type\":\"invoke\",\"f\":\"{f}\",\"value\":null}}\n{{\"process\":{p},\"type\":\"ok\",\"f\":\"{f}\",\"value\":null}}"
                )
            })
            .collect();
        let h = read_jsonl("h.jsonl", &lines.join("\n")).unwrap();
        infer(&h.operations().unwrap()).map(|m| m.name)
    }

    #[test]
    fn the_operations_names_suggest_a_model() {
        assert_eq!(inferred(&[]), Some("cas-register"));
        assert_eq!(inferred(&["generate", "generate"]), Some("unique-ids"));
        assert_eq!(inferred(&["acquire", "write", "release"]), Some("lock"));
        assert_eq!(inferred(&["acquire", "release"]), Some("mutex"));
        assert_eq!(inferred(&["read", "cas"]), Some("cas-register"));
        assert_eq!(inferred(&["get", "put"]), Some("kv"));
        assert_eq!(inferred(&["read", "put"]), None);
        assert_eq!(inferred(&["transfer", "read"]), Some("bank"));
        assert_eq!(inferred(&["transfer"]), Some("bank"));
        assert_eq!(inferred(&["read"]), Some("cas-register"));
        assert_eq!(inferred(&["transfer", "write"]), None);
    }

    #[test]
    fn every_linearizability_model_exists() {
        for m in MODELS {
            for c in m.checkers {
                if let Checker::Linearizable(name) = c {
                    assert!(linear::by_name(name, None).is_some(), "{name}");
                }
            }
        }
    }
}
