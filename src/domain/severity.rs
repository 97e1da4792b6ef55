//! Severities, their counts, and the ids findings get from them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Ordered from the most to the least serious: `Critical < Suggestion`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Critical,
    Important,
    Suggestion,
}

impl Severity {
    pub const ALL: [Severity; 3] = [
        Severity::Critical,
        Severity::Important,
        Severity::Suggestion,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Severity::Critical => "Critical",
            Severity::Important => "Important",
            Severity::Suggestion => "Suggestion",
        }
    }

    /// The letter of its finding ids: `C1`, `I2`, `S3`.
    pub fn letter(self) -> &'static str {
        match self {
            Severity::Critical => "C",
            Severity::Important => "I",
            Severity::Suggestion => "S",
        }
    }
}

/// The ids of findings listed in the order given: each severity counts
/// from 1 (`C1`, `I1`, `I2`, `S1`). The one numbering of the program, used
/// for a round's report and its ledger alike.
pub fn assign_ids(severities: impl IntoIterator<Item = Severity>) -> Vec<String> {
    let mut counters: BTreeMap<Severity, u32> = BTreeMap::new();
    severities
        .into_iter()
        .map(|s| {
            let n = counters.entry(s).or_default();
            *n += 1;
            format!("{}{n}", s.letter())
        })
        .collect()
}

/// The order of ids in a report: Critical before Important before
/// Suggestion, then by number (`I2` before `I10`); anything else last.
pub fn id_order(id: &str) -> (u8, u32) {
    let rank = match id.chars().next().map(|c| c.to_ascii_uppercase()) {
        Some('C') => 0,
        Some('I') => 1,
        Some('S') => 2,
        _ => 3,
    };
    (
        rank,
        id.get(1..).and_then(|n| n.parse().ok()).unwrap_or(u32::MAX),
    )
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub critical: u32,
    pub important: u32,
    pub suggestion: u32,
}

impl Counts {
    pub fn add(&mut self, s: Severity) {
        match s {
            Severity::Critical => self.critical += 1,
            Severity::Important => self.important += 1,
            Severity::Suggestion => self.suggestion += 1,
        }
    }

    pub fn of(severities: impl IntoIterator<Item = Severity>) -> Counts {
        let mut counts = Counts::default();
        for s in severities {
            counts.add(s);
        }
        counts
    }

    /// `1I 9S`, as the retro table shows a tally.
    pub fn short(&self) -> String {
        let parts: Vec<String> = [
            (self.critical, Severity::Critical),
            (self.important, Severity::Important),
            (self.suggestion, Severity::Suggestion),
        ]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, s)| format!("{n}{}", s.letter()))
        .collect();
        if parts.is_empty() {
            "0".into()
        } else {
            parts.join(" ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_by_severity_then_number() {
        let mut ids = vec!["S1", "I10", "x", "I2", "C3", "c1"];
        ids.sort_by_key(|id| id_order(id));
        assert_eq!(ids, ["c1", "C3", "I2", "I10", "S1", "x"]);
    }

    #[test]
    fn ids_count_per_severity_in_the_order_given() {
        use Severity::*;
        assert_eq!(
            assign_ids([Critical, Important, Important, Suggestion, Critical]),
            ["C1", "I1", "I2", "S1", "C2"]
        );
        assert!(assign_ids([]).is_empty());
    }

    #[test]
    fn labels_letters_and_order() {
        let labels: Vec<String> = Severity::ALL
            .iter()
            .map(|s| format!("{} {}", s.letter(), s.label()))
            .collect();
        assert_eq!(labels, ["C Critical", "I Important", "S Suggestion"]);
        assert!(Severity::Critical < Severity::Important);
        assert!(Severity::Important < Severity::Suggestion);
    }

    #[test]
    fn counts_add_up() {
        let c = Counts::of([
            Severity::Critical,
            Severity::Suggestion,
            Severity::Suggestion,
        ]);
        assert_eq!((c.critical, c.important, c.suggestion), (1, 0, 2));
        assert_eq!(c.short(), "1C 2S");
        assert_eq!(Counts::default().short(), "0");
    }
}
