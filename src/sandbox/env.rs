//! The environment an agent CLI starts with: an allowlist, never the
//! user's whole environment.

use crate::domain::Protocol;

/// Names every agent gets when the user has them set.
const COMMON: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "LANGUAGE",
    "TERM",
    "COLORTERM",
    "NO_COLOR",
    "TZ",
    "TMPDIR",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "all_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "NODE_EXTRA_CA_CERTS",
    "XDG_CONFIG_HOME",
    "XDG_CACHE_HOME",
    "XDG_DATA_HOME",
    "XDG_STATE_HOME",
];

/// Name prefixes that belong to one vendor's CLI.
pub fn vendor_prefixes(protocol: Protocol) -> &'static [&'static str] {
    match protocol {
        Protocol::Claude => &["ANTHROPIC_", "CLAUDE_"],
        Protocol::Codex => &["OPENAI_", "CODEX_"],
        Protocol::Gemini => &["GEMINI_"],
    }
}

/// Unprefixed settings a CLI documents as its own.
fn vendor_names(protocol: Protocol) -> &'static [&'static str] {
    match protocol {
        Protocol::Claude => &[
            "API_TIMEOUT_MS",
            "MAX_THINKING_TOKENS",
            "DISABLE_TELEMETRY",
            "DISABLE_ERROR_REPORTING",
            "DISABLE_AUTOUPDATER",
        ],
        // Not GOOGLE_* as a whole: it holds unrelated cloud credentials
        // (GOOGLE_CREDENTIALS, GOOGLE_OAUTH_ACCESS_TOKEN).
        Protocol::Gemini => &[
            "GOOGLE_API_KEY",
            "GOOGLE_GEMINI_BASE_URL",
            "GOOGLE_CLOUD_PROJECT",
            "GOOGLE_CLOUD_LOCATION",
            "GOOGLE_GENAI_USE_VERTEXAI",
        ],
        Protocol::Codex => &[],
    }
}

/// GitHub credentials never reach an agent, whatever `pass_env` says.
pub const NEVER: &[&str] = &[
    "GH_TOKEN",
    "GITHUB_TOKEN",
    "GH_ENTERPRISE_TOKEN",
    "GITHUB_ENTERPRISE_TOKEN",
];

/// Whether an inherited variable may reach an agent of `protocol`.
pub fn allowed(protocol: Protocol, name: &str, pass_env: &[String]) -> bool {
    if NEVER.contains(&name) {
        return false;
    }
    COMMON.contains(&name)
        || name.starts_with("LC_")
        || vendor_prefixes(protocol)
            .iter()
            .any(|p| name.starts_with(p))
        || vendor_names(protocol).contains(&name)
        || pass_env.iter().any(|p| p == name)
}

/// The subset of `inherited` an agent of `protocol` starts with.
pub fn filter(
    protocol: Protocol,
    inherited: impl IntoIterator<Item = (String, String)>,
    pass_env: &[String],
) -> Vec<(String, String)> {
    inherited
        .into_iter()
        .filter(|(k, _)| allowed(protocol, k, pass_env))
        .collect()
}

/// The value `name` has in `env` (the last setting wins, as with
/// `Command::env`).
pub fn get<'a>(env: &'a [(String, String)], name: &str) -> Option<&'a str> {
    env.iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Whether a variable's name says its value is a secret.
pub fn looks_secret(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    ["TOKEN", "KEY", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL"]
        .iter()
        .any(|w| upper.contains(w))
        || upper.ends_with("_PAT")
        || upper.contains("_PAT_")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(names: &[&str]) -> Vec<(String, String)> {
        names.iter().map(|n| (n.to_string(), "v".into())).collect()
    }

    #[test]
    fn each_agent_gets_its_own_vendor_and_nothing_foreign() {
        let inherited = vars(&[
            "PATH",
            "HOME",
            "LC_ALL",
            "ANTHROPIC_API_KEY",
            "OPENAI_API_KEY",
            "GEMINI_API_KEY",
            "GITHUB_PAT",
            "GITHUB_TOKEN",
            "AWS_SECRET_ACCESS_KEY",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
            "NPM_TOKEN",
            "MOCK_API_KEY",
        ]);
        let names = |p, pass: &[String]| -> Vec<String> {
            filter(p, inherited.clone(), pass)
                .into_iter()
                .map(|(k, _)| k)
                .collect()
        };
        assert_eq!(
            names(Protocol::Claude, &[]),
            ["PATH", "HOME", "LC_ALL", "ANTHROPIC_API_KEY"]
        );
        assert_eq!(
            names(Protocol::Codex, &["MOCK_API_KEY".into()]),
            ["PATH", "HOME", "LC_ALL", "OPENAI_API_KEY", "MOCK_API_KEY"]
        );
        assert_eq!(
            names(Protocol::Gemini, &["GITHUB_TOKEN".into()]),
            ["PATH", "HOME", "LC_ALL", "GEMINI_API_KEY"],
            "GitHub tokens stay out even when named in pass_env"
        );
    }

    #[test]
    fn secret_names() {
        for name in [
            "GITHUB_PAT",
            "GITHUB_PAT_TOKEN",
            "aws_secret",
            "OPENAI_API_KEY",
            "DB_PASSWORD",
        ] {
            assert!(looks_secret(name), "{name}");
        }
        for name in ["PATH", "HOME", "TERM"] {
            assert!(!looks_secret(name), "{name}");
        }
    }
}
