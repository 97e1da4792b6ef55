//! What the author did about findings, written in PR comments or in a
//! resolutions file: `/deep-review fixed I1 I2 in abc1234`, `/deep-review
//! skip S2: no time this release`, `/deep-review decline S6: by design`,
//! `/deep-review reopen S6` — and who wrote them.

use crate::domain::{Action, is_commit};

/// An author's decision about findings, written in a PR comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerCommand {
    Resolve {
        ids: Vec<String>,
        action: Action,
        commits: Vec<String>,
        reason: String,
    },
    Reopen {
        ids: Vec<String>,
    },
}

/// Why a resolution line could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error(
        "`{0}` is not an action (fixed, skipped, test-added, commented, documented, declined, reopen)"
    )]
    UnknownAction(String),
    #[error("no finding id after `{0}`")]
    NoIds(String),
    #[error("`{0}` is not a finding id (C1, I2, S3)")]
    BadId(String),
    #[error("`{0}` is not a commit (4 to 40 hex digits)")]
    BadCommit(String),
    #[error("`{0}` needs a reason after a colon (`{0} S2: why`)")]
    NoReason(String),
}

impl LedgerCommand {
    /// A PR comment's line `/deep-review ACTION ID… [in COMMIT…] [: reason]`;
    /// None for any other line.
    pub fn parse(line: &str) -> Option<Result<LedgerCommand, CommandError>> {
        let rest = line.trim().strip_prefix("/deep-review ")?;
        Some(LedgerCommand::parse_bare(rest))
    }

    /// `ACTION ID… [in COMMIT…] [: reason]`, as a resolutions file has it.
    pub fn parse_bare(line: &str) -> Result<LedgerCommand, CommandError> {
        let (words, reason) = match line.split_once(':') {
            Some((words, reason)) => (words, reason.trim()),
            None => (line, ""),
        };
        let mut words = words.split_whitespace();
        let verb = words.next().unwrap_or_default();
        let mut ids = Vec::new();
        let mut commits = Vec::new();
        let mut in_commits = false;
        for word in words {
            let word = word.trim_matches(',');
            if word.eq_ignore_ascii_case("in") {
                in_commits = true;
            } else if in_commits {
                if !is_commit(word) {
                    return Err(CommandError::BadCommit(word.to_string()));
                }
                commits.push(word.to_string());
            } else {
                for id in word.split(',').filter(|id| !id.is_empty()) {
                    if !is_finding_id(id) {
                        return Err(CommandError::BadId(id.to_string()));
                    }
                    ids.push(id.to_ascii_uppercase());
                }
            }
        }
        if verb.eq_ignore_ascii_case("reopen") {
            if ids.is_empty() {
                return Err(CommandError::NoIds(verb.to_string()));
            }
            return Ok(LedgerCommand::Reopen { ids });
        }
        let action =
            Action::parse(verb).ok_or_else(|| CommandError::UnknownAction(verb.to_string()))?;
        if ids.is_empty() {
            return Err(CommandError::NoIds(verb.to_string()));
        }
        // A decline without a reason is allowed (except for a Critical,
        // which the ledger refuses); a skip is not.
        if action == Action::Skipped && reason.is_empty() {
            return Err(CommandError::NoReason(verb.to_string()));
        }
        Ok(LedgerCommand::Resolve {
            ids,
            action,
            commits,
            reason: reason.to_string(),
        })
    }

    pub fn ids(&self) -> &[String] {
        match self {
            LedgerCommand::Resolve { ids, .. } | LedgerCommand::Reopen { ids } => ids,
        }
    }
}

/// `C1`, `I12`, `S3`: a severity letter and a number.
fn is_finding_id(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some('C' | 'I' | 'S' | 'c' | 'i' | 's'))
        && s.len() > 1
        && s.len() <= 6
        && chars.all(|c| c.is_ascii_digit())
}

/// A ledger command as found in one PR comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentCommand {
    /// `issue:<id>` or `review:<id>`: which comment, so that it is applied
    /// once and a later `reopen` from the command line is not undone.
    pub comment: String,
    pub author: String,
    /// GitHub's `author_association`: OWNER, MEMBER, COLLABORATOR, ….
    pub association: String,
    pub created_at: String,
    /// The line read, or why it could not be (said back as a warning).
    pub command: Result<LedgerCommand, CommandError>,
}

impl CommentCommand {
    /// Only people with write access may resolve findings: anyone can
    /// comment on a public pull request.
    pub fn has_write_access(&self) -> bool {
        matches!(
            self.association.as_str(),
            "OWNER" | "MEMBER" | "COLLABORATOR"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(ids: &[&str], action: Action, commits: &[&str], reason: &str) -> LedgerCommand {
        LedgerCommand::Resolve {
            ids: ids.iter().map(|s| s.to_string()).collect(),
            action,
            commits: commits.iter().map(|s| s.to_string()).collect(),
            reason: reason.into(),
        }
    }

    #[test]
    fn resolution_lines_are_read_from_comments() {
        assert_eq!(
            LedgerCommand::parse("/deep-review decline S6: deliberate, see docs/design.md"),
            Some(Ok(resolve(
                &["S6"],
                Action::Declined,
                &[],
                "deliberate, see docs/design.md"
            )))
        );
        assert_eq!(
            LedgerCommand::parse("  /deep-review reopen I2"),
            Some(Ok(LedgerCommand::Reopen {
                ids: vec!["I2".into()]
            }))
        );
        assert_eq!(
            LedgerCommand::parse("/deep-review decline C1"),
            Some(Ok(resolve(&["C1"], Action::Declined, &[], ""))),
            "no reason given: a Critical is then not declined"
        );
        assert_eq!(
            LedgerCommand::parse("/deep-review fixed i1, I2 in abc1234 DEF5678"),
            Some(Ok(resolve(
                &["I1", "I2"],
                Action::Fixed,
                &["abc1234", "DEF5678"],
                ""
            )))
        );
        assert_eq!(
            LedgerCommand::parse("/deep-review test I3 in abc1234: covers the empty list"),
            Some(Ok(resolve(
                &["I3"],
                Action::TestAdded,
                &["abc1234"],
                "covers the empty list"
            )))
        );
        assert_eq!(LedgerCommand::parse("please /deep-review decline S1"), None);
        assert_eq!(
            LedgerCommand::parse("/deep-review approve"),
            Some(Err(CommandError::UnknownAction("approve".into())))
        );
    }

    /// Hostile or careless words never become ids or commits.
    #[test]
    fn bad_lines_say_what_is_wrong() {
        let err = |line: &str| LedgerCommand::parse_bare(line).unwrap_err();
        assert_eq!(err("skip S2"), CommandError::NoReason("skip".into()));
        assert_eq!(err("fixed"), CommandError::NoIds("fixed".into()));
        assert_eq!(err("reopen"), CommandError::NoIds("reopen".into()));
        assert_eq!(
            err("fixed I1 in $(reboot)"),
            CommandError::BadCommit("$(reboot)".into())
        );
        assert_eq!(err("fixed ../etc"), CommandError::BadId("../etc".into()));
        assert_eq!(err("fixed X1"), CommandError::BadId("X1".into()));
        assert_eq!(
            err("fixed I1234567"),
            CommandError::BadId("I1234567".into())
        );
        assert_eq!(err("fixed I"), CommandError::BadId("I".into()));
    }
}
