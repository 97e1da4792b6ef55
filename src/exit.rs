//! The exit-code contract (docs/exit-codes.md). Scripts and Makefiles rely
//! on these numbers: change them only on purpose.

use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Review complete, nothing at or above `--fail-on`.
    Ok = 0,
    /// Runtime error: no review could be produced.
    Runtime = 1,
    /// Usage or configuration error.
    Usage = 2,
    /// A report was produced but an agent or the consolidation failed.
    Incomplete = 3,
    /// Findings at or above `--fail-on` (takes precedence over 3).
    Findings = 4,
}

impl Exit {
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The exit of a finished review: blocking findings win over an
    /// incomplete review, which wins over success.
    pub fn for_review(incomplete: bool, blocking_findings: bool) -> Self {
        match (blocking_findings, incomplete) {
            (true, _) => Exit::Findings,
            (false, true) => Exit::Incomplete,
            (false, false) => Exit::Ok,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e.code())
    }
}
