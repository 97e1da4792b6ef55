//! Phase six: the report's prose sections — the consolidator's when it
//! decided, else each agent's own words under its name.

use std::collections::HashSet;

use super::build::Inputs;
use super::decisions::Decisions;
use crate::domain::Counts;
use crate::findings::answer::{Answer, Observation};
use crate::report::model::{ConsolidationInfo, DesignNote, Limitation, TestRun};

pub struct Sections {
    pub design: Vec<DesignNote>,
    pub testing: String,
    pub documentation: String,
    pub commit_structure: String,
    pub limitations: Vec<Limitation>,
    pub tests_run: Vec<TestRun>,
}

pub fn sections(inputs: &Inputs, decisions: Option<&Decisions>) -> Sections {
    let answers: Vec<(&str, &Answer)> = inputs
        .agents
        .iter()
        .filter_map(|r| r.answer.as_ref().map(|a| (r.outcome.name.as_str(), a)))
        .collect();
    let per_agent = |pick: fn(&Answer) -> &String| -> String {
        answers
            .iter()
            .filter(|(_, a)| !pick(a).trim().is_empty())
            .map(|(agent, a)| format!("**{}:** {}", inputs.display(agent), pick(a).trim()))
            .collect::<Vec<_>>()
            .join("\n\n")
    };
    let tests_run = answers
        .iter()
        .flat_map(|(agent, a)| {
            a.tests_run.iter().map(|t| TestRun {
                agent: agent.to_string(),
                command: t.command.clone(),
                result: t.result.clone(),
            })
        })
        .collect();
    // The consolidator may credit an observation only to agents that made
    // design observations: a name it invents, or an agent that made none,
    // is struck (as with findings, attribution is checked, not trusted).
    let observers: HashSet<&str> = answers
        .iter()
        .filter(|(_, a)| !a.design_observations.is_empty())
        .map(|(agent, _)| *agent)
        .collect();
    match decisions {
        Some(d) => Sections {
            design: d
                .design_observations
                .iter()
                .map(|o| {
                    let mut agents: Vec<String> = Vec::new();
                    for a in &o.agents {
                        // Named as the consolidator wrote it ("Codex",
                        // " codex "), credited under the agent's own name.
                        let named = observers.iter().find(|n| n.eq_ignore_ascii_case(a.trim()));
                        if let Some(&n) = named
                            && !agents.iter().any(|x| x == n)
                        {
                            agents.push(n.to_string());
                        }
                    }
                    design_note(&o.observation, agents)
                })
                .collect(),
            testing: d.testing.trim().to_string(),
            documentation: d.documentation.trim().to_string(),
            commit_structure: d.commits.trim().to_string(),
            limitations: d.acknowledged_limitations.iter().map(limitation).collect(),
            tests_run,
        },
        None => {
            let mut seen = HashSet::new();
            Sections {
                design: answers
                    .iter()
                    .flat_map(|(agent, a)| {
                        a.design_observations
                            .iter()
                            .map(|o| design_note(o, vec![agent.to_string()]))
                    })
                    .collect(),
                testing: per_agent(|a| &a.testing),
                documentation: per_agent(|a| &a.documentation),
                commit_structure: per_agent(|a| &a.commits),
                limitations: answers
                    .iter()
                    .flat_map(|(_, a)| a.acknowledged_limitations.iter())
                    .filter(|l| seen.insert(l.text.trim().to_lowercase()))
                    .map(limitation)
                    .collect(),
                tests_run,
            }
        }
    }
}

pub fn fallback_summary(info: &ConsolidationInfo, counts: &Counts) -> String {
    format!(
        "Consolidation was not performed ({}). Findings are merged by location only, each keeps the highest \
         severity any agent gave it, and none was dropped except for invalid paths and findings the author declined in an earlier round. Structure: {} critical, {} important, {} suggestions.",
        info.note.as_deref().unwrap_or("no reason recorded"),
        counts.critical,
        counts.important,
        counts.suggestion
    )
}

fn design_note(o: &Observation, agents: Vec<String>) -> DesignNote {
    DesignNote {
        kind: o.kind,
        scope: o.scope,
        text: o.text.trim().to_string(),
        paths: o.paths.clone(),
        agents,
    }
}

fn limitation(l: &crate::findings::answer::Limitation) -> Limitation {
    Limitation {
        text: l.text.trim().to_string(),
        path: l.path.clone(),
        line: l.line,
    }
}
