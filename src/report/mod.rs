//! The report: one model, rendered as Markdown, a GitHub comment, HTML,
//! JSON and SARIF.

pub mod appendix;
pub mod feedback;
pub mod header;
pub mod highlight;
pub mod html;
pub mod markdown;
pub mod model;
pub mod model_names;
pub mod resolution;
pub mod review;
pub mod sarif;
pub mod text;

pub use model::Report;

use crate::config::Format;

/// Renders `report` in `format`. `full_report` names where the complete
/// report lives, for the GitHub form's shortening notes.
pub fn render(report: &Report, format: Format, full_report: Option<&str>) -> String {
    match format {
        Format::Md => text::defuse_commands(&markdown::render(report)),
        Format::Github => text::defuse_commands(&markdown::render_github(report, full_report)),
        Format::Html => html::render(report),
        Format::Json => serde_json::to_string_pretty(report).expect("the report serialises") + "\n",
        Format::Sarif => sarif::render(report),
    }
}
