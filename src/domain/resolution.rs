//! What the author did about a finding after a round: the *Resolution*
//! table of the reports this tool automates (Fixed, Skipped, Test written,
//! Commented, Documentation updated, Declined), recorded from the command
//! line or a PR comment and read by the next round.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Fixed,
    /// Not fixed, with a reason; later rounds do not raise it as new.
    Skipped,
    TestAdded,
    Commented,
    Documented,
    /// The author's decision that it is not a problem (`decline`).
    Declined,
}

impl Action {
    pub const ALL: [Action; 6] = [
        Action::Fixed,
        Action::Skipped,
        Action::TestAdded,
        Action::Commented,
        Action::Documented,
        Action::Declined,
    ];

    /// The word on the command line and in PR comments.
    pub fn word(self) -> &'static str {
        match self {
            Action::Fixed => "fixed",
            Action::Skipped => "skipped",
            Action::TestAdded => "test-added",
            Action::Commented => "commented",
            Action::Documented => "documented",
            Action::Declined => "declined",
        }
    }

    /// The word or a short form of it (`fix`, `skip`, `test`, `comment`,
    /// `docs`, `decline`), in any case.
    pub fn parse(word: &str) -> Option<Action> {
        let word = word.to_ascii_lowercase();
        let found = match word.as_str() {
            "fix" | "fixed" => Action::Fixed,
            "skip" | "skipped" => Action::Skipped,
            "test" | "tested" | "test-added" | "test_added" => Action::TestAdded,
            "comment" | "commented" => Action::Commented,
            "doc" | "docs" | "documented" => Action::Documented,
            "decline" | "declined" => Action::Declined,
            _ => return None,
        };
        Some(found)
    }

    /// As the report's Resolution table says it.
    pub fn label(self) -> &'static str {
        match self {
            Action::Fixed => "Fixed",
            Action::Skipped => "Skipped",
            Action::TestAdded => "Test written",
            Action::Commented => "Commented",
            Action::Documented => "Documentation updated",
            Action::Declined => "Declined",
        }
    }

    /// Skipping and declining are decisions not to act: they need a reason
    /// (a reader of a later round must know why), and later rounds do not
    /// raise the finding as new.
    pub fn is_decision(self) -> bool {
        matches!(self, Action::Skipped | Action::Declined)
    }
}

/// One resolution of one finding of one round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resolution {
    /// The finding's id in the round it resolves (`I1`).
    pub id: String,
    pub round: u32,
    pub action: Action,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// Commits that did it (abbreviated or full hashes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commits: Vec<String>,
    /// Who recorded it on GitHub (`@login`); none from the command line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// When it was recorded (RFC 3339).
    pub at: String,
}

impl Resolution {
    /// "fixed in abc1234", "skipped (no time this release)", "test added".
    pub fn describe(&self) -> String {
        let mut text = match self.action {
            Action::TestAdded => "test added".to_string(),
            Action::Documented => "documentation updated".to_string(),
            other => other.word().to_string(),
        };
        if !self.commits.is_empty() {
            text.push_str(" in ");
            text.push_str(&self.commits.join(", "));
        }
        if !self.reason.is_empty() {
            text.push_str(&format!(" ({})", self.reason));
        }
        text
    }
}

/// A commit as the author may name it: 4 to 40 hex digits. Anything else
/// (from a PR comment: hostile) is refused rather than shown.
pub fn is_commit(s: &str) -> bool {
    (4..=40).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_action_has_its_label_in_the_resolution_table() {
        let labels: Vec<&str> = Action::ALL.into_iter().map(Action::label).collect();
        assert_eq!(
            labels,
            [
                "Fixed",
                "Skipped",
                "Test written",
                "Commented",
                "Documentation updated",
                "Declined"
            ]
        );
    }

    #[test]
    fn actions_read_their_words_and_short_forms() {
        for action in Action::ALL {
            assert_eq!(Action::parse(action.word()), Some(action));
            assert_eq!(Action::parse(&action.word().to_uppercase()), Some(action));
        }
        assert_eq!(Action::parse("skip"), Some(Action::Skipped));
        assert_eq!(Action::parse("test"), Some(Action::TestAdded));
        assert_eq!(Action::parse("docs"), Some(Action::Documented));
        assert_eq!(Action::parse("approve"), None);
        let decisions: Vec<_> = Action::ALL
            .into_iter()
            .filter(|a| a.is_decision())
            .collect();
        assert_eq!(decisions, [Action::Skipped, Action::Declined]);
    }

    #[test]
    fn a_resolution_describes_itself_in_a_few_words() {
        let r = Resolution {
            id: "I1".into(),
            round: 2,
            action: Action::Fixed,
            reason: String::new(),
            commits: vec!["abc1234".into(), "def5678".into()],
            by: None,
            at: "2026-11-30T10:00:00Z".into(),
        };
        assert_eq!(r.describe(), "fixed in abc1234, def5678");
        let skipped = Resolution {
            action: Action::Skipped,
            reason: "next release".into(),
            commits: Vec::new(),
            ..r.clone()
        };
        assert_eq!(skipped.describe(), "skipped (next release)");
        let test = Resolution {
            action: Action::TestAdded,
            ..r
        };
        assert_eq!(test.describe(), "test added in abc1234, def5678");
    }

    #[test]
    fn only_hex_hashes_count_as_commits() {
        assert!(is_commit("abc1234"));
        assert!(is_commit(&"a".repeat(40)));
        assert!(!is_commit("abc"));
        assert!(!is_commit(&"a".repeat(41)));
        assert!(!is_commit("abc123; rm -rf /"));
        assert!(!is_commit("HEAD~1"));
    }
}
