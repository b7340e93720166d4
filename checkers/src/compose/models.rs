//! The names `faultline check --model` accepts, each a list of checkers — and, for a history
//! whose model is not named, the one its operation names suggest.

use crate::elle::Workload;
use crate::history::{History, Operation};
use crate::linear;

use super::checker::Checker;

/// A name for a list of checkers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Model {
    pub name: &'static str,
    pub checkers: &'static [Checker],
}

/// Every model `--model` can name.
pub const MODELS: [Model; 10] = [
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
    Model {
        name: "list-append",
        checkers: &[Checker::Isolation(Workload::ListAppend)],
    },
    Model {
        name: "rw-register",
        checkers: &[Checker::Isolation(Workload::RwRegister)],
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
/// transactions by their micro-ops when every op is a `txn` ([`txn_model`]), else the
/// linearizability model their names fit (an empty history: `cas-register`).
pub fn infer(history: &History, ops: &[Operation]) -> Option<&'static Model> {
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
    } else if ops.iter().all(|o| &*o.f == "txn") {
        txn_model(history, ops)?
    } else {
        linear::infer(&mut ops.iter().map(|o| &*o.f))?
    };
    Model::named(name)
}

/// The transactional model whose micro-ops the transactions use: `append` → list-append, `w`
/// → rw-register, `read`/`write` → Knossos's multi-register; none when they mix, or when reads
/// alone (`r`) cannot tell a list from a register.
fn txn_model(history: &History, ops: &[Operation]) -> Option<&'static str> {
    let mut seen: Option<&'static str> = None;
    for op in ops {
        for m in op.input(history).as_list()? {
            let model = match m.as_list().and_then(|m| m.first()?.as_str()) {
                Some("append") => "list-append",
                Some("w") => "rw-register",
                Some("read" | "write") => "multi-register",
                Some("r") => continue,
                _ => return None,
            };
            match seen {
                Some(s) if s != model => return None,
                _ => seen = Some(model),
            }
        }
    }
    seen
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
        infer(&h, &h.operations().unwrap()).map(|m| m.name)
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
    fn transactions_suggest_a_model_by_their_micro_ops() {
        let of = |values: &[&str]| -> Option<&'static str> {
            let lines: Vec<String> = values
                .iter()
                .enumerate()
                .map(|(p, v)| {
                    format!("{{\"process\":{p},\"type\":\"invoke\",\"f\":\"txn\",\"value\":{v}}}")
                })
                .collect();
            let h = read_jsonl("t.jsonl", &lines.join("\n")).unwrap();
            infer(&h, &h.operations().unwrap()).map(|m| m.name)
        };
        assert_eq!(
            of(&[r#"[["append",1,2],["r",1,null]]"#]),
            Some("list-append")
        );
        assert_eq!(
            of(&[r#"[["r",1,null]]"#, r#"[["w",1,2]]"#]),
            Some("rw-register")
        );
        assert_eq!(
            of(&[r#"[["write","x",1],["read","y",null]]"#]),
            Some("multi-register")
        );
        assert_eq!(of(&[r#"[["append",1,2]]"#, r#"[["w",1,2]]"#]), None);
        assert_eq!(of(&[r#"[["r",1,null]]"#]), None);
        assert_eq!(of(&["3"]), None);
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
