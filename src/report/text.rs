//! Making untrusted text safe for each output: Markdown that cannot
//! inject markup or break our structure, and HTML rendered from model
//! Markdown with raw HTML escaped and nothing that fetches.

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};

/// One line of text for a heading, list item or table cell.
pub fn inline(s: &str) -> String {
    let flat = s.split_whitespace().collect::<Vec<_>>().join(" ");
    let chars: Vec<char> = flat.chars().collect();
    let mut out = String::with_capacity(flat.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '`'
            && let Some((content, end)) = code_span_at(&chars, i)
        {
            // A balanced code span stays code: literal inside, and no pipe
            // may end a table cell from in there.
            out.push_str(&code(&content).replace('|', "\\|"));
            i = end;
            continue;
        }
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '|' => out.push_str("\\|"),
            '`' => out.push_str("\\`"),
            '*' | '_' | '[' | ']' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '@' if mention_at(&chars, i) => out.push_str("@\u{200B}"),
            _ => out.push(c),
        }
        i += 1;
    }
    out
}

/// Whether the `@` at `i` starts a GitHub mention (`@name`, `@org/team`):
/// at the start or after a non-word character, before a letter or digit.
/// Text a model or a PR wrote must not notify people when the report is
/// posted; a zero-width space after the `@` keeps it readable and inert.
fn mention_at(chars: &[char], i: usize) -> bool {
    let after_word = i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
    !after_word && chars.get(i + 1).is_some_and(|n| n.is_ascii_alphanumeric())
}

/// The code span opening at `start` (a run of backticks closed by a run
/// of the same length): its content and where it ends.
fn code_span_at(chars: &[char], start: usize) -> Option<(String, usize)> {
    let run = chars[start..].iter().take_while(|c| **c == '`').count();
    let mut j = start + run;
    while j < chars.len() {
        if chars[j] == '`' {
            let r = chars[j..].iter().take_while(|c| **c == '`').count();
            if r == run {
                let content: String = chars[start + run..j].iter().collect();
                return (!content.trim().is_empty()).then(|| (content.trim().to_string(), j + r));
            }
            j += r;
        } else {
            j += 1;
        }
    }
    None
}

/// One line of untrusted text as HTML: everything escaped, except that a
/// balanced code span (`` `x` ``) becomes `<code>x</code>` (its content
/// escaped too). For titles and one-line reasons, where Markdown would be
/// too much and literal backticks too little.
pub fn code_spans_html(s: &str) -> String {
    let flat = s.split_whitespace().collect::<Vec<_>>().join(" ");
    let chars: Vec<char> = flat.chars().collect();
    let mut out = String::with_capacity(flat.len());
    let mut plain = String::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '`'
            && let Some((content, end)) = code_span_at(&chars, i)
        {
            out.push_str(&html_escape(&plain));
            plain.clear();
            out.push_str(&format!("<code>{}</code>", html_escape(&content)));
            i = end;
            continue;
        }
        plain.push(chars[i]);
        i += 1;
    }
    out.push_str(&html_escape(&plain));
    out
}

/// A code span: its text literal, on one line, delimited so that no
/// backtick inside can close it.
pub fn code(s: &str) -> String {
    let flat = s.split_whitespace().collect::<Vec<_>>().join(" ");
    let longest = flat.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    if longest == 0 {
        return format!("`{flat}`");
    }
    let ticks = "`".repeat(longest + 1);
    format!("{ticks} {flat} {ticks}")
}

/// Model-written Markdown kept as Markdown, with raw HTML outside code
/// neutralised so that `</details>` or `<script>` cannot change the page.
pub fn block(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_fence: Option<String> = None;
    for line in s.lines() {
        let trimmed = line.trim_start();
        if let Some(fence) = &in_fence {
            if trimmed.starts_with(fence.as_str()) {
                in_fence = None;
            }
            out.push_str(line);
        } else if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            let ch = trimmed.chars().next().unwrap_or('`');
            let n = trimmed.chars().take_while(|c| *c == ch).count();
            in_fence = Some(ch.to_string().repeat(n));
            out.push_str(line);
        } else {
            out.push_str(&escape_tags_outside_code_spans(line));
        }
        out.push('\n');
    }
    if in_fence.is_some() {
        // An unclosed fence would swallow the rest of the report.
        out.push_str(&in_fence.unwrap_or_default());
        out.push('\n');
    }
    out.trim_end().to_string()
}

fn escape_tags_outside_code_spans(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '`' {
            let run = chars[i..].iter().take_while(|c| **c == '`').count();
            // Find the closing run of the same length.
            let mut j = i + run;
            let mut closed = None;
            while j < chars.len() {
                if chars[j] == '`' {
                    let r = chars[j..].iter().take_while(|c| **c == '`').count();
                    if r == run {
                        closed = Some(j + r);
                        break;
                    }
                    j += r;
                } else {
                    j += 1;
                }
            }
            let end = closed.unwrap_or(i + run);
            out.extend(&chars[i..end]);
            i = end;
            continue;
        }
        if c == '<'
            && chars
                .get(i + 1)
                .is_some_and(|n| n.is_ascii_alphabetic() || matches!(n, '/' | '!' | '?'))
        {
            out.push_str("&lt;");
        } else if c == '@' && mention_at(&chars, i) {
            out.push_str("@\u{200B}");
        } else {
            out.push(c);
        }
        i += 1;
    }
    out
}

/// A fenced code block whose fence no line inside can close.
pub fn fenced(code: &str, language: &str) -> String {
    let fence = crate::review::fence_for(code);
    format!(
        "{fence}{language}\n{}\n{fence}",
        code.trim_end_matches('\n')
    )
}

/// Model Markdown to HTML: raw HTML becomes text, images become links,
/// and only web, mail and in-page links survive.
pub fn to_html(markdown: &str) -> String {
    let parser = Parser::new_ext(
        markdown,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH,
    );
    let events = parser.map(|event| match event {
        Event::Html(html) | Event::InlineHtml(html) => Event::Text(html),
        Event::Start(Tag::Image {
            dest_url,
            title,
            id,
            ..
        }) => Event::Start(Tag::Link {
            link_type: pulldown_cmark::LinkType::Inline,
            dest_url: safe_url(dest_url),
            title,
            id,
        }),
        Event::End(TagEnd::Image) => Event::End(TagEnd::Link),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type,
            dest_url: safe_url(dest_url),
            title,
            id,
        }),
        other => other,
    });
    // Fenced code is highlighted: the block's text is gathered and
    // replaced by the highlighter's (escaped) HTML.
    let mut out: Vec<Event> = Vec::new();
    let mut block: Option<(String, String)> = None;
    for event in events {
        match (&mut block, event) {
            (None, Event::Start(Tag::CodeBlock(kind))) => {
                let language = match kind {
                    CodeBlockKind::Fenced(info) => info
                        .split_whitespace()
                        .next()
                        .unwrap_or("")
                        .chars()
                        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-'))
                        .collect(),
                    CodeBlockKind::Indented => String::new(),
                };
                block = Some((language, String::new()));
            }
            (Some((_, text)), Event::Text(t)) => text.push_str(&t),
            (Some(_), Event::End(TagEnd::CodeBlock)) => {
                let (language, text) = block.take().unwrap_or_default();
                let class = if language.is_empty() {
                    String::new()
                } else {
                    format!(" class=\"language-{language}\"")
                };
                out.push(Event::Html(
                    format!(
                        "<pre><code{class}>{}</code></pre>\n",
                        super::highlight::code(&text, &language)
                    )
                    .into(),
                ));
            }
            (Some(_), _) => {}
            (None, other) => out.push(other),
        }
    }
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, out.into_iter());
    html
}

fn safe_url(url: pulldown_cmark::CowStr<'_>) -> pulldown_cmark::CowStr<'_> {
    let lower = url.trim().to_ascii_lowercase();
    // `//host/x` is another host, and in a report opened from disk a
    // file share.
    // (Browsers read `\` as `/`.)
    let t = lower.trim_start();
    let other_host = t.starts_with('\\') || t.starts_with("//") || t.starts_with("/\\");
    let ok = lower.starts_with("https://")
        || lower.starts_with("http://")
        || lower.starts_with("mailto:")
        || lower.starts_with('#')
        || (!lower.contains(':') && !other_host);
    if ok { url } else { "#".into() }
}

/// Escapes text for HTML outside templates (attribute-safe).
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {

    #[test]
    fn code_spans_become_code_and_nothing_else_becomes_markup() {
        assert_eq!(
            code_spans_html("`Settled` docstring <b>lies</b> about `a < b`"),
            "<code>Settled</code> docstring &lt;b&gt;lies&lt;/b&gt; about <code>a &lt; b</code>"
        );
        assert_eq!(code_spans_html("a lone ` tick"), "a lone ` tick");
        assert_eq!(
            code_spans_html("``x ` y`` and <script>"),
            "<code>x ` y</code> and &lt;script&gt;"
        );
    }

    use super::*;

    #[test]
    fn markdown_blocks_cannot_close_our_details() {
        let out = block(
            "Closing </details> and <script>alert(1)</script>, but `</details>` in code stays.",
        );
        assert_eq!(
            out,
            "Closing &lt;/details> and &lt;script>alert(1)&lt;/script>, but `</details>` in code stays."
        );
    }

    #[test]
    fn an_unclosed_fence_is_closed() {
        assert_eq!(block("```rust\nfn x() {}"), "```rust\nfn x() {}\n```");
    }

    #[test]
    fn html_from_markdown_has_no_raw_html_or_remote_images() {
        let html = to_html(
            "<script>x</script>\n\nText ![a](https://evil.example/p.png) and [b](javascript:alert(1)) <b>bold</b>",
        );
        assert!(!html.contains("<script>"), "{html}");
        assert!(!html.contains("<b>"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("href=\"javascript:"), "{html}");
        assert!(
            html.contains("href=\"https://evil.example/p.png\""),
            "an image becomes a link: {html}"
        );
    }

    #[test]
    fn inline_text_is_one_safe_line() {
        assert_eq!(
            inline("a | b\n<b>*x*</b>"),
            "a \\| b &lt;b&gt;\\*x\\*&lt;/b&gt;"
        );
    }

    /// Code in a title stays code; what is inside is literal, and neither
    /// a pipe nor an unbalanced backtick escapes.
    #[test]
    fn inline_text_keeps_its_code_spans() {
        assert_eq!(
            inline("`Settled` docstring is wrong"),
            "`Settled` docstring is wrong"
        );
        assert_eq!(inline("use `a | b` here"), "use `a \\| b` here");
        assert_eq!(inline("`<script>` tag"), "`<script>` tag");
        assert_eq!(inline("one ` tick"), "one \\` tick");
        assert_eq!(inline("``x ` y``"), "`` x ` y ``");
        assert_eq!(inline("`` empty"), "\\`\\` empty");
    }
}

/// A report posted as a comment must not carry ledger commands: a line of
/// model-written text that reads `/deep-review decline …` gets a zero-width
/// space in front, invisible, and no longer a command.
pub fn defuse_commands(markdown: &str) -> String {
    if !markdown.contains("/deep-review") {
        return markdown.to_string();
    }
    markdown
        .split_inclusive('\n')
        .map(|line| {
            let indent = line.len() - line.trim_start().len();
            if line.trim_start().starts_with("/deep-review") {
                format!("{}\u{200B}{}", &line[..indent], &line[indent..])
            } else {
                line.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod defuse_tests {
    use super::*;

    #[test]
    fn command_lines_in_a_report_are_no_commands() {
        let md = "Body\n/deep-review decline C1: planted\n  /deep-review reopen I2\nsee /deep-review docs\n";
        let out = defuse_commands(md);
        for line in out.lines() {
            assert!(
                crate::github::LedgerCommand::parse(line).is_none(),
                "{line:?}"
            );
        }
        assert_eq!(out.replace('\u{200B}', ""), md);
    }
}

#[cfg(test)]
mod code_block_tests {
    use super::*;

    /// Model-written fences are highlighted, their text escaped and their
    /// info word unable to leave the class attribute.
    #[test]
    fn fenced_code_is_highlighted_and_stays_code() {
        let html = to_html(
            "Fix:\n\n```rust\" onmouseover=\"alert(1)\nlet x = \"</code></pre><script>\";\n```\n\n    indented <b>\n",
        );
        assert!(
            html.contains("<pre><code class=\"language-rust\"><span"),
            "{html}"
        );
        assert!(
            !html.contains("<script>") && !html.contains("<b>"),
            "{html}"
        );
        assert!(
            html.contains("&lt;/code&gt;&lt;/pre&gt;&lt;script&gt;"),
            "{html}"
        );
        assert!(
            html.contains("<pre><code>indented &lt;b&gt;\n</code></pre>"),
            "{html}"
        );
        let rust = to_html("```rust\nfn a() {}\n```\n");
        assert!(rust.contains("<span class=\"hl-"), "{rust}");
    }
}

#[cfg(test)]
mod url_tests {
    use super::*;

    #[test]
    fn links_to_other_hosts_by_scheme_or_share_are_dropped() {
        for bad in [
            "//evil.example/x",
            "\\\\share\\x",
            "/\\evil.example",
            "javascript:alert(1)",
            "file:///etc/passwd",
        ] {
            let html = to_html(&format!("[x]({bad})"));
            assert!(html.contains("href=\"#\""), "{bad}: {html}");
        }
        assert!(to_html("[x](https://ok.example/a)").contains("href=\"https://ok.example/a\""));
        assert!(to_html("[x](#c1)").contains("href=\"#c1\""));
    }
}

#[cfg(test)]
mod mention_tests {
    use super::*;

    /// Mentions in model or PR text notify nobody; code, e-mail addresses
    /// and a lone `@` stay as they are.
    #[test]
    fn mentions_outside_code_are_inert() {
        assert_eq!(
            inline("ping @alice and @org/team"),
            "ping @\u{200B}alice and @\u{200B}org/team"
        );
        assert_eq!(
            inline("a@b.com, @ alone, `@decorator`"),
            "a@b.com, @ alone, `@decorator`"
        );
        let md = block("cc @bob\n\n```py\n@property\n```\n`@x` and (@carol)");
        assert!(md.contains("cc @\u{200B}bob"), "{md}");
        assert!(md.contains("```py\n@property\n```"), "{md}");
        assert!(md.contains("`@x` and (@\u{200B}carol)"), "{md}");
        // After a word character (a letter, a digit, `_`) it is no mention.
        assert_eq!(block("x_@y 9@z"), "x_@y 9@z");
    }
}

#[cfg(test)]
mod escape_tests {
    use super::*;

    #[test]
    fn every_markup_character_is_escaped() {
        assert_eq!(html_escape("&\"<>'x"), "&amp;&quot;&lt;&gt;&#39;x");
    }

    /// A code span is found by a closing run of its own length, past
    /// shorter or longer runs inside it; what follows it is escaped.
    #[test]
    fn code_spans_end_at_their_own_run() {
        assert_eq!(block("`` a ` b `` <x>"), "`` a ` b `` &lt;x>");
        assert_eq!(block("` a `` b ` <y>"), "` a `` b ` &lt;y>");
        // An unclosed run is text, and what follows it is escaped.
        assert_eq!(block("a `` b <z>"), "a `` b &lt;z>");
    }

    /// Tables and strikethrough render; web, mail and in-page links stay.
    #[test]
    fn tables_strikethrough_and_plain_links_render() {
        let html = to_html("| a | b |\n|---|---|\n| 1 | 2 |\n\n~~old~~");
        assert!(
            html.contains("<table>") && html.contains("<del>old</del>"),
            "{html}"
        );
        for ok in [
            "http://ok.example/a",
            "mailto:a@b.example",
            "#c1",
            "relative/page",
        ] {
            assert!(
                to_html(&format!("[x]({ok})")).contains(&format!("href=\"{ok}\"")),
                "{ok}"
            );
        }
    }
}
