//! The command-line surface. Help texts are written for a user learning the
//! tool from `--help`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::PostMode;

#[derive(Debug, Parser)]
#[command(
    name = "deep-review",
    version,
    about = "Review a pull request with several AI coding agents at once and get one trustworthy report",
    long_about = "Review a pull request with several AI coding agents at once and get one trustworthy report.\n\n\
        deep-review checks the PR out into a throwaway worktree, runs the Claude Code, Codex and \
        Gemini CLIs on it in parallel, verifies every finding against the code, consolidates \
        duplicates and severities, and renders Markdown, HTML, JSON or SARIF.",
    after_help = "Examples:\n  \
        deep-review pr 336 --round 8\n  \
        deep-review pr 336 --format github | gh pr comment 336 -F -\n  \
        deep-review branch feature/login --base main\n  \
        deep-review pr 336 --fail-on important   # exit 4 if anything important is found\n\n\
        Exit codes: 0 ok, 1 runtime error, 2 usage or configuration error, 3 review incomplete, \
        4 findings at or above --fail-on (docs/exit-codes.md)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// Print nothing but the report and errors
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// More diagnostics on stderr (-v info, -vv debug, -vvv trace); DEEP_REVIEW_LOG overrides
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Review a GitHub pull request
    #[command(
        after_help = "Examples:\n  deep-review pr 336\n  deep-review pr 336 --repo rancher-sandbox/rancher-desktop-daemon --round 8\n  deep-review pr 336 --agents claude,codex --effort claude=xhigh --format github | gh pr comment 336 -F -"
    )]
    Pr(PrArgs),
    /// Review a local branch against its base, with no GitHub access
    #[command(
        after_help = "Examples:\n  deep-review branch              # the current branch against the default branch\n  deep-review branch feature/x --base develop"
    )]
    Branch(BranchArgs),
    /// List earlier runs
    History(HistoryArgs),
    /// Re-render a saved run without running anything
    Show(ShowArgs),
    /// Re-run consolidation from a saved run's agent output
    Consolidate(ConsolidateArgs),
    /// Record that the author declined a finding: later rounds do not raise it again
    #[command(
        after_help = "Example:\n  deep-review decline pr 336 S6 --reason \"deliberate: see docs/design.md\"\n\nOn GitHub, a PR comment line `/deep-review decline S6: reason` does the same."
    )]
    Decline {
        #[command(subcommand)]
        target: DeclineTarget,
    },
    /// Record what was done about findings: fixed, skipped, test-added, commented, documented, declined
    #[command(
        after_help = "Examples:\n  deep-review resolve pr 336 I1 fixed --commit abc1234\n  deep-review resolve pr 336 I2,S1 test-added --commit def5678\n  deep-review resolve pr 336 S2 skipped --reason \"next release\"\n  deep-review resolve pr 336 --template > resolutions.txt   # edit it, then:\n  deep-review resolve pr 336 --file resolutions.txt\n\nA resolutions file has one line per action: ACTION ID[,ID…] [in COMMIT…] [: reason].\nOn GitHub, a PR comment line `/deep-review fixed I1 in abc1234` does the same.\nThe next round checks them: a finding marked fixed whose quoted code is still there is flagged,\nand `deep-review show RUN` prints the round's Resolution section."
    )]
    Resolve {
        #[command(subcommand)]
        target: ResolveTarget,
    },
    /// Undo a decline or another resolution: the finding is open again
    Reopen {
        #[command(subcommand)]
        target: ReopenTarget,
    },
    /// List the repo-context updates the reviews proposed, and apply chosen ones
    #[command(
        after_help = "Examples:\n  deep-review context pr 336\n  deep-review context pr 336 --apply P1 P3   # appends them to deep-review-context.md"
    )]
    Context {
        #[command(subcommand)]
        target: ContextTarget,
    },
    /// Check that the agent CLIs, git, gh and the directories are ready
    Doctor,
    /// Print the effective configuration and where each value came from
    Config,
    /// Print the man page (roff), e.g. `deep-review man > deep-review.1`
    Man,
    /// Print shell completions
    #[command(
        after_help = "Example:\n  deep-review completions bash > ~/.local/share/bash-completion/completions/deep-review"
    )]
    Completions {
        /// The shell to generate completions for
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
pub struct PrArgs {
    /// The pull request number, as GitHub shows it after '#'
    #[arg(value_parser = parse_pr_number, value_name = "NUMBER")]
    pub number: u64,

    /// The GitHub repository (default: the `upstream`, else `origin`, remote of the current checkout)
    #[arg(long, value_name = "OWNER/NAME", value_parser = parse_repo)]
    pub repo: Option<String>,

    /// The round number to show (default: earlier completed runs of this PR + 1)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub round: Option<u32>,

    /// Review only if the PR's head is this commit (12 to 40 hex digits; shorter prefixes can be forged): refuses a PR pushed to since
    #[arg(long, value_name = "SHA", value_parser = parse_head)]
    pub head: Option<String>,

    #[command(flatten)]
    pub review: ReviewArgs,
}

fn parse_head(s: &str) -> Result<String, String> {
    // A 7-digit prefix can be matched by a forged commit in minutes.
    if (12..=40).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(s.to_string())
    } else {
        Err("a commit hash: 12 to 40 hex digits (the full one is best)".into())
    }
}

#[derive(Debug, Args)]
pub struct BranchArgs {
    /// The branch to review (default: the current branch)
    pub name: Option<String>,

    /// What the branch is compared against (default: the remote's default branch, else main or master)
    #[arg(long, value_name = "REF")]
    pub base: Option<String>,

    #[command(flatten)]
    pub review: ReviewArgs,
}

/// Flags shared by `pr` and `branch`.
#[derive(Debug, Args, Default)]
pub struct ReviewArgs {
    /// Agents to run, comma-separated (default from config: claude,codex,gemini)
    #[arg(long, value_delimiter = ',', value_name = "AGENT,...")]
    pub agents: Option<Vec<String>>,

    /// Model for one agent, e.g. --model claude=claude-opus-4-7 (repeatable)
    #[arg(long, value_name = "AGENT=MODEL", value_parser = parse_assignment, action = clap::ArgAction::Append)]
    pub model: Vec<(String, String)>,

    /// Effort for one agent, e.g. --effort codex=high (repeatable; comma lists work too)
    #[arg(long, value_name = "AGENT=LEVEL", value_parser = parse_assignment, value_delimiter = ',', action = clap::ArgAction::Append)]
    pub effort: Vec<(String, String)>,

    /// Wall-clock limit per agent, e.g. 20m or 1h
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout)]
    pub timeout: Option<String>,

    /// Report format; repeat to write several (default from config: md, html, json)
    #[arg(long, value_enum, action = clap::ArgAction::Append)]
    pub format: Vec<FormatArg>,

    /// Write the report to PATH (one format; the extension picks it when --format is absent)
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,

    /// Exit 4 when a finding at or above this severity remains
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<FailOnArg>,

    /// Keep the review worktree after the run, for inspection
    #[arg(long)]
    pub keep_worktree: bool,

    /// Post to the PR, one or more of (comma-separated): `comment` (create the report
    /// comment, or update the one posted before), `review` (a pull-request review with a
    /// comment on the lines of each finding), `check` (a check run with the verdict and an
    /// annotation per finding); `both` is `comment,check`. A bare `--post` posts what
    /// `github.post` says (`comment` unless configured)
    #[arg(long, num_args = 0..=1, default_missing_value = "", value_parser = parse_post, value_name = "WHERE")]
    pub post: Option<PostArg>,

    /// With `--post review`: request changes when a finding at or above this severity
    /// remains (the review is a comment otherwise; it never approves)
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub request_changes_on: Option<FailOnArg>,

    /// When agents may run commands that write (tests, builds) in the
    /// sandboxed worktree: never, trusted (local branches and
    /// same-repository PRs; the default), always (fork PRs too)
    #[arg(long, value_enum, value_name = "WHEN")]
    pub exec: Option<ExecArg>,

    /// Run agents with no OS sandbox where this machine has none, even on
    /// a fork PR: the PR's author may then reach your files and secrets
    #[arg(long)]
    pub allow_unconfined: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExecArg {
    Never,
    Trusted,
    Always,
}

impl ExecArg {
    pub fn name(self) -> &'static str {
        match self {
            ExecArg::Never => "never",
            ExecArg::Trusted => "trusted",
            ExecArg::Always => "always",
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FormatArg {
    /// GitHub-flavoured Markdown, the full report
    Md,
    /// Markdown that fits a GitHub comment (65,536 characters)
    Github,
    /// One self-contained HTML file
    Html,
    /// The report model, for scripts (docs/json-format.md)
    Json,
    /// SARIF 2.1.0, for code-scanning upload
    Sarif,
}

/// `--post`'s value: where, or (a bare `--post`) whatever `github.post`
/// says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostArg(pub Option<Vec<PostMode>>);

fn parse_post(s: &str) -> Result<PostArg, String> {
    if s.trim().is_empty() {
        return Ok(PostArg(None));
    }
    let mut modes = Vec::new();
    for word in s.split(',').map(str::trim) {
        let more: &[PostMode] = match word {
            "comment" => &[PostMode::Comment],
            "review" => &[PostMode::Review],
            "check" => &[PostMode::Check],
            "both" => &[PostMode::Comment, PostMode::Check],
            _ => {
                return Err(format!(
                    "{word:?} is not a place to post: comment, review, check (comma-separated), or both"
                ));
            }
        };
        for m in more {
            if !modes.contains(m) {
                modes.push(*m);
            }
        }
    }
    Ok(PostArg(Some(modes)))
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FailOnArg {
    None,
    Critical,
    Important,
    Suggestion,
}

#[derive(Debug, Subcommand)]
pub enum DeclineTarget {
    /// A finding of a pull request, by the id it had in the last round
    Pr {
        #[arg(value_parser = parse_pr_number, value_name = "NUMBER")]
        number: u64,
        /// The finding's id in the last report (e.g. S6)
        id: String,
        /// Why: shown in later reports under "Declined in prior rounds"
        #[arg(long)]
        reason: String,
        #[arg(long, value_name = "OWNER/NAME", value_parser = parse_repo)]
        repo: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ResolveTarget {
    /// Findings of a pull request, by the ids they had in the last round
    Pr {
        #[arg(value_parser = parse_pr_number, value_name = "NUMBER")]
        number: u64,
        /// Finding ids from the last report, comma-separated (e.g. I1,S2)
        #[arg(required_unless_present_any = ["file", "template"], requires = "action")]
        ids: Option<String>,
        /// fixed, skipped, test-added, commented, documented or declined
        action: Option<String>,
        /// A commit that did it (repeatable)
        #[arg(long = "commit", value_name = "SHA")]
        commits: Vec<String>,
        /// Why (required for skipped; shown in the Resolution section)
        #[arg(long)]
        reason: Option<String>,
        /// Read resolution lines from a file (`-`: standard input); all or nothing
        #[arg(long, value_name = "FILE", conflicts_with_all = ["ids", "template"])]
        file: Option<PathBuf>,
        /// Print a resolutions file for the last round's findings, to edit and pass to --file
        #[arg(long, conflicts_with = "ids")]
        template: bool,
        #[arg(long, value_name = "OWNER/NAME", value_parser = parse_repo)]
        repo: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ReopenTarget {
    /// A finding of a pull request, by the id it had in the last round
    Pr {
        #[arg(value_parser = parse_pr_number, value_name = "NUMBER")]
        number: u64,
        /// The finding's id (e.g. S6)
        id: String,
        #[arg(long, value_name = "OWNER/NAME", value_parser = parse_repo)]
        repo: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ContextTarget {
    /// The proposals of a pull request's reviews
    Pr {
        #[arg(value_parser = parse_pr_number, value_name = "NUMBER")]
        number: u64,
        /// Append these proposals (P1, P2, …) to deep-review-context.md in this checkout
        #[arg(long, num_args = 1.., value_name = "ID")]
        apply: Vec<String>,
        #[arg(long, value_name = "OWNER/NAME", value_parser = parse_repo)]
        repo: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    #[command(subcommand)]
    pub filter: Option<HistoryFilter>,
}

#[derive(Debug, Subcommand)]
pub enum HistoryFilter {
    /// Only the runs of one pull request
    Pr {
        #[arg(value_parser = parse_pr_number, value_name = "NUMBER")]
        number: u64,
        #[arg(long, value_name = "OWNER/NAME", value_parser = parse_repo)]
        repo: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A run id (e.g. 20260422-170229-pr-336) or a run directory
    pub run: String,
    /// Format to render (default md)
    #[arg(long, value_enum, action = clap::ArgAction::Append)]
    pub format: Vec<FormatArg>,
    /// Write to PATH instead of stdout
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ConsolidateArgs {
    /// A run id or a run directory
    pub run: String,
    /// The agent that consolidates (default from config)
    #[arg(long, value_name = "AGENT")]
    pub agent: Option<String>,
    /// Its model
    #[arg(long, value_name = "MODEL")]
    pub model: Option<String>,
    /// Its effort
    #[arg(long, value_name = "LEVEL")]
    pub effort: Option<String>,
}

fn parse_pr_number(s: &str) -> Result<u64, String> {
    let digits = s.trim_start_matches('#');
    match digits.parse::<u64>() {
        Ok(0) => Err("pull request numbers start at 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!(
            "{s:?} is not a pull request number: give the number GitHub shows after '#', e.g. `deep-review pr 336`"
        )),
    }
}

fn parse_repo(s: &str) -> Result<String, String> {
    let ok = s
        .split_once('/')
        .is_some_and(|(o, n)| !o.is_empty() && !n.is_empty() && !n.contains('/'));
    if ok {
        Ok(s.trim_end_matches(".git").to_string())
    } else {
        Err(format!(
            "{s:?} is not OWNER/NAME, e.g. `--repo rust-lang/cargo`"
        ))
    }
}

fn parse_assignment(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((agent, value)) if !agent.is_empty() && !value.is_empty() => {
            Ok((agent.trim().to_string(), value.trim().to_string()))
        }
        _ => Err(format!("{s:?} is not AGENT=VALUE, e.g. `claude=high`")),
    }
}

fn parse_timeout(s: &str) -> Result<String, String> {
    crate::config::parse_duration(s).map(|_| s.to_string())
}

impl FormatArg {
    pub fn format(self) -> crate::config::Format {
        use crate::config::Format;
        match self {
            FormatArg::Md => Format::Md,
            FormatArg::Github => Format::Github,
            FormatArg::Html => Format::Html,
            FormatArg::Json => Format::Json,
            FormatArg::Sarif => Format::Sarif,
        }
    }
}

impl FailOnArg {
    pub fn name(self) -> &'static str {
        match self {
            FailOnArg::None => "none",
            FailOnArg::Critical => "critical",
            FailOnArg::Important => "important",
            FailOnArg::Suggestion => "suggestion",
        }
    }
}
