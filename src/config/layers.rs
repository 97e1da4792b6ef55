//! Reading each configuration layer into a TOML table.

use std::path::{Path, PathBuf};

use super::{ConfigError, Source, line_of_key};

pub(super) struct Layer {
    pub source: Source,
    pub table: toml::Table,
    /// The file's text, to find line numbers for errors.
    pub text: Option<String>,
}

/// What `load` reads. The CLI fills it from the real environment; tests
/// fill it by hand.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `$XDG_CONFIG_HOME/deep-review/config.toml`, if it should be read.
    pub user_file: Option<PathBuf>,
    /// The repository whose `.deep-review.toml` is read — from the
    /// trusted revision, never from the working tree.
    pub repo_root: Option<PathBuf>,
    /// That revision (`branch --base`); else the default branch
    /// (`upstream`/`origin` HEAD, then `main`, `master`).
    pub repo_rev: Option<String>,
    /// Reviewing a pull request: the trusted revision is a remote's default
    /// branch, never a local branch.
    pub repo_remote_only: bool,
    /// `DEEP_REVIEW_*` variables (others are ignored).
    pub env: Vec<(String, String)>,
    pub flags: FlagOverrides,
    /// Platform defaults for `paths.data_dir` and `paths.cache_dir`.
    pub data_dir: PathBuf,
    pub cache_dir: PathBuf,
}

/// The review flags that override configuration.
#[derive(Debug, Clone, Default)]
pub struct FlagOverrides {
    pub agents: Option<Vec<String>>,
    /// `--model AGENT=MODEL`
    pub models: Vec<(String, String)>,
    /// `--effort AGENT=LEVEL`
    pub efforts: Vec<(String, String)>,
    pub timeout: Option<String>,
    pub formats: Option<Vec<String>>,
    pub fail_on: Option<String>,
    /// `--post WHERE` (`comment`, `review`, `check`; none for a bare
    /// `--post`).
    pub post: Option<Vec<String>>,
    pub request_changes_on: Option<String>,
    pub keep_worktree: bool,
    pub exec: Option<String>,
    pub allow_unconfined: bool,
}

const DEFAULTS: &str = include_str!("defaults.toml");

pub(super) fn collect(options: &LoadOptions) -> Result<Vec<Layer>, ConfigError> {
    let mut defaults: toml::Table = DEFAULTS.parse().expect("built-in defaults parse");
    let mut paths = toml::Table::new();
    paths.insert(
        "data_dir".into(),
        options.data_dir.display().to_string().into(),
    );
    paths.insert(
        "cache_dir".into(),
        options.cache_dir.display().to_string().into(),
    );
    defaults.insert("paths".into(), paths.into());
    let mut layers = vec![Layer {
        source: Source::Default,
        table: defaults,
        text: None,
    }];
    if let Some(path) = &options.user_file
        && let Some(layer) = file_layer(path, Source::UserFile(path.clone()))?
    {
        layers.push(layer);
    }
    if let Some(root) = &options.repo_root
        && let Some(layer) =
            repo_layer(root, options.repo_rev.as_deref(), options.repo_remote_only)?
    {
        layers.push(layer);
    }
    layers.extend(env_layer(&options.env)?);
    layers.extend(flag_layers(&options.flags));
    Ok(layers)
}

fn file_layer(path: &Path, source: Source) -> Result<Option<Layer>, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(ConfigError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    parse_layer(path, text, source).map(Some)
}

/// `.deep-review.toml` as committed on the trusted revision of the
/// repository at `root`: a branch under review cannot change how it is
/// reviewed. None when there is no such revision or file.
fn repo_layer(
    root: &Path,
    rev: Option<&str>,
    remote_only: bool,
) -> Result<Option<Layer>, ConfigError> {
    let Some((rev, text)) = super::trusted_file(root, rev, remote_only, super::REPO_FILE) else {
        return Ok(None);
    };
    let path = super::repo_file(root);
    let source = Source::RepoFile {
        path: path.clone(),
        rev,
    };
    let layer = parse_layer(&path, text, source)?;
    refuse_untrusted_keys(&path, &layer)?;
    Ok(Some(layer))
}

/// Keys that choose programs, arguments, endpoints, environment, paths or
/// the sandbox are the user's alone.
fn untrusted_key(dotted: &str, value: &toml::Value) -> bool {
    let parts: Vec<&str> = dotted.split('.').collect();
    match parts.as_slice() {
        ["agents", _, "binary" | "extra_args" | "pass_env"] => true,
        ["github" | "paths" | "sandbox", ..] => true,
        ["review", "exec"] => value.as_str() == Some("always"),
        _ => false,
    }
}

fn refuse_untrusted_keys(path: &Path, layer: &Layer) -> Result<(), ConfigError> {
    let mut leaves = Vec::new();
    super::leaf_keys("", &layer.table, &mut leaves);
    for (key, value) in leaves {
        if untrusted_key(&key, value) {
            return Err(ConfigError::Invalid {
                path: path.display().to_string(),
                line: layer.text.as_deref().and_then(|t| line_of_key(t, &key)),
                key: Some(key),
                message: "a repository's config file may not set this: programs, arguments, endpoints, environment, paths and the sandbox are set only in your own config file, DEEP_REVIEW_* variables or flags".into(),
            });
        }
    }
    Ok(())
}

fn parse_layer(path: &Path, text: String, source: Source) -> Result<Layer, ConfigError> {
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        let line = e
            .span()
            .map(|span| text[..span.start.min(text.len())].lines().count().max(1));
        ConfigError::Invalid {
            path: path.display().to_string(),
            line,
            key: None,
            message: e.message().trim().to_string(),
        }
    })?;
    Ok(Layer {
        source,
        table,
        text: Some(text),
    })
}

fn set(table: &mut toml::Table, dotted: &str, value: toml::Value) {
    let mut parts: Vec<&str> = dotted.split('.').collect();
    let leaf = parts.pop().expect("non-empty key");
    let mut current = table;
    for part in parts {
        current = current
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .expect("intermediate keys are tables");
    }
    current.insert(leaf.to_string(), value);
}

fn list(value: &str) -> toml::Value {
    toml::Value::Array(
        value
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| toml::Value::String(s.to_string()))
            .collect(),
    )
}

/// One layer per `DEEP_REVIEW_*` variable, so each keeps its own name as
/// its source. Unknown `DEEP_REVIEW_*` names are errors: a typo should not
/// be silently ignored.
pub(super) fn env_layer(env: &[(String, String)]) -> Result<Vec<Layer>, ConfigError> {
    let mut layers = Vec::new();
    let mut sorted: Vec<&(String, String)> = env.iter().collect();
    sorted.sort();
    for (name, value) in sorted {
        let Some(rest) = name.strip_prefix("DEEP_REVIEW_") else {
            continue;
        };
        let mut table = toml::Table::new();
        let string = || toml::Value::String(value.clone());
        match rest {
            // Not configuration: read by the CLI layer itself.
            "LOG" | "CONFIG" => continue,
            "AGENTS" => set(&mut table, "review.agents", list(value)),
            "TIMEOUT" => set(&mut table, "review.timeout", string()),
            "FAIL_ON" => set(&mut table, "review.fail_on", string()),
            "FORMAT" | "FORMATS" => set(&mut table, "review.formats", list(value)),
            "CONSOLIDATOR" => set(&mut table, "consolidation.agent", string()),
            "DATA_DIR" => set(&mut table, "paths.data_dir", string()),
            "CACHE_DIR" => set(&mut table, "paths.cache_dir", string()),
            "GITHUB_API_URL" => set(&mut table, "github.api_url", string()),
            "EXEC" => set(&mut table, "review.exec", string()),
            other => {
                let field = ["MODEL", "EFFORT", "BINARY", "TIMEOUT"]
                    .iter()
                    .find_map(|f| other.strip_suffix(&format!("_{f}")).map(|a| (a, *f)));
                let Some((agent, field)) = field else {
                    return Err(ConfigError::Invalid {
                        path: format!("environment {name}"),
                        line: None,
                        key: None,
                        message: "unknown variable; see docs/configuration.md for the DEEP_REVIEW_* names".into(),
                    });
                };
                let agent = agent.to_ascii_lowercase().replace('_', "-");
                set(
                    &mut table,
                    &format!("agents.{agent}.{}", field.to_ascii_lowercase()),
                    string(),
                );
            }
        }
        layers.push(Layer {
            source: Source::Env(name.clone()),
            table,
            text: None,
        });
    }
    Ok(layers)
}

fn flag_layers(flags: &FlagOverrides) -> Vec<Layer> {
    let mut layers = Vec::new();
    let mut push = |flag: &str, key: &str, value: toml::Value| {
        let mut table = toml::Table::new();
        set(&mut table, key, value);
        layers.push(Layer {
            source: Source::Flag(flag.to_string()),
            table,
            text: None,
        });
    };
    if let Some(agents) = &flags.agents {
        push("--agents", "review.agents", list(&agents.join(",")));
    }
    for (agent, model) in &flags.models {
        push(
            "--model",
            &format!("agents.{agent}.model"),
            model.clone().into(),
        );
    }
    for (agent, effort) in &flags.efforts {
        push(
            "--effort",
            &format!("agents.{agent}.effort"),
            effort.clone().into(),
        );
    }
    if let Some(t) = &flags.timeout {
        push("--timeout", "review.timeout", t.clone().into());
    }
    if let Some(f) = &flags.formats {
        push("--format", "review.formats", list(&f.join(",")));
    }
    if let Some(f) = &flags.fail_on {
        push("--fail-on", "review.fail_on", f.clone().into());
    }
    if let Some(p) = &flags.post {
        push("--post", "github.post", list(&p.join(",")));
    }
    if let Some(r) = &flags.request_changes_on {
        push(
            "--request-changes-on",
            "github.request_changes_on",
            r.clone().into(),
        );
    }
    if flags.keep_worktree {
        push("--keep-worktree", "review.keep_worktree", true.into());
    }
    if let Some(e) = &flags.exec {
        push("--exec", "review.exec", e.clone().into());
    }
    if flags.allow_unconfined {
        push(
            "--allow-unconfined",
            "sandbox.allow_unconfined",
            true.into(),
        );
    }
    layers
}

/// The error for a bad value at `key`, located in whichever layer set it.
pub(super) fn invalid_at(
    layers: &[Layer],
    source: Option<&Source>,
    key: &str,
    message: String,
) -> ConfigError {
    let layer = source.and_then(|s| layers.iter().rev().find(|l| &l.source == s));
    let (path, line) = match (source, layer) {
        (Some(Source::UserFile(p) | Source::RepoFile { path: p, .. }), Some(layer)) => (
            p.display().to_string(),
            layer.text.as_deref().and_then(|t| line_of_key(t, key)),
        ),
        (Some(other), _) => (other.to_string(), None),
        (None, _) => ("configuration".to_string(), None),
    };
    ConfigError::Invalid {
        path,
        line,
        key: Some(key.to_string()),
        message,
    }
}
