//! A round against the ledger, in two steps around numbering. `sort_out`
//! says what each of this round's findings is to the ledger (new, raised
//! again, declined before) and what becomes of the earlier open findings
//! nobody raised (carried over, resolved, addressed) before any id is
//! given, so a finding declined before never takes an id and a carried-over
//! one takes its place among this round's; `record` writes the numbered
//! round into the ledger and returns what changed, for the report to say.

use super::carry::{self, Fate};
use super::fingerprint::{Fingerprint, same_finding};
use super::{ContextProposal, Entry, Ledger, Status, one_line};
use crate::domain::{Action, Resolution, id_order};
use crate::findings::answer::PriorState;
use crate::report::model::{Declined, HeadCheck, PriorFinding, PriorOutcome, ReportFinding};

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
    /// Open from an earlier round, raised by nobody, resolved by nobody:
    /// shown again in full.
    CarriedOver {
        entry: usize,
        prior: String,
    },
}

impl Match {
    /// What the report says of the finding's history.
    pub fn prior(&self) -> Option<&str> {
        match self {
            Match::Again { prior, .. }
            | Match::DeclinedChanged { prior, .. }
            | Match::CarriedOver { prior, .. } => Some(prior),
            Match::New | Match::Declined { .. } => None,
        }
    }

    pub fn entry(&self) -> Option<usize> {
        match self {
            Match::New => None,
            Match::Again { entry, .. }
            | Match::Declined { entry, .. }
            | Match::DeclinedChanged { entry, .. }
            | Match::CarriedOver { entry, .. } => Some(*entry),
        }
    }
}

/// This round against the ledger, before numbering.
#[derive(Debug, Clone, PartialEq)]
pub struct SortedOut {
    /// One per finding of this round.
    pub matches: Vec<Match>,
    /// Earlier open findings to show again, with their match.
    pub carried: Vec<(ReportFinding, Match)>,
    /// What became of each earlier open finding nobody raised, with its
    /// code at the new head.
    pub unraised: Vec<(usize, Fate, HeadCheck)>,
}

impl SortedOut {
    /// For a finding raised again: what the author had recorded about it.
    pub fn resolution(ledger: &Ledger, matched: &Match) -> Option<Resolution> {
        match matched {
            Match::Again { entry, .. } => ledger.entries[*entry].resolution().cloned(),
            _ => None,
        }
    }
}

/// Matches this round's findings with the ledger's entries, each entry
/// with one finding at most, and settles the open entries nobody raised.
pub fn sort_out(ledger: &Ledger, findings: &[Fingerprint], round: &Round) -> SortedOut {
    let mut taken = vec![false; ledger.entries.len()];
    let matches = findings
        .iter()
        .map(|fp| {
            // Of the entries it could be, the one quoting the same code,
            // then an open one, then the latest raised: a finding raised
            // again never leaves its own entry to be carried over as well.
            let hit = (0..ledger.entries.len())
                .filter(|&i| !taken[i] && same_finding(&ledger.entries[i].fingerprint, fp))
                .max_by_key(|&i| {
                    let e = &ledger.entries[i];
                    let same_code = !fp.anchor.is_empty() && e.fingerprint.anchor == fp.anchor;
                    (
                        same_code,
                        e.status == Status::Open,
                        e.round,
                        std::cmp::Reverse(i),
                    )
                });
            let Some(i) = hit else {
                return Match::New;
            };
            taken[i] = true;
            matched(i, &ledger.entries[i], fp)
        })
        .collect();
    let mut carried = Vec::new();
    let mut unraised = Vec::new();
    for (i, entry) in ledger.entries.iter().enumerate() {
        if taken[i] || entry.status != Status::Open {
            continue;
        }
        // Reviewers name findings by id; an older entry that kept an id
        // of a round long gone is not the one they mean.
        let said = round
            .priors
            .iter()
            .find(|(id, _)| {
                id.eq_ignore_ascii_case(&entry.id)
                    && super::owner_of(&ledger.entries, id) == Some(i)
            })
            .map(|(_, s)| *s);
        let check = carry::head_check(&entry.fingerprint, round.code_at_head);
        let fate = carry::fate(entry, said, check);
        if let Fate::Carry { flag } = &fate {
            let finding = carry::carried_finding(entry, check, flag.clone(), round.code_at_head);
            let prior = finding.prior.clone().unwrap_or_default();
            carried.push((finding, Match::CarriedOver { entry: i, prior }));
        }
        unraised.push((i, fate, check));
    }
    SortedOut {
        matches,
        carried,
        unraised,
    }
}

fn matched(i: usize, entry: &Entry, fp: &Fingerprint) -> Match {
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
        _ => {
            let mut prior = format!("raised in round {} as {}", entry.round, entry.id);
            if let Some(r) = entry.resolution() {
                prior.push_str(&format!("; the author marked it {}", r.describe()));
            }
            Match::Again { entry: i, prior }
        }
    }
}

/// A finding of this round as numbered in the report.
pub struct Numbered<'a> {
    pub finding: &'a ReportFinding,
    pub fingerprint: Fingerprint,
    pub matched: &'a Match,
}

/// The round being recorded.
pub struct Round<'a> {
    pub number: u32,
    pub run_id: &'a str,
    /// What reviewers said of earlier findings.
    pub priors: &'a PriorStatuses,
    /// A file's text at the reviewed commit (None when it is gone): the
    /// quote of an earlier finding is looked up in it.
    pub code_at_head: &'a dyn Fn(&str) -> Option<String>,
    /// Now (RFC 3339, UTC, whole seconds): PR comments older than this
    /// named the ids of an earlier round.
    pub recorded_at: &'a str,
}

/// A finding the round line names: its id in the round it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct Named {
    pub id: String,
    pub round: u32,
    pub title: String,
    /// For one raised again or carried over: its id and round before.
    pub was: Option<(String, u32)>,
    /// For one the author resolved: what they did ("fixed in abc1234").
    pub how: Option<String>,
}

/// What one round did to the ledger, for the report.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RoundChanges {
    /// Resolved by the author, and the head agrees.
    pub resolved: Vec<Named>,
    /// Skipped or declined by the author since the last round.
    pub decided: Vec<Named>,
    /// A reviewer said so.
    pub addressed: Vec<Named>,
    pub no_longer_applies: Vec<Named>,
    /// Raised again this round (the declined among them included).
    pub raised_again: Vec<Named>,
    /// Open, raised by nobody, resolved by nobody: shown again.
    pub carried_over: Vec<Named>,
}

impl RoundChanges {
    fn is_empty(&self) -> bool {
        self.resolved.is_empty()
            && self.decided.is_empty()
            && self.addressed.is_empty()
            && self.no_longer_applies.is_empty()
            && self.raised_again.is_empty()
            && self.carried_over.is_empty()
    }

    /// The line that opens a later round's summary, when there is news.
    pub fn summary_line(&self, round: u32, since: u32) -> Option<String> {
        (round > 1 && !self.is_empty()).then(|| round_line(since, self))
    }
}

/// The round as the ledger took it.
pub struct Recorded {
    pub changes: RoundChanges,
    /// Everything declined so far, for *Declined in prior rounds*.
    pub declined: Vec<Declined>,
    /// Every finding of the previous round and what became of it.
    pub prior_round: Vec<PriorFinding>,
    /// The previous round's number (0: none).
    pub since: u32,
}

/// Records a numbered round: raised-again and carried-over entries take
/// their new id, the others nobody raised take their fate, new findings
/// are added, and the round's context updates are proposed.
pub fn record(
    ledger: &mut Ledger,
    round: &Round,
    findings: &[Numbered],
    unraised: &[(usize, Fate, HeadCheck)],
    context_updates: &[String],
    reraised: &[(usize, Vec<String>)],
) -> Recorded {
    let number = round.number;
    // The last round before this one, findings or not.
    let since = ledger
        .entries
        .iter()
        .map(|e| e.round)
        .chain([ledger.round])
        .filter(|&r| r < number)
        .max()
        .unwrap_or(0);
    let prior_round = prior_rows(ledger, round, since, (findings, reraised), unraised);
    let changes = changes(ledger, since, findings, unraised);
    ledger.round = ledger.round.max(number);
    ledger.recorded_at = Some(round.recorded_at.to_string());
    for (i, fate, _) in unraised {
        let e = &mut ledger.entries[*i];
        e.status = match fate {
            Fate::Carry { .. } => continue,
            Fate::Addressed | Fate::Resolved => Status::Addressed { since: number },
            Fate::NoLongerApplies => Status::NoLongerApplies { since: number },
        };
    }
    let mut code_changed = Vec::new();
    for f in findings {
        let shown = f.finding;
        match f.matched {
            Match::Declined { .. } => {}
            // Still declined: it keeps the fingerprint it was declined with.
            Match::DeclinedChanged { entry, .. } => code_changed.push(*entry),
            Match::Again { entry, .. } | Match::CarriedOver { entry, .. } => {
                let e = &mut ledger.entries[*entry];
                // A carried finding rebuilt from an older ledger has no
                // quote: it keeps the fingerprint it had.
                let rebuilt = matches!(f.matched, Match::CarriedOver { .. }) && e.shown.is_none();
                e.id = shown.id.clone();
                e.round = number;
                e.title = shown.title.clone();
                e.severity = shown.severity;
                e.line = shown.line_start;
                if !rebuilt {
                    e.fingerprint = f.fingerprint.clone();
                }
                e.status = Status::Open;
                e.shown = Some(Box::new(shown.clone()));
            }
            Match::New => ledger.entries.push(Entry {
                id: shown.id.clone(),
                round: number,
                first_round: number,
                title: shown.title.clone(),
                severity: shown.severity,
                line: shown.line_start,
                fingerprint: f.fingerprint.clone(),
                status: Status::Open,
                raised_again: 0,
                resolutions: Vec::new(),
                shown: Some(Box::new(shown.clone())),
                comment: None,
            }),
        }
    }
    for (entry, _) in reraised {
        if let Some(e) = ledger.entries.get_mut(*entry) {
            e.raised_again += 1;
        }
    }
    let declined = declined(ledger, &code_changed, reraised);
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
    Recorded {
        changes,
        declined,
        prior_round,
        since,
    }
}

/// Everything declined or skipped so far.
fn declined(
    ledger: &Ledger,
    code_changed: &[usize],
    reraised: &[(usize, Vec<String>)],
) -> Vec<Declined> {
    ledger
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
                action: e
                    .resolution()
                    .map(|r| r.action)
                    .filter(|a| a.is_decision())
                    .unwrap_or(Action::Declined),
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
        .collect()
}

/// The finding of this round that an entry became, if any.
fn now<'a>(findings: &'a [Numbered], entry: usize) -> Option<&'a Numbered<'a>> {
    findings.iter().find(|f| f.matched.entry() == Some(entry))
}

/// *Previous round — status*: every finding of round `since`.
fn prior_rows(
    ledger: &Ledger,
    round: &Round,
    since: u32,
    (findings, reraised): (&[Numbered], &[(usize, Vec<String>)]),
    unraised: &[(usize, Fate, HeadCheck)],
) -> Vec<PriorFinding> {
    if since == 0 {
        return Vec::new();
    }
    let mut rows: Vec<PriorFinding> = ledger
        .entries
        .iter()
        .enumerate()
        .filter(|(_, e)| e.round == since)
        .map(|(i, e)| {
            let resolution = e.resolution().cloned();
            let found = now(findings, i);
            let fate = unraised.iter().find(|(j, ..)| *j == i);
            let head = match fate {
                Some((_, _, check)) => *check,
                None => carry::head_check(&e.fingerprint, round.code_at_head),
            };
            let outcome = match (found.map(|f| f.matched), fate.map(|(_, f, _)| f)) {
                (Some(Match::Again { .. }), _) => PriorOutcome::RaisedAgain,
                (Some(Match::CarriedOver { .. }), _) => PriorOutcome::CarriedOver,
                // Confirmed: its quoted code changed, or a reviewer agrees.
                (_, Some(Fate::Resolved)) => match resolution.as_ref().map(|r| r.action) {
                    Some(Action::Fixed)
                        if head == HeadCheck::CodeChanged
                            || round.priors.iter().any(|(id, s)| {
                                id.eq_ignore_ascii_case(&e.id) && *s == PriorState::Addressed
                            }) =>
                    {
                        PriorOutcome::ConfirmedFixed
                    }
                    _ => PriorOutcome::Resolved,
                },
                (_, Some(Fate::Addressed)) => PriorOutcome::Addressed,
                (_, Some(Fate::NoLongerApplies)) => PriorOutcome::NoLongerApplies,
                // Every declined entry a finding of this round matched.
                _ if reraised.iter().any(|(j, _)| *j == i) => PriorOutcome::DeclinedRaisedAgain,
                _ => match e.status {
                    Status::Declined { .. } => PriorOutcome::Declined,
                    Status::NoLongerApplies { .. } => PriorOutcome::NoLongerApplies,
                    _ => PriorOutcome::Addressed,
                },
            };
            let fixed = resolution.as_ref().filter(|r| r.action == Action::Fixed);
            let note = match (fixed, outcome) {
                (Some(r), PriorOutcome::RaisedAgain) => Some(format!(
                    "marked {}, yet raised again this round",
                    r.describe()
                )),
                (Some(r), _) if head == HeadCheck::QuoteStillPresent => Some(format!(
                    "marked {}, but the quoted code is still there",
                    r.describe()
                )),
                _ => None,
            };
            PriorFinding {
                id: e.id.clone(),
                round: e.round,
                title: e.title.clone(),
                severity: e.severity,
                resolution,
                outcome,
                now_id: found
                    .filter(|f| !matches!(f.matched, Match::Declined { .. }))
                    .map(|f| f.finding.id.clone()),
                head,
                note,
            }
        })
        .collect();
    rows.sort_by_key(|r| id_order(&r.id));
    rows
}

/// What the round line says, from the ledger before it is written.
fn changes(
    ledger: &Ledger,
    since: u32,
    findings: &[Numbered],
    unraised: &[(usize, Fate, HeadCheck)],
) -> RoundChanges {
    let mut changes = RoundChanges::default();
    let named = |e: &Entry, how: Option<String>| Named {
        id: e.id.clone(),
        round: e.round,
        title: e.title.clone(),
        was: None,
        how,
    };
    for (i, fate, _) in unraised {
        let e = &ledger.entries[*i];
        let how = e.resolution().map(Resolution::describe);
        match fate {
            Fate::Resolved => changes.resolved.push(named(e, how)),
            Fate::Addressed => changes.addressed.push(named(e, how)),
            Fate::NoLongerApplies => changes.no_longer_applies.push(named(e, how)),
            Fate::Carry { .. } => {}
        }
    }
    for e in ledger.entries.iter().filter(|e| e.round == since) {
        if let Some(r) = e.resolution().filter(|r| r.action.is_decision())
            && matches!(e.status, Status::Declined { .. })
        {
            changes.decided.push(named(e, Some(r.describe())));
        }
    }
    for f in findings {
        let Some(i) = f.matched.entry() else { continue };
        let e = &ledger.entries[i];
        let item = Named {
            id: f.finding.id.clone(),
            round: 0,
            title: f.finding.title.clone(),
            was: Some((e.id.clone(), e.round)),
            // A decision is said once, among the settled ones.
            how: e
                .resolution()
                .filter(|r| !r.action.is_decision())
                .map(Resolution::describe),
        };
        match f.matched {
            Match::CarriedOver { .. } => changes.carried_over.push(item),
            Match::Again { .. } | Match::DeclinedChanged { .. } => changes.raised_again.push(item),
            Match::Declined { .. } | Match::New => {}
        }
    }
    changes
}

/// "Since round 2: I1 fixed in abc1234 (…); S2 skipped (…). Raised again:
/// I1, raised in round 2 as I3 (…). Carried over: I2, I4 of round 2 (…)."
/// Every id says its round.
pub fn round_line(since: u32, changes: &RoundChanges) -> String {
    let title = |n: &Named| one_line(&n.title);
    let own = |items: &[Named]| {
        items
            .iter()
            .map(|n| {
                // An id of another round than `since` says which.
                let id = if n.round == since {
                    n.id.clone()
                } else {
                    format!("{} of round {}", n.id, n.round)
                };
                match &n.how {
                    Some(how) => format!("{id} {how}"),
                    None => format!("{id} ({})", title(n)),
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let again = |items: &[Named], verb: &str| {
        items
            .iter()
            .map(|n| {
                let (id, r) = n.was.clone().unwrap_or_default();
                let how = n
                    .how
                    .as_deref()
                    .map(|h| format!(", marked {h}"))
                    .unwrap_or_default();
                format!("{}, {verb} round {r} as {id}{how} ({})", n.id, title(n))
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    let mut parts = vec![format!("Since round {since}:")];
    let mut settled = Vec::new();
    for (items, what) in [
        (&changes.resolved, "resolved by the author"),
        (&changes.decided, "skipped or declined by the author"),
        (&changes.addressed, "addressed, as a reviewer said"),
        (&changes.no_longer_applies, "no longer applies"),
    ] {
        if !items.is_empty() {
            settled.push(format!("{what}: {}", own(items)));
        }
    }
    if !settled.is_empty() {
        parts.push(format!("{}.", settled.join("; ")));
    }
    if !changes.raised_again.is_empty() {
        parts.push(format!(
            "Raised again: {}.",
            again(&changes.raised_again, "raised in")
        ));
    }
    if !changes.carried_over.is_empty() {
        parts.push(format!(
            "Carried over, open and not raised again: {}.",
            again(&changes.carried_over, "from")
        ));
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rounds::test_support::{entry, fp};

    /// Round `number`, run `run_id`, with what reviewers said and the
    /// code at the head.
    fn round<'a>(
        number: u32,
        run_id: &'a str,
        priors: &'a PriorStatuses,
        code_at_head: &'a dyn Fn(&str) -> Option<String>,
    ) -> Round<'a> {
        Round {
            number,
            run_id,
            priors,
            code_at_head,
            recorded_at: "2026-11-30T00:00:00Z",
        }
    }

    /// Of two entries a finding could be, it is the one quoting the same
    /// code: the other is not left to be carried over beside it.
    #[test]
    fn a_finding_matches_the_entry_with_its_code_first() {
        let claim = "mean() of an empty list raises ZeroDivisionError";
        let mut a = entry("I1");
        a.fingerprint = fp("stats.py", "return total / n", claim);
        let mut b = entry("I2");
        b.fingerprint = fp("stats.py", "return sum(values) / len(values)", claim);
        let ledger = Ledger {
            round: 1,
            entries: vec![a, b],
            ..Ledger::default()
        };
        let priors = Vec::new();
        let round = round(2, "r2", &priors, &|_| {
            Some("return total / n\nreturn sum(values) / len(values)\n".into())
        });
        let again = fp("stats.py", "return sum(values) / len(values)", claim);
        let sorted = sort_out(&ledger, &[again], &round);
        assert_eq!(sorted.matches[0].entry(), Some(1));
        let carried: Vec<Option<usize>> = sorted.carried.iter().map(|(_, m)| m.entry()).collect();
        assert_eq!(carried, [Some(0)]);
    }

    /// Of two entries with the same claim and neither quoting the code, a
    /// finding is the open one, not one already addressed.
    #[test]
    fn a_finding_matches_an_open_entry_before_a_settled_one() {
        let claim = "mean() of an empty list raises ZeroDivisionError";
        let mut settled = entry("I1");
        settled.fingerprint = fp("stats.py", "return total / n", claim);
        settled.status = Status::Addressed { since: 1 };
        let mut open = entry("I2");
        open.fingerprint = fp("stats.py", "return sum(v) / len(v)", claim);
        let ledger = Ledger {
            round: 1,
            entries: vec![settled, open],
            ..Ledger::default()
        };
        let priors = Vec::new();
        let round = round(2, "r2", &priors, &|_| None);
        let again = fp("stats.py", "return statistics.mean(v)", claim);
        let sorted = sort_out(&ledger, &[again], &round);
        assert_eq!(sorted.matches[0].entry(), Some(1));
    }

    /// A reviewer's word about an id is about the latest entry with it,
    /// not an older one that kept it from a round long gone.
    #[test]
    fn what_a_reviewer_says_of_an_id_is_about_its_latest_entry() {
        use crate::findings::answer::PriorState;
        let mut old = entry("I1");
        old.fingerprint = fp("a.py", "old()", "an old claim about something");
        let mut new = entry("I1");
        new.round = 2;
        new.fingerprint = fp("b.py", "new()", "a new claim about another thing");
        let ledger = Ledger {
            round: 2,
            entries: vec![old, new],
            ..Ledger::default()
        };
        let priors = vec![("i1".to_string(), PriorState::Addressed)];
        let round = round(3, "r3", &priors, &|_| Some("old()\nnew()\n".into()));
        let sorted = sort_out(&ledger, &[], &round);
        let fates: Vec<(usize, bool)> = sorted
            .unraised
            .iter()
            .map(|(i, fate, _)| (*i, matches!(fate, crate::rounds::carry::Fate::Addressed)))
            .collect();
        assert_eq!(fates, [(0, false), (1, true)]);
    }

    /// Any one kind of news opens the next round's summary.
    #[test]
    fn any_one_kind_of_news_is_news() {
        let named = || Named {
            id: "S1".into(),
            round: 1,
            title: "t".into(),
            was: None,
            how: None,
        };
        for field in 0..6 {
            let mut changes = RoundChanges::default();
            let list = match field {
                0 => &mut changes.resolved,
                1 => &mut changes.decided,
                2 => &mut changes.addressed,
                3 => &mut changes.no_longer_applies,
                4 => &mut changes.raised_again,
                _ => &mut changes.carried_over,
            };
            list.push(named());
            assert!(changes.summary_line(2, 1).is_some(), "field {field}");
        }
    }

    /// Settled findings of an older round than the last say which.
    #[test]
    fn the_round_line_names_an_older_rounds_ids() {
        let changes = RoundChanges {
            addressed: vec![Named {
                id: "S1".into(),
                round: 1,
                title: "t".into(),
                was: None,
                how: None,
            }],
            ..RoundChanges::default()
        };
        assert_eq!(
            round_line(3, &changes),
            "Since round 3: addressed, as a reviewer said: S1 of round 1 (t)."
        );
    }

    /// A later round opens its summary with news only when there is some;
    /// the first round never does.
    #[test]
    fn the_summary_line_is_there_only_with_news() {
        let mut changes = RoundChanges::default();
        assert_eq!(changes.summary_line(2, 1), None);
        changes.resolved.push(Named {
            id: "S1".into(),
            round: 1,
            title: "t".into(),
            was: None,
            how: Some("fixed in abc1234".into()),
        });
        changes.carried_over.push(Named {
            id: "I1".into(),
            round: 0,
            title: "u".into(),
            was: Some(("I3".into(), 1)),
            how: None,
        });
        assert_eq!(
            changes.summary_line(2, 1).as_deref(),
            Some(
                "Since round 1: resolved by the author: S1 fixed in abc1234. Carried over, open and not raised again: I1, from round 1 as I3 (u)."
            )
        );
        assert_eq!(changes.summary_line(1, 0), None);
    }
}
