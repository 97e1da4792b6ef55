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
}

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
            Finding {
                key: format!("{agent}:{id}"),
                agent: agent.to_string(),
                raw: RawFinding { id, ..raw.clone() },
                checked,
            }
        })
        .collect()
}
