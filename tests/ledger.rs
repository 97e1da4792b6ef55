//! Applying a round to the ledger, on the rich report fixture.

mod common;

use common::fixture::rich_report;
use deep_review::ledger::{Ledger, Status, apply_round, fingerprint};

#[test]
fn a_declined_finding_stays_declined_and_says_so_when_its_code_changed() {
    let mut first = rich_report();
    first.run.round = 1;
    let mut ledger = Ledger::default();
    apply_round(&mut ledger, &mut first, &vec![], &|_| None);
    assert_eq!(ledger.entries.len(), 4);
    let c1 = ledger
        .entries
        .iter()
        .position(|e| e.title == "Lock taken in the wrong order")
        .unwrap();
    let s1 = ledger
        .entries
        .iter()
        .position(|e| e.title == "Name the magic number")
        .unwrap();
    ledger.decline("C1", 1, "lock order is documented").unwrap();
    ledger.decline("S1", 1, "cosmetic").unwrap();

    // Round 2: C1's code changed, S1's did not.
    let mut second = rich_report();
    second.run.round = 2;
    second.findings[0].excerpt = Some("let b = second.lock();\nlet a = first.lock();".into());
    apply_round(&mut ledger, &mut second, &vec![], &|_| None);
    let titles: Vec<&str> = second.findings.iter().map(|f| f.title.as_str()).collect();
    assert!(
        titles.contains(&"Lock taken in the wrong order"),
        "C1 is shown again: {titles:?}"
    );
    assert!(
        !titles.contains(&"Name the magic number"),
        "S1 is not raised again: {titles:?}"
    );
    let c1_again = second
        .findings
        .iter()
        .find(|f| f.title == "Lock taken in the wrong order")
        .unwrap();
    assert_eq!(
        c1_again.prior.as_deref(),
        Some(
            "declined in round 1 as C1 (lock order is documented); raised again because the code it concerns changed"
        )
    );
    let declined: Vec<(&str, bool)> = second
        .declined
        .iter()
        .map(|d| (d.title.as_str(), d.code_changed))
        .collect();
    assert_eq!(
        declined,
        vec![
            ("Lock taken in the wrong order", true),
            ("Name the magic number", false)
        ]
    );
    // The author's decision stands, with the fingerprint it was made on.
    assert!(matches!(ledger.entries[c1].status, Status::Declined { .. }));
    assert_eq!(
        ledger.entries[c1].fingerprint,
        fingerprint(&rich_report().findings[0])
    );
    assert!(matches!(ledger.entries[s1].status, Status::Declined { .. }));
}

/// A finding nobody raised again is "addressed" only on evidence: its code
/// changed, or a reviewer said so. Code that is still there keeps it open.
#[test]
fn a_finding_not_raised_again_is_addressed_only_on_evidence() {
    let mut first = rich_report();
    first.run.round = 1;
    let mut ledger = Ledger::default();
    apply_round(&mut ledger, &mut first, &vec![], &|_| None);
    let lock = first
        .findings
        .iter()
        .find(|f| f.title == "Lock taken in the wrong order")
        .unwrap()
        .clone();
    let lock_file = format!("fn x() {{\n{}\n}}\n", lock.excerpt.clone().unwrap());

    // Round 2 raises nothing; only the lock-order code is still there.
    let round2 = |priors| {
        let mut l = ledger.clone();
        let mut r = rich_report();
        r.run.round = 2;
        r.findings.clear();
        let changes = apply_round(&mut l, &mut r, &priors, &|path| {
            (path == lock.path).then(|| lock_file.clone())
        });
        (l, r, changes)
    };
    let (l, r, changes) = round2(vec![]);
    let status = |l: &Ledger| {
        l.entries
            .iter()
            .find(|e| e.title == lock.title)
            .unwrap()
            .status
            .clone()
    };
    assert_eq!(status(&l), Status::Open);
    assert_eq!(changes.unchanged.len(), 1);
    assert_eq!(changes.addressed.len(), 3, "the others' code is gone");
    assert!(
        r.summary.contains("Not raised again, but their code is unchanged, so still open: C1 (Lock taken in the wrong order)."),
        "{}",
        r.summary
    );
    // A reviewer who says it is addressed is evidence enough.
    let (l, _, _) = round2(vec![(
        "C1".to_string(),
        deep_review::findings::answer::PriorState::Addressed,
    )]);
    assert_eq!(status(&l), Status::Addressed { since: 2 });
}
