//! Deterministic grouping of likely duplicates: same file, overlapping or
//! nearby lines, or a similar claim. The consolidation pass decides; these
//! groups are its starting point and the fallback's answer.

use std::collections::BTreeSet;

use super::Finding;

/// Ranges this close count as the same place.
const NEAR_LINES: u32 = 3;
/// Title word overlap (Jaccard) that counts as the same claim.
const SIMILAR: f64 = 0.5;

/// How readily two findings of different agents are taken for one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    /// Hints for the consolidator, who decides: the same first line is
    /// enough.
    Hints,
    /// The fallback's final answer, when no consolidator decided: the same
    /// first line also needs a shared word, so two different claims about
    /// one line stay two (losing a finding is worse than showing two).
    Final,
}

/// Indices of `findings` in groups of candidate duplicates, in order of
/// first appearance; every finding is in exactly one group.
pub fn candidate_groups(findings: &[Finding]) -> Vec<Vec<usize>> {
    groups(findings, Grouping::Hints)
}

pub fn groups(findings: &[Finding], grouping: Grouping) -> Vec<Vec<usize>> {
    // Each title's words once, and pairs only within a file: grouping is
    // linear in the findings of other files.
    let words: Vec<BTreeSet<String>> = findings.iter().map(|f| words(&f.raw.title)).collect();
    let mut by_file: std::collections::HashMap<&str, Vec<usize>> = std::collections::HashMap::new();
    for (i, f) in findings.iter().enumerate() {
        by_file.entry(f.checked.path.as_str()).or_default().push(i);
    }
    let mut parent: Vec<usize> = (0..findings.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for members in by_file.values() {
        for (n, &i) in members.iter().enumerate() {
            for &j in &members[n + 1..] {
                let sim = jaccard(&words[i], &words[j]);
                if same_issue(&findings[i], &findings[j], sim, grouping) {
                    let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                    if a != b {
                        parent[b.max(a)] = a.min(b);
                    }
                }
            }
        }
    }
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut index_of_root = std::collections::HashMap::new();
    for i in 0..findings.len() {
        let r = root(&mut parent, i);
        let slot = *index_of_root.entry(r).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[slot].push(i);
    }
    groups
}

/// Two findings of one file: the same issue? `sim` is their titles'
/// word overlap.
fn same_issue(a: &Finding, b: &Finding, sim: f64, grouping: Grouping) -> bool {
    let (a1, a2) = (
        a.checked.line_start,
        a.checked.line_end.max(a.checked.line_start),
    );
    let (b1, b2) = (
        b.checked.line_start,
        b.checked.line_end.max(b.checked.line_start),
    );
    let near = a1 <= b2 + NEAR_LINES && b1 <= a2 + NEAR_LINES;
    if a.agent == b.agent {
        // An agent that reports two findings meant two, unless it
        // repeated itself.
        return near && sim >= SIMILAR;
    }
    // Overlapping ranges alone are not enough: two different problems can
    // sit in one function. The same first line, or some shared wording,
    // is; so is a clearly similar claim a little further away.
    let same_line = a1 == b1
        && match grouping {
            Grouping::Hints => true,
            Grouping::Final => sim > 0.0,
        };
    (near && (same_line || sim >= SOME_WORDING)) || (sim >= SIMILAR && a1.abs_diff(b1) <= FAR_LINES)
}

/// Title overlap that, with nearby lines, suggests the same claim.
const SOME_WORDING: f64 = 0.25;
/// How far apart two clearly similar findings may start.
const FAR_LINES: u32 = 20;

/// Jaccard similarity of the significant words of two titles.
pub fn similarity(a: &str, b: &str) -> f64 {
    jaccard(&words(a), &words(b))
}

fn words(s: &str) -> BTreeSet<String> {
    s.split(|c: char| !c.is_alphanumeric() && c != '_')
        .filter(|w| w.len() > 2)
        .map(str::to_lowercase)
        .filter(|w| !STOP.contains(&w.as_str()))
        .collect()
}

fn jaccard(wa: &BTreeSet<String>, wb: &BTreeSet<String>) -> f64 {
    if wa.is_empty() || wb.is_empty() {
        return 0.0;
    }
    let shared = wa.intersection(wb).count() as f64;
    shared / wa.union(wb).count() as f64
}

const STOP: &[&str] = &[
    "the", "and", "for", "not", "when", "with", "that", "this", "from", "are", "was", "can", "may",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Severity;
    use crate::findings::answer::{Category, RawFinding};
    use crate::findings::{Checked, Evidence};

    fn f(agent: &str, title: &str, start: u32, end: u32) -> Finding {
        Finding {
            key: format!("{agent}:{title}"),
            agent: agent.into(),
            raw: RawFinding {
                id: title.into(),
                severity: Severity::Important,
                category: Category::Gap,
                title: title.into(),
                path: "stats.py".into(),
                line_start: start,
                line_end: end,
                quote: String::new(),
                body: String::new(),
                fix: String::new(),
                related: None,
            },
            checked: Checked {
                evidence: Evidence::Verified,
                path: "stats.py".into(),
                line_start: start,
                line_end: end,
                excerpt: None,
            },
            related: Vec::new(),
        }
    }

    #[test]
    fn the_same_bug_in_other_words_is_grouped_and_a_neighbour_is_not() {
        let findings = vec![
            f("claude", "mean() divides by len(values) - 1", 9, 9),
            f("codex", "Off-by-one denominator in mean()", 9, 9),
            f("gemini", "mean() uses the wrong divisor", 9, 9),
            f(
                "codex",
                "mean() of an empty list raises ZeroDivisionError",
                4,
                9,
            ),
            f("claude", "median() ignores the two middle values", 12, 15),
        ];
        assert_eq!(
            candidate_groups(&findings),
            vec![vec![0, 1, 2], vec![3], vec![4]]
        );
    }

    /// Without a consolidator the grouping is final: two agents' different
    /// claims that start on the same line stay two; paraphrases that share
    /// a word still merge.
    #[test]
    fn the_fallback_keeps_distinct_claims_on_one_line_apart() {
        let findings = vec![
            f(
                "claude",
                "parse_range does not check that low <= high",
                7,
                7,
            ),
            f("codex", "Splits on every dash", 7, 7),
            f("gemini", "mean() uses the wrong divisor", 20, 20),
            f("codex", "Off-by-one denominator in mean()", 20, 20),
        ];
        assert_eq!(
            candidate_groups(&findings),
            vec![vec![0, 1], vec![2, 3]],
            "as hints, the same line is enough"
        );
        assert_eq!(
            groups(&findings, Grouping::Final),
            vec![vec![0], vec![1], vec![2, 3]]
        );
    }

    /// Some shared wording groups findings whose ranges are within three
    /// lines of each other, either way round, and no farther.
    #[test]
    fn nearby_means_three_lines_either_way() {
        let title_a = "retry loop never stops on errors";
        let title_b = "retry loop never ends when the server fails";
        assert!(
            similarity(title_a, title_b) >= SOME_WORDING && similarity(title_a, title_b) < SIMILAR
        );
        for (a, b, grouped) in [
            ((10, 12), (15, 15), true),
            ((10, 12), (16, 16), false),
            ((20, 20), (10, 17), true),
            ((20, 20), (10, 16), false),
        ] {
            let findings = vec![
                f("claude", title_a, a.0, a.1),
                f("codex", title_b, b.0, b.1),
            ];
            assert_eq!(
                candidate_groups(&findings).len() == 1,
                grouped,
                "{a:?} {b:?}"
            );
        }
    }

    /// Words of one or two letters carry no meaning for similarity.
    #[test]
    fn short_words_do_not_count() {
        assert_eq!(similarity("db is up", "db is up"), 0.0);
        assert_eq!(
            similarity("the cache leaks", "cache leaks memory"),
            2.0 / 3.0
        );
    }

    /// A clearly similar claim groups up to twenty lines away, no farther.
    #[test]
    fn a_similar_claim_groups_up_to_twenty_lines_away() {
        let title = "mean() divides by len(values) - 1";
        for (b, grouped) in [(29, true), (30, true), (31, false), (50, false)] {
            let findings = vec![f("claude", title, 10, 10), f("codex", title, b, b)];
            assert_eq!(candidate_groups(&findings).len() == 1, grouped, "{b}");
        }
    }

    #[test]
    fn findings_in_other_files_never_group() {
        let mut other = f("codex", "mean() divides by len(values) - 1", 9, 9);
        other.checked.path = "other.py".into();
        let findings = vec![
            f("claude", "mean() divides by len(values) - 1", 9, 9),
            other,
        ];
        assert_eq!(candidate_groups(&findings), vec![vec![0], vec![1]]);
    }

    #[test]
    fn one_agent_two_findings_stay_two() {
        let findings = vec![
            f("claude", "Null check missing", 10, 10),
            f("claude", "Leaks the file handle", 10, 11),
        ];
        assert_eq!(candidate_groups(&findings).len(), 2);
    }
}
