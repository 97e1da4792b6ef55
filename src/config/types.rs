//! The typed configuration and the checks that go beyond its types.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};

use super::layers::{Layer, invalid_at};
use super::{ConfigError, Source};
use crate::domain::{Protocol, Severity};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub review: Review,
    pub consolidation: Consolidation,
    pub github: Github,
    pub paths: Paths,
    pub sandbox: Sandbox,
    pub agents: BTreeMap<String, AgentConfig>,
}

/// The OS sandbox around agents (docs/security.md). Only the user's own
/// file, the environment and flags may set these.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sandbox {
    /// More folders agents may read (toolchains for exec mode, say).
    pub read: Vec<std::path::PathBuf>,
    /// More TCP ports agents may connect to (443 and the ports of the
    /// configured model endpoints and proxies always may).
    pub connect_ports: Vec<u16>,
    /// Run agents with no OS sandbox where the platform has none, even
    /// for fork PRs.
    pub allow_unconfined: bool,
}

/// When agents may run commands that write (`review.exec`, `--exec`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ExecPolicy {
    /// Read-only, always.
    Never,
    /// For a local branch and a same-repository PR; fork PRs stay read-only.
    Trusted,
    /// Fork PRs too.
    Always,
}

impl ExecPolicy {
    pub fn name(self) -> &'static str {
        match self {
            ExecPolicy::Never => "never",
            ExecPolicy::Trusted => "trusted",
            ExecPolicy::Always => "always",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Review {
    pub agents: Vec<String>,
    #[serde(deserialize_with = "duration")]
    pub timeout: Duration,
    pub fail_on: FailOn,
    pub formats: Vec<Format>,
    pub keep_worktree: bool,
    pub exec: ExecPolicy,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Consolidation {
    pub enabled: bool,
    pub agent: String,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub effort: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Github {
    pub api_url: String,
    pub strip_env: Vec<String>,
    pub post: Vec<PostMode>,
    pub request_changes_on: FailOn,
}

/// Where `--post` posts a review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PostMode {
    Comment,
    Review,
    Check,
}

impl PostMode {
    pub fn name(self) -> &'static str {
        match self {
            PostMode::Comment => "comment",
            PostMode::Review => "review",
            PostMode::Check => "check",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Paths {
    pub data_dir: std::path::PathBuf,
    pub cache_dir: std::path::PathBuf,
}

/// One agent: a built-in CLI, or a user-defined one reusing a built-in
/// protocol with its own binary, model and arguments.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    pub protocol: Protocol,
    #[serde(default)]
    pub binary: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub effort: Option<String>,
    #[serde(default, deserialize_with = "optional_duration")]
    pub timeout: Option<Duration>,
    #[serde(default)]
    pub extra_args: Vec<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    /// Inherited variables passed to this agent besides the allowlist.
    #[serde(default)]
    pub pass_env: Vec<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

/// The lowest severity that fails the run (`--fail-on`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FailOn {
    None,
    Critical,
    Important,
    Suggestion,
}

impl FailOn {
    pub fn blocks(self, severity: Severity) -> bool {
        let threshold = match self {
            FailOn::None => return false,
            FailOn::Critical => Severity::Critical,
            FailOn::Important => Severity::Important,
            FailOn::Suggestion => Severity::Suggestion,
        };
        // Critical < Important < Suggestion in declaration order.
        severity <= threshold
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Md,
    Github,
    Html,
    Json,
    Sarif,
}

impl Format {
    pub const ALL: [Format; 5] = [
        Format::Md,
        Format::Github,
        Format::Html,
        Format::Json,
        Format::Sarif,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Format::Md => "md",
            Format::Github => "github",
            Format::Html => "html",
            Format::Json => "json",
            Format::Sarif => "sarif",
        }
    }

    /// File name of this format's report in the run directory.
    pub fn file_name(self) -> &'static str {
        match self {
            Format::Md => "report.md",
            Format::Github => "report.github.md",
            Format::Html => "report.html",
            Format::Json => "report.json",
            Format::Sarif => "report.sarif",
        }
    }

    /// The format an output path's extension implies.
    pub fn from_extension(path: &std::path::Path) -> Option<Format> {
        match path.extension()?.to_str()? {
            "md" | "markdown" => Some(Format::Md),
            "html" | "htm" => Some(Format::Html),
            "json" => Some(Format::Json),
            "sarif" => Some(Format::Sarif),
            _ => None,
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| {
                format!("unknown format {s:?} (expected md, github, html, json or sarif)")
            })
    }
}

fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    parse_duration(&text).map_err(serde::de::Error::custom)
}

fn optional_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let text = Option::<String>::deserialize(d)?;
    text.map(|t| parse_duration(&t).map_err(serde::de::Error::custom))
        .transpose()
}

/// `90s`, `30m`, `1h 30m`; zero is refused.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(text.trim()).map_err(|e| {
        format!("{text:?} is not a duration ({e}); write e.g. \"90s\", \"30m\" or \"1h\"")
    })?;
    if d.is_zero() {
        return Err("a timeout of zero would stop every agent at once".into());
    }
    Ok(d)
}

pub(super) fn resolve(
    merged: &toml::Table,
    provenance: &BTreeMap<String, Source>,
    layers: &[Layer],
) -> Result<Config, ConfigError> {
    let bad =
        |key: String, message: String| invalid_at(layers, provenance.get(&key), &key, message);
    // Checked before the agents are read, so that a resolved agent always
    // has its protocol and a name that is safe as a folder name.
    let agents = merged.get("agents").and_then(toml::Value::as_table);
    for (name, agent) in agents.into_iter().flatten() {
        // A name becomes a folder name (in the run directory, the agent's
        // private area): nothing that could climb out of it.
        let safe = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
            && !name.contains("..");
        if !safe {
            return Err(bad(
                format!("agents.{name}"),
                format!(
                    "{name:?} is not an agent name: use letters, digits, '.', '_' and '-', starting with a letter or digit"
                ),
            ));
        }
        // Not a table: left to the type check below, which says so.
        if agent.is_table() && agent.get("protocol").is_none() {
            return Err(bad(
                format!("agents.{name}.protocol"),
                format!("agent {name:?} needs `protocol = \"claude\" | \"codex\" | \"gemini\"`"),
            ));
        }
    }
    let value = toml::Value::Table(merged.clone());
    let config: Config = serde_path_to_error::deserialize(value).map_err(|e| {
        let key = e.path().to_string();
        // toml appends "in `key`" on a second line; the key is said already.
        let message = e
            .inner()
            .to_string()
            .lines()
            .next()
            .unwrap_or_default()
            .to_string();
        // An unknown field is reported at its parent; name it in the key.
        let source = provenance
            .iter()
            .filter(|(k, _)| k.starts_with(&key) || key.starts_with(k.as_str()))
            .map(|(_, s)| s)
            .next_back();
        invalid_at(layers, source, &key, message)
    })?;
    for (name, agent) in &config.agents {
        let protocol = agent.protocol;
        if let Some(effort) = &agent.effort {
            let allowed = protocol.efforts();
            if !allowed.contains(&effort.as_str()) {
                return Err(bad(
                    format!("agents.{name}.effort"),
                    format!(
                        "{effort:?} is not an effort level for {} (expected one of: {})",
                        protocol.name(),
                        allowed.join(", ")
                    ),
                ));
            }
        }
    }
    for name in &config.review.agents {
        if !config.agents.contains_key(name) {
            return Err(bad(
                "review.agents".into(),
                format!(
                    "no agent named {name:?} (known: {})",
                    config.agents.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
    }
    for (i, name) in config.review.agents.iter().enumerate() {
        if config.review.agents[..i].contains(name) {
            return Err(bad(
                "review.agents".into(),
                format!(
                    "{name:?} is listed twice: each agent runs once (for a second Claude, define [agents.NAME] with protocol = \"claude\")"
                ),
            ));
        }
    }
    if config.review.agents.is_empty() {
        return Err(bad(
            "review.agents".into(),
            "at least one agent must run".into(),
        ));
    }
    if !config.agents.contains_key(&config.consolidation.agent) {
        return Err(bad(
            "consolidation.agent".into(),
            format!("no agent named {:?}", config.consolidation.agent),
        ));
    }
    Ok(config)
}

impl Config {
    /// The agents this review runs, in the order given.
    pub fn selected_agents(&self) -> Vec<(String, AgentConfig)> {
        self.review
            .agents
            .iter()
            .filter_map(|n| self.agents.get(n).map(|a| (n.clone(), a.clone())))
            .filter(|(_, a)| a.enabled)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Makefile/CI gate: every threshold against every severity.
    #[test]
    fn fail_on_blocks_exactly_the_severities_at_or_above_it() {
        use Severity::*;
        let table = [
            (FailOn::None, [false, false, false]),
            (FailOn::Critical, [true, false, false]),
            (FailOn::Important, [true, true, false]),
            (FailOn::Suggestion, [true, true, true]),
        ];
        for (fail_on, expected) in table {
            let got = [Critical, Important, Suggestion].map(|s| fail_on.blocks(s));
            assert_eq!(got, expected, "{fail_on:?}");
        }
    }

    /// Format names are the `--format` words and the run directory's file
    /// names; `-o` picks the format from the extension.
    #[test]
    fn formats_by_name_file_and_extension() {
        let names: Vec<String> = Format::ALL.iter().map(|f| f.to_string()).collect();
        assert_eq!(names, ["md", "github", "html", "json", "sarif"]);
        for f in Format::ALL {
            assert_eq!(f.name().parse::<Format>(), Ok(f));
        }
        assert!(
            "markdown"
                .parse::<Format>()
                .unwrap_err()
                .contains("unknown format")
        );
        let files: Vec<&str> = Format::ALL.iter().map(|f| f.file_name()).collect();
        assert_eq!(
            files,
            [
                "report.md",
                "report.github.md",
                "report.html",
                "report.json",
                "report.sarif"
            ]
        );
        let by_extension = |p: &str| Format::from_extension(std::path::Path::new(p));
        assert_eq!(by_extension("r.md"), Some(Format::Md));
        assert_eq!(by_extension("r.markdown"), Some(Format::Md));
        assert_eq!(by_extension("r.html"), Some(Format::Html));
        assert_eq!(by_extension("r.htm"), Some(Format::Html));
        assert_eq!(by_extension("r.json"), Some(Format::Json));
        assert_eq!(by_extension("r.sarif"), Some(Format::Sarif));
        assert_eq!(by_extension("r.txt"), None);
        assert_eq!(by_extension("report"), None);
    }

    #[test]
    fn exec_policies_are_named_as_configured() {
        let names = [ExecPolicy::Never, ExecPolicy::Trusted, ExecPolicy::Always].map(|p| p.name());
        assert_eq!(names, ["never", "trusted", "always"]);
    }
}

#[cfg(test)]
mod name_tests {
    use crate::config::{LoadOptions, load};

    /// An agent's name becomes a folder name: a repository file must not
    /// be able to name one that climbs out (a private area is removed
    /// after the run).
    #[test]
    fn agent_names_cannot_climb_out_of_their_folder() {
        for name in ["../../..", "/home/u", "a/b", ".hidden", "x..y"] {
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join("config.toml");
            std::fs::write(
                &file,
                format!("[agents.\"{name}\"]\nprotocol = \"claude\"\n\n[review]\nagents = [\"{name}\"]\n"),
            )
            .unwrap();
            let err = load(&LoadOptions {
                user_file: Some(file),
                data_dir: "/d".into(),
                cache_dir: "/c".into(),
                ..LoadOptions::default()
            })
            .unwrap_err();
            assert!(
                err.to_string().contains("is not an agent name"),
                "{name}: {err}"
            );
        }
    }

    fn load_text(text: &str) -> Result<crate::config::Config, crate::config::ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.toml");
        std::fs::write(&file, text).unwrap();
        load(&LoadOptions {
            user_file: Some(file),
            data_dir: "/d".into(),
            cache_dir: "/c".into(),
            ..LoadOptions::default()
        })
        .map(|l| l.config)
    }

    /// Names of letters, digits, '.', '_' and '-' are fine.
    #[test]
    fn ordinary_agent_names_are_accepted() {
        let config = load_text(
            "[agents.\"sonnet-4.6_b\"]\nprotocol = \"claude\"\n\n[review]\nagents = [\"sonnet-4.6_b\"]\n",
        )
        .unwrap();
        assert!(config.agents.contains_key("sonnet-4.6_b"));
    }

    /// An error inside a value (an element of a list) is traced to the
    /// file that set the list.
    #[test]
    fn an_error_inside_a_value_is_traced_to_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.toml");
        std::fs::write(&file, "[review]\nagents = [\"claude\", 3]\n").unwrap();
        let err = load(&LoadOptions {
            user_file: Some(file.clone()),
            data_dir: "/d".into(),
            cache_dir: "/c".into(),
            ..LoadOptions::default()
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains(&file.display().to_string()), "{err}");
    }

    /// An agent's own timeout, when set, is read as a duration.
    #[test]
    fn an_agent_timeout_is_a_duration() {
        let config = load_text("[agents.claude]\ntimeout = \"90s\"\n").unwrap();
        assert_eq!(
            config.agents["claude"].timeout,
            Some(std::time::Duration::from_secs(90))
        );
        assert_eq!(load_text("").unwrap().agents["claude"].timeout, None);
        let err = load_text("[agents.claude]\ntimeout = \"soon\"\n").unwrap_err();
        assert!(err.to_string().contains("agents.claude.timeout"), "{err}");
    }
}
