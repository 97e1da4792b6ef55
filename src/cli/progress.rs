//! Live progress on stderr (filled in with the agent runner).
