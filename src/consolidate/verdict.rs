//! Phase four: the verdict. The rule decides when no consolidator did; a
//! consolidator may be stricter than the findings it kept, never more
//! lenient; and a review nobody did is `not_reviewed`, never "Merge".

use super::build::AgentResult;
use super::decisions::Decisions;
use crate::domain::Counts;
use crate::findings::Verdict;
use crate::report::model::VerdictInfo;

pub fn decide(
    decisions: Option<&Decisions>,
    counts: &Counts,
    agents: &[AgentResult],
) -> VerdictInfo {
    let verdict = match decisions {
        // A model cannot declare the review not done, nor undo that; nor
        // can it be more lenient than the findings it kept: one injected
        // consolidator must not turn kept Criticals into "Merge".
        Some(d) if d.verdict != Verdict::NotReviewed => {
            let floor = rule_verdict(counts);
            if strictness(floor.decision) > strictness(d.verdict) {
                VerdictInfo {
                    decision: floor.decision,
                    reason: format!(
                        "{} (the consolidator said \"{}\", which the findings it kept do not allow)",
                        floor.reason.trim_end_matches('.'),
                        d.verdict.label()
                    ),
                }
            } else {
                VerdictInfo {
                    decision: d.verdict,
                    reason: d.verdict_reason.trim().to_string(),
                }
            }
        }
        _ => rule_verdict(counts),
    };
    honest(verdict, agents)
}

/// Never "Merge" for a review that did not happen: with no usable answer
/// the decision is `not_reviewed`; with some missing, the reason says
/// which agents reviewed and which did not.
fn honest(verdict: VerdictInfo, agents: &[AgentResult]) -> VerdictInfo {
    let missing: Vec<String> = agents
        .iter()
        .filter(|a| !a.succeeded())
        .map(|a| {
            let why = if a.outcome.status.is_ok() {
                "no usable answer".to_string()
            } else {
                a.outcome.status.words()
            };
            format!("{} ({why})", a.outcome.display_name)
        })
        .collect();
    let reviewed = agents.len() - missing.len();
    if reviewed == 0 {
        VerdictInfo {
            decision: Verdict::NotReviewed,
            reason: format!(
                "no agent produced a usable review: {}.",
                if missing.is_empty() {
                    "none ran".to_string()
                } else {
                    missing.join(", ")
                }
            ),
        }
    } else if !missing.is_empty() {
        VerdictInfo {
            decision: verdict.decision,
            reason: format!(
                "reviewed by {reviewed} of {} agents ({} missing). {}",
                agents.len(),
                missing.join(", "),
                verdict.reason
            ),
        }
    } else {
        verdict
    }
}

/// How much a verdict holds a change back.
fn strictness(v: Verdict) -> u8 {
    match v {
        Verdict::Merge => 0,
        Verdict::MergeWithOptionalFixes => 1,
        Verdict::MergeWithFixes => 2,
        Verdict::NeedsChanges => 3,
        Verdict::NotReviewed => 4,
    }
}

/// The verdict when no consolidator decided one.
fn rule_verdict(counts: &Counts) -> VerdictInfo {
    let (decision, reason) = if counts.critical > 0 {
        (
            Verdict::NeedsChanges,
            format!(
                "{} critical finding(s) must be fixed first.",
                counts.critical
            ),
        )
    } else if counts.important > 0 {
        (
            Verdict::MergeWithFixes,
            format!(
                "address the {} important finding(s) before merging.",
                counts.important
            ),
        )
    } else if counts.suggestion > 0 {
        (
            Verdict::MergeWithOptionalFixes,
            "only suggestions remain.".into(),
        )
    } else {
        (Verdict::Merge, "no findings.".into())
    };
    VerdictInfo { decision, reason }
}
