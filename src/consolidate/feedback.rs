//! People's open feedback as the report shows it: what each reviewer says
//! of it, and the findings at the place it concerns.

use super::build::Inputs;
use crate::domain::{Feedback, FeedbackJudgement};
use crate::report::model::ReportFinding;

/// A finding within this many lines of a thread's line is at its place.
const NEAR: u32 = 3;

pub fn judged(inputs: &Inputs, findings: &[ReportFinding]) -> Vec<Feedback> {
    inputs
        .unresolved_feedback
        .iter()
        .map(|f| {
            let mut f = f.clone();
            f.judgements = inputs
                .agents
                .iter()
                .filter_map(|r| {
                    let said =
                        r.answer.as_ref()?.feedback.as_ref()?.iter().find(|c| {
                            !f.id.is_empty() && c.id.trim().eq_ignore_ascii_case(&f.id)
                        })?;
                    Some(FeedbackJudgement {
                        agent: r.outcome.name.clone(),
                        status: said.status,
                        note: said.note.clone(),
                    })
                })
                .collect();
            f.findings = match (&f.path, f.line) {
                (Some(path), Some(line)) => findings
                    .iter()
                    .filter(|x| {
                        &x.path == path
                            && x.line_start.saturating_sub(NEAR) <= line
                            && line <= x.line_end.max(x.line_start) + NEAR
                    })
                    .map(|x| x.id.clone())
                    .collect(),
                _ => Vec::new(),
            };
            f
        })
        .collect()
}
