//! Resolutions taken on the pull request itself (`/deep-review fixed I1
//! in abc1234`, `/deep-review decline I2: reason`), heard only from people
//! with write access; decisions not to act (skip, decline) never from the
//! PR's author.

use super::Ledger;
use crate::domain::Resolution;
use crate::github::{CommentCommand, LedgerCommand};

impl Ledger {
    /// Applies the resolution lines of PR comments not applied before,
    /// oldest first, every line of a comment. Returns a warning for each
    /// line left out.
    pub fn apply_comments(&mut self, commands: &[CommentCommand], pr_author: &str) -> Vec<String> {
        let mut warnings = Vec::new();
        let before = self.applied_comments.clone();
        for c in commands {
            if before.contains(&c.comment) {
                continue;
            }
            if let Err(warning) = self.apply_comment(c, pr_author) {
                warnings.push(printable(&warning));
            }
            // Once only, applied or not: it is the same comment next round.
            if !self.applied_comments.contains(&c.comment) {
                self.applied_comments.push(c.comment.clone());
            }
        }
        warnings
    }

    /// One finding's part of a resolution line, from a comment (`by` its
    /// author) or the command line: the entry as it is then.
    pub fn apply_command(
        &mut self,
        command: &LedgerCommand,
        id: &str,
        by: Option<String>,
        at: &str,
    ) -> Result<&super::Entry, super::LedgerError> {
        match command {
            LedgerCommand::Resolve {
                action,
                commits,
                reason,
                ..
            } => self.resolve(
                id,
                Resolution {
                    id: String::new(),
                    round: 0,
                    action: *action,
                    reason: reason.clone(),
                    commits: commits.clone(),
                    by,
                    at: at.to_string(),
                },
            ),
            LedgerCommand::Reopen { .. } => self.reopen(id),
        }
    }

    fn apply_comment(&mut self, c: &CommentCommand, pr_author: &str) -> Result<(), String> {
        let by_author = c.author.eq_ignore_ascii_case(pr_author);
        if !c.has_write_access() {
            return Err(format!(
                "ignored a ledger command by @{} ({}): only the repository's owners, members and collaborators may resolve findings",
                c.author,
                c.association.to_lowercase()
            ));
        }
        let command = c
            .command
            .as_ref()
            .map_err(|e| format!("ignored a PR comment line by @{}: {e}", c.author))?;
        // Ids are renumbered each round: a line written before the last
        // round was recorded may name what is now another finding.
        if let Some(recorded) = &self.recorded_at
            && c.created_at.as_str() < recorded.as_str()
        {
            return Err(format!(
                "ignored a ledger command by @{} written before round {}'s report: its ids may name other findings now; write it again with round {}'s ids",
                c.author, self.round, self.round
            ));
        }
        let decision =
            matches!(command, LedgerCommand::Resolve { action, .. } if action.is_decision());
        if by_author && decision {
            return Err(format!(
                "ignored a ledger command by @{}, the PR's author: the author of the code under review does not decide to skip or decline its findings",
                c.author
            ));
        }
        // All or nothing, like a resolutions file.
        for id in command.ids() {
            self.find_mut(id)
                .map_err(|e| format!("a PR comment by @{}: {e}", c.author))?;
        }
        for id in command.ids() {
            self.apply_command(command, id, Some(format!("@{}", c.author)), &c.created_at)
                .map_err(|e| format!("a PR comment by @{}: {e}", c.author))?;
        }
        Ok(())
    }
}

/// Text from a comment, safe on a terminal: control characters shown as
/// `\u{…}` escapes.
fn printable(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Action;
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
        let mut critical = entry("C1");
        critical.severity = crate::domain::Severity::Critical;
        let mut ledger = Ledger {
            entries: vec![entry("S1"), entry("S2"), critical, entry("I1")],
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
            comment(6, "maintainer", "MEMBER", "/deep-review fixed I1 in $(id)"),
            comment(
                7,
                "maintainer",
                "MEMBER",
                "/deep-review fixed I1 in abc1234",
            ),
        ];
        let warnings = ledger.apply_comments(&comments, "octocat");
        assert_eq!(
            warnings,
            [
                "ignored a ledger command by @octocat (contributor): only the repository's owners, members and collaborators may resolve findings",
                "ignored a ledger command by @mallory (none): only the repository's owners, members and collaborators may resolve findings",
                "a PR comment by @maintainer: no finding S9 in the ledger of this pull request",
                "a PR comment by @maintainer: C1 is Critical: it is declined only with a reason",
                "ignored a PR comment line by @maintainer: `$(id)` is not a commit (4 to 40 hex digits)",
            ]
        );
        assert_eq!(ledger.entries[0].status, Status::Open);
        assert_eq!(
            ledger.entries[1].status,
            Status::Declined {
                since: 1,
                reason: "by design (@maintainer)".into()
            }
        );
        assert_eq!(ledger.entries[2].status, Status::Open, "C1 stays open");
        let fixed = ledger.entries[3].resolution().unwrap();
        assert_eq!(
            (fixed.action, &fixed.commits[..], fixed.by.as_deref()),
            (
                Action::Fixed,
                &["abc1234".to_string()][..],
                Some("@maintainer")
            )
        );
        assert_eq!(
            ledger.entries[3].status,
            Status::Open,
            "fixed is checked next round"
        );

        // Reopened on the command line: the old comment does not undo it,
        // and nothing is warned about twice.
        ledger.reopen("S2").unwrap();
        assert!(ledger.apply_comments(&comments, "octocat").is_empty());
        assert_eq!(ledger.entries[1].status, Status::Open);
        assert!(ledger.entries[1].resolution().is_none());

        // A newer comment does apply.
        let newer = [comment(8, "maintainer", "OWNER", "/deep-review reopen S2")];
        ledger
            .decline("S2", "again", "2026-11-30T00:00:00Z")
            .unwrap();
        assert!(ledger.apply_comments(&newer, "octocat").is_empty());
        assert_eq!(ledger.entries[1].status, Status::Open);

        // The PR's author with write access may say what they fixed, but
        // not skip or decline: the code under review is theirs.
        let own = [
            comment(9, "OctoCat", "MEMBER", "/deep-review decline S2: mine"),
            comment(10, "OctoCat", "MEMBER", "/deep-review skip S1: later"),
            comment(
                11,
                "OctoCat",
                "MEMBER",
                "/deep-review test-added S1 in abcd",
            ),
        ];
        assert_eq!(ledger.apply_comments(&own, "octocat").len(), 2);
        assert_eq!(ledger.entries[1].status, Status::Open);
        assert_eq!(
            ledger.entries[0].resolution().map(|r| r.action),
            Some(Action::TestAdded)
        );
    }

    /// Every line of one comment counts; a line naming an unknown id
    /// records nothing of its other ids.
    #[test]
    fn every_line_of_a_comment_is_applied_and_each_line_whole() {
        let mut ledger = Ledger {
            entries: vec![entry("I1"), entry("S1"), entry("S2")],
            ..Ledger::default()
        };
        let line = |n: u32, text: &str| {
            let mut c = comment(n, "maintainer", "MEMBER", text);
            c.comment = "issue:40".into();
            c
        };
        let comments = [
            line(1, "/deep-review fixed I1 in abc1234"),
            line(2, "/deep-review skip S1: next release"),
            line(3, "/deep-review documented S2 S9"),
        ];
        let warnings = ledger.apply_comments(&comments, "octocat");
        assert_eq!(
            warnings,
            ["a PR comment by @maintainer: no finding S9 in the ledger of this pull request"]
        );
        let actions: Vec<Option<Action>> = ledger
            .entries
            .iter()
            .map(|e| e.resolution().map(|r| r.action))
            .collect();
        assert_eq!(actions, [Some(Action::Fixed), Some(Action::Skipped), None]);
        assert_eq!(ledger.applied_comments, ["issue:40"]);
    }

    /// Ids are renumbered each round: a line older than the last round's
    /// report is refused, and nothing a commenter writes reaches the
    /// terminal as a control character.
    #[test]
    fn a_line_older_than_the_last_round_is_refused_and_warnings_are_printable() {
        let mut ledger = Ledger {
            round: 2,
            entries: vec![entry("I1")],
            recorded_at: Some("2026-11-25T00:00:00Z".into()),
            ..Ledger::default()
        };
        let stale = comment(1, "maintainer", "MEMBER", "/deep-review skip I1: later");
        let bad = comment(
            6,
            "maintainer",
            "MEMBER",
            "/deep-review fixed I1 in \u{1b}[2J",
        );
        let warnings = ledger.apply_comments(&[stale, bad], "octocat");
        assert_eq!(
            warnings,
            [
                "ignored a ledger command by @maintainer written before round 2's report: its ids may name other findings now; write it again with round 2's ids",
                "ignored a PR comment line by @maintainer: `\\u{1b}[2J` is not a commit (4 to 40 hex digits)",
            ]
        );
        assert!(ledger.entries[0].resolutions.is_empty());
        let fresh = comment(7, "maintainer", "MEMBER", "/deep-review skip I1: later");
        assert!(ledger.apply_comments(&[fresh], "octocat").is_empty());
        assert_eq!(ledger.entries[0].status.name(), "declined");
    }
}
