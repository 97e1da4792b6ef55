//! Progress reporting from the engine to whoever is watching. Engine code
//! calls a [`Progress`] sink; only the CLI layer turns it into output.

use std::time::Duration;

/// What an agent is doing, as the live display shows it.
#[derive(Debug, Clone, PartialEq)]
pub enum AgentProgress {
    Started,
    /// Counters so far, sent whenever they change.
    Working {
        tool_calls: u64,
        tokens: u64,
    },
    Finished {
        status: crate::domain::AgentStatus,
        detail: Option<String>,
        elapsed: Duration,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum ProgressEvent {
    /// A step of the pipeline began ("checking out", "consolidating").
    Stage(String),
    Agent {
        name: String,
        label: String,
        update: AgentProgress,
    },
    /// A non-fatal problem worth telling the user about.
    Warning(String),
}

pub trait Progress: Send + Sync {
    fn event(&self, event: ProgressEvent);
}

/// A sink that discards everything (`--quiet`, tests).
pub struct Silent;

impl Progress for Silent {
    fn event(&self, _event: ProgressEvent) {}
}
