//! Phase two: a kept group as a report finding — its words, the location
//! and excerpt of its best-evidenced member, its agents.

use super::place::{Kept, evidence_reason};
use crate::findings::evidence::language;
use crate::findings::{Evidence, Finding};
use crate::report::model::{EvidenceStatus, RelatedLocation, ReportFinding};

/// A kept group as the report shows it, before it has an id: the
/// consolidator's words when it decided, else the most severe member's.
pub fn draft(findings: &[Finding], k: &Kept) -> ReportFinding {
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
        id: String::new(),
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
        resolution: None,
        flags: k.flags.clone(),
        sources: k.members.iter().map(|&m| findings[m].key.clone()).collect(),
        related: related(findings, &k.members, best),
    }
}

/// Related places whose quote is shorter than this (non-space
/// characters) prove nothing: `)` is found anywhere.
const MIN_RELATED_QUOTE: usize = 8;

/// The group's other places whose quoted code was found where cited
/// (a place that moved or is not there would mislead): the best-evidenced
/// member's first, then the others', none overlapping another or the main
/// location, at most [`MAX_RELATED`].
fn related(findings: &[Finding], members: &[usize], best: usize) -> Vec<RelatedLocation> {
    let main = &findings[best].checked;
    let overlaps = |path: &str, s: u32, e: u32, o_path: &str, os: u32, oe: u32| {
        path == o_path && s <= oe && os <= e
    };
    let mut out: Vec<RelatedLocation> = Vec::new();
    let order = std::iter::once(best).chain(members.iter().copied().filter(|&m| m != best));
    for m in order {
        for r in &findings[m].related {
            let c = &r.checked;
            let quoted = r.quote.chars().filter(|ch| !ch.is_whitespace()).count();
            if c.evidence != Evidence::Verified
                || quoted < MIN_RELATED_QUOTE
                || overlaps(
                    &c.path,
                    c.line_start,
                    c.line_end,
                    &main.path,
                    main.line_start,
                    main.line_end,
                )
                || out.iter().any(|o| {
                    overlaps(
                        &c.path,
                        c.line_start,
                        c.line_end,
                        &o.path,
                        o.line_start,
                        o.line_end,
                    )
                })
            {
                continue;
            }
            out.push(RelatedLocation {
                path: c.path.clone(),
                line_start: c.line_start,
                line_end: c.line_end,
                why: r.why.clone(),
                evidence: EvidenceStatus::Verified,
                excerpt: c.excerpt.clone(),
                language: language(&c.path).to_string(),
            });
            if out.len() == crate::findings::MAX_RELATED {
                return out;
            }
        }
    }
    out
}
