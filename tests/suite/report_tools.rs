//! The rendered reports checked by real tools: the SARIF against the
//! official 2.1.0 schema (vendored) and by Microsoft's SARIF Multitool
//! (the schema plus its own rules), the HTML by
//! headless Chromium (no console errors, no network requests, a
//! screenshot kept as an artifact in target/report-artifacts/).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::fixture::rich_report;
use deep_review::config::Format;
use deep_review::report::render;

fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/report-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_sarif_is_valid_against_the_official_schema() {
    let tool = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("test-tools/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool");
    assert!(
        tool.exists(),
        "{} is missing: run scripts/install-test-deps",
        tool.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let mut report = rich_report();
    // Both with and without a repository to link to.
    for (name, repo_url) in [
        ("github", Some("https://github.com/acme/widget".to_string())),
        ("local", None),
    ] {
        report.target.repo_url = repo_url;
        let input = dir.path().join(format!("{name}.sarif"));
        std::fs::write(&input, render(&report, Format::Sarif, None)).unwrap();
        let output = dir.path().join(format!("{name}.validation.sarif"));
        let run = Command::new(&tool)
            .args([
                "validate",
                input.to_str().unwrap(),
                "--output",
                output.to_str().unwrap(),
                "--log",
                "ForceOverwrite",
            ])
            .env("DOTNET_SYSTEM_GLOBALIZATION_INVARIANT", "1")
            .env("HOME", dir.path())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&run.stdout);
        assert!(
            run.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let validation: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&output).unwrap()).unwrap();
        let problems: Vec<String> = validation["runs"][0]["results"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| format!("{} {}: {}", r["level"], r["ruleId"], r["message"]))
            .collect();
        assert!(problems.is_empty(), "{name}: {problems:#?}");
    }
}

/// The official OASIS SARIF 2.1.0 schema, vendored in tests/data (taken
/// from the serde-sarif crate, which ships it unchanged), so this check
/// needs neither the network nor the Multitool.
fn vendored_sarif_schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sarif-schema-2.1.0.json"),
    )
    .unwrap();
    let mut schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        schema["title"],
        "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    );
    // The official `language` pattern (on run and toolComponent) has a
    // stray `]`, a literal to ECMAScript but an error to the Rust regex
    // engine; escape it here so the vendored file stays byte-for-byte the
    // published one.
    let mut language_patterns = Vec::new();
    for definition in ["run", "toolComponent"] {
        let pattern = &mut schema["definitions"][definition]["properties"]["language"]["pattern"];
        language_patterns.push(pattern.clone());
        *pattern = r"^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}\]?$".into();
    }
    assert_eq!(
        language_patterns,
        ["^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$"; 2]
    );
    jsonschema::validator_for(&schema).unwrap()
}

fn schema_errors(validator: &jsonschema::Validator, sarif: &serde_json::Value) -> Vec<String> {
    validator
        .iter_errors(sarif)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

#[test]
fn the_sarif_is_valid_against_the_vendored_schema() {
    let validator = vendored_sarif_schema();
    let mut report = rich_report();
    for repo_url in [Some("https://github.com/acme/widget".to_string()), None] {
        report.target.repo_url = repo_url;
        let sarif: serde_json::Value =
            serde_json::from_str(&render(&report, Format::Sarif, None)).unwrap();
        assert!(sarif["runs"][0]["results"].as_array().unwrap().len() > 3);
        let errors = schema_errors(&validator, &sarif);
        assert!(errors.is_empty(), "{errors:#?}");

        // Control: the same document with a level SARIF does not have and
        // a region starting at line 0 is rejected, so the check can fail.
        let mut broken = sarif.clone();
        broken["runs"][0]["results"][0]["level"] = "severe".into();
        broken["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] =
            0.into();
        assert_eq!(schema_errors(&validator, &broken).len(), 2, "{broken:#}");
    }
}

struct Rendered {
    /// Console messages (CSP violations included).
    console: Vec<String>,
    /// URLs the page itself asked for (the browser's own background
    /// requests have no page initiator and are left out).
    requests: Vec<String>,
}

/// Opens `html` in headless Chromium, screenshots it to `screenshot`, and
/// reports what the page logged and requested.
fn open_in_chromium(html: &str, screenshot: &Path) -> Rendered {
    let chromium = ["chromium", "chromium-browser"]
        .iter()
        .find_map(|b| deep_review::agents::locate(b))
        .expect("chromium is missing: run scripts/install-test-deps");
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    std::fs::write(&page, html).unwrap();
    let _ = std::fs::remove_file(screenshot);
    let netlog = dir.path().join("netlog.json");
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--window-size=1280,2400",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!(
            "--user-data-dir={}",
            dir.path().join("profile").display()
        ))
        .arg(format!("--log-net-log={}", netlog.display()))
        .arg(format!("--screenshot={}", screenshot.display()))
        .arg(format!("file://{}", page.display()))
        .env("HOME", dir.path())
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    let console = log
        .lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Refused to"))
        .map(str::to_string)
        .collect();
    let net: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&netlog).unwrap()).unwrap();
    let start_job = net["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
        .as_u64()
        .unwrap();
    let requests = net["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"].as_u64() == Some(start_job))
        .filter(|e| {
            e["params"]["initiator"]
                .as_str()
                .is_some_and(|i| i != "not an origin")
        })
        .filter_map(|e| e["params"]["url"].as_str())
        .filter(|u| !u.starts_with("file://"))
        .map(str::to_string)
        .collect();
    Rendered { console, requests }
}

#[test]
fn the_html_renders_in_chromium_without_errors_or_network_requests() {
    let screenshot = artifacts().join("report.png");
    let rendered = open_in_chromium(&render(&rich_report(), Format::Html, None), &screenshot);
    assert!(
        rendered.console.is_empty(),
        "console output: {:#?}",
        rendered.console
    );
    assert!(
        rendered.requests.is_empty(),
        "network requests: {:#?}",
        rendered.requests
    );
    let png = std::fs::read(&screenshot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "a real screenshot was taken"
    );
}

#[test]
fn the_chromium_check_does_see_a_page_that_fetches() {
    // The control: a page with a remote image and a script is caught.
    let rendered = open_in_chromium(
        "<html><body><img src=\"https://example.invalid/x.png\"><script>console.error('boom')</script></body></html>",
        &artifacts().join("control.png"),
    );
    assert_eq!(
        rendered.requests,
        vec!["https://example.invalid/x.png".to_string()]
    );
    assert!(
        rendered.console.iter().any(|l| l.contains("boom")),
        "{:#?}",
        rendered.console
    );
}
