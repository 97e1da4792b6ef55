//! GitHub through octocrab: which repository, the token, the pull
//! request's metadata, its review threads, and the report comment.

mod commands;
mod endpoints;
mod remote;
mod review;

pub use commands::{CommandError, CommentCommand, LedgerCommand};

pub use endpoints::Endpoints;
pub use review::{DraftComment, Fold, OwnThread, PostedReview, Probed, ReviewDraft, ReviewEvent};

use std::time::Duration;

use octocrab::{Octocrab, Page};
use serde::Deserialize;
use serde_json::{Value, json};

pub use remote::{RepoRef, parse_remote_url, repo_of_checkout};

use crate::domain::{ChangedFile, CiCheck, CiState, Commit, Feedback, FeedbackKind, FileStatus};

/// The most of a piece of feedback's text the report keeps.
const FEEDBACK_TEXT: usize = 4_000;
/// The `external_id` of deep-review's own check runs (`--post check`),
/// by which the CI state leaves them out.
pub const CHECK_RUN_ID: &str = "deep-review";

/// The most pieces of feedback a review takes in.
const MAX_FEEDBACK: usize = 30;

/// Who wrote a comment, as GitHub says.
struct Person<'a> {
    bot: bool,
    login: &'a str,
    /// GitHub's `author_association`.
    association: &'a str,
}

impl Person<'_> {
    /// What a comment says as people's feedback on the change: not a bot's,
    /// not the PR author's (who answers feedback), not deep-review's own
    /// (its markers), not from someone with no standing in the repository
    /// (`NONE`, `FIRST_TIMER`: anyone can comment on a public PR), without
    /// ledger lines; none when nothing is left.
    fn feedback(&self, body: &str, pr_author: &str) -> Option<String> {
        let standing = matches!(
            self.association,
            "OWNER" | "MEMBER" | "COLLABORATOR" | "CONTRIBUTOR"
        );
        if self.bot
            || !standing
            || self.login.eq_ignore_ascii_case(pr_author)
            || body.contains("<!-- deep-review:")
        {
            return None;
        }
        let said: String = body
            .lines()
            .filter(|l| LedgerCommand::parse(l).is_none())
            .collect::<Vec<_>>()
            .join("\n");
        (!said.trim().is_empty()).then_some(said)
    }
}

fn feedback_item(
    kind: FeedbackKind,
    author: &str,
    url: &str,
    (path, line): (Option<String>, Option<u32>),
    said: &str,
) -> Feedback {
    let flat = said.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut excerpt: String = flat.chars().take(300).collect();
    if flat.chars().count() > 300 {
        excerpt.push('…');
    }
    Feedback {
        id: String::new(),
        kind,
        author: author.to_string(),
        url: url.to_string(),
        path,
        line,
        excerpt,
        text: said.trim().chars().take(FEEDBACK_TEXT).collect(),
        judgements: Vec::new(),
        findings: Vec::new(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GithubError {
    #[error("pull request #{number} not found in {repo}")]
    PrNotFound { repo: String, number: u64 },
    #[error("repository {repo} not found{}", if *with_token { "" } else { " (or it is private and no token was found)" })]
    RepoNotFound { repo: String, with_token: bool },
    #[error("GitHub refused the token ({message})")]
    BadToken { message: String },
    #[error("{}", rate_limit_message(*secondary, reset.as_deref()))]
    RateLimited {
        reset: Option<String>,
        secondary: bool,
    },
    #[error("GitHub API error {status}: {message}")]
    Api { status: u16, message: String },
    #[error("cannot reach GitHub at {url}: {message}")]
    Unreachable { url: String, message: String },
    #[error("unexpected answer from GitHub: {0}")]
    Unexpected(String),
    #[error("GitHub's GraphQL API is not at {url} (it answered 404)")]
    NoGraphql { url: String },
    #[error("GitHub refused the request: {message}")]
    Unprocessable { message: String },
    #[error("this account already has a pending review on the pull request ({message})")]
    PendingReview { message: String },
}

fn rate_limit_message(secondary: bool, reset: Option<&str>) -> String {
    match (secondary, reset) {
        (true, _) => {
            "GitHub's secondary rate limit was hit (too many requests in a short time)".into()
        }
        (false, Some(reset)) => format!("GitHub rate limit exhausted; it resets at {reset}"),
        (false, None) => "GitHub rate limit exhausted".into(),
    }
}

/// Where the token came from, for `doctor` and messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    Env(&'static str),
    GhCli,
}

/// `GH_TOKEN`, then `GITHUB_TOKEN`, then `gh auth token` (for `host`); for
/// an Enterprise Server host `GH_ENTERPRISE_TOKEN` and
/// `GITHUB_ENTERPRISE_TOKEN` first.
pub async fn find_token(host: &str) -> Option<(String, TokenSource)> {
    token_from(|k| std::env::var(k).ok(), crate::agents::locate("gh"), host).await
}

/// [`find_token`] with the environment and the gh binary given.
pub async fn token_from(
    env: impl Fn(&str) -> Option<String>,
    gh: Option<std::path::PathBuf>,
    host: &str,
) -> Option<(String, TokenSource)> {
    // gh's own rule: the enterprise variables are for Enterprise Server
    // hosts, and come first there.
    let enterprise = host != "github.com" && !host.ends_with(".ghe.com");
    let vars: &[&'static str] = if enterprise {
        &[
            "GH_ENTERPRISE_TOKEN",
            "GITHUB_ENTERPRISE_TOKEN",
            "GH_TOKEN",
            "GITHUB_TOKEN",
        ]
    } else {
        &["GH_TOKEN", "GITHUB_TOKEN"]
    };
    for &var in vars {
        if let Some(t) = env(var).filter(|t| !t.trim().is_empty()) {
            return Some((t.trim().to_string(), TokenSource::Env(var)));
        }
    }
    let mut cmd = tokio::process::Command::new(gh?);
    cmd.args(["auth", "token"]);
    if host != "github.com" {
        cmd.args(["--hostname", host]);
    }
    cmd.stdin(std::process::Stdio::null()).kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(10), cmd.output())
        .await
        .ok()?
        .ok()?;
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !token.is_empty()).then_some((token, TokenSource::GhCli))
}

pub struct Github {
    octo: Octocrab,
    /// The same client rooted where GraphQL lives (`/api` on Enterprise).
    graphql: Octocrab,
    api_url: String,
    graphql_url: String,
    has_token: bool,
    /// The longest a rate limit is waited out before giving up.
    patience: Duration,
}

/// A pull request as the review needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct PullRequest {
    pub number: u64,
    pub title: String,
    pub body: String,
    pub author: String,
    pub author_url: Option<String>,
    pub state: String,
    pub draft: bool,
    pub html_url: String,
    pub base_ref: String,
    pub base_sha: String,
    pub head_ref: String,
    pub head_sha: String,
    /// `owner/name` of the head repository (a fork's, for fork PRs).
    pub head_repo: Option<String>,
    /// Where the base repository can be fetched from (it also serves
    /// `refs/pull/N/head`, for forks too).
    pub clone_url: String,
    pub repo_html_url: String,
    pub commits: Vec<Commit>,
    pub files: Vec<ChangedFile>,
    /// People's feedback nobody resolved: open review threads, then
    /// conversation comments and review summaries (not the PR author's,
    /// not bots', not deep-review's), numbered `U1`, `U2`, …
    pub unresolved: Vec<Feedback>,
    /// The head commit's CI, when GitHub would say.
    pub ci: Option<CiState>,
}

#[derive(Deserialize)]
struct RawPr {
    number: u64,
    title: String,
    #[serde(default)]
    body: Option<String>,
    user: RawUser,
    state: String,
    #[serde(default)]
    draft: Option<bool>,
    html_url: String,
    base: RawEnd,
    head: RawEnd,
}

#[derive(Deserialize)]
struct RawUser {
    login: String,
    #[serde(default)]
    html_url: Option<String>,
}

#[derive(Deserialize)]
struct RawEnd {
    #[serde(rename = "ref")]
    name: String,
    sha: String,
    #[serde(default)]
    repo: Option<RawRepo>,
}

#[derive(Deserialize)]
struct RawRepo {
    full_name: String,
    clone_url: String,
    html_url: String,
}

#[derive(Deserialize)]
struct RawCommit {
    sha: String,
    commit: RawCommitInner,
}

#[derive(Deserialize)]
struct RawCommitInner {
    message: String,
    #[serde(default)]
    author: Option<RawSignature>,
}

#[derive(Deserialize)]
struct RawSignature {
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
struct RawFile {
    filename: String,
    status: FileStatus,
    #[serde(default)]
    additions: u64,
    #[serde(default)]
    deletions: u64,
}

impl Github {
    pub fn new(api_url: &str, token: Option<String>) -> Result<Github, GithubError> {
        let endpoints = Endpoints::of(api_url);
        let client = |base: &str| {
            let mut builder = Octocrab::builder()
                .base_uri(base)
                .map_err(|e| GithubError::Unexpected(format!("bad API URL {api_url:?}: {e}")))?;
            if let Some(token) = &token {
                builder = builder.personal_token(token.clone());
            }
            builder
                .build()
                .map_err(|e| GithubError::Unexpected(e.to_string()))
        };
        let graphql_root = endpoints
            .graphql
            .strip_suffix("/graphql")
            .unwrap_or(&endpoints.graphql)
            .to_string();
        Ok(Github {
            octo: client(&endpoints.rest)?,
            graphql: client(&graphql_root)?,
            api_url: endpoints.rest,
            graphql_url: endpoints.graphql,
            has_token: token.is_some(),
            patience: Duration::from_secs(90),
        })
    }

    /// The longest wait for a rate limit to lift (90 s by default).
    pub fn with_patience(mut self, patience: Duration) -> Github {
        self.patience = patience;
        self
    }

    async fn get<T: for<'de> Deserialize<'de>>(
        &self,
        route: &str,
        repo: &RepoRef,
        number: Option<u64>,
    ) -> Result<T, GithubError> {
        let value: Value = self
            .octo
            .get(route, None::<&()>)
            .await
            .map_err(|e| self.classify(e, repo, number))?;
        serde_json::from_value(value).map_err(|e| GithubError::Unexpected(format!("{route}: {e}")))
    }

    /// Every page of a list endpoint (100 per page).
    async fn all<T: for<'de> Deserialize<'de>>(
        &self,
        route: &str,
        repo: &RepoRef,
        number: Option<u64>,
    ) -> Result<Vec<T>, GithubError> {
        let mut out = Vec::new();
        let first: Page<Value> = self
            .octo
            .get(format!("{route}?per_page=100"), None::<&()>)
            .await
            .map_err(|e| self.classify(e, repo, number))?;
        let mut page = Some(first);
        while let Some(p) = page.take() {
            for item in &p.items {
                out.push(
                    serde_json::from_value(item.clone())
                        .map_err(|e| GithubError::Unexpected(format!("{route}: {e}")))?,
                );
            }
            if p.next.is_some() {
                page = self
                    .octo
                    .get_page::<Value>(&p.next)
                    .await
                    .map_err(|e| self.classify(e, repo, number))?;
            }
        }
        Ok(out)
    }

    pub async fn pull_request(
        &self,
        repo: &RepoRef,
        number: u64,
    ) -> Result<PullRequest, GithubError> {
        let base = format!("/repos/{}/{}/pulls/{number}", repo.owner, repo.name);
        let raw: RawPr = self.get(&base, repo, Some(number)).await?;
        let commits: Vec<RawCommit> = self
            .all(&format!("{base}/commits"), repo, Some(number))
            .await?;
        let files: Vec<RawFile> = self
            .all(&format!("{base}/files"), repo, Some(number))
            .await?;
        let mut unresolved = self
            .unresolved_threads(repo, number, &raw.user.login)
            .await?;
        // Best effort: the review does not need them to go on.
        unresolved.extend(
            self.conversation_feedback(repo, number, &raw.user.login)
                .await,
        );
        // Anyone can comment on a public PR: a flood is cut to the first
        // ones (threads first), and said so by the count.
        unresolved.truncate(MAX_FEEDBACK);
        for (i, f) in unresolved.iter_mut().enumerate() {
            f.id = format!("U{}", i + 1);
        }
        let ci = self.ci_state(repo, &raw.head.sha).await.ok().flatten();
        let base_repo = raw.base.repo.ok_or_else(|| {
            GithubError::Unexpected("the pull request names no base repository".into())
        })?;
        Ok(PullRequest {
            number: raw.number,
            title: raw.title,
            body: raw.body.unwrap_or_default(),
            author: raw.user.login,
            author_url: raw.user.html_url,
            state: raw.state,
            draft: raw.draft.unwrap_or(false),
            html_url: raw.html_url,
            base_ref: raw.base.name,
            base_sha: raw.base.sha,
            head_ref: raw.head.name,
            head_sha: raw.head.sha,
            head_repo: raw.head.repo.map(|r| r.full_name),
            clone_url: base_repo.clone_url,
            repo_html_url: base_repo.html_url,
            commits: commits
                .into_iter()
                .map(|c| Commit {
                    sha: c.sha,
                    subject: c.commit.message.lines().next().unwrap_or("").to_string(),
                    author: c.commit.author.map(|a| a.name).unwrap_or_default(),
                })
                .collect(),
            files: files
                .into_iter()
                .map(|f| ChangedFile {
                    path: f.filename,
                    status: f.status,
                    additions: f.additions,
                    deletions: f.deletions,
                })
                .collect(),
            unresolved,
            ci,
        })
    }

    /// Conversation comments and review summaries by people other than the
    /// PR's author (who answers feedback rather than gives it): not bots',
    /// not deep-review's own (its markers), not approvals, not bare ledger
    /// lines.
    async fn conversation_feedback(
        &self,
        repo: &RepoRef,
        number: u64,
        pr_author: &str,
    ) -> Vec<Feedback> {
        let base = format!("/repos/{}/{}", repo.owner, repo.name);
        // Each list on its own: one GitHub would not give costs only itself.
        let comments: Vec<Value> = self
            .all(
                &format!("{base}/issues/{number}/comments"),
                repo,
                Some(number),
            )
            .await
            .unwrap_or_default();
        let reviews: Vec<Value> = self
            .all(
                &format!("{base}/pulls/{number}/reviews"),
                repo,
                Some(number),
            )
            .await
            .unwrap_or_default();
        let mut out = Vec::new();
        let items = comments.iter().map(|c| (FeedbackKind::Comment, c)).chain(
            reviews
                .iter()
                .filter(|r| matches!(r["state"].as_str(), Some("COMMENTED" | "CHANGES_REQUESTED")))
                .map(|r| (FeedbackKind::Review, r)),
        );
        for (kind, c) in items {
            let person = Person {
                bot: c["user"]["type"].as_str() != Some("User"),
                login: c["user"]["login"].as_str().unwrap_or("ghost"),
                association: c["author_association"].as_str().unwrap_or("NONE"),
            };
            let Some(said) = person.feedback(c["body"].as_str().unwrap_or_default(), pr_author)
            else {
                continue;
            };
            out.push(feedback_item(
                kind,
                person.login,
                c["html_url"].as_str().unwrap_or_default(),
                (None, None),
                &said,
            ));
        }
        out
    }

    /// The head commit's check runs (deep-review's own left out; a check
    /// re-run counts by its newest run) and commit statuses, and what they
    /// add up to; none when it has none. Each source on its own: a token
    /// that may not read check runs still gives the statuses.
    async fn ci_state(&self, repo: &RepoRef, sha: &str) -> Result<Option<CiState>, GithubError> {
        let base = format!("/repos/{}/{}/commits/{sha}", repo.owner, repo.name);
        let mut runs: Vec<Value> = Vec::new();
        for page in 1..=10 {
            let Ok(got) = self
                .get::<Value>(
                    &format!("{base}/check-runs?per_page=100&page={page}"),
                    repo,
                    None,
                )
                .await
            else {
                break;
            };
            let items = got["check_runs"].as_array().cloned().unwrap_or_default();
            let total = got["total_count"].as_u64().unwrap_or(0) as usize;
            let done = items.len() < 100 || runs.len() + items.len() >= total;
            runs.extend(items);
            if done {
                break;
            }
        }
        // Newest first, so that the first of each name is its latest run.
        runs.sort_by_key(|r| std::cmp::Reverse(r["id"].as_u64().unwrap_or(0)));
        let mut checks: Vec<CiCheck> = Vec::new();
        for r in &runs {
            let name = r["name"].as_str().unwrap_or_default();
            if r["external_id"].as_str() == Some(CHECK_RUN_ID)
                || checks.iter().any(|c| c.name == name)
            {
                continue;
            }
            let state = match r["status"].as_str() {
                Some("completed") => r["conclusion"].as_str().unwrap_or("neutral"),
                _ => "pending",
            };
            checks.push(CiCheck {
                name: name.to_string(),
                state: state.to_string(),
                url: r["html_url"].as_str().map(str::to_string),
            });
        }
        checks.reverse();
        if let Ok(status) = self
            .get::<Value>(&format!("{base}/status?per_page=100"), repo, None)
            .await
        {
            for s in status["statuses"].as_array().into_iter().flatten() {
                checks.push(CiCheck {
                    name: s["context"].as_str().unwrap_or_default().to_string(),
                    state: s["state"].as_str().unwrap_or("pending").to_string(),
                    url: s["target_url"].as_str().map(str::to_string),
                });
            }
        }
        if checks.is_empty() {
            return Ok(None);
        }
        let state = if checks.iter().any(CiCheck::failed) {
            "failure"
        } else if checks.iter().any(|c| c.state == "pending") {
            "pending"
        } else {
            "success"
        };
        Ok(Some(CiState {
            state: state.into(),
            checks,
        }))
    }

    /// Review threads that are neither resolved nor outdated (GraphQL:
    /// the REST API does not say whether a thread is resolved).
    async fn unresolved_threads(
        &self,
        repo: &RepoRef,
        number: u64,
        pr_author: &str,
    ) -> Result<Vec<Feedback>, GithubError> {
        let threads = self
            .pr_nodes(
                repo,
                number,
                "reviewThreads",
                "isResolved isOutdated path line comments(first: 1) { nodes { author { __typename login } authorAssociation body url } }",
                false,
            )
            .await?;
        let mut out = Vec::new();
        for t in &threads {
            if t["isResolved"].as_bool() == Some(true) || t["isOutdated"].as_bool() == Some(true) {
                continue;
            }
            let c = &t["comments"]["nodes"][0];
            let person = Person {
                bot: c["author"]["__typename"].as_str() == Some("Bot"),
                login: c["author"]["login"].as_str().unwrap_or("ghost"),
                association: c["authorAssociation"].as_str().unwrap_or("NONE"),
            };
            // deep-review's own inline comments, bots' and the author's
            // are no people's feedback on the change.
            let Some(said) = person.feedback(c["body"].as_str().unwrap_or(""), pr_author) else {
                continue;
            };
            out.push(feedback_item(
                FeedbackKind::Thread,
                person.login,
                c["url"].as_str().unwrap_or(""),
                (
                    t["path"].as_str().map(str::to_string),
                    t["line"].as_u64().map(|l| l as u32),
                ),
                &said,
            ));
        }
        Ok(out)
    }

    /// Every node of one of the pull request's GraphQL connections
    /// (`reviewThreads`, `comments`), 100 a page, with `fields` asked of
    /// each. `patient`: a secondary rate limit is waited out.
    pub(super) async fn pr_nodes(
        &self,
        repo: &RepoRef,
        number: u64,
        connection: &str,
        fields: &str,
        patient: bool,
    ) -> Result<Vec<Value>, GithubError> {
        let query = format!(
            "query($owner: String!, $name: String!, $number: Int!, $after: String) {{ \
             repository(owner: $owner, name: $name) {{ pullRequest(number: $number) {{ \
             {connection}(first: 100, after: $after) {{ pageInfo {{ hasNextPage endCursor }} \
             nodes {{ {fields} }} }} }} }} }}"
        );
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let body = json!({"query": query, "variables": {"owner": repo.owner, "name": repo.name, "number": number, "after": after}});
            // octocrab returns the response's `data` and turns `errors`
            // into an error.
            let data: Value = if patient {
                self.graphql_patiently(&body, repo, number).await?
            } else {
                self.graphql
                    .graphql(&body)
                    .await
                    .map_err(|e| self.classify_graphql(e, repo, number))?
            };
            let page = &data["repository"]["pullRequest"][connection];
            out.extend(page["nodes"].as_array().cloned().unwrap_or_default());
            match page["pageInfo"]["endCursor"].as_str() {
                // A cursor that does not move would fetch the page forever.
                Some(cursor)
                    if page["pageInfo"]["hasNextPage"].as_bool() == Some(true)
                        && after.as_deref() != Some(cursor) =>
                {
                    after = Some(cursor.to_string());
                }
                _ => return Ok(out),
            }
        }
    }

    /// The ledger commands in the pull request's comments, conversation
    /// and review-thread replies alike, oldest first: lines such as
    /// `/deep-review fixed I1 in abc1234`, `/deep-review decline ID: reason`
    /// and `/deep-review reopen ID`.
    ///
    /// Never from a comment that carries one of deep-review's `markers`
    /// (its report, review and inline comments: `<!-- deep-review:… `),
    /// nor from the account that posts them (`poster`): model-written text
    /// is no decision.
    pub async fn ledger_commands(
        &self,
        repo: &RepoRef,
        number: u64,
        markers: &[&str],
        poster: Option<&str>,
    ) -> Result<Vec<CommentCommand>, GithubError> {
        let tags: Vec<String> = markers.iter().map(|m| format!("<!-- {m}")).collect();
        let mut out = Vec::new();
        for (kind, collection) in [("issue", "issues"), ("review", "pulls")] {
            let route = format!(
                "/repos/{}/{}/{collection}/{number}/comments",
                repo.owner, repo.name
            );
            let comments: Vec<Value> = self.all(&route, repo, Some(number)).await?;
            for c in &comments {
                let Some(body) = c["body"].as_str() else {
                    continue;
                };
                let author = c["user"]["login"].as_str().unwrap_or_default();
                if tags.iter().any(|t| body.contains(t.as_str()))
                    || poster.is_some_and(|p| p.eq_ignore_ascii_case(author))
                {
                    continue;
                }
                for command in body.lines().filter_map(LedgerCommand::parse) {
                    out.push(CommentCommand {
                        comment: format!("{kind}:{}", c["id"]),
                        author: c["user"]["login"].as_str().unwrap_or_default().to_string(),
                        association: c["author_association"]
                            .as_str()
                            .unwrap_or("NONE")
                            .to_string(),
                        created_at: c["created_at"].as_str().unwrap_or_default().to_string(),
                        command,
                    });
                }
            }
        }
        // ISO 8601 timestamps in UTC sort as strings.
        out.sort_by(|a, b| a.created_at.cmp(&b.created_at));
        Ok(out)
    }

    /// The account the token belongs to, if there is a token that works.
    pub async fn viewer(&self) -> Option<String> {
        if !self.has_token {
            return None;
        }
        self.whoami().await.ok().map(|(login, _)| login)
    }

    /// Creates the report comment, or updates the one posted before: the
    /// one with the hidden marker written by this token's account (anyone
    /// can plant the marker). Returns the comment's URL.
    pub async fn post_report(
        &self,
        repo: &RepoRef,
        number: u64,
        body: &str,
        marker: &str,
    ) -> Result<String, GithubError> {
        let route = format!(
            "/repos/{}/{}/issues/{number}/comments",
            repo.owner, repo.name
        );
        let comments: Vec<Value> = self.all(&route, repo, Some(number)).await?;
        let tag = format!("<!-- {marker} -->");
        let existing = match self.viewer().await {
            Some(me) => comments
                .iter()
                .find(|c| {
                    c["body"].as_str().is_some_and(|b| b.contains(&tag))
                        && c["user"]["login"]
                            .as_str()
                            .is_some_and(|l| l.eq_ignore_ascii_case(&me))
                })
                .and_then(|c| c["id"].as_u64()),
            // A token that may not read its account (an Actions job's):
            // GitHub says which comments it wrote.
            None => self.own_comment(repo, number, &tag).await.unwrap_or(None),
        };
        let result: Value = match existing {
            Some(id) => self
                .octo
                .patch(
                    format!("/repos/{}/{}/issues/comments/{id}", repo.owner, repo.name),
                    Some(&json!({"body": body})),
                )
                .await
                .map_err(|e| self.classify(e, repo, Some(number)))?,
            None => self
                .octo
                .post(route, Some(&json!({"body": body})))
                .await
                .map_err(|e| self.classify(e, repo, Some(number)))?,
        };
        Ok(result["html_url"].as_str().unwrap_or_default().to_string())
    }

    /// The id of the PR conversation comment this token's account wrote
    /// that carries `tag` (GraphQL's `viewerDidAuthor`), if any.
    async fn own_comment(
        &self,
        repo: &RepoRef,
        number: u64,
        tag: &str,
    ) -> Result<Option<u64>, GithubError> {
        let comments = self
            .pr_nodes(
                repo,
                number,
                "comments",
                "databaseId viewerDidAuthor body",
                false,
            )
            .await?;
        Ok(comments
            .iter()
            .find(|c| {
                c["viewerDidAuthor"].as_bool() == Some(true)
                    && c["body"].as_str().is_some_and(|b| b.contains(tag))
            })
            .and_then(|c| c["databaseId"].as_u64()))
    }

    /// Creates a completed check run (`body` as GitHub takes it) on the
    /// reviewed head: GitHub takes at most 50 annotations per request, so
    /// the rest follow in updates of the same run. Returns its URL.
    pub async fn post_check_run(
        &self,
        repo: &RepoRef,
        mut body: Value,
    ) -> Result<String, GithubError> {
        const PER_REQUEST: usize = 50;
        let mut annotations: Vec<Value> = body["output"]["annotations"]
            .as_array_mut()
            .map(std::mem::take)
            .unwrap_or_default();
        let rest = annotations.split_off(annotations.len().min(PER_REQUEST));
        body["output"]["annotations"] = Value::Array(annotations);
        let route = format!("/repos/{}/{}/check-runs", repo.owner, repo.name);
        let created: Value = self
            .octo
            .post(&route, Some(&body))
            .await
            .map_err(|e| self.classify(e, repo, None))?;
        let Some(id) = created["id"].as_u64() else {
            return Err(GithubError::Unexpected(
                "the reply to creating the check run has no id".into(),
            ));
        };
        for chunk in rest.chunks(PER_REQUEST) {
            let update = json!({"output": {
                "title": body["output"]["title"],
                "summary": body["output"]["summary"],
                "annotations": chunk,
            }});
            let _: Value = self
                .octo
                .patch(format!("{route}/{id}"), Some(&update))
                .await
                .map_err(|e| self.classify(e, repo, None))?;
        }
        Ok(created["html_url"].as_str().unwrap_or_default().to_string())
    }

    /// A GraphQL failure: a 404 there means no GraphQL endpoint at that
    /// URL (an API URL that does not fit the server), not a missing PR.
    fn classify_graphql(&self, e: octocrab::Error, repo: &RepoRef, number: u64) -> GithubError {
        match &e {
            octocrab::Error::GitHub { source, .. } if source.status_code.as_u16() == 404 => {
                GithubError::NoGraphql {
                    url: self.graphql_url.clone(),
                }
            }
            _ => self.classify(e, repo, Some(number)),
        }
    }

    fn classify(&self, e: octocrab::Error, repo: &RepoRef, number: Option<u64>) -> GithubError {
        match e {
            octocrab::Error::GitHub { source, .. } => self.classify_status(
                source.status_code.as_u16(),
                source.message.clone(),
                repo,
                number,
            ),
            other => {
                let text = other.to_string();
                if text.contains("connect") || text.contains("dns") || text.contains("timed out") {
                    GithubError::Unreachable {
                        url: self.api_url.clone(),
                        message: text,
                    }
                } else {
                    GithubError::Unexpected(text)
                }
            }
        }
    }

    /// An HTTP error status and GitHub's message as an error.
    fn classify_status(
        &self,
        status: u16,
        message: String,
        repo: &RepoRef,
        number: Option<u64>,
    ) -> GithubError {
        let lower = message.to_lowercase();
        match status {
            401 => GithubError::BadToken { message },
            403 | 429 if lower.contains("secondary rate limit") => GithubError::RateLimited {
                reset: None,
                secondary: true,
            },
            403 | 429 if lower.contains("rate limit") => GithubError::RateLimited {
                reset: None,
                secondary: false,
            },
            404 => match number {
                Some(n) if !lower.contains("repository") => GithubError::PrNotFound {
                    repo: repo.to_string(),
                    number: n,
                },
                _ => GithubError::RepoNotFound {
                    repo: repo.to_string(),
                    with_token: self.has_token,
                },
            },
            _ => GithubError::Api { status, message },
        }
    }

    /// When the core rate limit resets, as local time, if GitHub says.
    pub async fn rate_limit_reset(&self) -> Option<String> {
        let v: Value = self.octo.get("/rate_limit", None::<&()>).await.ok()?;
        let reset = v["resources"]["core"]["reset"]
            .as_i64()
            .or_else(|| v["rate"]["reset"].as_i64())?;
        let ts = jiff::Timestamp::from_second(reset).ok()?;
        Some(
            ts.to_zoned_datetime(jiff::tz::TimeZone::system())
                .strftime("%Y-%m-%d %H:%M %Z")
                .to_string(),
        )
    }

    /// The login and OAuth scopes of the token (fine-grained tokens list
    /// no scopes).
    pub async fn whoami(&self) -> Result<(String, Option<String>), GithubError> {
        let url = format!("{}/user", self.api_url);
        let response = tokio::time::timeout(Duration::from_secs(10), self.octo._get(url))
            .await
            .map_err(|_| GithubError::Unreachable {
                url: self.api_url.clone(),
                message: "no answer within 10 s".into(),
            })?
            .map_err(|e| GithubError::Unreachable {
                url: self.api_url.clone(),
                message: e.to_string(),
            })?;
        let status = response.status().as_u16();
        let scopes = response
            .headers()
            .get("x-oauth-scopes")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = self
            .octo
            .body_to_string(response)
            .await
            .map_err(|e| GithubError::Unexpected(e.to_string()))?;
        if status == 401 {
            return Err(GithubError::BadToken {
                message: "Bad credentials".into(),
            });
        }
        let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        let login = v["login"].as_str().ok_or_else(|| GithubError::Api {
            status,
            message: body.chars().take(200).collect(),
        })?;
        Ok((login.to_string(), scopes))
    }

    /// Distinguishes a missing pull request from a missing repository.
    pub async fn repository_exists(&self, repo: &RepoRef) -> bool {
        self.octo
            .get::<Value, _, _>(format!("/repos/{}/{}", repo.owner, repo.name), None::<&()>)
            .await
            .is_ok()
    }
}

/// The PR, with errors made precise: a 404 says whether the repository or
/// the pull request is missing, a rate limit says when it resets.
pub async fn fetch_pull_request(
    gh: &Github,
    repo: &RepoRef,
    number: u64,
) -> Result<PullRequest, GithubError> {
    match gh.pull_request(repo, number).await {
        Err(GithubError::PrNotFound { .. }) if !gh.repository_exists(repo).await => {
            Err(GithubError::RepoNotFound {
                repo: repo.to_string(),
                with_token: gh.has_token,
            })
        }
        Err(GithubError::RateLimited {
            secondary: false, ..
        }) => Err(GithubError::RateLimited {
            reset: gh.rate_limit_reset().await,
            secondary: false,
        }),
        other => other,
    }
}

/// The host of the GitHub web UI for an API URL (`api.github.com` →
/// `github.com`, `https://ghe.corp/api/v3` → `ghe.corp`).
pub fn web_host(api_url: &str) -> String {
    let host = api_url
        .split("://")
        .nth(1)
        .unwrap_or(api_url)
        .split('/')
        .next()
        .unwrap_or("github.com");
    let host = host.split(':').next().unwrap_or(host);
    if host == "api.github.com" {
        "github.com".into()
    } else {
        host.to_string()
    }
}
