//! The agent CLIs: how to find them, run them, and read what they did.
//!
//! One module per CLI (`claude`, `codex`, `gemini`) knows its argv and has
//! a pure parser from event lines to [`events::Event`]s; `supervise` runs
//! any of them as a supervised process group.

pub mod claude;
pub mod codex;
pub mod events;
pub mod gemini;
pub mod install;
pub mod invocation;
pub mod leftovers;
pub mod outcome;
mod pump;
mod spool;
pub mod supervise;

pub use events::{Event, Tally, Tokens};
pub use install::{Installed, locate, probe};
pub use invocation::{Invocation, ReviewJob};
pub use outcome::{Outcome, Status};
pub use supervise::{AgentSpec, Supervision};

use crate::domain::Protocol;

/// The argv, environment and files for running `job` with this protocol;
/// `confined`: inside deep-review's sandbox (a CLI's own sandbox must then
/// be one that nests in it).
pub fn invocation(protocol: Protocol, job: &ReviewJob, confined: bool) -> Invocation {
    match protocol {
        Protocol::Claude => claude::invocation(job),
        Protocol::Codex => codex::invocation(job, confined),
        Protocol::Gemini => gemini::invocation(job),
    }
}

/// Parses one line of a protocol's event stream.
pub fn parse_line(protocol: Protocol, line: &str) -> Vec<Event> {
    match protocol {
        Protocol::Claude => claude::parse_line(line),
        Protocol::Codex => codex::parse_line(line),
        Protocol::Gemini => gemini::parse_line(line),
    }
}

/// Folds a whole captured stream into a [`Tally`] (tests, `consolidate`).
pub fn tally_stream(protocol: Protocol, text: &str) -> Tally {
    let mut tally = Tally::default();
    for line in text.lines() {
        for event in parse_line(protocol, line) {
            tally.apply(event);
        }
    }
    tally
}
