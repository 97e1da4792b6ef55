//! What a change under review is made of.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    Pr,
    Branch,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Commit {
    pub sha: String,
    pub subject: String,
    pub author: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangedFile {
    pub path: String,
    pub status: FileStatus,
    pub additions: u64,
    pub deletions: u64,
}

/// git's and GitHub's words for what happened to a file. GitHub's
/// `removed` is read as `deleted`, so both sources say the same; a word
/// neither uses today is kept as `changed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    Added,
    Modified,
    #[serde(alias = "removed")]
    Deleted,
    Renamed,
    Copied,
    Typechange,
    Unchanged,
    #[serde(other)]
    Changed,
}

impl FileStatus {
    pub fn name(self) -> &'static str {
        match self {
            FileStatus::Added => "added",
            FileStatus::Modified => "modified",
            FileStatus::Deleted => "deleted",
            FileStatus::Renamed => "renamed",
            FileStatus::Copied => "copied",
            FileStatus::Typechange => "typechange",
            FileStatus::Unchanged => "unchanged",
            FileStatus::Changed => "changed",
        }
    }

    /// Whether the file is still there to be read at the reviewed commit.
    pub fn exists_at_head(self) -> bool {
        self != FileStatus::Deleted
    }
}

/// A person's feedback on the PR that nobody resolved: a review thread, a
/// conversation comment or a review's summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Feedback {
    /// `U1`, `U2`, … in the order gathered: what agents call it.
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub kind: FeedbackKind,
    pub author: String,
    pub url: String,
    pub path: Option<String>,
    pub line: Option<u32>,
    /// The first 300 characters, on one line.
    pub excerpt: String,
    /// The whole text, up to 4,000 characters (model-free but PR-written:
    /// hostile).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
    /// What the reviewers say of it this round.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub judgements: Vec<FeedbackJudgement>,
    /// The report's findings at the place it concerns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedbackKind {
    /// An unresolved, current review thread on a line.
    #[default]
    Thread,
    /// A comment in the PR's conversation.
    Comment,
    /// The summary of a submitted review.
    Review,
}

impl FeedbackKind {
    pub fn words(self) -> &'static str {
        match self {
            FeedbackKind::Thread => "review thread",
            FeedbackKind::Comment => "comment",
            FeedbackKind::Review => "review",
        }
    }
}

/// One reviewer's word on a piece of feedback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedbackJudgement {
    pub agent: String,
    pub status: FeedbackStatus,
    /// Model text.
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedbackStatus {
    /// This change does what it asked.
    Addressed,
    Open,
    Unclear,
}

/// The head commit's CI: its check runs and commit statuses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CiState {
    /// `success`, `failure`, `pending` (something still runs) or `none`.
    pub state: String,
    pub checks: Vec<CiCheck>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CiCheck {
    pub name: String,
    /// `success`, `failure`, `pending`, `neutral`, `skipped`, `cancelled`, …
    pub state: String,
    pub url: Option<String>,
}

impl CiCheck {
    /// Whether it ended badly: a check run's failing conclusions and a
    /// commit status's `failure` and `error`.
    pub fn failed(&self) -> bool {
        matches!(
            self.state.as_str(),
            "failure" | "error" | "timed_out" | "cancelled" | "action_required" | "startup_failure"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_statuses_read_both_gits_and_githubs_words() {
        let read = |s: &str| serde_json::from_value::<FileStatus>(serde_json::json!(s)).unwrap();
        assert_eq!(read("removed"), FileStatus::Deleted);
        assert_eq!(read("deleted"), FileStatus::Deleted);
        assert_eq!(read("renamed"), FileStatus::Renamed);
        assert_eq!(read("something-new"), FileStatus::Changed);
        for s in [
            FileStatus::Deleted,
            FileStatus::Typechange,
            FileStatus::Changed,
        ] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.name());
        }
        assert!(!FileStatus::Deleted.exists_at_head());
        assert!(FileStatus::Renamed.exists_at_head());
    }
}
