//! What it takes to start one agent CLI on one job.

use std::path::PathBuf;

use serde_json::Value;

/// The review (or consolidation) an agent is asked to do.
#[derive(Debug, Clone, Default)]
pub struct ReviewJob {
    pub prompt: String,
    /// Extra system instructions (the untrusted-input rules).
    pub system: Option<String>,
    /// JSON schema the answer must follow, where the CLI can enforce one.
    pub schema: Option<Value>,
    pub model: Option<String>,
    pub effort: Option<String>,
    pub extra_args: Vec<String>,
    /// This agent's own folder in the run directory, for files the CLI
    /// reads (schema, policy, settings overlay).
    pub scratch: PathBuf,
    /// Folders outside the working directory the agent must be able to
    /// read (where the diff is).
    pub read_dirs: Vec<PathBuf>,
    /// Whether the agent may run commands that write (exec mode).
    pub access: crate::sandbox::Access,
}

/// Arguments, environment and helper files for one run.
#[derive(Debug, Clone, Default)]
pub struct Invocation {
    pub args: Vec<String>,
    /// Variables to set on top of the inherited environment.
    pub env: Vec<(String, String)>,
    /// Files to write before starting (path, contents).
    pub files: Vec<(PathBuf, String)>,
}
