//! The words every layer shares, with no I/O and no dependency on the rest
//! of the crate: severities and their ids, what a change is made of, what
//! became of an agent. Every other module may use this one; it uses none.

mod agent;
mod change;
mod resolution;
mod severity;

pub use agent::{AgentStatus, Protocol};
pub use change::{
    ChangedFile, CiCheck, CiState, Commit, Feedback, FeedbackJudgement, FeedbackKind,
    FeedbackStatus, FileStatus, TargetKind,
};
pub use resolution::{Action, Resolution, is_commit};
pub use severity::{Counts, Severity, assign_ids, id_order};
