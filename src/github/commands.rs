//! Decisions about findings written in PR comments (`/deep-review decline
//! S6: reason`, `/deep-review reopen S6`), and who wrote them.

/// An author's decision about a finding, written in a PR comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerCommand {
    Decline { id: String, reason: String },
    Reopen { id: String },
}

impl LedgerCommand {
    /// `/deep-review decline S6: deliberate, see the design doc` or
    /// `/deep-review reopen S6`.
    pub fn parse(line: &str) -> Option<LedgerCommand> {
        let rest = line.trim().strip_prefix("/deep-review ")?;
        let (verb, rest) = rest
            .trim()
            .split_once(char::is_whitespace)
            .unwrap_or((rest.trim(), ""));
        let (id, reason) = match rest.split_once(':') {
            Some((id, reason)) => (id.trim(), reason.trim()),
            None => (rest.trim(), ""),
        };
        let id = id.split_whitespace().next()?.to_string();
        match verb {
            "decline" => Some(LedgerCommand::Decline {
                id,
                reason: reason.to_string(),
            }),
            "reopen" => Some(LedgerCommand::Reopen { id }),
            _ => None,
        }
    }
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
    pub command: LedgerCommand,
}

impl CommentCommand {
    /// Only people with write access may decide about findings: anyone
    /// can comment on a public pull request, and a fork's author is the
    /// one whose code is under review.
    pub fn is_trusted(&self, pr_author: &str) -> bool {
        matches!(
            self.association.as_str(),
            "OWNER" | "MEMBER" | "COLLABORATOR"
        ) && !self.author.eq_ignore_ascii_case(pr_author)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decline_and_reopen_lines_are_read_from_comments() {
        assert_eq!(
            LedgerCommand::parse("/deep-review decline S6: deliberate, see docs/design.md"),
            Some(LedgerCommand::Decline {
                id: "S6".into(),
                reason: "deliberate, see docs/design.md".into()
            })
        );
        assert_eq!(
            LedgerCommand::parse("  /deep-review reopen I2"),
            Some(LedgerCommand::Reopen { id: "I2".into() })
        );
        assert_eq!(
            LedgerCommand::parse("/deep-review decline C1"),
            Some(LedgerCommand::Decline {
                id: "C1".into(),
                reason: String::new()
            }),
            "no reason given: a Critical is then not declined"
        );
        assert_eq!(LedgerCommand::parse("please /deep-review decline S1"), None);
        assert_eq!(LedgerCommand::parse("/deep-review approve"), None);
    }
}
