//! What makes two findings the same one across rounds: the code they
//! concern and what they claim, not their lines or ids.

use serde::{Deserialize, Serialize};

use crate::findings::group::similarity;
use crate::report::model::ReportFinding;

/// What makes two findings the same one across rounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fingerprint {
    pub path: String,
    /// The code the finding is about, whitespace folded; empty if unknown.
    pub anchor: String,
    /// The claim: title and body.
    pub claim: String,
}

/// Whitespace-folded code, the anchor of a fingerprint.
/// An excerpt line cut for the report (`… …`) ends the anchor at its
/// kept part, so the anchor is still found in the file.
pub fn anchor(code: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    for line in code.lines() {
        let (kept, cut) = match line.strip_suffix(" …") {
            Some(kept) => (kept, true),
            None => (line, false),
        };
        let folded = kept.split_whitespace().collect::<Vec<_>>().join(" ");
        if !folded.is_empty() {
            out.push(folded);
        }
        if cut {
            break;
        }
    }
    out.join("\n")
}

/// The fingerprint of a finding as the report shows it.
pub fn fingerprint(f: &ReportFinding) -> Fingerprint {
    Fingerprint {
        path: f.path.clone(),
        anchor: f.excerpt.as_deref().map(anchor).unwrap_or_default(),
        claim: format!("{}. {}", f.title.trim(), f.body.trim()),
    }
}

/// How alike two claims are: the better of the titles' and the whole
/// texts' word overlap.
fn claim_similarity(a: &Fingerprint, b: &Fingerprint) -> f64 {
    let title = |c: &str| c.split(". ").next().unwrap_or(c).to_string();
    similarity(&title(&a.claim), &title(&b.claim)).max(similarity(&a.claim, &b.claim))
}

/// Whether two fingerprints are the same finding: the same code with a
/// related claim (even at other lines, in other words, or in a renamed
/// file), or the same file with a clearly similar claim. Two different
/// claims about the same line stay two findings.
pub fn same_finding(a: &Fingerprint, b: &Fingerprint) -> bool {
    let claim = claim_similarity(a, b);
    let same_code = !a.anchor.is_empty() && a.anchor == b.anchor;
    let renamed = a.path != b.path && file_name(&a.path) == file_name(&b.path);
    if same_code && (a.path == b.path || renamed || claim >= 0.5) {
        return claim >= 0.2;
    }
    a.path == b.path && claim >= 0.5
}

fn file_name(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_excerpt_line_ends_the_anchor_and_is_still_found() {
        let file = format!(
            "fn f() {{\n    let data = \"{}\";\n    g();\n}}\n",
            "x".repeat(400)
        );
        let excerpt = format!("    let data = \"{} …\n    g();", "x".repeat(200));
        let a = anchor(&excerpt);
        assert!(!a.contains('…') && !a.contains("g()"), "{a}");
        assert!(anchor(&file).contains(&a));
    }

    fn fp(path: &str, anchor_code: &str, claim: &str) -> Fingerprint {
        Fingerprint {
            path: path.into(),
            anchor: anchor(anchor_code),
            claim: claim.into(),
        }
    }

    #[test]
    fn the_same_finding_at_moved_lines_is_recognised() {
        let a = fp(
            "src/stop.rs",
            "_ = cleanupDiscoveryConfigMap()",
            "cleanupDiscoveryConfigMap runs on --wait=false. It deletes the map.",
        );
        // Same code, same claim, lines moved (lines are not part of it).
        let b = fp(
            "src/stop.rs",
            "    _ = cleanupDiscoveryConfigMap()  ",
            "cleanupDiscoveryConfigMap runs on --wait=false. It deletes the map.",
        );
        assert!(same_finding(&a, &b));
    }

    #[test]
    fn a_reworded_finding_is_recognised() {
        let a = fp(
            "src/stop.rs",
            "_ = cleanupDiscoveryConfigMap()",
            "cleanupDiscoveryConfigMap runs unconditionally on --wait=false. Concurrent callers poll a missing ConfigMap.",
        );
        let b = fp(
            "src/stop.rs",
            "_ = cleanupDiscoveryConfigMap()",
            "Discovery ConfigMap deleted even when --wait=false. Concurrent CLI callers then poll a missing ConfigMap until the timeout.",
        );
        assert!(same_finding(&a, &b));
    }

    #[test]
    fn a_finding_in_a_renamed_file_is_recognised() {
        let a = fp(
            "pkg/service/stop.go",
            "_ = cleanupDiscoveryConfigMap()",
            "cleanup runs on --wait=false. It deletes the map.",
        );
        let b = fp(
            "internal/service/stop.go",
            "_ = cleanupDiscoveryConfigMap()",
            "cleanup runs on --wait=false. It deletes the map.",
        );
        assert!(same_finding(&a, &b));
    }

    #[test]
    fn two_different_findings_on_the_same_line_stay_two() {
        let a = fp(
            "stats.py",
            "return divide(total, len(values) - 1)",
            "mean() divides by len(values) - 1. Results are too large.",
        );
        let b = fp(
            "stats.py",
            "return divide(total, len(values) - 1)",
            "Empty input raises ZeroDivisionError. Callers get an unexplained exception.",
        );
        assert!(!same_finding(&a, &b));
    }

    /// The same line of code in two unrelated files, with claims that only
    /// share some words, is two findings (a renamed file is one).
    #[test]
    fn the_same_code_in_another_file_is_not_the_same_finding() {
        let a = fp(
            "src/a.rs",
            "return Ok(())",
            "Parser errors are ignored here. The caller never sees them.",
        );
        let b = fp(
            "src/b.rs",
            "return Ok(())",
            "Parser errors are retried forever. The loop never ends.",
        );
        assert!(claim_similarity(&a, &b) >= 0.2 && claim_similarity(&a, &b) < 0.5);
        assert!(!same_finding(&a, &b));
        // Moved to another folder, reworded as far as `a` is from `b`: the
        // same finding.
        let moved = fp("lib/b.rs", "return Ok(())", &a.claim);
        assert!(same_finding(&b, &moved), "renamed: same file name");
    }

    #[test]
    fn similar_words_in_another_file_are_not_the_same_finding() {
        let a = fp(
            "a.rs",
            "x()",
            "missing error handling. The error is dropped.",
        );
        let b = fp(
            "b.rs",
            "y()",
            "missing error handling. The error is dropped.",
        );
        assert!(!same_finding(&a, &b));
    }
}
