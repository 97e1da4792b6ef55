//! People's feedback on the PR as the report shows it: what the reviewers
//! say of each piece, once for every format.

use super::model::Report;
use crate::domain::{Feedback, FeedbackStatus};

/// Every reviewer that judged it says this change addressed it, and enough
/// of them did: two when two or more reviewers finished, so that one
/// reviewer talked round by the change's own text cannot file it away.
pub fn is_addressed(r: &Report, f: &Feedback) -> bool {
    let finished = r.agents.iter().filter(|a| a.status.is_ok()).count();
    let needed = finished.clamp(1, 2);
    f.judgements.len() >= needed
        && f.judgements
            .iter()
            .all(|j| j.status == FeedbackStatus::Addressed)
}

/// "open per Claude: the lock order is unchanged; addressed per Codex",
/// or "not judged". `text` escapes model text for the format.
pub fn judgement_text(r: &Report, f: &Feedback, text: &dyn Fn(&str) -> String) -> String {
    if f.judgements.is_empty() {
        return "not judged".into();
    }
    f.judgements
        .iter()
        .map(|j| {
            let status = match j.status {
                FeedbackStatus::Addressed => "addressed",
                FeedbackStatus::Open => "open",
                FeedbackStatus::Unclear => "unclear",
            };
            let note = j.note.trim();
            if note.is_empty() {
                format!("{status} per {}", text(&r.display_name(&j.agent)))
            } else {
                format!(
                    "{status} per {}: {}",
                    text(&r.display_name(&j.agent)),
                    text(note)
                )
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Where it sits: " on `path:line`", rendered by `path`.
pub fn place(f: &Feedback, path: &dyn Fn(&str) -> String) -> String {
    match (&f.path, f.line) {
        (Some(p), Some(n)) => format!(" on {}", path(&format!("{p}:{n}"))),
        (Some(p), None) => format!(" on {}", path(p)),
        _ => String::new(),
    }
}

/// A web link, or none: the URL comes from the PR's host, but nothing that
/// is not plainly web becomes a link.
pub fn web_url(url: &str) -> Option<&str> {
    ((url.starts_with("https://") || url.starts_with("http://"))
        && !url.contains(|c: char| c.is_whitespace() || "()<>\"'|\\`".contains(c)))
    .then_some(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(path: Option<&str>, line: Option<u32>) -> Feedback {
        Feedback {
            id: "U1".into(),
            kind: Default::default(),
            author: "maintainer".into(),
            url: "https://github.com/o/r/pull/1#c".into(),
            path: path.map(str::to_string),
            line,
            excerpt: "x".into(),
            text: String::new(),
            judgements: Vec::new(),
            findings: Vec::new(),
        }
    }

    /// A line when there is one, the file alone when not, nothing for a
    /// comment on the whole PR.
    #[test]
    fn the_place_names_what_is_known() {
        let code = |s: &str| format!("`{s}`");
        assert_eq!(place(&at(Some("a.rs"), Some(3)), &code), " on `a.rs:3`");
        assert_eq!(place(&at(Some("a.rs"), None), &code), " on `a.rs`");
        assert_eq!(place(&at(None, Some(3)), &code), "");
        assert_eq!(place(&at(None, None), &code), "");
    }
}
