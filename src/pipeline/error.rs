//! What can stop a review, and of which kind each failure is: the CLI
//! maps the kind to an exit code and a hint in one place.

use crate::checkout::CheckoutError;
use crate::github::GithubError;
use crate::rounds::LedgerError;

/// How a failure is to be taken by whoever started the review.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request cannot be done as asked (unknown branch, no agent, a
    /// fork PR without a sandbox): change the command or the config.
    Usage,
    /// Something outside failed (GitHub, the disk, git): no review.
    Runtime,
    /// Stopped by a signal before any agent ran.
    Cancelled,
}

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Checkout(#[from] CheckoutError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error("no agent to run: every selected agent is disabled")]
    NoAgents,
    #[error("cancelled before any agent ran")]
    Cancelled,
    #[error(transparent)]
    Github(#[from] GithubError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("no GitHub repository: the checkout has no GitHub `upstream` or `origin` remote")]
    NoRepository,
    #[error("refusing to review a fork PR without a sandbox: {reason}")]
    Unconfined { reason: String },
    #[error("the pull request's head is {actual}, not {expected}: it moved since that commit")]
    HeadMoved { expected: String, actual: String },
}

impl PipelineError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            PipelineError::Checkout(e) if e.is_usage() => ErrorKind::Usage,
            PipelineError::NoAgents
            | PipelineError::NoRepository
            | PipelineError::Unconfined { .. }
            | PipelineError::HeadMoved { .. } => ErrorKind::Usage,
            PipelineError::Cancelled => ErrorKind::Cancelled,
            _ => ErrorKind::Runtime,
        }
    }
}

pub(super) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> PipelineError {
    let context = context.into();
    move |source| PipelineError::Io { context, source }
}
