//! Readable names for model ids in the report header (`claude-opus-4-7` →
//! `Opus 4.7`), as people write them. The JSON keeps the exact ids.

/// The readable name of a model id, or `None` for ids of another shape
/// (they are shown as they are).
pub fn readable(id: &str) -> Option<String> {
    let id = base(id);
    let words: Vec<&str> = id.split('-').collect();
    match words.as_slice() {
        [
            "claude",
            family @ ("opus" | "sonnet" | "haiku"),
            major,
            minor,
            rest @ ..,
        ] if is_number(major) && is_number(minor) && rest.iter().all(|w| is_date(w)) => {
            Some(format!("{} {major}.{minor}", title(family)))
        }
        [
            "claude",
            family @ ("opus" | "sonnet" | "haiku"),
            major,
            rest @ ..,
        ] if is_number(major) && rest.iter().all(|w| is_date(w)) => {
            Some(format!("{} {major}", title(family)))
        }
        ["gpt", version, rest @ ..] if is_version(version) => Some(
            std::iter::once(format!("GPT {version}"))
                .chain(rest.iter().map(|w| title(w)))
                .collect::<Vec<_>>()
                .join(" "),
        ),
        ["gemini", version, rest @ ..] if is_version(version) && !rest.is_empty() => Some(
            std::iter::once(format!("Gemini {version}"))
                .chain(
                    rest.iter()
                        .filter(|w| **w != "preview" && !is_date(w))
                        .map(|w| title(w)),
                )
                .collect::<Vec<_>>()
                .join(" "),
        ),
        _ => None,
    }
}

/// The id without Claude Code's context suffix (`claude-opus-4-8[1m]`),
/// which names no other model.
fn base(id: &str) -> &str {
    id.split('[').next().unwrap_or(id).trim()
}

/// Whether the model served is the one asked for.
pub fn same_model(asked: &str, served: &str) -> bool {
    base(asked) == base(served)
}

fn is_number(w: &str) -> bool {
    !w.is_empty() && w.len() <= 2 && w.chars().all(|c| c.is_ascii_digit())
}

fn is_date(w: &str) -> bool {
    w.len() == 8 && w.chars().all(|c| c.is_ascii_digit())
}

fn is_version(w: &str) -> bool {
    let mut parts = w.split('.');
    parts.next().is_some_and(is_number) && parts.all(is_number)
}

fn title(w: &str) -> String {
    let mut chars = w.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::{readable, same_model};

    #[test]
    fn a_context_suffix_names_the_same_model_and_a_substitute_does_not() {
        assert!(same_model("claude-opus-4-8[1m]", "claude-opus-4-8"));
        assert!(same_model("gpt-5.4", "gpt-5.4"));
        assert!(!same_model(
            "gemini-3-pro-preview",
            "gemini-3.1-pro-preview"
        ));
    }

    #[test]
    fn ids_read_as_people_write_them() {
        for (id, name) in [
            ("claude-opus-4-7", Some("Opus 4.7")),
            ("claude-opus-4-8[1m]", Some("Opus 4.8")),
            ("claude-sonnet-4-6", Some("Sonnet 4.6")),
            ("claude-haiku-4-5-20251001", Some("Haiku 4.5")),
            ("claude-opus-4-20250514", Some("Opus 4")),
            ("gpt-5.4", Some("GPT 5.4")),
            ("gpt-5.1-codex-max", Some("GPT 5.1 Codex Max")),
            ("gemini-3.1-pro-preview", Some("Gemini 3.1 Pro")),
            ("gemini-2.5-flash-lite", Some("Gemini 2.5 Flash Lite")),
            ("opus", None),
            ("my-local-model", None),
            ("claude-3-5-sonnet-20241022", None),
            // Shapes that only look alike are shown as they are.
            ("claude-opus-4-latest", None),
            ("claude-opus-4-7-beta", None),
            ("claude-opus-four", None),
            ("claude-opus-4-2025051", None),
            ("claude-opus-4-2025051x", None),
            ("gpt-five", None),
            ("gpt-5.x", None),
            ("gpt-.4", None),
            ("gpt-5..4", None),
            ("gemini-3", None),
            ("gemini-three-pro", None),
            ("gemini-3.1-pro-20250101", Some("Gemini 3.1 Pro")),
        ] {
            assert_eq!(readable(id).as_deref(), name, "{id}");
        }
    }
}
