//! Phase five: each agent's measured figures for the retro table, and the
//! reconciliation lines of what consolidation did to its findings. Every
//! number is counted here from the findings; the consolidator only
//! supplies the retro notes.

use std::collections::HashMap;

use super::build::{AgentResult, Inputs};
use crate::domain::{AgentStatus, Counts};
use crate::findings::Finding;
use crate::report::model::{
    AgentReport, Change, DropKind, Dropped, FileCoverage, Reconciliation, ReportFinding,
    TokenCounts, ToolCalls,
};

/// The numbered findings and what became of each checked finding.
pub struct Placed<'a> {
    pub findings: &'a [ReportFinding],
    /// Checked finding (index) → the id of the report finding it is in.
    pub final_of: &'a HashMap<usize, String>,
    pub dropped: &'a [Dropped],
}

/// The retro table's rows and the reconciliation lines, agent by agent.
pub fn figures(
    inputs: &Inputs,
    placed: &Placed,
    retro_notes: &HashMap<&str, &str>,
) -> (Vec<AgentReport>, Vec<Reconciliation>) {
    let mut reconciliation = Vec::new();
    let agents = inputs
        .agents
        .iter()
        .map(|result| {
            let mut report = agent_report(inputs, result, placed, &mut reconciliation);
            report.retro = retro_notes
                .get(result.outcome.name.as_str())
                .map(|t| t.trim().to_string())
                .unwrap_or_default();
            report
        })
        .collect();
    (agents, reconciliation)
}

fn agent_report(
    inputs: &Inputs,
    result: &AgentResult,
    placed: &Placed,
    reconciliation: &mut Vec<Reconciliation>,
) -> AgentReport {
    let o = &result.outcome;
    let findings = inputs.findings;
    let mine: Vec<usize> = (0..findings.len())
        .filter(|&i| findings[i].agent == o.name)
        .collect();
    let mut raised = Counts::default();
    let (mut kept, mut down, mut up) = (0, 0, 0);
    for &i in &mine {
        let f = &findings[i];
        raised.add(f.raw.severity);
        let Some(id) = placed.final_of.get(&i) else {
            continue;
        };
        kept += 1;
        let shown = placed
            .findings
            .iter()
            .find(|r| &r.id == id)
            .expect("a final id names a report finding");
        if let Some(line) = regraded(f, shown) {
            if line.change == Change::Downgraded {
                down += 1;
            } else {
                up += 1;
            }
            reconciliation.push(line);
        }
    }
    let mut dropped = 0;
    let mut false_positives = 0;
    for d in placed.dropped.iter().filter(|d| d.agent == o.name) {
        dropped += 1;
        if d.kind == DropKind::FalsePositive {
            false_positives += 1;
        }
        reconciliation.push(Reconciliation {
            finding: d.source.clone(),
            agent: d.agent.clone(),
            title: d.title.clone(),
            change: Change::Dropped,
            from: d.severity,
            to: None,
            reason: format!("{}: {}", d.kind.label(), d.reason),
        });
    }
    let (coverage, coverage_misses, unopened_claims) = coverage(inputs, result, placed);
    AgentReport {
        name: o.name.clone(),
        display_name: o.display_name.clone(),
        model: o.reported_model.clone().or_else(|| o.model.clone()),
        effort: o.effort.clone(),
        status: if o.status.is_ok() && result.answer.is_none() {
            AgentStatus::AnswerInvalid
        } else {
            o.status
        },
        message: match (&o.message, &result.answer_error) {
            (Some(m), _) => Some(m.clone()),
            (None, Some(e)) if result.answer.is_none() => {
                Some(format!("its answer could not be read: {e}"))
            }
            _ => None,
        },
        duration_ms: o.duration_ms,
        tool_calls: ToolCalls {
            total: o.total_tool_calls(),
            by_tool: o.tool_calls.clone(),
        },
        tokens: TokenCounts {
            input: o.tokens.input,
            output: o.tokens.output,
            cached: o.tokens.cached,
            reasoning: o.tokens.reasoning,
        },
        cost_usd: o.cost_usd,
        findings_raised: raised,
        kept,
        downgraded: down,
        upgraded: up,
        dropped,
        false_positives,
        unique_insights: unique_insights(&o.name, findings, placed),
        design_observations: result
            .answer
            .as_ref()
            .map_or(0, |a| a.design_observations.len() as u32),
        files_reviewed: coverage.len() as u32,
        coverage_misses,
        coverage,
        unopened_claims,
        retro: String::new(),
    }
}

/// The reconciliation line of a finding shown at another severity than
/// its agent gave it.
fn regraded(f: &Finding, shown: &ReportFinding) -> Option<Reconciliation> {
    if shown.severity == f.raw.severity {
        return None;
    }
    Some(Reconciliation {
        finding: shown.id.clone(),
        agent: f.agent.clone(),
        title: f.raw.title.clone(),
        change: if shown.severity > f.raw.severity {
            Change::Downgraded
        } else {
            Change::Upgraded
        },
        from: f.raw.severity,
        to: Some(shown.severity),
        reason: shown
            .severity_note
            .clone()
            .unwrap_or_else(|| "merged with a finding of another severity".into()),
    })
}

/// Shown findings only this agent raised.
fn unique_insights(agent: &str, findings: &[Finding], placed: &Placed) -> u32 {
    placed
        .findings
        .iter()
        .filter(|shown| {
            let members: Vec<&Finding> = findings
                .iter()
                .enumerate()
                .filter(|(i, _)| placed.final_of.get(i) == Some(&shown.id))
                .map(|(_, f)| f)
                .collect();
            !members.is_empty() && members.iter().all(|f| f.agent == agent)
        })
        .count() as u32
}

/// The changed files the agent opened, each with the report's findings
/// it raised there and what it says of it; the changed files it never
/// opened; and what it says of those.
fn coverage(
    inputs: &Inputs,
    result: &AgentResult,
    placed: &Placed,
) -> (Vec<FileCoverage>, Vec<String>, Vec<FileCoverage>) {
    let name = &result.outcome.name;
    let claims = result
        .answer
        .as_ref()
        .and_then(|a| a.coverage.as_deref())
        .unwrap_or_default();
    // Agents name files every way: relative, `./x`, absolute in their
    // working directory.
    let claim = |path: &str| {
        claims.iter().find(|c| {
            let said = relative(c.path.trim(), &inputs.workdir);
            crate::findings::evidence::normalise(&said).is_ok_and(|p| same_file(&p, path))
        })
    };
    let opened: Vec<String> = result
        .outcome
        .files_opened
        .iter()
        .map(|p| relative(p, &inputs.workdir))
        .collect();
    let (mut reviewed, mut misses, mut unopened) = (Vec::new(), Vec::new(), Vec::new());
    for c in inputs
        .target
        .changed_files
        .iter()
        .filter(|c| c.status.exists_at_head())
    {
        let findings = placed
            .findings
            .iter()
            .filter(|f| f.path == c.path && f.agents.contains(name))
            .map(|f| f.id.clone())
            .collect();
        let said = claim(&c.path);
        let file = FileCoverage {
            path: c.path.clone(),
            findings,
            claimed: said.map(|s| s.depth),
            note: said.map(|s| s.note.trim().to_string()).unwrap_or_default(),
        };
        if opened.iter().any(|p| same_file(p, &c.path)) {
            reviewed.push(file);
        } else {
            misses.push(c.path.clone());
            if said.is_some() {
                unopened.push(file);
            }
        }
    }
    (reviewed, misses, unopened)
}

/// A path an agent opened, relative to the repository.
fn relative(path: &str, workdir: &str) -> String {
    let workdir = workdir.trim_end_matches('/');
    path.strip_prefix(workdir)
        .map(|p| p.trim_start_matches('/').to_string())
        .unwrap_or_else(|| path.trim_start_matches("./").to_string())
}

fn same_file(opened: &str, changed: &str) -> bool {
    opened == changed || opened.ends_with(&format!("/{changed}"))
}
