//! The exit-code contract (DESIGN.md, "Verdicts and exit codes").

use std::process::ExitCode;

use checkers::Validity;

/// What a faultline command tells its caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Every checked history is valid.
    Valid = 0,
    /// An anomaly was found.
    Invalid = 1,
    /// No anomaly found, but at least one check could not finish.
    Unknown = 2,
    /// The harness itself failed: bad arguments, bad input, a node that never came up.
    Error = 3,
}

impl From<Validity> for Exit {
    fn from(v: Validity) -> Exit {
        match v {
            Validity::Valid => Exit::Valid,
            Validity::Invalid => Exit::Invalid,
            Validity::Unknown => Exit::Unknown,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}
