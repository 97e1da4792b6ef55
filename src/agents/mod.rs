//! The agent CLIs: how to find them, run them, and read what they did.
//!
//! One module per CLI (`claude`, `codex`, `gemini`) knows its argv and has
//! a pure parser from event lines to [`events::Event`]s; `supervise` runs
//! any of them as a child process group.

pub mod install;

pub use install::{Installed, locate, probe};
