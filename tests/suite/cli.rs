//! The command-line surface: help, usage errors, configuration layering.
//! Every run pins HOME, the XDG directories, the time zone and the width,
//! and clears DEEP_REVIEW_* so the machine's own settings cannot leak in.

use std::path::Path;

use assert_cmd::Command;

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        let env = Env {
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir_all(env.path("home")).unwrap();
        std::fs::create_dir_all(env.path("work")).unwrap();
        env
    }

    fn path(&self, rel: &str) -> std::path::PathBuf {
        self.dir.path().join(rel)
    }

    fn cmd(&self) -> Command {
        let mut cmd = Command::cargo_bin("deep-review").unwrap();
        for (k, _) in std::env::vars() {
            if k.starts_with("DEEP_REVIEW_")
                || k.starts_with("XDG_")
                || k == "GH_TOKEN"
                || k == "GITHUB_TOKEN"
            {
                cmd.env_remove(k);
            }
        }
        cmd.current_dir(self.path("work"))
            .env("HOME", self.path("home"))
            .env("XDG_CONFIG_HOME", self.path("home/.config"))
            .env("XDG_DATA_HOME", self.path("home/.local/share"))
            .env("XDG_CACHE_HOME", self.path("home/.cache"))
            .env("TZ", "UTC")
            .env("COLUMNS", "100")
            .env("NO_COLOR", "1")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null");
        cmd
    }

    /// Output with the temp dir replaced by `[TMP]`, for snapshots.
    fn clean(&self, text: &[u8]) -> String {
        String::from_utf8_lossy(text).replace(&self.dir.path().display().to_string(), "[TMP]")
    }
}

/// A repository at `dir` whose `main` commits `.deep-review.toml` with
/// `text`.
fn commit_on_main(dir: &Path, text: &str) {
    let repo = git2::Repository::init(dir).unwrap();
    write(&dir.join(".deep-review.toml"), text);
    let mut index = repo.index().unwrap();
    index.add_path(Path::new(".deep-review.toml")).unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let sig =
        git2::Signature::new("T", "t@example.com", &git2::Time::new(1_700_000_000, 0)).unwrap();
    repo.set_head("refs/heads/main").unwrap();
    let parent = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
    let parents: Vec<&git2::Commit> = parent.iter().collect();
    repo.commit(Some("HEAD"), &sig, &sig, "config", &tree, &parents)
        .unwrap();
}

#[test]
fn a_repo_file_is_read_from_the_default_branch_and_may_not_choose_programs() {
    let env = Env::new();
    let work = env.path("work");
    commit_on_main(&work, "[review]\nfail_on = \"critical\"\n");
    // A branch (or an uncommitted edit) cannot change how it is reviewed.
    write(
        &work.join(".deep-review.toml"),
        "[review]\nfail_on = \"none\"\n\n[agents.claude]\nbinary = \"./evil.sh\"\n",
    );
    let out = env.cmd().arg("config").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", env.clean(&out.stderr));
    let text = env.clean(&out.stdout);
    assert!(text.contains("review.fail_on = \"critical\""), "{text}");
    assert!(!text.contains("evil"), "{text}");

    // Committed on the default branch, such keys are refused by name.
    for (key, toml) in [
        (
            "agents.claude.binary",
            "[agents.claude]\nbinary = \"./evil.sh\"\n",
        ),
        (
            "agents.codex.extra_args",
            "[agents.codex]\nextra_args = [\"--yolo\"]\n",
        ),
        (
            "agents.gemini.pass_env",
            "[agents.gemini]\npass_env = [\"AWS_SECRET_ACCESS_KEY\"]\n",
        ),
        (
            "github.api_url",
            "[github]\napi_url = \"https://evil.example\"\n",
        ),
        ("paths.data_dir", "[paths]\ndata_dir = \"/tmp/x\"\n"),
        ("sandbox.read", "[sandbox]\nread = [\"/\"]\n"),
        ("review.exec", "[review]\nexec = \"always\"\n"),
    ] {
        commit_on_main(&work, toml);
        let out = env.cmd().arg("config").output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{key}");
        let err = env.clean(&out.stderr);
        assert!(
            err.starts_with(&format!("error: [TMP]/work/.deep-review.toml:2: key `{key}`: a repository's config file may not set this")),
            "{err}"
        );
    }
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn help_of_every_command() {
    let env = Env::new();
    for args in [
        vec!["--help"],
        vec!["pr", "--help"],
        vec!["branch", "--help"],
        vec!["history", "--help"],
        vec!["show", "--help"],
        vec!["consolidate", "--help"],
        vec!["doctor", "--help"],
        vec!["decline", "pr", "--help"],
        vec!["reopen", "pr", "--help"],
        vec!["context", "pr", "--help"],
        vec!["config", "--help"],
        vec!["completions", "--help"],
    ] {
        let out = env.cmd().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(out.stderr.is_empty(), "{args:?}: help goes to stdout");
        let name = args.join("_").replace("--", "");
        insta::assert_snapshot!(format!("help_{name}"), env.clean(&out.stdout));
    }
}

#[test]
fn a_usage_error_is_one_line_and_a_hint_with_exit_2() {
    let env = Env::new();
    let out = env
        .cmd()
        .args(["pr", "12", "--frobnicate"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    insta::assert_snapshot!(env.clean(&out.stderr), @r"
    error: unexpected argument '--frobnicate' found
    hint: a similar argument exists: '--format'; see `deep-review pr --help`
    ");
}

#[test]
fn a_pr_that_is_not_a_number_is_explained() {
    let env = Env::new();
    let out = env.cmd().args(["pr", "abc"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    insta::assert_snapshot!(env.clean(&out.stderr), @r#"
    error: invalid value 'abc' for '<NUMBER>': "abc" is not a pull request number: give the number GitHub shows after '#', e.g. `deep-review pr 336`
    hint: see `deep-review pr --help`
    "#);
}

#[test]
fn no_command_shows_help_and_exits_2() {
    let env = Env::new();
    let out = env.cmd().output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn every_layer_overrides_the_one_below_and_config_names_it() {
    let env = Env::new();
    // user file < repo file < environment; each sets something the next
    // one overrides, and something of its own.
    write(
        &env.path("home/.config/deep-review/config.toml"),
        "[review]\ntimeout = \"10m\"\nfail_on = \"critical\"\n\n[agents.claude]\nmodel = \"user-model\"\n",
    );
    // The repo file counts as committed on the default branch.
    commit_on_main(
        &env.path("work"),
        "[review]\nfail_on = \"important\"\n\n[agents.claude]\nmodel = \"repo-model\"\neffort = \"max\"\n",
    );
    let out = env
        .cmd()
        .arg("config")
        .env("DEEP_REVIEW_CLAUDE_MODEL", "env-model")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", env.clean(&out.stderr));
    let text = env.clean(&out.stdout);
    let line = |key: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{key} =")))
            .unwrap_or_else(|| panic!("{key} in {text}"))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(
        line("review.timeout"),
        "review.timeout = \"10m\" # user file [TMP]/home/.config/deep-review/config.toml"
    );
    assert_eq!(
        line("review.fail_on"),
        "review.fail_on = \"important\" # repo file [TMP]/work/.deep-review.toml at refs/heads/main"
    );
    assert_eq!(
        line("agents.claude.effort"),
        "agents.claude.effort = \"max\" # repo file [TMP]/work/.deep-review.toml at refs/heads/main"
    );
    assert_eq!(
        line("agents.claude.model"),
        "agents.claude.model = \"env-model\" # environment DEEP_REVIEW_CLAUDE_MODEL"
    );
    assert_eq!(
        line("agents.codex.effort"),
        "agents.codex.effort = \"high\" # default"
    );
}

#[test]
fn a_malformed_config_file_names_file_line_and_key() {
    let env = Env::new();
    let file = env.path("home/.config/deep-review/config.toml");
    write(
        &file,
        "[review]\nfail_on = \"important\"\ntimeout = \"soon\"\n",
    );
    let out = env.cmd().arg("config").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    insta::assert_snapshot!(env.clean(&out.stderr), @r#"
    error: [TMP]/home/.config/deep-review/config.toml:3: key `review.timeout`: "soon" is not a duration (expected number at 0); write e.g. "90s", "30m" or "1h"
    hint: see docs/configuration.md for every key and its allowed values; `deep-review config` shows the effective configuration
    "#);

    write(&file, "[review]\nfail_on = \"important\n");
    let out = env.cmd().arg("config").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = env.clean(&out.stderr);
    assert!(
        err.starts_with("error: [TMP]/home/.config/deep-review/config.toml:2: "),
        "{err}"
    );

    write(&file, "[agents.claude]\neffort = \"turbo\"\n");
    let out = env.cmd().arg("config").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    insta::assert_snapshot!(env.clean(&out.stderr).lines().next().unwrap(), @r#"error: [TMP]/home/.config/deep-review/config.toml:2: key `agents.claude.effort`: "turbo" is not an effort level for claude (expected one of: low, medium, high, xhigh, max)"#);
}

#[test]
fn an_unknown_key_is_refused_with_its_place() {
    let env = Env::new();
    write(
        &env.path("home/.config/deep-review/config.toml"),
        "[review]\ntimeuot = \"5m\"\n",
    );
    let out = env.cmd().arg("config").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = env.clean(&out.stderr);
    assert!(
        err.contains("config.toml:2: key `review.timeuot`") && err.contains("unknown field"),
        "{err}"
    );
}

#[test]
fn an_unknown_environment_variable_is_refused() {
    let env = Env::new();
    let out = env
        .cmd()
        .arg("config")
        .env("DEEP_REVIEW_FAILON", "x")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        env.clean(&out.stderr)
            .starts_with("error: environment DEEP_REVIEW_FAILON: unknown variable")
    );
}

#[test]
fn a_man_page_is_generated() {
    let env = Env::new();
    let out = env.cmd().arg("man").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(
        page.starts_with(".ie \\n(.g .ds Aq") || page.contains(".TH deep-review"),
        "{page}"
    );
    assert!(page.contains("Review a pull request with several AI coding agents"));
}

#[test]
fn completions_are_generated() {
    let env = Env::new();
    let out = env.cmd().args(["completions", "bash"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("deep-review"));
}

#[test]
fn a_closed_stdout_is_not_an_error() {
    let env = Env::new();
    // `deep-review completions zsh | head -c0`: the reader is gone before
    // the first write, so that write certainly meets a broken pipe.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("deep-review"))
        .args(["completions", "zsh"])
        .env("HOME", env.path("home"))
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Mistakes that need no agent to find are found before any agent runs:
/// exit 2, one line and a hint, and nothing started (no run directory).
#[test]
fn mistakes_are_found_before_any_agent_is_paid_for() {
    let env = Env::new();
    commit_on_main(&env.path("work"), "[review]\nfail_on = \"none\"\n");
    let cases: [(&[&str], &str); 5] = [
        (
            &[
                "pr",
                "7",
                "--repo",
                "acme/widget",
                "--post",
                "review,nowhere",
            ],
            "error: invalid value 'review,nowhere' for '--post [<WHERE>]': \"nowhere\" is not a place to post: comment, review, check (comma-separated), or both\nhint: see `deep-review pr --help`\n",
        ),
        (
            &["branch", "--post"],
            "error: --post needs a pull request\nhint: use it with `deep-review pr N`; for a branch, keep the report with -o\n",
        ),
        (
            &["branch", "-o", "/nonexistent/dir/review.md"],
            "error: cannot write the report to /nonexistent/dir/review.md\nhint: -o needs a file path in an existing, writable directory\n",
        ),
        (
            &["branch", "--agents", "claude,claude"],
            "error: flag --agents: key `review.agents`: \"claude\" is listed twice: each agent runs once (for a second Claude, define [agents.NAME] with protocol = \"claude\")\nhint: see docs/configuration.md for every key and its allowed values; `deep-review config` shows the effective configuration\n",
        ),
        (
            &["pr", "7", "--repo", "acme/widget", "--post"],
            "error: --post needs a GitHub token for github.com\nhint: set GH_TOKEN (or GITHUB_TOKEN), or log in with `gh auth login`\n",
        ),
    ];
    for (args, expected) in cases {
        let out = env
            .cmd()
            .args(args)
            // No gh CLI to ask for a token.
            .env("PATH", "/usr/bin:/bin")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(env.clean(&out.stderr), expected, "{args:?}");
        assert!(
            !env.path("home/.local/share/deep-review").exists(),
            "{args:?}: nothing was started"
        );
    }
    // Nowhere configured for a bare --post.
    write(
        &env.path("home/.config/deep-review/config.toml"),
        "[github]\npost = []\n",
    );
    let out = env
        .cmd()
        .args(["pr", "7", "--repo", "acme/widget", "--post"])
        .env("GH_TOKEN", "ghp_x")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        env.clean(&out.stderr),
        "error: --post has nowhere to post: github.post is empty\nhint: name it: --post comment, review or check (comma-separated), or set github.post\n"
    );
}

/// Usage mistakes that need no agent, each exit 2 with one line and a hint;
/// runtime trouble exit 1.
#[test]
fn the_exit_codes_of_mistakes() {
    let env = Env::new();
    // Outside any repository.
    let out = env.cmd().args(["branch"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", env.clean(&out.stderr));
    // An unknown branch.
    commit_on_main(&env.path("work"), "[review]\nfail_on = \"none\"\n");
    let out = env
        .cmd()
        .args(["branch", "no-such-branch"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", env.clean(&out.stderr));
    assert!(env.clean(&out.stderr).contains("no-such-branch"));
    // Runs and findings that do not exist.
    for args in [
        &["show", "20200101-000000-pr-1"][..],
        &["consolidate", "20200101-000000-pr-1"],
        &[
            "decline",
            "pr",
            "7",
            "S9",
            "--reason",
            "x",
            "--repo",
            "acme/widget",
        ],
        &["reopen", "pr", "7", "S9", "--repo", "acme/widget"],
    ] {
        let out = env.cmd().args(args).output().unwrap();
        let err = env.clean(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.starts_with("error: ") && err.contains("\nhint: "),
            "{args:?}: {err}"
        );
    }
}
