//! Phase three: each agent's answer read, saved, and its findings checked
//! against the code at the reviewed commit.

use super::error::{PipelineError, io};
use super::rundir::RunDir;
use crate::agents::Outcome;
use crate::consolidate::AgentResult;
use crate::files::write_json;
use crate::findings::evidence::TreeSource;
use crate::findings::{self, Answer, Finding};

/// The agents' results, saved in the run directory, and every finding
/// they raised, checked.
pub(super) fn collect(
    run: &RunDir,
    outcomes: Vec<Outcome>,
    source: &TreeSource,
) -> Result<(Vec<AgentResult>, Vec<Finding>), PipelineError> {
    let mut results = Vec::new();
    let mut all: Vec<Finding> = Vec::new();
    for outcome in outcomes {
        let raw = outcome.answer.clone();
        let parsed = match &raw {
            Some(text) if outcome.status.is_ok() => {
                findings::answer::parse::<Answer>(text).map_err(|e| e.to_string())
            }
            Some(_) => Err("the agent did not finish".to_string()),
            None => Err("the agent gave no answer".to_string()),
        };
        let (answer, answer_error) = match parsed {
            Ok(a) => (Some(a), None),
            Err(e) => (None, Some(e)),
        };
        if let Some(a) = &answer {
            all.extend(findings::check_answer(&outcome.name, a, source));
        }
        let review_file = run.relative(&run.review(&outcome.name));
        let result = AgentResult {
            outcome,
            answer,
            answer_error,
            raw_answer: raw,
            review_file,
        };
        run.save_agent(&result)
            .map_err(io("writing an agent's results"))?;
        results.push(result);
    }
    write_json(&run.findings(), &all).map_err(io("writing the checked findings"))?;
    Ok((results, all))
}
