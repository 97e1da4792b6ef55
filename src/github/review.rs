//! Pull-request reviews: one review with a comment on each finding's lines,
//! the lines GitHub will not take found and left out, and the earlier
//! rounds' review threads found by their marker, to be resolved or folded.

use std::time::Duration;

use serde_json::{Value, json};

use super::{Github, GithubError, RepoRef};

/// What the review asks of the author. Never an approval: a model's
/// opinion is no approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewEvent {
    Comment,
    RequestChanges,
}

impl ReviewEvent {
    pub fn name(self) -> &'static str {
        match self {
            ReviewEvent::Comment => "COMMENT",
            ReviewEvent::RequestChanges => "REQUEST_CHANGES",
        }
    }
}

/// One inline comment: on line `line` of the head side, or on the lines
/// `start_line..=line`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftComment {
    /// The finding it is about (`I1`).
    pub finding: String,
    pub path: String,
    pub line: u32,
    pub start_line: Option<u32>,
    pub body: String,
}

impl DraftComment {
    fn payload(&self) -> Value {
        let mut c =
            json!({"path": self.path, "line": self.line, "side": "RIGHT", "body": self.body});
        if let Some(start) = self.start_line {
            c["start_line"] = json!(start);
            c["start_side"] = json!("RIGHT");
        }
        c
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewDraft {
    /// The head the review is of: GitHub anchors the comments there.
    pub commit_id: String,
    pub body: String,
    pub event: ReviewEvent,
    pub comments: Vec<DraftComment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostedReview {
    pub url: String,
    /// Each finding commented on, with its comment's URL.
    pub comments: Vec<(String, String)>,
    /// What went wrong after the review was published (it stands).
    pub warning: Option<String>,
}

/// What probing found: the findings whose comments GitHub refuses, and
/// those left unchecked when the probing budget ran out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Probed {
    pub refused: Vec<String>,
    pub unchecked: Vec<String>,
}

/// A review thread deep-review's account opened, as its first comment
/// reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnThread {
    pub thread_id: String,
    pub comment_id: String,
    pub resolved: bool,
    pub minimized: bool,
    pub body: String,
}

/// How an earlier comment is folded away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fold {
    /// A newer comment says it again.
    Outdated,
    /// What it pointed at was dealt with.
    Resolved,
}

/// Probing which comments GitHub refuses costs requests: past this many,
/// the comments not yet cleared go into the review's body.
const MAX_PROBES: usize = 40;

impl Github {
    /// Submits the review. A 422 comes back as [`GithubError::Unprocessable`]
    /// with GitHub's words, for the caller to find the comments at fault
    /// ([`Github::unanchorable`]) and try again.
    pub async fn submit_review(
        &self,
        repo: &RepoRef,
        number: u64,
        draft: &ReviewDraft,
    ) -> Result<PostedReview, GithubError> {
        let route = format!("/repos/{}/{}/pulls/{number}/reviews", repo.owner, repo.name);
        let body = json!({
            "commit_id": draft.commit_id,
            "body": draft.body,
            "event": draft.event.name(),
            "comments": draft.comments.iter().map(DraftComment::payload).collect::<Vec<_>>(),
        });
        let created = self.send("POST", &route, Some(&body), repo, number).await?;
        let url = created["html_url"].as_str().unwrap_or_default().to_string();
        let mut comments = Vec::new();
        let mut warning = None;
        if !draft.comments.is_empty()
            && let Some(id) = created["id"].as_u64()
        {
            // The reply names the review, not its comments: their URLs
            // link the ledger's findings to them. The review stands
            // whatever happens here.
            let posted: Vec<Value> = match self
                .all(&format!("{route}/{id}/comments"), repo, Some(number))
                .await
            {
                Ok(posted) => posted,
                Err(e) => {
                    warning = Some(format!(
                        "the review's comments could not be listed, so the ledger does not link them: {e}"
                    ));
                    Vec::new()
                }
            };
            for d in &draft.comments {
                let first = d.body.lines().next().unwrap_or_default();
                if let Some(c) = posted
                    .iter()
                    .find(|c| c["body"].as_str().and_then(|b| b.lines().next()) == Some(first))
                {
                    comments.push((
                        d.finding.clone(),
                        c["html_url"].as_str().unwrap_or_default().to_string(),
                    ));
                }
            }
        }
        Ok(PostedReview {
            url,
            comments,
            warning,
        })
    }

    /// The findings whose comments GitHub refuses (a line outside the
    /// diff as GitHub sees it, a path it does not know): found by halving
    /// the set with pending reviews, each deleted again, so nothing is
    /// published. Past [`MAX_PROBES`] requests, whatever is not yet
    /// cleared is left unchecked. A pending review of ours that an earlier,
    /// interrupted probe left (all its comments carry `tag`) is deleted
    /// first; anyone else's pending review of this account is an error.
    pub async fn unanchorable(
        &self,
        repo: &RepoRef,
        number: u64,
        draft: &ReviewDraft,
        tag: &str,
    ) -> Result<Probed, GithubError> {
        let route = format!("/repos/{}/{}/pulls/{number}/reviews", repo.owner, repo.name);
        let mut probed = Probed::default();
        let mut sets: Vec<Vec<&DraftComment>> = vec![draft.comments.iter().collect()];
        let mut probes = 0;
        let mut cleared = false;
        while let Some(set) = sets.pop() {
            if probes >= MAX_PROBES {
                probed
                    .unchecked
                    .extend(set.iter().map(|c| c.finding.clone()));
                continue;
            }
            probes += 1;
            // No `event`: the review stays pending, seen by nobody.
            let body = json!({
                "commit_id": draft.commit_id,
                "comments": set.iter().map(|c| c.payload()).collect::<Vec<_>>(),
            });
            match self.send("POST", &route, Some(&body), repo, number).await {
                Ok(pending) => {
                    let deleted = match pending["id"].as_u64() {
                        Some(id) => self.delete_pending(&route, id, repo, number).await,
                        None => Err(GithubError::Unexpected(
                            "the pending review has no id".into(),
                        )),
                    };
                    if let Err(e) = deleted {
                        // Whatever is left is ours, and found next time.
                        self.clear_own_pending(repo, number, tag).await.ok();
                        return Err(e);
                    }
                }
                Err(GithubError::Unprocessable { message })
                    if message.to_lowercase().contains("pending review") =>
                {
                    if cleared || self.clear_own_pending(repo, number, tag).await? == 0 {
                        return Err(GithubError::PendingReview { message });
                    }
                    cleared = true;
                    probes -= 1;
                    sets.push(set);
                }
                Err(GithubError::Unprocessable { .. }) if set.len() == 1 => {
                    probed.refused.push(set[0].finding.clone());
                }
                Err(GithubError::Unprocessable { .. }) => {
                    let half = set.len() / 2;
                    sets.push(set[half..].to_vec());
                    sets.push(set[..half].to_vec());
                }
                Err(e) => return Err(e),
            }
        }
        Ok(probed)
    }

    /// Deletes a pending review, trying twice: one left behind blocks
    /// every later probe of this account.
    async fn delete_pending(
        &self,
        route: &str,
        id: u64,
        repo: &RepoRef,
        number: u64,
    ) -> Result<(), GithubError> {
        let url = format!("{route}/{id}");
        match self.send("DELETE", &url, None, repo, number).await {
            Ok(_) => Ok(()),
            Err(_) => self
                .send("DELETE", &url, None, repo, number)
                .await
                .map(drop),
        }
    }

    /// Deletes this account's pending reviews whose every comment carries
    /// `tag` (what an interrupted probe leaves); a person's pending review
    /// is left alone. Returns how many were deleted.
    async fn clear_own_pending(
        &self,
        repo: &RepoRef,
        number: u64,
        tag: &str,
    ) -> Result<usize, GithubError> {
        let route = format!("/repos/{}/{}/pulls/{number}/reviews", repo.owner, repo.name);
        let reviews: Vec<Value> = self.all(&route, repo, Some(number)).await?;
        let mut deleted = 0;
        for r in reviews.iter().filter(|r| r["state"] == "PENDING") {
            let Some(id) = r["id"].as_u64() else { continue };
            let comments: Vec<Value> = self
                .all(&format!("{route}/{id}/comments"), repo, Some(number))
                .await?;
            let ours = !comments.is_empty()
                && comments
                    .iter()
                    .all(|c| c["body"].as_str().is_some_and(|b| b.contains(tag)));
            if ours {
                self.delete_pending(&route, id, repo, number).await?;
                deleted += 1;
            }
        }
        Ok(deleted)
    }

    /// The review threads whose first comment this token's account wrote
    /// (GitHub says so: `viewerDidAuthor`, which works for an Actions
    /// job's token too) and whose text carries `tag`: anyone can write
    /// the tag, only our account's threads are ours to resolve.
    pub async fn own_threads(
        &self,
        repo: &RepoRef,
        number: u64,
        tag: &str,
    ) -> Result<Vec<OwnThread>, GithubError> {
        let threads = self
            .pr_nodes(
                repo,
                number,
                "reviewThreads",
                "id isResolved comments(first: 1) { nodes { id isMinimized viewerDidAuthor body } }",
                true,
            )
            .await?;
        let mut out = Vec::new();
        for t in &threads {
            let c = &t["comments"]["nodes"][0];
            let text = c["body"].as_str().unwrap_or_default();
            if c["viewerDidAuthor"].as_bool() != Some(true) || !text.contains(tag) {
                continue;
            }
            let (Some(thread_id), Some(comment_id)) = (t["id"].as_str(), c["id"].as_str()) else {
                continue;
            };
            out.push(OwnThread {
                thread_id: thread_id.to_string(),
                comment_id: comment_id.to_string(),
                resolved: t["isResolved"].as_bool() == Some(true),
                minimized: c["isMinimized"].as_bool() == Some(true),
                body: text.to_string(),
            });
        }
        Ok(out)
    }

    pub async fn resolve_thread(
        &self,
        repo: &RepoRef,
        number: u64,
        thread_id: &str,
    ) -> Result<(), GithubError> {
        let body = json!({
            "query": "mutation($id: ID!) { resolveReviewThread(input: {threadId: $id}) { thread { id } } }",
            "variables": {"id": thread_id},
        });
        self.graphql_patiently(&body, repo, number).await.map(drop)
    }

    pub async fn fold_comment(
        &self,
        repo: &RepoRef,
        number: u64,
        comment_id: &str,
        why: Fold,
    ) -> Result<(), GithubError> {
        let classifier = match why {
            Fold::Outdated => "OUTDATED",
            Fold::Resolved => "RESOLVED",
        };
        let body = json!({
            "query": "mutation($id: ID!, $why: ReportedContentClassifiers!) { minimizeComment(input: {subjectId: $id, classifier: $why}) { minimizedComment { isMinimized } } }",
            "variables": {"id": comment_id, "why": classifier},
        });
        self.graphql_patiently(&body, repo, number).await.map(drop)
    }

    /// A GraphQL request, waited out once if GitHub's secondary rate limit
    /// stops it.
    pub(super) async fn graphql_patiently(
        &self,
        body: &Value,
        repo: &RepoRef,
        number: u64,
    ) -> Result<Value, GithubError> {
        let mut tries = 0;
        loop {
            match self.graphql.graphql::<Value>(body).await {
                Ok(v) => return Ok(v),
                Err(e) => match self.classify_graphql(e, repo, number) {
                    GithubError::RateLimited {
                        secondary: true, ..
                    } if tries < 2 => {
                        tries += 1;
                        tokio::time::sleep(self.patience.min(Duration::from_secs(60))).await;
                    }
                    other => return Err(other),
                },
            }
        }
    }

    /// A REST request whose answer's status and headers are read here: a
    /// rate limit is waited out when GitHub says for how long and that is
    /// within [`Github::patience`]; a 422 keeps GitHub's words.
    async fn send(
        &self,
        method: &str,
        route: &str,
        body: Option<&Value>,
        repo: &RepoRef,
        number: u64,
    ) -> Result<Value, GithubError> {
        let url = format!("{}{route}", self.api_url);
        let mut tries = 0;
        loop {
            let sent = match method {
                "POST" => self.octo._post(url.as_str(), body).await,
                "PATCH" => self.octo._patch(url.as_str(), body).await,
                "DELETE" => self.octo._delete(url.as_str(), body).await,
                _ => self.octo._get(url.as_str()).await,
            };
            let response = sent.map_err(|e| GithubError::Unreachable {
                url: self.api_url.clone(),
                message: e.to_string(),
            })?;
            let status = response.status().as_u16();
            let header = |name: &str| {
                response
                    .headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            let retry_after = header("retry-after").and_then(|s| s.parse::<u64>().ok());
            let remaining = header("x-ratelimit-remaining");
            let reset = header("x-ratelimit-reset").and_then(|s| s.parse::<i64>().ok());
            let text = self
                .octo
                .body_to_string(response)
                .await
                .map_err(|e| GithubError::Unexpected(e.to_string()))?;
            let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            if (200..300).contains(&status) {
                return Ok(value);
            }
            let message = error_words(&value, &text);
            if status == 403 || status == 429 {
                let secondary = message.to_lowercase().contains("secondary rate limit");
                let primary = remaining.as_deref() == Some("0");
                if secondary || primary || retry_after.is_some() {
                    let wait = match (retry_after, reset) {
                        (Some(s), _) => Some(Duration::from_secs(s)),
                        (None, Some(at)) if primary => Some(Duration::from_secs(
                            (at - jiff::Timestamp::now().as_second()).max(0) as u64,
                        )),
                        // GitHub: wait at least a minute when it does not say.
                        _ if secondary => Some(Duration::from_secs(60)),
                        _ => None,
                    };
                    match wait {
                        Some(w) if tries < 2 && w <= self.patience => {
                            tries += 1;
                            tokio::time::sleep(w).await;
                            continue;
                        }
                        _ => {
                            return Err(GithubError::RateLimited {
                                reset: reset
                                    .and_then(|s| jiff::Timestamp::from_second(s).ok())
                                    .map(|t| t.to_string()),
                                secondary,
                            });
                        }
                    }
                }
            }
            return Err(match status {
                422 => GithubError::Unprocessable { message },
                _ => self.classify_status(status, message, repo, Some(number)),
            });
        }
    }
}

/// GitHub's `message` and its `errors` (strings or objects) in one line.
fn error_words(value: &Value, raw: &str) -> String {
    let mut words = value["message"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| raw.chars().take(200).collect());
    for e in value["errors"].as_array().into_iter().flatten() {
        let detail = e
            .as_str()
            .map(str::to_string)
            .or_else(|| e["message"].as_str().map(str::to_string))
            .unwrap_or_else(|| e.to_string());
        words.push_str(": ");
        words.push_str(&detail);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_read_as_one_line() {
        let v = json!({"message": "Unprocessable Entity", "errors": ["Line could not be resolved", {"message": "x"}, {"code": "invalid"}]});
        assert_eq!(
            error_words(&v, ""),
            "Unprocessable Entity: Line could not be resolved: x: {\"code\":\"invalid\"}"
        );
        assert_eq!(error_words(&Value::Null, "oops"), "oops");
    }

    #[test]
    fn a_range_is_sent_with_its_start() {
        let mut c = DraftComment {
            finding: "I1".into(),
            path: "a.rs".into(),
            line: 9,
            start_line: Some(7),
            body: "b".into(),
        };
        assert_eq!(
            c.payload(),
            json!({"path": "a.rs", "line": 9, "side": "RIGHT", "start_line": 7, "start_side": "RIGHT", "body": "b"})
        );
        c.start_line = None;
        assert_eq!(
            c.payload(),
            json!({"path": "a.rs", "line": 9, "side": "RIGHT", "body": "b"})
        );
    }
}
