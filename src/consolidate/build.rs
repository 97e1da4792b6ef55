//! From checked findings and the consolidator's decisions (or none) to the
//! report. Every number here is computed by the program; the consolidator
//! only supplies judgement and prose, and its decisions are checked: every
//! finding is accounted for exactly once, a severity change needs a
//! reason, an unverified quote needs a reason to be kept.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::decisions::{Decisions, DropDecisionKind, GroupDecision};
use crate::agents::Outcome;
use crate::config::Severity;
use crate::findings::answer::{Answer, Observation};
use crate::findings::evidence::language;
use crate::findings::group::candidate_groups;
use crate::findings::{Evidence, Finding, Verdict};
use crate::report::model::*;

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
        self.outcome.status == crate::agents::Status::Ok && self.answer.is_some()
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

pub enum Consolidation {
    Decided {
        agent: String,
        model: Option<String>,
        decisions: Box<Decisions>,
    },
    NotPerformed {
        reason: String,
    },
}

/// A kept finding before it gets its final id.
struct Kept {
    members: Vec<usize>,
    severity: Severity,
    decision: Option<GroupDecision>,
    severity_note: Option<String>,
    flags: Vec<String>,
}

pub fn build(inputs: &Inputs, consolidation: Consolidation) -> Report {
    let findings = inputs.findings;
    let index: HashMap<&str, usize> = findings
        .iter()
        .enumerate()
        .map(|(i, f)| (f.key.as_str(), i))
        .collect();
    let mut kept: Vec<Kept> = Vec::new();
    let mut dropped: Vec<Dropped> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    let (decisions, info) = match consolidation {
        Consolidation::Decided {
            agent,
            model,
            decisions,
        } => (
            Some(decisions),
            ConsolidationInfo {
                performed: true,
                agent: Some(agent),
                model,
                note: None,
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
    };

    let drop = |i: usize, kind: DropKind, reason: String| {
        let f = &findings[i];
        Dropped {
            agent: f.agent.clone(),
            source: f.key.clone(),
            title: f.raw.title.clone(),
            path: f.raw.path.clone(),
            severity: f.raw.severity,
            kind,
            reason,
        }
    };

    match &decisions {
        Some(d) => {
            let mut assigned: HashSet<usize> = HashSet::new();
            for group in &d.groups {
                let mut members = Vec::new();
                for key in &group.members {
                    match index.get(key.as_str()) {
                        Some(&i) if assigned.insert(i) => members.push(i),
                        Some(_) => notes.push(format!(
                            "the consolidator placed {key} twice; the first placement counts"
                        )),
                        None => notes.push(format!(
                            "the consolidator named an unknown finding {key}; ignored"
                        )),
                    }
                }
                if members.is_empty() {
                    continue;
                }
                let original = highest(members.iter().map(|&i| findings[i].raw.severity));
                let mut severity = group.severity;
                let mut flags = Vec::new();
                let reason = group
                    .severity_reason
                    .as_deref()
                    .map(str::trim)
                    .filter(|r| !r.is_empty());
                let mut severity_note = None;
                if severity != original {
                    match reason {
                        Some(reason) => {
                            let raisers = raisers(findings, &members, original, inputs);
                            let verb = if severity > original {
                                "demoted"
                            } else {
                                "promoted"
                            };
                            severity_note = Some(format!(
                                "{raisers} raised this as {}; {verb} to {}: {reason}",
                                severity_label(original),
                                severity_label(severity)
                            ));
                        }
                        None => {
                            flags.push(format!(
                                "the consolidator changed the severity to {} without a reason; kept as {}",
                                severity_label(severity),
                                severity_label(original)
                            ));
                            severity = original;
                        }
                    }
                }
                let trusted = members
                    .iter()
                    .any(|&i| findings[i].checked.evidence.is_trusted());
                let invalid = members
                    .iter()
                    .all(|&i| matches!(findings[i].checked.evidence, Evidence::InvalidPath { .. }));
                let note = group
                    .evidence_note
                    .as_deref()
                    .map(str::trim)
                    .filter(|n| !n.is_empty());
                if invalid {
                    for &i in &members {
                        dropped.push(drop(
                            i,
                            DropKind::InvalidPath,
                            evidence_reason(&findings[i].checked.evidence),
                        ));
                    }
                    continue;
                }
                if !trusted && note.is_none() {
                    for &i in &members {
                        dropped.push(drop(
                            i,
                            DropKind::Unverified,
                            format!(
                                "{}; the consolidator gave no reason to keep it",
                                evidence_reason(&findings[i].checked.evidence)
                            ),
                        ));
                    }
                    continue;
                }
                kept.push(Kept {
                    members,
                    severity,
                    decision: Some(group.clone()),
                    severity_note,
                    flags,
                });
            }
            for decision in &d.dropped {
                match index.get(decision.finding.as_str()) {
                    Some(&i) if assigned.insert(i) => {
                        let kind = match decision.kind {
                            DropDecisionKind::FalsePositive => DropKind::FalsePositive,
                            DropDecisionKind::OutOfScope => DropKind::OutOfScope,
                            DropDecisionKind::NotActionable => DropKind::NotActionable,
                            DropDecisionKind::DeclinedBefore => DropKind::DeclinedBefore,
                            DropDecisionKind::Duplicate => DropKind::Duplicate,
                        };
                        let reason = if decision.reason.trim().is_empty() {
                            "no reason given".to_string()
                        } else {
                            decision.reason.trim().to_string()
                        };
                        dropped.push(drop(i, kind, reason));
                    }
                    Some(_) => notes.push(format!(
                        "the consolidator both kept and dropped {}; kept",
                        decision.finding
                    )),
                    None => notes.push(format!(
                        "the consolidator dropped an unknown finding {}; ignored",
                        decision.finding
                    )),
                }
            }
            // Nothing is lost: what the consolidator forgot is kept as the
            // agent wrote it, and flagged.
            for (i, f) in findings.iter().enumerate() {
                if assigned.contains(&i) {
                    continue;
                }
                if let Evidence::InvalidPath { .. } = f.checked.evidence {
                    dropped.push(drop(
                        i,
                        DropKind::InvalidPath,
                        evidence_reason(&f.checked.evidence),
                    ));
                    continue;
                }
                kept.push(Kept {
                    members: vec![i],
                    severity: f.raw.severity,
                    decision: None,
                    severity_note: None,
                    flags: vec!["the consolidator did not account for this finding; kept as the agent wrote it".into()],
                });
            }
        }
        None => {
            for group in candidate_groups(findings) {
                let (invalid, members): (Vec<usize>, Vec<usize>) =
                    group.into_iter().partition(|&i| {
                        matches!(findings[i].checked.evidence, Evidence::InvalidPath { .. })
                    });
                for i in invalid {
                    dropped.push(drop(
                        i,
                        DropKind::InvalidPath,
                        evidence_reason(&findings[i].checked.evidence),
                    ));
                }
                if members.is_empty() {
                    continue;
                }
                let severity = highest(members.iter().map(|&i| findings[i].raw.severity));
                kept.push(Kept {
                    members,
                    severity,
                    decision: None,
                    severity_note: None,
                    flags: vec![],
                });
            }
        }
    }

    // Final ids by severity, in the order decided.
    kept.sort_by_key(|k| k.severity);
    let mut counters: BTreeMap<Severity, u32> = BTreeMap::new();
    let mut final_of: HashMap<usize, String> = HashMap::new();
    let mut report_findings = Vec::new();
    for k in &kept {
        let n = counters.entry(k.severity).or_default();
        *n += 1;
        let id = format!("{}{}", severity_letter(k.severity), n);
        for &m in &k.members {
            final_of.insert(m, id.clone());
        }
        report_findings.push(render_finding(findings, k, id));
    }

    let mut counts = Counts::default();
    for f in &report_findings {
        counts.add(f.severity);
    }
    let verdict = match &decisions {
        // A model cannot declare the review not done, nor undo that; nor
        // can it be more lenient than the findings it kept: one injected
        // consolidator must not turn kept Criticals into "Merge".
        Some(d) if d.verdict != Verdict::NotReviewed => {
            let floor = rule_verdict(&counts);
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
        _ => rule_verdict(&counts),
    };
    let verdict = honest(verdict, inputs.agents);

    // Per-agent figures.
    let changed: Vec<&ChangedFile> = inputs
        .target
        .changed_files
        .iter()
        .filter(|c| c.status != "deleted")
        .collect();
    let retro_text: HashMap<&str, &str> = decisions
        .as_ref()
        .map(|d| {
            d.retro
                .iter()
                .map(|r| (r.agent.as_str(), r.text.as_str()))
                .collect()
        })
        .unwrap_or_default();
    let mut reconciliation = Vec::new();
    let mut agents = Vec::new();
    for result in inputs.agents {
        let o = &result.outcome;
        let mine: Vec<usize> = (0..findings.len())
            .filter(|&i| findings[i].agent == o.name)
            .collect();
        let mut raised = Counts::default();
        let (mut kept_n, mut down, mut up, mut dropped_n, mut fps) = (0, 0, 0, 0, 0);
        for &i in &mine {
            let f = &findings[i];
            raised.add(f.raw.severity);
            if let Some(id) = final_of.get(&i) {
                kept_n += 1;
                let finding = report_findings
                    .iter()
                    .find(|r| &r.id == id)
                    .expect("final id exists");
                if finding.severity != f.raw.severity {
                    let change = if finding.severity > f.raw.severity {
                        "downgraded"
                    } else {
                        "upgraded"
                    };
                    if change == "downgraded" {
                        down += 1
                    } else {
                        up += 1
                    }
                    reconciliation.push(Reconciliation {
                        finding: id.clone(),
                        agent: o.name.clone(),
                        title: f.raw.title.clone(),
                        change: change.into(),
                        from: f.raw.severity,
                        to: Some(finding.severity),
                        reason: finding
                            .severity_note
                            .clone()
                            .unwrap_or_else(|| "merged with a finding of another severity".into()),
                    });
                }
            }
        }
        for d in dropped.iter().filter(|d| d.agent == o.name) {
            dropped_n += 1;
            if d.kind == DropKind::FalsePositive {
                fps += 1;
            }
            reconciliation.push(Reconciliation {
                finding: d.source.clone(),
                agent: d.agent.clone(),
                title: d.title.clone(),
                change: "dropped".into(),
                from: d.severity,
                to: None,
                reason: format!("{}: {}", d.kind.label(), d.reason),
            });
        }
        let unique = kept
            .iter()
            .filter(|k| k.members.iter().all(|&m| findings[m].agent == o.name))
            .count() as u32;
        let opened: Vec<String> = o
            .files_opened
            .iter()
            .map(|p| relative(p, &inputs.workdir))
            .collect();
        let reviewed: Vec<&&ChangedFile> = changed
            .iter()
            .filter(|c| opened.iter().any(|p| same_file(p, &c.path)))
            .collect();
        let misses: Vec<String> = changed
            .iter()
            .filter(|c| !opened.iter().any(|p| same_file(p, &c.path)))
            .map(|c| c.path.clone())
            .collect();
        let status = if o.status == crate::agents::Status::Ok && result.answer.is_none() {
            "answer_invalid".to_string()
        } else {
            o.status.name().to_string()
        };
        let message = match (&o.message, &result.answer_error) {
            (Some(m), _) => Some(m.clone()),
            (None, Some(e)) if result.answer.is_none() => {
                Some(format!("its answer could not be read: {e}"))
            }
            _ => None,
        };
        agents.push(AgentReport {
            name: o.name.clone(),
            display_name: o.display_name.clone(),
            model: o.reported_model.clone().or_else(|| o.model.clone()),
            effort: o.effort.clone(),
            status,
            message,
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
            kept: kept_n,
            downgraded: down,
            upgraded: up,
            dropped: dropped_n,
            false_positives: fps,
            unique_insights: unique,
            design_observations: result
                .answer
                .as_ref()
                .map_or(0, |a| a.design_observations.len() as u32),
            files_reviewed: reviewed.len() as u32,
            coverage_misses: misses,
            retro: retro_text
                .get(o.name.as_str())
                .map(|t| t.trim().to_string())
                .unwrap_or_default(),
        });
    }

    let answers: Vec<(&str, &Answer)> = inputs
        .agents
        .iter()
        .filter_map(|r| r.answer.as_ref().map(|a| (r.outcome.name.as_str(), a)))
        .collect();
    let design = match &decisions {
        Some(d) => d
            .design_observations
            .iter()
            .map(|o| design_note(&o.observation, o.agents.clone()))
            .collect(),
        None => answers
            .iter()
            .flat_map(|(agent, a)| {
                a.design_observations
                    .iter()
                    .map(|o| design_note(o, vec![agent.to_string()]))
            })
            .collect(),
    };
    let per_agent = |pick: fn(&Answer) -> &String| -> String {
        answers
            .iter()
            .filter(|(_, a)| !pick(a).trim().is_empty())
            .map(|(agent, a)| format!("**{}:** {}", display(inputs, agent), pick(a).trim()))
            .collect::<Vec<_>>()
            .join("\n\n")
    };
    let (testing, documentation, commit_structure) = match &decisions {
        Some(d) => (
            d.testing.trim().to_string(),
            d.documentation.trim().to_string(),
            d.commits.trim().to_string(),
        ),
        None => (
            per_agent(|a| &a.testing),
            per_agent(|a| &a.documentation),
            per_agent(|a| &a.commits),
        ),
    };
    let limitations = match &decisions {
        Some(d) => d.acknowledged_limitations.iter().map(limitation).collect(),
        None => {
            let mut seen = HashSet::new();
            answers
                .iter()
                .flat_map(|(_, a)| a.acknowledged_limitations.iter())
                .filter(|l| seen.insert(l.text.trim().to_lowercase()))
                .map(limitation)
                .collect()
        }
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

    let appendix = inputs
        .agents
        .iter()
        .map(|r| AppendixEntry {
            agent: r.outcome.name.clone(),
            file: r.review_file.clone(),
            raw: r.raw_answer.clone().unwrap_or_default(),
            id_map: (0..findings.len())
                .filter(|&i| findings[i].agent == r.outcome.name)
                .map(|i| {
                    let to = final_of.get(&i).cloned().unwrap_or_else(|| {
                        dropped
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
        .collect();

    let failed_agents =
        agents.iter().any(|a| a.status != "ok") || verdict.decision == Verdict::NotReviewed;
    let summary = match &decisions {
        _ if verdict.decision == Verdict::NotReviewed => format!(
            "No review happened: {} Nothing in this report says the change is safe to merge.",
            verdict.reason
        ),
        Some(d) => d.summary.trim().to_string(),
        None => fallback_summary(&info, &counts),
    };
    let mut info = info;
    if !notes.is_empty() {
        info.note = Some(notes.join("; "));
    }
    let (prompt_improvements, context_updates) = decisions
        .as_ref()
        .map(|d| (d.prompt_improvements.clone(), d.context_updates.clone()))
        .unwrap_or_default();

    Report {
        schema_version: SCHEMA_VERSION,
        run: inputs.run.clone(),
        target: inputs.target.clone(),
        reviewers: inputs
            .agents
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
            .collect(),
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
        declined: inputs.declined.clone(),
        unresolved_feedback: inputs.unresolved_feedback.clone(),
        agents,
        reconciliation,
        process_notes: ProcessNotes {
            prompt_improvements,
            context_updates,
        },
        appendix,
        incomplete: failed_agents || !info.performed,
        consolidation: info,
    }
}

fn render_finding(findings: &[Finding], k: &Kept, id: String) -> ReportFinding {
    // The location and excerpt come from the best-evidenced member.
    let best = *k
        .members
        .iter()
        .min_by_key(|&&i| match findings[i].checked.evidence {
            Evidence::Verified => 0,
            Evidence::Relocated { .. } => 1,
            Evidence::Unverified { .. } => 2,
            Evidence::InvalidPath { .. } => 3,
        })
        .expect("a kept group has members");
    let lead = *k
        .members
        .iter()
        .min_by_key(|&&i| findings[i].raw.severity)
        .expect("a kept group has members");
    let f = &findings[best];
    let (evidence, mut evidence_note) = match &f.checked.evidence {
        Evidence::Verified => (EvidenceStatus::Verified, None),
        Evidence::Relocated {
            from_start,
            from_end,
        } => (
            EvidenceStatus::Relocated,
            Some(format!(
                "cited at lines {from_start}-{from_end}; the quoted code is at {}-{}",
                f.checked.line_start, f.checked.line_end
            )),
        ),
        other => (EvidenceStatus::Unverified, Some(evidence_reason(other))),
    };
    if let Some(note) = k
        .decision
        .as_ref()
        .and_then(|d| d.evidence_note.as_deref())
        .filter(|n| !n.trim().is_empty())
        && evidence == EvidenceStatus::Unverified
    {
        evidence_note = Some(format!(
            "{}; kept because: {}",
            evidence_note.unwrap_or_default(),
            note.trim()
        ));
    }
    let mut agents: Vec<String> = Vec::new();
    for &m in &k.members {
        if !agents.contains(&findings[m].agent) {
            agents.push(findings[m].agent.clone());
        }
    }
    let raw = &findings[lead].raw;
    let (title, category, body, fix) = match &k.decision {
        Some(d) => (d.title.clone(), d.category, d.body.clone(), d.fix.clone()),
        None => (
            raw.title.clone(),
            raw.category,
            raw.body.clone(),
            raw.fix.clone(),
        ),
    };
    ReportFinding {
        id,
        severity: k.severity,
        category,
        title: title.trim().to_string(),
        path: f.checked.path.clone(),
        line_start: f.checked.line_start,
        line_end: f.checked.line_end,
        agents,
        evidence,
        evidence_note,
        excerpt: f.checked.excerpt.clone(),
        language: language(&f.checked.path).to_string(),
        body: body.trim().to_string(),
        fix: fix.trim().to_string(),
        severity_note: k.severity_note.clone(),
        prior: None,
        flags: k.flags.clone(),
        sources: k.members.iter().map(|&m| findings[m].key.clone()).collect(),
    }
}

fn evidence_reason(e: &Evidence) -> String {
    match e {
        Evidence::Verified => "verified".into(),
        Evidence::Relocated { .. } => "relocated".into(),
        Evidence::Unverified { reason } | Evidence::InvalidPath { reason } => reason.clone(),
    }
}

fn highest(severities: impl Iterator<Item = Severity>) -> Severity {
    severities.min().unwrap_or(Severity::Suggestion)
}

fn raisers(findings: &[Finding], members: &[usize], severity: Severity, inputs: &Inputs) -> String {
    let mut names: Vec<String> = Vec::new();
    for &m in members {
        let name = display(inputs, &findings[m].agent);
        if findings[m].raw.severity == severity && !names.contains(&name) {
            names.push(name);
        }
    }
    names.join(" and ")
}

pub fn severity_label(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "Critical",
        Severity::Important => "Important",
        Severity::Suggestion => "Suggestion",
    }
}

pub fn severity_letter(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "C",
        Severity::Important => "I",
        Severity::Suggestion => "S",
    }
}

/// Never "Merge" for a review that did not happen: with no usable answer
/// the decision is `not_reviewed`; with some missing, the reason says
/// which agents reviewed and which did not.
fn honest(verdict: VerdictInfo, agents: &[AgentResult]) -> VerdictInfo {
    let missing: Vec<String> = agents
        .iter()
        .filter(|a| !a.succeeded())
        .map(|a| {
            let why = if a.outcome.status == crate::agents::Status::Ok {
                "no usable answer".to_string()
            } else {
                a.outcome.status.name().replace('_', " ")
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

fn fallback_summary(info: &ConsolidationInfo, counts: &Counts) -> String {
    format!(
        "Consolidation was not performed ({}). Findings are merged by location only, each keeps the highest \
         severity any agent gave it, and none was dropped except for invalid paths. Structure: {} critical, {} important, {} suggestions.",
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

fn display(inputs: &Inputs, agent: &str) -> String {
    inputs
        .agents
        .iter()
        .find(|r| r.outcome.name == agent)
        .map(|r| r.outcome.display_name.clone())
        .unwrap_or_else(|| agent.to_string())
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
