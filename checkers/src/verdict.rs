//! Verdicts: Jepsen's `valid?` — true, false, or unknown — and how they combine.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Whether a history satisfied a checker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Validity {
    Valid,
    Invalid,
    /// No anomaly found, but the check could not finish (time or memory budget).
    Unknown,
}

impl Validity {
    /// The worse of two verdicts: invalid beats unknown beats valid.
    pub fn and(self, other: Validity) -> Validity {
        use Validity::*;
        match (self, other) {
            (Invalid, _) | (_, Invalid) => Invalid,
            (Unknown, _) | (_, Unknown) => Unknown,
            _ => Valid,
        }
    }

    /// Combines many verdicts; an empty set is valid.
    pub fn all(verdicts: impl IntoIterator<Item = Validity>) -> Validity {
        verdicts.into_iter().fold(Validity::Valid, Validity::and)
    }

    /// The word for it: `valid`, `invalid`, `unknown`.
    pub fn word(self) -> &'static str {
        match self {
            Validity::Valid => "valid",
            Validity::Invalid => "invalid",
            Validity::Unknown => "unknown",
        }
    }
}

/// As in Jepsen's results: `true`, `false` or `"unknown"`.
impl Serialize for Validity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Validity::Valid => s.serialize_bool(true),
            Validity::Invalid => s.serialize_bool(false),
            Validity::Unknown => s.serialize_str("unknown"),
        }
    }
}

/// Reads what [`Serialize`] writes: `true`, `false` or `"unknown"`.
impl<'de> Deserialize<'de> for Validity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Validity, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            Bool(bool),
            Word(String),
        }
        match Written::deserialize(d)? {
            Written::Bool(true) => Ok(Validity::Valid),
            Written::Bool(false) => Ok(Validity::Invalid),
            Written::Word(w) if w == "unknown" => Ok(Validity::Unknown),
            Written::Word(w) => Err(serde::de::Error::custom(format!(
                "expected true, false or \"unknown\", found \"{w}\""
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Validity::*;
    use super::*;

    #[test]
    fn invalid_beats_unknown_beats_valid() {
        assert_eq!(Validity::all([Valid, Unknown, Valid]), Unknown);
        assert_eq!(Validity::all([Unknown, Invalid]), Invalid);
        assert_eq!(Validity::all([]), Valid);
        assert_eq!(
            serde_json::to_string(&[Valid, Invalid, Unknown]).unwrap(),
            r#"[true,false,"unknown"]"#
        );
        let read: Vec<Validity> = serde_json::from_str(r#"[true,false,"unknown"]"#).unwrap();
        assert_eq!(read, [Valid, Invalid, Unknown]);
        assert!(serde_json::from_str::<Validity>(r#""maybe""#).is_err());
    }
}
