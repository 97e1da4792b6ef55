//! Layered configuration: built-in defaults < user file < repo file <
//! environment < flags. Every leaf value remembers which layer set it, so
//! `deep-review config` can say where each value came from and a bad value
//! is reported with its file and key.

mod layers;
mod types;

pub use layers::{FlagOverrides, LoadOptions};
pub use types::{
    AgentConfig, Config, ExecPolicy, FailOn, Format, PostMode, Sandbox, parse_duration,
};

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// Where a configuration value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Default,
    UserFile(PathBuf),
    /// `.deep-review.toml` as committed on a trusted revision.
    RepoFile {
        path: PathBuf,
        rev: String,
    },
    Env(String),
    Flag(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => write!(f, "default"),
            Source::UserFile(p) => write!(f, "user file {}", p.display()),
            Source::RepoFile { path, rev } => write!(f, "repo file {} at {rev}", path.display()),
            Source::Env(v) => write!(f, "environment {v}"),
            Source::Flag(flag) => write!(f, "flag {flag}"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {message}", location(path, *line, key.as_deref()))]
    Invalid {
        /// The file, or the environment variable / flag, that set the value.
        path: String,
        line: Option<usize>,
        key: Option<String>,
        message: String,
    },
}

fn location(path: &str, line: Option<usize>, key: Option<&str>) -> String {
    let mut out = path.to_string();
    if let Some(line) = line {
        out.push_str(&format!(":{line}"));
    }
    if let Some(key) = key {
        out.push_str(&format!(": key `{key}`"));
    }
    out
}

/// The effective configuration and where each leaf value came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    /// Dotted key (`agents.claude.model`) → the layer that set it.
    pub provenance: BTreeMap<String, Source>,
    /// The merged values, for display.
    pub merged: toml::Table,
}

impl Loaded {
    /// Each leaf as `key = value  # source`, sorted by key.
    pub fn describe(&self) -> Vec<(String, String, Source)> {
        let mut out = Vec::new();
        flatten("", &self.merged, &mut out);
        out.into_iter()
            .map(|(key, value)| {
                let source = self
                    .provenance
                    .get(&key)
                    .cloned()
                    .unwrap_or(Source::Default);
                (key, value, source)
            })
            .collect()
    }
}

fn flatten(prefix: &str, table: &toml::Table, out: &mut Vec<(String, String)>) {
    let mut leaves = Vec::new();
    leaf_keys(prefix, table, &mut leaves);
    out.extend(leaves.into_iter().map(|(k, v)| (k, v.to_string())));
}

/// Every leaf of `table` with its dotted key.
pub(crate) fn leaf_keys<'a>(
    prefix: &str,
    table: &'a toml::Table,
    out: &mut Vec<(String, &'a toml::Value)>,
) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) => leaf_keys(&key, t, out),
            other => out.push((key, other)),
        }
    }
}

/// Loads all layers and resolves them into a checked [`Config`].
pub fn load(options: &LoadOptions) -> Result<Loaded, ConfigError> {
    let layers = layers::collect(options)?;
    let mut merged = toml::Table::new();
    let mut provenance = BTreeMap::new();
    for layer in &layers {
        merge(
            "",
            &mut merged,
            &layer.table,
            &layer.source,
            &mut provenance,
        );
    }
    let config = types::resolve(&merged, &provenance, &layers)?;
    Ok(Loaded {
        config,
        provenance,
        merged,
    })
}

fn merge(
    prefix: &str,
    into: &mut toml::Table,
    from: &toml::Table,
    source: &Source,
    provenance: &mut BTreeMap<String, Source>,
) {
    for (k, v) in from {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match (into.get_mut(k), v) {
            (Some(toml::Value::Table(existing)), toml::Value::Table(incoming)) => {
                merge(&key, existing, incoming, source, provenance);
            }
            _ => {
                if let toml::Value::Table(t) = v {
                    let mut fresh = toml::Table::new();
                    merge(&key, &mut fresh, t, source, provenance);
                    into.insert(k.clone(), toml::Value::Table(fresh));
                } else {
                    into.insert(k.clone(), v.clone());
                    provenance.insert(key, source.clone());
                }
            }
        }
    }
}

/// The line of `key` (a dotted path) in a TOML file, found by tracking
/// `[table]` headers; best effort, for error messages only.
pub(crate) fn line_of_key(text: &str, dotted: &str) -> Option<usize> {
    let (table, leaf) = match dotted.rsplit_once('.') {
        Some((t, l)) => (t.to_string(), l),
        None => (String::new(), dotted),
    };
    let mut current = String::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = header.trim().to_string();
            continue;
        }
        let Some((k, _)) = line.split_once('=') else {
            continue;
        };
        let k = k.trim().trim_matches('"');
        let full = if current.is_empty() {
            k.to_string()
        } else {
            format!("{current}.{k}")
        };
        if full == dotted || (current == table && k == leaf) {
            return Some(i + 1);
        }
    }
    None
}

pub const REPO_FILE: &str = ".deep-review.toml";

/// Where the repository's own config file would be in a checkout.
pub fn repo_file(root: &Path) -> PathBuf {
    root.join(REPO_FILE)
}

/// The trusted revision of the repository at `root` — `rev` if given,
/// else its default branch — and `file` as committed there.
///
/// With `remote_only` (reviewing a pull request), the default branch is
/// only a remote's (`upstream/HEAD`, `origin/HEAD`): a local `main` may be
/// the change itself, as when CI checks a fork's `main` out.
pub fn trusted_file(
    root: &Path,
    rev: Option<&str>,
    remote_only: bool,
    file: &str,
) -> Option<(String, String)> {
    let repo = git2::Repository::discover(root).ok()?;
    let rev = match rev {
        Some(r) => r.to_string(),
        None => crate::checkout::default_branch(&repo)
            .filter(|r| !remote_only || r.starts_with("refs/remotes/"))?,
    };
    let commit = repo.revparse_single(&rev).ok()?.peel_to_commit().ok()?;
    let entry = commit.tree().ok()?.get_path(Path::new(file)).ok()?;
    let blob = entry.to_object(&repo).ok()?.peel_to_blob().ok()?;
    Some((rev, String::from_utf8_lossy(blob.content()).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> LoadOptions {
        LoadOptions {
            data_dir: "/data".into(),
            cache_dir: "/cache".into(),
            ..LoadOptions::default()
        }
    }

    #[test]
    fn flags_override_the_environment() {
        let mut options = options();
        options.env = vec![
            ("DEEP_REVIEW_CLAUDE_EFFORT".into(), "low".into()),
            ("DEEP_REVIEW_AGENTS".into(), "claude,codex".into()),
            ("DEEP_REVIEW_TIMEOUT".into(), "5m".into()),
        ];
        options.flags = FlagOverrides {
            efforts: vec![("claude".into(), "max".into())],
            agents: Some(vec!["claude".into()]),
            ..FlagOverrides::default()
        };
        let loaded = load(&options).unwrap();
        assert_eq!(
            loaded.config.agents["claude"].effort.as_deref(),
            Some("max")
        );
        assert_eq!(
            loaded.provenance["agents.claude.effort"],
            Source::Flag("--effort".into())
        );
        assert_eq!(loaded.config.review.agents, vec!["claude"]);
        assert_eq!(
            loaded.config.review.timeout,
            std::time::Duration::from_secs(300)
        );
        assert_eq!(
            loaded.provenance["review.timeout"],
            Source::Env("DEEP_REVIEW_TIMEOUT".into())
        );
    }

    #[test]
    fn a_user_defined_agent_reuses_a_protocol() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.toml");
        std::fs::write(
            &file,
            "[agents.sonnet]\nprotocol = \"claude\"\nbinary = \"claude\"\nmodel = \"claude-sonnet-4-6\"\n\n[review]\nagents = [\"claude\", \"sonnet\"]\n",
        )
        .unwrap();
        let mut options = options();
        options.user_file = Some(file);
        let loaded = load(&options).unwrap();
        let selected: Vec<String> = loaded
            .config
            .selected_agents()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(selected, vec!["claude", "sonnet"]);
        assert_eq!(
            loaded.config.agents["sonnet"].protocol,
            crate::domain::Protocol::Claude
        );
    }

    #[test]
    fn an_unknown_agent_in_the_flags_is_refused() {
        let mut options = options();
        options.flags.agents = Some(vec!["claud".into()]);
        let err = load(&options).unwrap_err().to_string();
        assert!(
            err.starts_with("flag --agents: key `review.agents`: no agent named \"claud\""),
            "{err}"
        );
    }
}
