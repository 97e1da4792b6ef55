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

/// A reviewer's comment on the PR that nobody resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Feedback {
    pub author: String,
    pub url: String,
    pub path: Option<String>,
    pub line: Option<u32>,
    pub excerpt: String,
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
