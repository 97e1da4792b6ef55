//! The integration tests, one binary (one link, `tests/common` compiled
//! once): each module is what a test file of its own would be.

mod common;

mod agent_clis;
mod agent_faults;
mod checkout;
mod cli;
mod end_to_end;
mod github;
mod hostile;
mod inline_review;
mod parsers;
mod pr_end_to_end;
mod report;
mod report_tools;
mod rounds;
mod runner;
mod stream_shapes;
