//! An agent's own review as a reader wants it in the appendix: its
//! verdict, summary, findings with their locations, and assessments, in
//! Markdown — not the JSON it answered in. All of it is model text, made
//! safe as everywhere else in the report.

use super::text::{block, code, inline};
use crate::findings::answer::{Answer, ObservationKind, Scope};

/// The review read from the agent's raw answer, or `None` when it does
/// not read (the raw text is shown then).
pub fn readable(raw: &str) -> Option<String> {
    let answer = crate::findings::answer::parse::<Answer>(raw).ok()?;
    Some(render(&answer))
}

fn paragraph(s: &str) -> String {
    block(&s.split_whitespace().collect::<Vec<_>>().join(" "))
}

fn render(a: &Answer) -> String {
    let mut out: Vec<String> = Vec::new();
    if let Some(v) = a.verdict {
        let reason = a.verdict_reason.trim();
        out.push(if reason.is_empty() {
            format!("**Verdict:** {}.", v.label())
        } else {
            format!("**Verdict:** {} — {}", v.label(), paragraph(reason))
        });
    }
    if !a.summary.trim().is_empty() {
        out.push(block(a.summary.trim()));
    }
    if !a.findings.is_empty() {
        let mut list = String::from("**Findings**\n");
        for f in &a.findings {
            let lines = if f.line_end > f.line_start {
                format!("{}:{}-{}", f.path, f.line_start, f.line_end)
            } else {
                format!("{}:{}", f.path, f.line_start)
            };
            list.push_str(&format!(
                "\n- **{}** [{}, {}] {} — {}",
                inline(&f.id),
                f.severity.label(),
                f.category.label(),
                inline(&f.title),
                code(&lines)
            ));
            if !f.body.trim().is_empty() {
                list.push_str(&format!("\n  {}", paragraph(&f.body)));
            }
            if !f.fix.trim().is_empty() {
                list.push_str(&format!("\n  *Fix:* {}", paragraph(&f.fix)));
            }
        }
        out.push(list);
    }
    if !a.design_observations.is_empty() {
        let mut list = String::from("**Design observations**\n");
        for o in &a.design_observations {
            let kind = match o.kind {
                ObservationKind::Concern => "concern",
                ObservationKind::Strength => "strength",
            };
            let scope = match o.scope {
                Scope::InScope => "in-scope",
                Scope::Future => "future",
            };
            list.push_str(&format!("\n- *({kind}, {scope})* {}", paragraph(&o.text)));
        }
        out.push(list);
    }
    for (label, text) in [
        ("Testing", &a.testing),
        ("Documentation", &a.documentation),
        ("Commits", &a.commits),
    ] {
        if !text.trim().is_empty() {
            out.push(format!("**{label}:** {}", paragraph(text)));
        }
    }
    if !a.tests_run.is_empty() {
        let mut list = String::from("**Tests run**\n");
        for t in &a.tests_run {
            list.push_str(&format!("\n- {} — {}", code(&t.command), inline(&t.result)));
        }
        out.push(list);
    }
    if !a.acknowledged_limitations.is_empty() {
        let mut list = String::from("**Acknowledged limitations**\n");
        for l in &a.acknowledged_limitations {
            list.push_str(&format!("\n- {}", paragraph(&l.text)));
        }
        out.push(list);
    }
    if out.is_empty() {
        return "No findings and nothing else reported.".into();
    }
    out.join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_reads_as_a_review_and_stays_safe() {
        let raw = r#"{"summary": "Looks fine <script>x</script>", "verdict": "merge_with_fixes",
            "verdict_reason": "one bug",
            "findings": [{"id": "F1", "severity": "important", "category": "regression",
                "title": "Off by one in `mean`", "path": "stats.py", "line_start": 3, "line_end": 4,
                "quote": "x", "body": "Divides by n-1.", "fix": "Divide by n."},
                {"id": "F2", "severity": "suggestion", "category": "gap",
                "title": "One line", "path": "stats.py", "line_start": 7, "line_end": 7,
                "quote": "y", "body": "", "fix": ""}],
            "testing": "No tests.", "tests_run": [{"command": "pytest -q", "result": "2 passed"}]}"#;
        let md = readable(raw).unwrap();
        assert!(
            md.starts_with("**Verdict:** Merge with fixes — one bug"),
            "{md}"
        );
        assert!(md.contains("Looks fine &lt;script>x&lt;/script>"), "{md}");
        assert!(
            md.contains("- **F1** [Important, regression] Off by one in `mean` — `stats.py:3-4`\n  Divides by n-1.\n  *Fix:* Divide by n."),
            "{md}"
        );
        assert!(
            md.contains("- **F2** [Suggestion, gap] One line — `stats.py:7`\n"),
            "one line is named alone: {md}"
        );
        assert!(md.contains("**Testing:** No tests."), "{md}");
        assert!(md.contains("- `pytest -q` — 2 passed"), "{md}");
        assert_eq!(readable("not json at all"), None);
    }
}
