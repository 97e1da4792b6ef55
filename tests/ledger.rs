//! Applying a round to the ledger, on the rich report fixture.

mod common;

use common::fixture::rich_report;
use deep_review::ledger::{Ledger, Status, apply_round, fingerprint};

#[test]
fn a_declined_finding_stays_declined_and_says_so_when_its_code_changed() {
    let mut first = rich_report();
    first.run.round = 1;
    let mut ledger = Ledger::default();
    apply_round(&mut ledger, &mut first, &vec![]);
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
    apply_round(&mut ledger, &mut second, &vec![]);
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
