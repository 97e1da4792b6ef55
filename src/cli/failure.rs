//! A command's failure as the user sees it: one line, a hint, an exit code.

use std::process::ExitCode;

use crate::config::ConfigError;
use crate::exit::Exit;

#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub hint: String,
    pub exit: Exit,
}

impl Failure {
    pub fn runtime(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            hint: hint.into(),
            exit: Exit::Runtime,
        }
    }

    pub fn usage(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            hint: hint.into(),
            exit: Exit::Usage,
        }
    }

    pub fn report(&self) -> ExitCode {
        super::output::error_lines(&self.message, &self.hint);
        self.exit.into()
    }
}

impl From<ConfigError> for Failure {
    fn from(e: ConfigError) -> Self {
        Failure::usage(e.to_string(), e.hint())
    }
}

impl From<crate::ledger::LedgerError> for Failure {
    fn from(e: crate::ledger::LedgerError) -> Self {
        Failure::runtime(
            e.to_string(),
            "the ledger (ledger.json beside the runs) records each finding's status across rounds",
        )
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::runtime(format!("{e:#}"), "run again with -v for details")
    }
}
