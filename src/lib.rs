//! deep-review: review a pull request with several AI coding agents at once
//! and consolidate what they found into one report.
//!
//! `cli` is the only layer that prints; every other module returns values
//! and typed errors and reports progress through [`progress::Progress`].

pub mod agents;
pub mod checkout;
pub mod cli;
pub mod config;
pub mod consolidate;
pub mod domain;
pub mod exit;
pub mod files;
pub mod findings;
pub mod github;
pub mod pipeline;
pub mod progress;
pub mod report;
pub mod review;
pub mod rounds;
pub mod sandbox;

#[cfg(test)]
mod layering;
