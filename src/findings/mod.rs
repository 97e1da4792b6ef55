//! Findings: the agents' answers, checked against the code, grouped.

pub mod answer;
pub mod evidence;
pub mod group;

use serde::{Deserialize, Serialize};

pub use answer::{Answer, AnswerError, Category, RawFinding, Verdict};
pub use evidence::{Checked, Evidence};

/// One agent's finding after its evidence check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Unique across the run: `agent:id`.
    pub key: String,
    pub agent: String,
    pub raw: RawFinding,
    pub checked: Checked,
    /// The other places it cites, each checked like the main one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<Related>,
}

/// Another place a finding concerns, with its evidence check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Related {
    /// Why it matters (model text).
    pub why: String,
    /// The code the agent quoted there.
    #[serde(default)]
    pub quote: String,
    pub checked: Checked,
}

/// More related places than this are not shown: a trace, not a tour.
pub const MAX_RELATED: usize = 3;
/// Places checked, of which the first [`MAX_RELATED`] found are shown.
const RELATED_CHECKED: usize = 10;

/// Checks every finding of `answer` against `source`, giving each a key
/// unique within the run (an agent's duplicate or missing ids are
/// numbered).
pub fn check_answer(agent: &str, answer: &Answer, source: &dyn evidence::Source) -> Vec<Finding> {
    let mut seen = std::collections::HashSet::new();
    answer
        .findings
        .iter()
        .enumerate()
        .map(|(i, raw)| {
            let mut id = raw.id.trim().to_string();
            if id.is_empty() || !seen.insert(id.clone()) {
                id = format!("#{}", i + 1);
                seen.insert(id.clone());
            }
            let checked =
                evidence::check(source, &raw.path, raw.line_start, raw.line_end, &raw.quote);
            let related = raw
                .related
                .iter()
                .flatten()
                .take(RELATED_CHECKED)
                .map(|l| Related {
                    why: l.why.trim().to_string(),
                    quote: l.quote.clone(),
                    checked: evidence::check(source, &l.path, l.line_start, l.line_end, &l.quote),
                })
                .collect();
            Finding {
                key: format!("{agent}:{id}"),
                agent: agent.to_string(),
                raw: RawFinding { id, ..raw.clone() },
                checked,
                related,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct One;

    impl evidence::Source for One {
        fn read(&self, path: &str) -> Result<Option<evidence::Entry>, String> {
            Ok((path == "a.rs").then(|| evidence::Entry::File(b"fn a() {}\n".to_vec())))
        }
    }

    /// Every finding is checked and keyed uniquely: a repeated or missing
    /// id takes its position instead, and the raw finding carries the key's id.
    #[test]
    fn every_finding_is_checked_under_a_unique_key() {
        let raw = |id: &str| {
            serde_json::json!({"id": id, "severity": "important", "category": "gap", "title": "t",
                "path": "a.rs", "line_start": 1, "line_end": 1, "quote": "fn a() {}", "body": "b", "fix": ""})
        };
        let answer: answer::Answer = serde_json::from_value(serde_json::json!({
            "findings": [raw("F1"), raw("F1"), raw(""), raw(" F2 ")]
        }))
        .unwrap();
        let checked = check_answer("claude", &answer, &One);
        let keys: Vec<(&str, &str)> = checked
            .iter()
            .map(|f| (f.key.as_str(), f.raw.id.as_str()))
            .collect();
        assert_eq!(
            keys,
            [
                ("claude:F1", "F1"),
                ("claude:#2", "#2"),
                ("claude:#3", "#3"),
                ("claude:F2", "F2")
            ]
        );
        assert!(checked.iter().all(|f| f.agent == "claude"));
        assert!(
            checked
                .iter()
                .all(|f| f.checked.evidence == evidence::Evidence::Verified)
        );
    }
}
