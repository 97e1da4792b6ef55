//! The round-to-round parts of a report, as plain text each format
//! escapes its own way: *Previous Round — Status*, what the author
//! recorded about a finding, and the *Resolution* section `show` adds.

use super::model::*;

/// A row of *Previous Round — Status*: finding, its title, what the author
/// did, what this round found, and its code at the new head.
pub struct PriorRow {
    pub finding: String,
    pub title: String,
    pub resolution: String,
    pub this_round: String,
    pub head: String,
}

pub fn prior_rows(r: &Report) -> Vec<PriorRow> {
    r.prior_round
        .iter()
        .map(|p| PriorRow {
            finding: format!("{} (round {})", p.id, p.round),
            title: p.title.clone(),
            resolution: p
                .resolution
                .as_ref()
                .map_or_else(|| "none recorded".to_string(), by_whom),
            this_round: match &p.now_id {
                Some(now) => format!("{} as {now}", p.outcome.label()),
                None => p.outcome.label().to_string(),
            },
            head: match &p.note {
                Some(note) => format!("{}; {note}", p.head.label()),
                None => p.head.label().to_string(),
            },
        })
        .collect()
}

/// Who, without the `@` that would notify them in every posted round.
fn by_whom(r: &Resolution) -> String {
    match &r.by {
        Some(by) => format!(
            "{} (by {} on GitHub)",
            r.describe(),
            by.trim_start_matches('@')
        ),
        None => r.describe(),
    }
}

/// "After round 2, the author marked I1 fixed in abc1234." for a finding
/// raised again or carried over.
pub fn of_finding(f: &ReportFinding) -> Option<String> {
    f.resolution.as_ref().map(|r| {
        format!(
            "After round {}, {} was marked {}.",
            r.round,
            r.id,
            by_whom(r)
        )
    })
}

/// The *Resolution* section's opening line: when, and which commits.
pub fn intro(r: &Report) -> Option<String> {
    let first = r.resolutions.first()?;
    let date = |at: &str| at.get(..10).unwrap_or(at).to_string();
    let mut dates: Vec<String> = r.resolutions.iter().map(|x| date(&x.at)).collect();
    dates.sort();
    dates.dedup();
    let mut commits: Vec<&str> = Vec::new();
    for c in r.resolutions.iter().flat_map(|x| &x.commits) {
        if !commits.contains(&c.as_str()) {
            commits.push(c);
        }
    }
    let mut line = format!("Recorded {} for round {}.", dates.join(", "), first.round);
    if !commits.is_empty() {
        line.push_str(&format!(" Commits: {}.", commits.join(", ")));
    }
    Some(line)
}

/// The *Resolution* table: finding, its title, action, reason (and who).
pub fn rows(r: &Report) -> Vec<[String; 4]> {
    r.resolutions
        .iter()
        .map(|x| {
            let title = r
                .findings
                .iter()
                .find(|f| f.id == x.id)
                .map(|f| f.title.clone())
                .unwrap_or_default();
            let mut reason = x.reason.clone();
            if !x.commits.is_empty() {
                let commits = x.commits.join(", ");
                reason = if reason.is_empty() {
                    format!("in {commits}")
                } else {
                    format!("{reason} (in {commits})")
                };
            }
            if let Some(by) = &x.by {
                let by = format!("by {} on GitHub", by.trim_start_matches('@'));
                reason = if reason.is_empty() {
                    by
                } else {
                    format!("{reason} — {by}")
                };
            }
            [x.id.clone(), title, x.action.label().to_string(), reason]
        })
        .collect()
}
