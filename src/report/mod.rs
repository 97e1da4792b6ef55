//! The report: one model, rendered as Markdown, a GitHub comment, HTML,
//! JSON and SARIF.

pub mod model;

pub use model::Report;
