//! From checked findings and the consolidator's decisions (or none) to the
//! report, in phases with typed hand-offs: place every finding
//! ([`place`](super::place)), draft the kept ones ([`draft`](super::draft)),
//! sort them out against earlier rounds and number them, decide the verdict
//! ([`verdict`](super::verdict)), count each agent's figures
//! ([`retro`](super::retro)), take the prose ([`prose`](super::prose)), and
//! assemble. Every number is computed by the program; the consolidator only
//! supplies judgement and prose, and its decisions are checked.

use std::collections::HashMap;

use super::decisions::Decisions;
use super::draft::draft;
use super::place::{self, Kept, Placement};
use super::prose::{self, Sections};
use super::retro::{self, Placed};
use super::verdict;
use crate::agents::Outcome;
use crate::domain::{Counts, assign_ids};
use crate::findings::answer::Answer;
use crate::findings::{Finding, Verdict};
use crate::report::model::*;
use crate::rounds::{self, Ledger, Match, Numbered, PriorStatuses, Round};

/// One agent's run and what could be read from it.
#[derive(Debug, Clone)]
pub struct AgentResult {
    pub outcome: Outcome,
    pub answer: Option<Answer>,
    /// Why the answer could not be read, when it could not.
    pub answer_error: Option<String>,
    pub raw_answer: Option<String>,
    /// The raw review's path inside the run directory.
    pub review_file: String,
}

impl AgentResult {
    pub fn succeeded(&self) -> bool {
        self.outcome.status.is_ok() && self.answer.is_some()
    }
}

pub struct Inputs<'a> {
    pub run: RunInfo,
    pub target: Target,
    pub agents: &'a [AgentResult],
    pub findings: &'a [Finding],
    /// The review worktree, to turn absolute paths agents opened into
    /// repository paths.
    pub workdir: String,
    pub declined: Vec<Declined>,
    pub unresolved_feedback: Vec<Feedback>,
}

impl Inputs<'_> {
    /// An agent's name as the report shows it.
    pub fn display(&self, agent: &str) -> String {
        self.agents
            .iter()
            .find(|r| r.outcome.name == agent)
            .map(|r| r.outcome.display_name.clone())
            .unwrap_or_else(|| agent.to_string())
    }
}

/// Earlier rounds, for a review that happened: the ledger this round is
/// sorted out against and then recorded in.
pub struct Rounds<'a> {
    pub ledger: &'a mut Ledger,
    pub priors: &'a PriorStatuses,
    /// A file's text at the reviewed commit.
    pub code_at_head: &'a dyn Fn(&str) -> Option<String>,
    /// Now (RFC 3339, UTC, whole seconds), recorded in the ledger.
    pub recorded_at: &'a str,
}

pub enum Consolidation {
    Decided {
        agent: String,
        model: Option<String>,
        decisions: Box<Decisions>,
        /// How the pass was given its input, when the report should say
        /// (its prompt over budget).
        note: Option<String>,
    },
    NotPerformed {
        reason: String,
    },
}

/// A kept finding on its way to the report.
struct Shown {
    kept: Kept,
    finding: ReportFinding,
    matched: Match,
}

/// What the earlier rounds make of this one.
struct History {
    declined: Vec<Declined>,
    summary_line: Option<String>,
    prior_round: Vec<PriorFinding>,
}

/// The ledger's side of the sorting out: declined entries raised again
/// (with who raised them), and what became of the open ones nobody raised.
struct Sorted {
    reraised: Vec<(usize, Vec<String>)>,
    unraised: Vec<(usize, rounds::Fate, HeadCheck)>,
}

/// The report of a round. With `rounds`, the round is sorted out against
/// the ledger before ids are given (a finding declined before is dropped,
/// one raised before says so) and recorded in it after; a round in which
/// no agent reviewed leaves the ledger as it was.
pub fn build(inputs: &Inputs, consolidation: Consolidation, rounds: Option<Rounds>) -> Report {
    let findings = inputs.findings;
    let (decisions, mut info) = split(consolidation);
    let decisions = decisions.as_deref();
    let display = |agent: &str| inputs.display(agent);
    let Placement {
        mut kept,
        mut dropped,
        notes,
    } = place::place(findings, decisions, &display);
    // Most severe first, in the order decided: a ledger entry goes to the
    // most severe finding that matches it.
    kept.sort_by_key(|k| k.severity);
    let reviewed = inputs.agents.iter().any(AgentResult::succeeded);
    let mut rounds = rounds.filter(|_| reviewed);
    let (shown, sorted) = sort_out(inputs, kept, rounds.as_ref(), &mut dropped);
    let (shown, final_of) = number(shown);
    let history = match (rounds.as_mut(), sorted) {
        (Some(r), Some(sorted)) => record(inputs, r, &shown, &sorted, decisions),
        _ => History {
            declined: inputs.declined.clone(),
            summary_line: None,
            prior_round: Vec::new(),
        },
    };
    let report_findings: Vec<ReportFinding> = shown.into_iter().map(|s| s.finding).collect();
    let counts = Counts::of(report_findings.iter().map(|f| f.severity));
    let verdict = verdict::decide(decisions, &counts, inputs.agents);
    let retro_notes: HashMap<&str, &str> = decisions
        .map(|d| {
            d.retro
                .iter()
                .map(|r| (r.agent.as_str(), r.text.as_str()))
                .collect()
        })
        .unwrap_or_default();
    let placed = Placed {
        findings: &report_findings,
        final_of: &final_of,
        dropped: &dropped,
    };
    let (agents, reconciliation) = retro::figures(inputs, &placed, &retro_notes);
    let appendix = appendix(inputs, &placed);
    let Sections {
        design,
        testing,
        documentation,
        commit_structure,
        limitations,
        tests_run,
    } = prose::sections(inputs, decisions);
    let summary = match decisions {
        _ if verdict.decision == Verdict::NotReviewed => format!(
            "No review happened: {} Nothing in this report says the change is safe to merge.",
            verdict.reason
        ),
        Some(d) => d.summary.trim().to_string(),
        None => prose::fallback_summary(&info, &counts),
    };
    let summary = match history.summary_line {
        Some(line) => format!("{line}\n\n{summary}"),
        None => summary,
    };
    let incomplete = agents.iter().any(|a| !a.status.is_ok())
        || verdict.decision == Verdict::NotReviewed
        || !info.performed;
    if !notes.is_empty() {
        let notes = notes.join("; ");
        info.note = Some(match info.note.take() {
            Some(first) => format!("{first}; {notes}"),
            None => notes,
        });
    }
    let (prompt_improvements, context_updates) = decisions
        .map(|d| (d.prompt_improvements.clone(), d.context_updates.clone()))
        .unwrap_or_default();
    let unresolved_feedback = super::feedback::judged(inputs, &report_findings);
    Report {
        schema_version: SCHEMA_VERSION,
        run: inputs.run.clone(),
        target: inputs.target.clone(),
        reviewers: reviewers(inputs.agents),
        verdict,
        summary,
        counts,
        findings: report_findings,
        dropped,
        design,
        testing,
        documentation,
        commit_structure,
        tests_run,
        limitations,
        declined: history.declined,
        prior_round: history.prior_round,
        resolutions: Vec::new(),
        unresolved_feedback,
        agents,
        reconciliation,
        process_notes: ProcessNotes {
            prompt_improvements,
            context_updates,
        },
        appendix,
        incomplete,
        consolidation: info,
    }
}

fn split(consolidation: Consolidation) -> (Option<Box<Decisions>>, ConsolidationInfo) {
    match consolidation {
        Consolidation::Decided {
            agent,
            model,
            decisions,
            note,
        } => (
            Some(decisions),
            ConsolidationInfo {
                performed: true,
                agent: Some(agent),
                model,
                note,
            },
        ),
        Consolidation::NotPerformed { reason } => (
            None,
            ConsolidationInfo {
                performed: false,
                agent: None,
                model: None,
                note: Some(reason),
            },
        ),
    }
}

/// Drafts the kept groups and matches them with the ledger: what was
/// declined before (its code unchanged) is dropped as such, what was
/// raised before says when, and the earlier open findings nobody raised
/// or resolved are carried over among them.
fn sort_out(
    inputs: &Inputs,
    kept: Vec<Kept>,
    rounds: Option<&Rounds>,
    dropped: &mut Vec<Dropped>,
) -> (Vec<Shown>, Option<Sorted>) {
    let findings = inputs.findings;
    let drafts: Vec<ReportFinding> = kept.iter().map(|k| draft(findings, k)).collect();
    let sorted = rounds.map(|r| {
        let prints: Vec<_> = drafts.iter().map(rounds::fingerprint).collect();
        rounds::sort_out(r.ledger, &prints, &round_of(inputs, r))
    });
    let matches = match &sorted {
        Some(s) => s.matches.clone(),
        None => vec![Match::New; drafts.len()],
    };
    let mut shown = Vec::new();
    // Declined entries raised again, with who raised them.
    let mut reraised = Vec::new();
    for ((kept, mut finding), matched) in kept.into_iter().zip(drafts).zip(matches) {
        if let Match::Declined { entry, .. } | Match::DeclinedChanged { entry, .. } = &matched {
            let mut agents: Vec<String> = Vec::new();
            for &m in &kept.members {
                let name = inputs.display(&findings[m].agent);
                if !agents.contains(&name) {
                    agents.push(name);
                }
            }
            reraised.push((*entry, agents));
        }
        if let Match::Declined { reason, .. } = &matched {
            for &i in &kept.members {
                dropped.push(place::dropped(
                    &findings[i],
                    DropKind::DeclinedBefore,
                    reason.clone(),
                ));
            }
            continue;
        }
        finding.prior = matched.prior().map(str::to_string);
        if let Some(r) = rounds {
            finding.resolution = rounds::SortedOut::resolution(r.ledger, &matched);
        }
        shown.push(Shown {
            kept,
            finding,
            matched,
        });
    }
    let sorted = sorted.map(|s| {
        for (finding, matched) in s.carried {
            shown.push(Shown {
                kept: Kept {
                    members: Vec::new(),
                    severity: finding.severity,
                    decision: None,
                    severity_note: None,
                    flags: Vec::new(),
                },
                finding,
                matched,
            });
        }
        Sorted {
            reraised,
            unraised: s.unraised,
        }
    });
    (shown, sorted)
}

fn round_of<'a>(inputs: &'a Inputs, r: &Rounds<'a>) -> Round<'a> {
    Round {
        number: inputs.run.round,
        run_id: &inputs.run.id,
        priors: r.priors,
        code_at_head: r.code_at_head,
        recorded_at: r.recorded_at,
    }
}

/// Final ids by severity, in the order decided; and, for each checked
/// finding shown, the id it is shown under.
fn number(mut shown: Vec<Shown>) -> (Vec<Shown>, HashMap<usize, String>) {
    shown.sort_by_key(|s| s.finding.severity);
    let ids = assign_ids(shown.iter().map(|s| s.finding.severity));
    let mut final_of = HashMap::new();
    for (s, id) in shown.iter_mut().zip(ids) {
        for &m in &s.kept.members {
            final_of.insert(m, id.clone());
        }
        s.finding.id = id;
    }
    (shown, final_of)
}

fn record(
    inputs: &Inputs,
    r: &mut Rounds,
    shown: &[Shown],
    sorted: &Sorted,
    decisions: Option<&Decisions>,
) -> History {
    let numbered: Vec<Numbered> = shown
        .iter()
        .map(|s| Numbered {
            finding: &s.finding,
            fingerprint: rounds::fingerprint(&s.finding),
            matched: &s.matched,
        })
        .collect();
    let round = Round {
        number: inputs.run.round,
        run_id: &inputs.run.id,
        priors: r.priors,
        code_at_head: r.code_at_head,
        recorded_at: r.recorded_at,
    };
    let updates = decisions.map_or(&[][..], |d| &d.context_updates[..]);
    let recorded = rounds::record(
        r.ledger,
        &round,
        &numbered,
        &sorted.unraised,
        updates,
        &sorted.reraised,
    );
    History {
        declined: recorded.declined,
        summary_line: recorded
            .changes
            .summary_line(inputs.run.round, recorded.since),
        prior_round: recorded.prior_round,
    }
}

/// Each agent's raw review, with where each of its findings went.
fn appendix(inputs: &Inputs, placed: &Placed) -> Vec<AppendixEntry> {
    let findings = inputs.findings;
    inputs
        .agents
        .iter()
        .map(|r| AppendixEntry {
            agent: r.outcome.name.clone(),
            file: r.review_file.clone(),
            raw: r.raw_answer.clone().unwrap_or_default(),
            id_map: (0..findings.len())
                .filter(|&i| findings[i].agent == r.outcome.name)
                .map(|i| {
                    let to = placed.final_of.get(&i).cloned().unwrap_or_else(|| {
                        placed
                            .dropped
                            .iter()
                            .find(|d| d.source == findings[i].key)
                            .map_or("dropped".into(), |d| {
                                format!("dropped ({})", d.kind.label())
                            })
                    });
                    (findings[i].raw.id.clone(), to)
                })
                .collect(),
        })
        .collect()
}

fn reviewers(agents: &[AgentResult]) -> Vec<Reviewer> {
    agents
        .iter()
        .map(|r| Reviewer {
            name: r.outcome.name.clone(),
            display_name: r.outcome.display_name.clone(),
            model: r
                .outcome
                .model
                .clone()
                .or_else(|| r.outcome.reported_model.clone()),
            effort: r.outcome.effort.clone(),
            served_model: r.outcome.reported_model.clone().filter(|served| {
                r.outcome
                    .model
                    .as_deref()
                    .is_some_and(|asked| !crate::report::model_names::same_model(asked, served))
            }),
        })
        .collect()
}
