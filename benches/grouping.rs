//! Candidate grouping of many findings: three agents' findings spread over
//! files, some of them the same claim in other words, grouped as the
//! consolidation prompt and the fallback do.
//!
//! `cargo bench --bench grouping` (DEEP_REVIEW_BENCH_FINDINGS to change the
//! count, 2,000 by default). Results go in docs/performance.md.

use std::time::Instant;

use deep_review::domain::Severity;
use deep_review::findings::answer::RawFinding;
use deep_review::findings::evidence::{Checked, Evidence};
use deep_review::findings::group::candidate_groups;
use deep_review::findings::{Category, Finding};

fn finding(i: usize) -> Finding {
    let agent = ["claude", "codex", "gemini"][i % 3];
    // A third of the claims repeat another agent's in other words.
    let topic = i / 3;
    let path = format!("src/module_{}.rs", topic % 200);
    let line = (topic % 50) as u32 * 7 + 1;
    let title = match i % 3 {
        0 => format!("Handle the error returned by step {topic} instead of unwrapping"),
        1 => format!("step {topic} unwraps an error that should be handled"),
        _ => format!("Unchecked result of step {topic} can panic at runtime"),
    };
    Finding {
        key: format!("{agent}:F{i}"),
        agent: agent.into(),
        raw: RawFinding {
            id: format!("F{i}"),
            severity: Severity::Important,
            category: Category::Gap,
            title: title.clone(),
            path: path.clone(),
            line_start: line,
            line_end: line + 2,
            quote: format!("let value = step_{topic}().unwrap();"),
            body: format!(
                "{title}. The caller cannot recover, and the process aborts on a transient failure of step {topic}."
            ),
            fix: String::new(),
            related: None,
        },
        checked: Checked {
            evidence: Evidence::Verified,
            path,
            line_start: line,
            line_end: line + 2,
            excerpt: Some(format!("let value = step_{topic}().unwrap();")),
        },
        related: Vec::new(),
    }
}

fn main() {
    let n: usize = std::env::var("DEEP_REVIEW_BENCH_FINDINGS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let findings: Vec<Finding> = (0..n).map(finding).collect();
    let mut best = f64::MAX;
    let mut groups = 0;
    for _ in 0..5 {
        let started = Instant::now();
        groups = candidate_groups(&findings).len();
        best = best.min(started.elapsed().as_secs_f64());
    }
    println!(
        "{n} findings in {groups} candidate groups: {:.1} ms (best of 5)",
        best * 1000.0
    );
}
