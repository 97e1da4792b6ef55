//! Deterministic grouping of likely duplicates: same file, overlapping or
//! nearby lines, or a similar claim. The consolidation pass decides; these
//! groups are its starting point and the fallback's answer.

use std::collections::BTreeSet;

use super::Finding;

/// Ranges this close count as the same place.
const NEAR_LINES: u32 = 3;
/// Title word overlap (Jaccard) that counts as the same claim.
const SIMILAR: f64 = 0.5;

/// Indices of `findings` in groups of candidate duplicates, in order of
/// first appearance; every finding is in exactly one group.
pub fn candidate_groups(findings: &[Finding]) -> Vec<Vec<usize>> {
    let mut parent: Vec<usize> = (0..findings.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for i in 0..findings.len() {
        for j in i + 1..findings.len() {
            if same_issue(&findings[i], &findings[j]) {
                let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                if a != b {
                    parent[b.max(a)] = a.min(b);
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

fn same_issue(a: &Finding, b: &Finding) -> bool {
    if a.checked.path != b.checked.path {
        return false;
    }
    let (a1, a2) = (
        a.checked.line_start,
        a.checked.line_end.max(a.checked.line_start),
    );
    let (b1, b2) = (
        b.checked.line_start,
        b.checked.line_end.max(b.checked.line_start),
    );
    let near = a1 <= b2 + NEAR_LINES && b1 <= a2 + NEAR_LINES;
    near && (a.agent != b.agent || similarity(&a.raw.title, &b.raw.title) >= SIMILAR)
        || similarity(&a.raw.title, &b.raw.title) >= SIMILAR && a.agent != b.agent
}

/// Jaccard similarity of the significant words of two titles.
pub fn similarity(a: &str, b: &str) -> f64 {
    let words = |s: &str| -> BTreeSet<String> {
        s.split(|c: char| !c.is_alphanumeric() && c != '_')
            .filter(|w| w.len() > 2)
            .map(str::to_lowercase)
            .filter(|w| !STOP.contains(&w.as_str()))
            .collect()
    };
    let (wa, wb) = (words(a), words(b));
    if wa.is_empty() || wb.is_empty() {
        return 0.0;
    }
    let shared = wa.intersection(&wb).count() as f64;
    shared / wa.union(&wb).count() as f64
}

const STOP: &[&str] = &[
    "the", "and", "for", "not", "when", "with", "that", "this", "from", "are", "was", "can", "may",
];
