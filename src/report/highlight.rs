//! Syntax-highlighted code for the HTML report: spans with classes (no
//! inline styles, no script), coloured by a style sheet with a light and a
//! dark theme. Every character of the code is escaped by the highlighter.

use std::sync::OnceLock;

use syntect::highlighting::ThemeSet;
use syntect::html::{ClassStyle, ClassedHTMLGenerator, css_for_theme_with_class_style};
use syntect::parsing::SyntaxSet;
use syntect::util::LinesWithEndings;

const CLASSES: ClassStyle = ClassStyle::SpacedPrefixed { prefix: "hl-" };
/// Code longer than this is shown plain: highlighting is regex work, and a
/// model can write megabytes into one block.
const MAX_HIGHLIGHTED: usize = 64 * 1024;
/// Nor a block with a line longer than this (minified code): regexes slow
/// down badly on very long lines.
const MAX_LINE: usize = 2_000;

fn syntaxes() -> &'static SyntaxSet {
    static SET: OnceLock<SyntaxSet> = OnceLock::new();
    SET.get_or_init(SyntaxSet::load_defaults_newlines)
}

/// `code` as the inside of a `<pre><code>`: highlighted when `language`
/// (a fence's info word or a file's language, e.g. `rust`, `py`, `diff`)
/// is known, else escaped text.
pub fn code(code: &str, language: &str) -> String {
    let set = syntaxes();
    let word = language.split_whitespace().next().unwrap_or("");
    let fits = code.len() <= MAX_HIGHLIGHTED && code.lines().all(|l| l.len() <= MAX_LINE);
    let syntax = (!word.is_empty() && fits)
        .then(|| set.find_syntax_by_token(word))
        .flatten();
    let Some(syntax) = syntax else {
        return super::text::html_escape(code);
    };
    let mut html = ClassedHTMLGenerator::new_with_class_style(syntax, set, CLASSES);
    for line in LinesWithEndings::from(code) {
        if html
            .parse_html_for_line_which_includes_newline(line)
            .is_err()
        {
            return super::text::html_escape(code);
        }
    }
    html.finalize()
}

/// The style sheet of the highlighting: a light theme, and a dark one
/// when the reader's system prefers dark.
pub fn css() -> &'static str {
    static CSS: OnceLock<String> = OnceLock::new();
    CSS.get_or_init(|| {
        let themes = ThemeSet::load_defaults();
        let sheet = |name: &str| {
            themes
                .themes
                .get(name)
                .and_then(|t| css_for_theme_with_class_style(t, CLASSES).ok())
                .unwrap_or_default()
        };
        format!(
            "{}\n@media (prefers-color-scheme: dark) {{\n{}\n}}\n",
            sheet("InspiredGitHub"),
            sheet("base16-ocean.dark")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_languages_are_highlighted_and_everything_is_escaped() {
        let html = code("fn main() { let x = \"</code><script>\"; }\n", "rust");
        assert!(html.contains("<span class=\"hl-"), "{html}");
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;/code&gt;&lt;script&gt;"), "{html}");
        let diff = code("-old\n+new\n", "diff");
        assert!(
            diff.contains("hl-deleted") && diff.contains("hl-inserted"),
            "{diff}"
        );
    }

    #[test]
    fn unknown_languages_and_huge_code_are_plain_text() {
        assert_eq!(code("<b>", "no-such-language"), "&lt;b&gt;");
        assert_eq!(code("<b>", ""), "&lt;b&gt;");
        let huge = "x\n".repeat(MAX_HIGHLIGHTED / 2 + 1);
        assert!(!code(&huge, "rust").contains("<span"));
        let minified = format!("fn a() {{}}\n{}", "x".repeat(MAX_LINE + 1));
        assert!(!code(&minified, "rust").contains("<span"));
        assert!(code("fn a() {}\nlet x = 1;", "rust").contains("<span"));
        // Some kilobytes are well within the limit.
        assert!(code(&"let x = 1;\n".repeat(400), "rust").contains("<span"));
    }

    #[test]
    fn the_style_sheet_has_a_dark_theme() {
        let css = css();
        assert!(css.contains(".hl-"), "{}", &css[..200]);
        assert!(css.contains("@media (prefers-color-scheme: dark)"));
    }
}
