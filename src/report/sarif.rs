//! SARIF 2.1.0 for code-scanning upload: one result per finding.

use serde_json::{Value, json};

use super::model::Report;
use crate::domain::Severity;

const RULES: [(Severity, &str, &str, &str); 3] = [
    (
        Severity::Critical,
        "deep-review/critical",
        "error",
        "Critical issue: must be fixed before merge",
    ),
    (
        Severity::Important,
        "deep-review/important",
        "warning",
        "Important issue: should be fixed before merge",
    ),
    (
        Severity::Suggestion,
        "deep-review/suggestion",
        "note",
        "Suggestion: worth doing, need not block the merge",
    ),
];

pub fn render(report: &Report) -> String {
    let rules: Vec<Value> = RULES
        .iter()
        .map(|(_, id, level, text)| {
            json!({"id": id, "shortDescription": {"text": text}, "defaultConfiguration": {"level": level}})
        })
        .collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let (index, (_, rule, level, _)) = RULES
                .iter()
                .enumerate()
                .find(|(_, r)| r.0 == f.severity)
                .expect("every severity has a rule");
            let mut text = format!("{}: {}", f.id, f.title);
            if !f.body.is_empty() {
                text.push_str("\n\n");
                text.push_str(&f.body);
            }
            if !f.fix.is_empty() {
                text.push_str("\n\nFix: ");
                text.push_str(&f.fix);
            }
            let related: Vec<serde_json::Value> = f
                .related
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    json!({
                        "id": i + 1,
                        "physicalLocation": {
                            "artifactLocation": {"uri": r.path, "uriBaseId": "SRCROOT"},
                            "region": {"startLine": r.line_start.max(1), "endLine": r.line_end.max(r.line_start).max(1)}
                        },
                        "message": {"text": if r.why.trim().is_empty() { "related" } else { r.why.as_str() }}
                    })
                })
                .collect();
            let mut result = json!({
                "ruleId": rule,
                "ruleIndex": index,
                "level": level,
                "message": {"text": text},
                "locations": [{"physicalLocation": {
                    "artifactLocation": {"uri": f.path, "uriBaseId": "SRCROOT"},
                    "region": {"startLine": f.line_start.max(1), "endLine": f.line_end.max(f.line_start).max(1)}
                }}],
                "properties": {
                    "id": f.id,
                    "agents": f.agents,
                    "category": f.category,
                    "evidence": f.evidence,
                    "title": f.title
                }
            });
            if !related.is_empty() {
                result["relatedLocations"] = serde_json::Value::Array(related);
            }
            result
        })
        .collect();
    let mut sarif = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "deep-review",
                "version": report.run.deep_review_version,
                "informationUri": "https://github.com/deep-review/deep-review",
                "rules": rules
            }},
            "automationDetails": {"id": format!("deep-review/{}", report.run.id)},
            "originalUriBaseIds": {"SRCROOT": {"description": {"text": "The root of the reviewed repository"}}},
            "results": results
        }]
    });
    // A gate reading the SARIF must see a review that failed: no results
    // may mean nobody looked.
    let notifications: Vec<Value> = super::header::failures(report)
        .into_iter()
        .map(|text| json!({"level": "error", "message": {"text": text}}))
        .collect();
    sarif["runs"][0]["invocations"] = json!([{
        "executionSuccessful": !report.incomplete,
        "toolExecutionNotifications": notifications
    }]);
    // Where the code lives, when it is on GitHub: code scanning uses it to
    // link results to the repository at the reviewed commit.
    if let Some(url) = &report.target.repo_url {
        sarif["runs"][0]["versionControlProvenance"] = json!([{
            "repositoryUri": url,
            "revisionId": report.target.head_sha,
            "branch": report.target.branch,
            "mappedTo": {"uriBaseId": "SRCROOT"}
        }]);
    }
    serde_json::to_string_pretty(&sarif).expect("SARIF serialises") + "\n"
}
