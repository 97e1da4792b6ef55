//! Phase one: every checked finding placed exactly once — kept in a group
//! or dropped with a reason — from the consolidator's decisions, checked,
//! or by location alone when there are none. Nothing is lost: what the
//! consolidator forgot is kept as the agent wrote it, and flagged.

use std::collections::{HashMap, HashSet};

use super::decisions::{Decisions, DropDecision, DropDecisionKind, GroupDecision};
use crate::domain::Severity;
use crate::findings::group::{Grouping, groups};
use crate::findings::{Evidence, Finding};
use crate::report::model::{DropKind, Dropped};

/// A kept finding: the agents' findings it merges (indexes into the
/// checked findings), before it is numbered.
#[derive(Debug, Clone)]
pub struct Kept {
    pub members: Vec<usize>,
    pub severity: Severity,
    pub decision: Option<GroupDecision>,
    pub severity_note: Option<String>,
    pub flags: Vec<String>,
}

#[derive(Debug, Default)]
pub struct Placement {
    pub kept: Vec<Kept>,
    pub dropped: Vec<Dropped>,
    /// What was wrong with the decisions, for the report's process notes.
    pub notes: Vec<String>,
}

/// Places `findings` by `decisions`, else by location. `display` names an
/// agent as the report does.
pub fn place(
    findings: &[Finding],
    decisions: Option<&Decisions>,
    display: &dyn Fn(&str) -> String,
) -> Placement {
    match decisions {
        Some(d) => decided(findings, d, display),
        None => by_location(findings),
    }
}

/// A dropped finding as the report lists it.
pub fn dropped(f: &Finding, kind: DropKind, reason: String) -> Dropped {
    Dropped {
        agent: f.agent.clone(),
        source: f.key.clone(),
        title: f.raw.title.clone(),
        path: f.raw.path.clone(),
        severity: f.raw.severity,
        kind,
        reason,
    }
}

fn decided(findings: &[Finding], d: &Decisions, display: &dyn Fn(&str) -> String) -> Placement {
    let index: HashMap<&str, usize> = findings
        .iter()
        .enumerate()
        .map(|(i, f)| (f.key.as_str(), i))
        .collect();
    let mut out = Placement::default();
    let mut assigned: HashSet<usize> = HashSet::new();
    for group in &d.groups {
        let mut members = Vec::new();
        for key in &group.members {
            match index.get(key.as_str()) {
                Some(&i) if assigned.insert(i) => members.push(i),
                Some(_) => out.notes.push(format!(
                    "the consolidator placed {key} twice; the first placement counts"
                )),
                None => out.notes.push(format!(
                    "the consolidator named an unknown finding {key}; ignored"
                )),
            }
        }
        if !members.is_empty() {
            keep_group(findings, group, members, display, &mut out);
        }
    }
    for decision in &d.dropped {
        match index.get(decision.finding.as_str()) {
            Some(&i) if assigned.insert(i) => {
                out.dropped.push(dropped(
                    &findings[i],
                    drop_kind(decision),
                    drop_reason(decision),
                ));
            }
            Some(_) => out.notes.push(format!(
                "the consolidator both kept and dropped {}; kept",
                decision.finding
            )),
            None => out.notes.push(format!(
                "the consolidator dropped an unknown finding {}; ignored",
                decision.finding
            )),
        }
    }
    for (i, f) in findings.iter().enumerate() {
        if assigned.contains(&i) {
            continue;
        }
        if let Evidence::InvalidPath { .. } = f.checked.evidence {
            out.dropped.push(dropped(
                f,
                DropKind::InvalidPath,
                evidence_reason(&f.checked.evidence),
            ));
            continue;
        }
        out.kept.push(Kept {
            members: vec![i],
            severity: f.raw.severity,
            decision: None,
            severity_note: None,
            flags: vec![
                "the consolidator did not account for this finding; kept as the agent wrote it"
                    .into(),
            ],
        });
    }
    out
}

/// One group the consolidator kept, checked: a severity change needs a
/// reason, an unverified quote needs a note to be kept, invalid paths go.
fn keep_group(
    findings: &[Finding],
    group: &GroupDecision,
    members: Vec<usize>,
    display: &dyn Fn(&str) -> String,
    out: &mut Placement,
) {
    let original = highest(members.iter().map(|&i| findings[i].raw.severity));
    let mut severity = group.severity;
    let mut flags = Vec::new();
    let mut severity_note = None;
    if severity != original {
        match non_empty(group.severity_reason.as_deref()) {
            Some(reason) => {
                let raisers = raisers(findings, &members, original, display);
                let verb = if severity > original {
                    "demoted"
                } else {
                    "promoted"
                };
                severity_note = Some(format!(
                    "{raisers} raised this as {}; {verb} to {}: {reason}",
                    original.label(),
                    severity.label()
                ));
            }
            None => {
                flags.push(format!(
                    "the consolidator changed the severity to {} without a reason; kept as {}",
                    severity.label(),
                    original.label()
                ));
                severity = original;
            }
        }
    }
    let evidence = |i: usize| &findings[i].checked.evidence;
    if members
        .iter()
        .all(|&i| matches!(evidence(i), Evidence::InvalidPath { .. }))
    {
        for &i in &members {
            let reason = evidence_reason(evidence(i));
            out.dropped
                .push(dropped(&findings[i], DropKind::InvalidPath, reason));
        }
        return;
    }
    let trusted = members.iter().any(|&i| evidence(i).is_trusted());
    if !trusted && non_empty(group.evidence_note.as_deref()).is_none() {
        for &i in &members {
            let reason = format!(
                "{}; the consolidator gave no reason to keep it",
                evidence_reason(evidence(i))
            );
            out.dropped
                .push(dropped(&findings[i], DropKind::Unverified, reason));
        }
        return;
    }
    out.kept.push(Kept {
        members,
        severity,
        decision: Some(group.clone()),
        severity_note,
        flags,
    });
}

/// Without decisions: merged by location, each group at the highest
/// severity any agent gave it; only invalid paths are dropped.
fn by_location(findings: &[Finding]) -> Placement {
    let mut out = Placement::default();
    for group in groups(findings, Grouping::Final) {
        let (invalid, members): (Vec<usize>, Vec<usize>) = group
            .into_iter()
            .partition(|&i| matches!(findings[i].checked.evidence, Evidence::InvalidPath { .. }));
        for i in invalid {
            let reason = evidence_reason(&findings[i].checked.evidence);
            out.dropped
                .push(dropped(&findings[i], DropKind::InvalidPath, reason));
        }
        if members.is_empty() {
            continue;
        }
        let severity = highest(members.iter().map(|&i| findings[i].raw.severity));
        out.kept.push(Kept {
            members,
            severity,
            decision: None,
            severity_note: None,
            flags: vec![],
        });
    }
    out
}

fn drop_kind(decision: &DropDecision) -> DropKind {
    match decision.kind {
        DropDecisionKind::FalsePositive => DropKind::FalsePositive,
        DropDecisionKind::OutOfScope => DropKind::OutOfScope,
        DropDecisionKind::NotActionable => DropKind::NotActionable,
        DropDecisionKind::DeclinedBefore => DropKind::DeclinedBefore,
        DropDecisionKind::Duplicate => DropKind::Duplicate,
    }
}

fn drop_reason(decision: &DropDecision) -> String {
    non_empty(Some(&decision.reason))
        .unwrap_or("no reason given")
        .to_string()
}

fn non_empty(text: Option<&str>) -> Option<&str> {
    text.map(str::trim).filter(|t| !t.is_empty())
}

pub fn evidence_reason(e: &Evidence) -> String {
    match e {
        Evidence::Verified => "verified".into(),
        Evidence::Relocated { .. } => "relocated".into(),
        Evidence::Unverified { reason } | Evidence::InvalidPath { reason } => reason.clone(),
    }
}

fn highest(severities: impl Iterator<Item = Severity>) -> Severity {
    severities.min().unwrap_or(Severity::Suggestion)
}

/// "Claude and Codex": who raised the group at `severity`.
fn raisers(
    findings: &[Finding],
    members: &[usize],
    severity: Severity,
    display: &dyn Fn(&str) -> String,
) -> String {
    let mut names: Vec<String> = Vec::new();
    for &m in members {
        let name = display(&findings[m].agent);
        if findings[m].raw.severity == severity && !names.contains(&name) {
            names.push(name);
        }
    }
    names.join(" and ")
}
