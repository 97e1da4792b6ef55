//! A round against the ledger, in two steps around numbering. `sort_out`
//! says what each of this round's findings is to the ledger (new, raised
//! again, declined before) before any id is given, so a finding declined
//! before never takes an id; `record` writes the numbered round into the
//! ledger and returns what changed, for the report to say.

use super::fingerprint::{Fingerprint, anchor, same_finding};
use super::{ContextProposal, Entry, Ledger, Status, one_line};
use crate::domain::Severity;
use crate::findings::answer::PriorState;
use crate::report::model::Declined;

/// The statuses agents or the consolidator gave earlier findings, by id.
pub type PriorStatuses = Vec<(String, PriorState)>;

/// What a finding of this round is to the ledger.
#[derive(Debug, Clone, PartialEq)]
pub enum Match {
    New,
    /// Raised in an earlier round (ledger entry `entry`).
    Again {
        entry: usize,
        prior: String,
    },
    /// Declined before and its code unchanged: not raised as new.
    Declined {
        entry: usize,
        reason: String,
    },
    /// Declined before, shown again because the code it concerns changed;
    /// the author's decision stands until they reopen it.
    DeclinedChanged {
        entry: usize,
        prior: String,
    },
}

impl Match {
    /// What the report says of the finding's history.
    pub fn prior(&self) -> Option<&str> {
        match self {
            Match::Again { prior, .. } | Match::DeclinedChanged { prior, .. } => Some(prior),
            Match::New | Match::Declined { .. } => None,
        }
    }

    fn entry(&self) -> Option<usize> {
        match self {
            Match::New => None,
            Match::Again { entry, .. }
            | Match::Declined { entry, .. }
            | Match::DeclinedChanged { entry, .. } => Some(*entry),
        }
    }
}

/// Matches this round's findings with the ledger's entries, each entry
/// with one finding at most.
pub fn sort_out(ledger: &Ledger, findings: &[Fingerprint]) -> Vec<Match> {
    let mut taken = vec![false; ledger.entries.len()];
    findings
        .iter()
        .map(|fp| {
            let hit = (0..ledger.entries.len())
                .find(|&i| !taken[i] && same_finding(&ledger.entries[i].fingerprint, fp));
            let Some(i) = hit else {
                return Match::New;
            };
            taken[i] = true;
            let entry = &ledger.entries[i];
            match &entry.status {
                Status::Declined { since, reason } => {
                    let changed = !fp.anchor.is_empty() && fp.anchor != entry.fingerprint.anchor;
                    if changed {
                        Match::DeclinedChanged {
                            entry: i,
                            prior: format!(
                                "declined in round {since} as {} ({reason}); raised again because the code it concerns changed",
                                entry.id
                            ),
                        }
                    } else {
                        Match::Declined {
                            entry: i,
                            reason: format!("declined in round {since} as {}: {reason}", entry.id),
                        }
                    }
                }
                _ => Match::Again {
                    entry: i,
                    prior: format!("raised in round {} as {}", entry.round, entry.id),
                },
            }
        })
        .collect()
}

/// A finding of this round as numbered in the report.
pub struct Numbered<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub severity: Severity,
    pub line: u32,
    pub fingerprint: Fingerprint,
    pub matched: &'a Match,
}

/// The round being recorded.
pub struct Round<'a> {
    pub number: u32,
    pub run_id: &'a str,
    /// What reviewers said of earlier findings.
    pub priors: &'a PriorStatuses,
    /// A file's text at the reviewed commit (None when it is gone): a
    /// finding nobody raised again counts as addressed only if a reviewer
    /// said so or the code it pointed at changed.
    pub code_at_head: &'a dyn Fn(&str) -> Option<String>,
}

/// A finding the round line names: its id in the round it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct Named {
    pub id: String,
    pub round: u32,
    pub title: String,
    /// For one raised again: its id and round before.
    pub was: Option<(String, u32)>,
}

/// What one round did to the ledger, for the report.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RoundChanges {
    pub addressed: Vec<Named>,
    /// Raised again this round (the declined among them included).
    pub raised_again: Vec<Named>,
    /// Not raised again, but reviewers said they are still open: they stay
    /// open, and are not among this round's findings.
    pub said_open: Vec<Named>,
    pub no_longer_applies: Vec<Named>,
    /// Not raised again, but the code they point at is unchanged and no
    /// reviewer said they were addressed: they stay open.
    pub unchanged: Vec<Named>,
}

impl RoundChanges {
    fn is_empty(&self) -> bool {
        self.addressed.is_empty()
            && self.raised_again.is_empty()
            && self.said_open.is_empty()
            && self.no_longer_applies.is_empty()
            && self.unchanged.is_empty()
    }

    /// The line that opens a later round's summary, when there is news.
    pub fn summary_line(&self, round: u32) -> Option<String> {
        (round > 1 && !self.is_empty()).then(|| round_line(round, self))
    }
}

/// The round as the ledger took it.
pub struct Recorded {
    pub changes: RoundChanges,
    /// Everything declined so far, for *Declined in prior rounds*.
    pub declined: Vec<Declined>,
}

/// Records a numbered round: raised-again entries take their new id,
/// earlier open entries not raised again become addressed (or what the
/// reviewers said), new findings are added, and the round's context
/// updates are proposed.
pub fn record(
    ledger: &mut Ledger,
    round: &Round,
    findings: &[Numbered],
    context_updates: &[String],
    reraised: &[(usize, Vec<String>)],
) -> Recorded {
    let number = round.number;
    ledger.round = ledger.round.max(number);
    let matched: Vec<usize> = findings.iter().filter_map(|f| f.matched.entry()).collect();
    let mut changes = RoundChanges::default();
    for (i, entry) in ledger.entries.iter_mut().enumerate() {
        if !matched.contains(&i) && entry.status == Status::Open {
            settle_unraised(entry, round, &mut changes);
        }
    }
    let mut code_changed = Vec::new();
    for f in findings {
        let again = |e: &Entry| Named {
            id: f.id.to_string(),
            round: number,
            title: f.title.to_string(),
            was: Some((e.id.clone(), e.round)),
        };
        match f.matched {
            Match::Declined { .. } => {}
            Match::DeclinedChanged { entry, .. } => {
                // Still declined: it keeps the fingerprint it was declined with.
                code_changed.push(*entry);
                changes.raised_again.push(again(&ledger.entries[*entry]));
            }
            Match::Again { entry, .. } => {
                changes.raised_again.push(again(&ledger.entries[*entry]));
                let e = &mut ledger.entries[*entry];
                e.id = f.id.to_string();
                e.round = number;
                e.title = f.title.to_string();
                e.severity = f.severity;
                e.line = f.line;
                e.fingerprint = f.fingerprint.clone();
                e.status = Status::Open;
            }
            Match::New => ledger.entries.push(Entry {
                id: f.id.to_string(),
                round: number,
                first_round: number,
                title: f.title.to_string(),
                severity: f.severity,
                line: f.line,
                fingerprint: f.fingerprint.clone(),
                status: Status::Open,
                raised_again: 0,
            }),
        }
    }
    for (entry, _) in reraised {
        if let Some(e) = ledger.entries.get_mut(*entry) {
            e.raised_again += 1;
        }
    }
    let declined = ledger
        .entries
        .iter()
        .enumerate()
        .filter_map(|(i, e)| match &e.status {
            Status::Declined { since, reason } => Some(Declined {
                id: e.id.clone(),
                title: e.title.clone(),
                path: e.fingerprint.path.clone(),
                round: *since,
                reason: reason.clone(),
                code_changed: code_changed.contains(&i),
                raised_again_by: reraised
                    .iter()
                    .find(|(entry, _)| *entry == i)
                    .map(|(_, agents)| agents.clone())
                    .unwrap_or_default(),
                rounds_raised_again: e.raised_again,
            }),
            _ => None,
        })
        .collect();
    let start = ledger.context_proposals.len();
    for (i, text) in context_updates.iter().enumerate() {
        ledger.context_proposals.push(ContextProposal {
            id: format!("P{}", start + i + 1),
            round: number,
            run_id: round.run_id.to_string(),
            text: text.clone(),
            applied: false,
        });
    }
    Recorded { changes, declined }
}

/// An open entry nobody raised this round: what the reviewers said of
/// it, else addressed only if the code it points at is gone.
fn settle_unraised(entry: &mut Entry, round: &Round, changes: &mut RoundChanges) {
    let said = round
        .priors
        .iter()
        .find(|(id, _)| id.eq_ignore_ascii_case(&entry.id))
        .map(|(_, s)| *s);
    let item = Named {
        id: entry.id.clone(),
        round: entry.round,
        title: entry.title.clone(),
        was: None,
    };
    match said {
        Some(PriorState::NoLongerApplies) => {
            entry.status = Status::NoLongerApplies {
                since: round.number,
            };
            changes.no_longer_applies.push(item);
        }
        // Reviewers called it still open but nobody raised it: keep it
        // open rather than claim it was fixed.
        Some(PriorState::StillOpen) => changes.said_open.push(item),
        Some(PriorState::Addressed) => {
            entry.status = Status::Addressed {
                since: round.number,
            };
            changes.addressed.push(item);
        }
        None => {
            let anchor_code = &entry.fingerprint.anchor;
            let unchanged = !anchor_code.is_empty()
                && (round.code_at_head)(&entry.fingerprint.path)
                    .is_some_and(|text| anchor(&text).contains(anchor_code.as_str()));
            if unchanged {
                changes.unchanged.push(item);
            } else {
                entry.status = Status::Addressed {
                    since: round.number,
                };
                changes.addressed.push(item);
            }
        }
    }
}

/// "Round 3. Addressed since the last round: S1 of round 2 (…). Raised
/// again: I1, raised in round 2 as I3 (…)." Every id says its round.
pub fn round_line(round: u32, changes: &RoundChanges) -> String {
    let list = |items: &[Named]| {
        items
            .iter()
            .map(|n| {
                let title = one_line(&n.title);
                match &n.was {
                    Some((id, r)) => format!("{}, raised in round {r} as {id} ({title})", n.id),
                    None => format!("{} of round {} ({title})", n.id, n.round),
                }
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    let mut parts = vec![format!("Round {round}.")];
    for (items, what) in [
        (&changes.addressed, "Addressed since the last round"),
        (&changes.no_longer_applies, "No longer applies"),
        (&changes.raised_again, "Raised again"),
        (
            &changes.said_open,
            "Not raised again, but the reviewers say still open",
        ),
        (
            &changes.unchanged,
            "Not raised again, but their code is unchanged, so still open",
        ),
    ] {
        if !items.is_empty() {
            parts.push(format!("{what}: {}.", list(items)));
        }
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A later round opens its summary with news only when there is some;
    /// the first round never does.
    #[test]
    fn the_summary_line_is_there_only_with_news() {
        let mut changes = RoundChanges::default();
        assert_eq!(changes.summary_line(2), None);
        changes.addressed.push(Named {
            id: "S1".into(),
            round: 1,
            title: "t".into(),
            was: None,
        });
        assert_eq!(
            changes.summary_line(2).as_deref(),
            Some("Round 2. Addressed since the last round: S1 of round 1 (t).")
        );
        assert_eq!(changes.summary_line(1), None);
    }
}
