//! Which anomalies each consistency model prohibits (the table in the module docs), and
//! which order edges its cycle search needs.

use super::Consistency;
use super::graph::{PROCESS, REALTIME, Rels};

/// Whether an anomaly of `kind` counts against `model`.
pub(super) fn counts(model: Consistency, kind: &str) -> bool {
    use Consistency::*;
    // A cycle that needs process or real-time order: only strict serializability promises
    // those orders (the others are not searched for them at all).
    if let Some(base) = kind
        .strip_suffix("-realtime")
        .or_else(|| kind.strip_suffix("-process"))
    {
        return model == StrictSerializable && counts(Serializable, base);
    }
    match kind {
        "G0" => true,
        "G1a" | "G1b" | "G1c" => model != ReadUncommitted,
        // Read skew and its generalization: snapshot isolation forbids both (Cerone &
        // Gotsman: SI allows only cycles with two adjacent rw edges).
        "G-single" | "G-nonadjacent" => !matches!(model, ReadUncommitted | ReadCommitted),
        // Write skew: allowed by snapshot isolation.
        "G2-item" => !matches!(model, ReadUncommitted | ReadCommitted | SnapshotIsolation),
        // internal, duplicate-elements, incompatible-order, future-read, dirty-update: the
        // history contradicts itself whatever the model.
        _ => true,
    }
}

/// The order edges a model's cycle search needs: none but for strict serializability.
pub(super) fn order_edges(model: Consistency) -> Rels {
    match model {
        Consistency::StrictSerializable => PROCESS | REALTIME,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stronger_models_prohibit_more() {
        use Consistency::*;
        let kinds = [
            "G0",
            "G1a",
            "G1c",
            "G-single",
            "G-nonadjacent",
            "G2-item",
            "G2-item-realtime",
            "G0-process",
            "internal",
        ];
        let prohibited = |m| kinds.iter().filter(|k| counts(m, k)).count();
        assert_eq!(prohibited(ReadUncommitted), 2);
        assert_eq!(prohibited(ReadCommitted), 4);
        assert_eq!(prohibited(SnapshotIsolation), 6);
        assert_eq!(prohibited(RepeatableRead), 7);
        assert_eq!(prohibited(Serializable), 7);
        assert_eq!(prohibited(StrictSerializable), 9);
        assert!(counts(SnapshotIsolation, "G-single") && !counts(SnapshotIsolation, "G2-item"));
    }
}
