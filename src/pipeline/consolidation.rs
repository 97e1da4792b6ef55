//! Phase four: the consolidation pass — one more agent that merges,
//! re-grades and drops findings — and what the reviewers said of earlier
//! rounds' findings.

use std::sync::Arc;

use super::fanout::{job, spec};
use super::rundir::RunDir;
use crate::agents::supervise::{self, Supervision};
use crate::config::Config;
use crate::consolidate::{self, AgentResult, Consolidation, Decisions};
use crate::files::write_json;
use crate::findings::{self, Finding};
use crate::progress::{Progress, ProgressEvent};
use crate::review::Facts;
use crate::rounds::PriorStatuses;
use tokio_util::sync::CancellationToken;

/// The consolidation of a review run: the pass, unless the run was
/// cancelled, the configuration turns it off, or nobody reviewed.
pub(super) async fn after_review(
    config: &Config,
    (facts, run): (&Facts, &RunDir),
    input: ToConsolidate<'_>,
    (results, cancel): (&[AgentResult], &CancellationToken),
    supervision: &Supervision,
    progress: Arc<dyn Progress>,
) -> Consolidation {
    let not = |reason: &str| Consolidation::NotPerformed {
        reason: reason.into(),
    };
    if cancel.is_cancelled() {
        not("the run was cancelled")
    } else if !config.consolidation.enabled {
        not("consolidation is disabled in the configuration")
    } else if !results.iter().any(AgentResult::succeeded) {
        not("no agent produced a readable review")
    } else {
        progress.event(ProgressEvent::Stage("consolidating".into()));
        consolidate_pass(config, facts, run, input, supervision, progress).await
    }
}

/// What the consolidator is asked to decide on.
pub(super) struct ToConsolidate<'a> {
    pub findings: &'a [Finding],
    /// The reviewers' runs and answers, which the consolidator is shown.
    pub results: &'a [AgentResult],
    /// Earlier rounds' open and declined findings, one line each.
    pub prior: &'a [String],
    /// The last earlier run's retro paragraphs: (agent, text).
    pub last_retro: Vec<(String, String)>,
}

/// The retro of the newest earlier run, of an earlier round than `round`,
/// of the same PR or branch that has a report: (agent, paragraph), each cut at 2,000
/// characters. Empty when there is none.
pub(super) fn last_retro(this: &std::path::Path, round: u32) -> Vec<(String, String)> {
    let Some(parent) = this.parent() else {
        return Vec::new();
    };
    let id = this.file_name().map(|n| n.to_string_lossy().into_owned());
    for (dir, manifest) in super::rundir::siblings(parent).into_iter().rev() {
        // Only a run started before this one, of an earlier round: not a
        // later round (`consolidate` of an old run, `--round` set lower)
        // nor one of the same round.
        let earlier = id
            .as_deref()
            .is_some_and(|id| manifest.run_id.as_str() < id);
        if dir == this || !earlier || manifest.round >= round {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(dir.join("report.json")) else {
            continue;
        };
        // Only what is needed: a report of an older version still gives it.
        #[derive(serde::Deserialize)]
        struct Retros {
            agents: Vec<Retro>,
        }
        #[derive(serde::Deserialize)]
        struct Retro {
            name: String,
            #[serde(default)]
            retro: String,
        }
        let Ok(report) = serde_json::from_str::<Retros>(&text) else {
            continue;
        };
        return report
            .agents
            .iter()
            .filter(|a| !a.retro.trim().is_empty())
            .map(|a| (a.name.clone(), a.retro.trim().chars().take(2_000).collect()))
            .collect();
    }
    Vec::new()
}

pub(super) async fn consolidate_pass(
    config: &Config,
    facts: &Facts,
    run: &RunDir,
    input: ToConsolidate<'_>,
    supervision: &Supervision,
    progress: Arc<dyn Progress>,
) -> Consolidation {
    let ToConsolidate {
        findings,
        results,
        prior,
        last_retro,
    } = input;
    let name = config.consolidation.agent.clone();
    let Some(agent) = config.agents.get(&name) else {
        return Consolidation::NotPerformed {
            reason: format!("no agent named {name:?} to consolidate"),
        };
    };
    let dir = run.consolidation();
    if let Err(e) = std::fs::create_dir_all(&dir) {
        return Consolidation::NotPerformed {
            reason: format!("cannot write {}: {e}", dir.display()),
        };
    }
    let diff_path = run.diff().display().to_string();
    let findings_path = run.input().join("consolidation-findings.json");
    let consolidate::ConsolidationPrompt {
        text: prompt,
        findings_json,
        note,
    } = consolidate::prompt(
        facts,
        findings,
        results,
        (&diff_path, &findings_path.display().to_string()),
        (prior, &last_retro),
    );
    if let Some(json) = findings_json
        && let Err(e) = std::fs::write(&findings_path, json)
    {
        return Consolidation::NotPerformed {
            reason: format!("cannot write {}: {e}", findings_path.display()),
        };
    }
    let prompt_file = dir.join("prompt.md");
    let _ = std::fs::write(&prompt_file, &prompt);
    let mut spec = spec(config, &name, agent);
    spec.name = format!("{name} (consolidation)");
    spec.display_name = format!("{} (consolidation)", spec.display_name);
    let model = config
        .consolidation
        .model
        .clone()
        .or_else(|| agent.model.clone());
    let effort = config
        .consolidation
        .effort
        .clone()
        .or_else(|| agent.effort.clone());
    let input_prompt = run.input().join("consolidation-prompt.md");
    let _ = std::fs::write(&input_prompt, &prompt);
    let job = job(
        prompt,
        &input_prompt,
        consolidate::schema(),
        agent,
        (model.clone(), effort),
        dir.clone(),
    );
    let outcome = supervise::run(&spec, &job, &dir, supervision, progress).await;
    let _ = write_json(&dir.join("outcome.json"), &outcome);
    if !outcome.status.is_ok() {
        return Consolidation::NotPerformed {
            reason: format!(
                "the consolidating agent ({name}) {}: {}",
                outcome.status.words(),
                outcome.message.unwrap_or_default()
            ),
        };
    }
    let Some(text) = outcome.answer.clone() else {
        return Consolidation::NotPerformed {
            reason: format!("the consolidating agent ({name}) gave no answer"),
        };
    };
    let _ = std::fs::write(dir.join("answer.md"), &text);
    match findings::answer::parse::<Decisions>(&text) {
        Ok(decisions) => {
            let _ = write_json(&run.decisions(), &decisions);
            Consolidation::Decided {
                agent: name,
                model: model.or(outcome.reported_model),
                decisions: Box::new(decisions),
                note,
            }
        }
        Err(e) => Consolidation::NotPerformed {
            reason: format!("the consolidating agent's answer could not be read: {e}"),
        },
    }
}

/// What the reviewers said of earlier findings: the consolidator's word
/// when it gave one, else the agents' (any "still open" wins, so nothing
/// is called fixed on one agent's say).
pub(super) fn prior_statuses(
    consolidation: &Consolidation,
    results: &[AgentResult],
) -> PriorStatuses {
    use crate::findings::answer::PriorState;
    if let Consolidation::Decided { decisions, .. } = consolidation
        && !decisions.prior_findings.is_empty()
    {
        return decisions
            .prior_findings
            .iter()
            .map(|p| (p.id.clone(), p.status))
            .collect();
    }
    let mut out: PriorStatuses = Vec::new();
    for p in results
        .iter()
        .filter_map(|r| r.answer.as_ref())
        .flat_map(|a| a.prior_findings.iter())
    {
        match out
            .iter_mut()
            .find(|(id, _)| id.eq_ignore_ascii_case(&p.id))
        {
            Some((_, state)) => {
                if p.status == PriorState::StillOpen
                    || (*state == PriorState::Addressed && p.status == PriorState::NoLongerApplies)
                {
                    *state = p.status;
                }
            }
            None => out.push((p.id.clone(), p.status)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::last_retro;
    use crate::domain::TargetKind;
    use crate::pipeline::rundir::Manifest;

    /// The retro of the newest run started before this one, of an earlier
    /// round: never a later round's, the same round's, or this run's own.
    #[test]
    fn the_last_retro_is_an_earlier_rounds() {
        let parent = tempfile::tempdir().unwrap();
        let run = |id: &str, round: u32, retro: &str| {
            let dir = parent.path().join(id);
            std::fs::create_dir_all(&dir).unwrap();
            let manifest = Manifest::claimed(id, round, TargetKind::Pr);
            std::fs::write(
                dir.join("manifest.json"),
                serde_json::to_string(&manifest).unwrap(),
            )
            .unwrap();
            let report = serde_json::json!({"agents": [{"name": "claude", "retro": retro}, {"name": "codex", "retro": " "}]});
            std::fs::write(dir.join("report.json"), report.to_string()).unwrap();
            dir
        };
        run("20261130-090000-pr-7", 1, "round one");
        run("20261130-100000-pr-7", 2, "round two");
        let same = run("20261130-110000-pr-7", 3, "round three, first try");
        let this = run("20261130-120000-pr-7", 3, "this run");
        run("20261130-130000-pr-7", 4, "a later run");
        assert_eq!(
            last_retro(&this, 3),
            [("claude".to_string(), "round two".to_string())]
        );
        assert_eq!(last_retro(&same, 3)[0].1, "round two");
        // `consolidate` of round 1 again: nothing earlier.
        assert!(last_retro(&parent.path().join("20261130-090000-pr-7"), 1).is_empty());
    }
}
