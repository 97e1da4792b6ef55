//! Rendering 1,000 findings to every format. `cargo bench --bench render`.

#[path = "../tests/suite/common/fixture.rs"]
mod fixture;

use std::time::Instant;

use deep_review::config::Format;
use deep_review::domain::Severity;
use deep_review::report::render;

fn main() {
    let mut report = fixture::rich_report();
    let template = report.findings[0].clone();
    report.findings.clear();
    for i in 0..1000 {
        let mut f = template.clone();
        f.severity = [
            Severity::Critical,
            Severity::Important,
            Severity::Suggestion,
        ][i % 3];
        f.id = format!("F{i}");
        f.body = format!(
            "Finding {i}: {}",
            "An explanation with `code` and **emphasis**. ".repeat(8)
        );
        report.findings.push(f);
    }
    for format in Format::ALL {
        // Warm up once, then time the best of five.
        let _ = render(&report, format, Some("report.md"));
        let mut best = f64::MAX;
        let mut size = 0;
        for _ in 0..5 {
            let started = Instant::now();
            size = render(&report, format, Some("report.md")).len();
            best = best.min(started.elapsed().as_secs_f64());
        }
        println!(
            "{:<7} {:>8.1} ms  {:>9} bytes",
            format.name(),
            best * 1000.0,
            size
        );
    }
}
