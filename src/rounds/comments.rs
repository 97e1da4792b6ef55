//! Decisions about findings taken on the pull request itself
//! (`/deep-review decline I2: reason`), heard only from people with
//! write access who are not the PR's author.

use super::Ledger;
use crate::github::{CommentCommand, LedgerCommand};

impl Ledger {
    /// Applies the decline and reopen lines of PR comments not applied
    /// before, oldest first. Returns a warning for each one left out.
    pub fn apply_comments(
        &mut self,
        commands: &[CommentCommand],
        pr_author: &str,
        round: u32,
    ) -> Vec<String> {
        let mut warnings = Vec::new();
        for c in commands {
            if self.applied_comments.contains(&c.comment) {
                continue;
            }
            let applied = if c.author.eq_ignore_ascii_case(pr_author) {
                Err(format!(
                    "ignored a ledger command by @{}, the PR's author: the author of the code under review does not decide about its findings",
                    c.author
                ))
            } else if !c.is_trusted(pr_author) {
                Err(format!(
                    "ignored a ledger command by @{} ({}): only the repository's owners, members and collaborators may decide about findings",
                    c.author,
                    c.association.to_lowercase()
                ))
            } else if let LedgerCommand::Decline { id, reason } = &c.command
                && id.to_ascii_uppercase().starts_with('C')
                && reason.is_empty()
            {
                Err(format!(
                    "ignored @{}'s decline of Critical {id}: a Critical finding is declined only with a reason (`/deep-review decline {id}: why`)",
                    c.author
                ))
            } else {
                match &c.command {
                    LedgerCommand::Decline { id, reason } => {
                        let reason = if reason.is_empty() {
                            "declined on GitHub"
                        } else {
                            reason.as_str()
                        };
                        self.decline(id, round, &format!("{reason} (@{})", c.author))
                            .map(|_| ())
                    }
                    LedgerCommand::Reopen { id } => self.reopen(id).map(|_| ()),
                }
                .map_err(|e| format!("a PR comment by @{} names {e}", c.author))
            };
            if let Err(warning) = applied {
                warnings.push(warning);
            }
            // Once only, applied or not: it is the same comment next round.
            self.applied_comments.push(c.comment.clone());
        }
        warnings
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rounds::Status;
    use crate::rounds::test_support::entry;

    fn comment(n: u32, author: &str, association: &str, line: &str) -> CommentCommand {
        CommentCommand {
            comment: format!("issue:{n}"),
            author: author.into(),
            association: association.into(),
            created_at: format!("2026-11-2{n}T10:00:00Z"),
            command: LedgerCommand::parse(line).unwrap(),
        }
    }

    #[test]
    fn pr_comments_are_applied_once_and_only_from_people_with_write_access() {
        let mut ledger = Ledger {
            entries: vec![entry("S1"), entry("S2"), entry("C1")],
            ..Ledger::default()
        };
        let comments = [
            // The (fork) PR's author: the code under review is theirs.
            comment(
                1,
                "octocat",
                "CONTRIBUTOR",
                "/deep-review decline S1: by design",
            ),
            comment(2, "mallory", "NONE", "/deep-review decline S2: nope"),
            comment(3, "maintainer", "MEMBER", "/deep-review decline S9: typo"),
            comment(4, "maintainer", "MEMBER", "/deep-review decline C1"),
            comment(
                5,
                "maintainer",
                "COLLABORATOR",
                "/deep-review decline S2: by design",
            ),
        ];
        let warnings = ledger.apply_comments(&comments, "octocat", 2);
        assert_eq!(
            warnings,
            [
                "ignored a ledger command by @octocat, the PR's author: the author of the code under review does not decide about its findings",
                "ignored a ledger command by @mallory (none): only the repository's owners, members and collaborators may decide about findings",
                "a PR comment by @maintainer names no finding S9 in the ledger of this pull request",
                "ignored @maintainer's decline of Critical C1: a Critical finding is declined only with a reason (`/deep-review decline C1: why`)",
            ]
        );
        assert_eq!(ledger.entries[0].status, Status::Open);
        assert_eq!(
            ledger.entries[1].status,
            Status::Declined {
                since: 2,
                reason: "by design (@maintainer)".into()
            }
        );
        assert_eq!(ledger.entries[2].status, Status::Open, "C1 stays open");

        // Reopened on the command line: the old comment does not undo it,
        // and nothing is warned about twice.
        ledger.reopen("S2").unwrap();
        assert!(ledger.apply_comments(&comments, "octocat", 3).is_empty());
        assert_eq!(ledger.entries[1].status, Status::Open);

        // A newer comment does apply.
        let newer = [comment(6, "maintainer", "OWNER", "/deep-review reopen S2")];
        ledger.decline("S2", 3, "again").unwrap();
        assert!(ledger.apply_comments(&newer, "octocat", 4).is_empty());
        assert_eq!(ledger.entries[1].status, Status::Open);

        // The PR's author is not heard even as a member of the repository.
        let own = [comment(
            7,
            "OctoCat",
            "MEMBER",
            "/deep-review decline S2: mine",
        )];
        assert_eq!(ledger.apply_comments(&own, "octocat", 5).len(), 1);
        assert_eq!(ledger.entries[1].status, Status::Open);
    }
}
