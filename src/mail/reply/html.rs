//! An HTML email as the text its author sees: one line per line break or block, entities
//! decoded, and quoted history (`<blockquote>`: Gmail's `gmail_quote`, Apple's and Thunderbird's
//! `type="cite"`) marked with `>` as a plain-text client would quote it, so that the same rules
//! find where the author's own text ends. Outlook's quoted headers (`divRplyFwdMsg`) come out
//! as header lines of their own, which the header block rule recognizes.

use mail_parser::decoders::html::add_html_token;

/// Elements whose start and end break a line.
const BLOCKS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "center",
    "dd",
    "div",
    "dl",
    "dt",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "main",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "ul",
];

/// Elements whose content is not text to read.
const HIDDEN: &[&str] = &["head", "script", "style", "template", "title"];

/// The lines being written, each with how deeply it is quoted.
#[derive(Default)]
struct Lines {
    done: Vec<String>,
    line: String,
    /// How deeply the line being written is quoted (fixed by its first text).
    line_depth: usize,
    depth: usize,
    /// Inside `<pre>`: whitespace is kept.
    pre: usize,
    /// A space is owed before the next word.
    space: bool,
}

impl Lines {
    fn text(&mut self, text: &str) {
        for (i, part) in text.split('\n').enumerate() {
            if i > 0 {
                if self.pre > 0 {
                    self.end_line(true);
                } else {
                    self.space = true;
                }
            }
            self.words(part);
        }
    }

    fn words(&mut self, text: &str) {
        for c in text.chars() {
            if self.pre == 0 && c.is_ascii_whitespace() {
                self.space = !self.line.is_empty();
                continue;
            }
            if self.line.is_empty() {
                self.line_depth = self.depth;
                self.space = false;
            } else if std::mem::take(&mut self.space) {
                self.line.push(' ');
            }
            // A no-break space is a plain space to whoever reads the message as text.
            self.line.push(if c == '\u{a0}' { ' ' } else { c });
        }
    }

    /// Ends the line being written; `always`: even an empty one (a `<br>`).
    fn end_line(&mut self, always: bool) {
        if self.line.is_empty() && !always {
            return;
        }
        let depth = if self.line.is_empty() { self.depth } else { self.line_depth };
        let mark = ">".repeat(depth);
        let line = std::mem::take(&mut self.line);
        self.done.push(match (depth, line.is_empty()) {
            (0, _) => line,
            (_, true) => mark,
            (_, false) => format!("{mark} {line}"),
        });
        self.space = false;
    }
}

/// The text of an HTML email, quotes marked with `>`.
pub fn html_to_text(html: &str) -> String {
    let mut out = Lines::default();
    let mut hidden = 0usize;
    let mut rest = html;
    while !rest.is_empty() {
        let Some(at) = rest.find('<') else {
            if hidden == 0 {
                out.text(&decode(rest));
            }
            break;
        };
        if hidden == 0 && at > 0 {
            out.text(&decode(&rest[..at]));
        }
        rest = &rest[at..];
        if let Some(comment) = rest.strip_prefix("<!--") {
            rest = comment.find("-->").map_or("", |end| &comment[end + 3..]);
            continue;
        }
        let Some(end) = tag_end(rest) else {
            // A lone "<" is text.
            if hidden == 0 {
                out.text("<");
            }
            rest = &rest[1..];
            continue;
        };
        let tag = &rest[1..end];
        rest = &rest[end + 1..];
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if HIDDEN.contains(&name.as_str()) {
            if closing {
                hidden = hidden.saturating_sub(1);
            } else if !tag.ends_with('/') {
                hidden += 1;
            }
            continue;
        }
        if hidden > 0 {
            continue;
        }
        match name.as_str() {
            "br" => out.end_line(true),
            "blockquote" => {
                out.end_line(false);
                out.depth = if closing { out.depth.saturating_sub(1) } else { out.depth + 1 };
            }
            "pre" => {
                out.end_line(false);
                out.pre = if closing { out.pre.saturating_sub(1) } else { out.pre + 1 };
            }
            name if BLOCKS.contains(&name) => out.end_line(false),
            // Inline elements (a, b, span, font, img, ...) leave their text as it is.
            _ => {}
        }
    }
    out.end_line(false);
    out.done.join("\n")
}

/// Where the tag that starts `text` ("<...") ends: its closing `>`, outside quoted attribute
/// values. `None` when "<" does not start a tag.
fn tag_end(text: &str) -> Option<usize> {
    let first = text[1..].chars().next()?;
    if !(first.is_ascii_alphabetic() || first == '/' || first == '!' || first == '?') {
        return None;
    }
    let mut quote = None;
    for (i, c) in text.char_indices().skip(1) {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return Some(i),
            _ => {}
        }
    }
    None
}

/// Text with its character references ("&amp;", "&#8217;", "&nbsp;") decoded.
fn decode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        match rest[1..].find(|c: char| c == ';' || c == '&' || c.is_whitespace()).map(|i| i + 1) {
            Some(end) if rest[end..].starts_with(';') && end <= 32 => {
                add_html_token(&mut out, &rest.as_bytes()[..=end], false);
                rest = &rest[end + 1..];
            }
            _ => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::html_to_text;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(crate::proptest_config())]

        /// Whatever markup an email carries, reading it ends, without a panic, in lines of text.
        #[test]
        fn any_markup_is_read_without_panicking(html in "[<>/a-zA-Z&;#x0-9 \"'=!\n\u{e9}\u{2019}-]{0,300}") {
            let text = html_to_text(&html);
            prop_assert!(!text.contains('\r'));
        }
    }

    #[test]
    fn blocks_and_line_breaks_make_lines_and_entities_are_decoded() {
        let html = "<html><head><style>p { color: red }</style><title>x</title></head><body>\
                    <div>Reply</div><div>From: Bob &lt;bob@example.org&gt;</div>\
                    <p>It&#8217;s  fixed &amp;\n done.</p><div><br></div><div>Bye<br>Dana</div></body></html>";
        assert_eq!(html_to_text(html), "Reply\nFrom: Bob <bob@example.org>\nIt\u{2019}s fixed & done.\n\nBye\nDana");
    }

    #[test]
    fn blockquotes_are_quoted_with_marks_nested_ones_deeper() {
        let html = "<div>Yes.</div><div class=\"gmail_quote\"><div class=\"gmail_attr\">On Tue, Nov 24, 2026 at 10:00 AM Rapport &lt;a@b.c&gt; wrote:<br></div>\
                    <blockquote class=\"gmail_quote\" style=\"margin:0\"><div>Did it work?</div>\
                    <blockquote type=\"cite\">Older</blockquote></blockquote></div>";
        assert_eq!(
            html_to_text(html),
            "Yes.\nOn Tue, Nov 24, 2026 at 10:00 AM Rapport <a@b.c> wrote:\n> Did it work?\n>> Older"
        );
    }

    #[test]
    fn odd_markup_is_read_as_text_without_panicking() {
        assert_eq!(html_to_text("a < b and c > d"), "a < b and c > d");
        assert_eq!(html_to_text("<div title=\"x > y\">in</div>"), "in");
        assert_eq!(html_to_text("<!-- note -->Hi &unknown; &amp"), "Hi &unknown; &amp");
        assert_eq!(html_to_text("<pre>  two\n  lines</pre>"), "  two\n  lines");
        assert_eq!(html_to_text("</blockquote></blockquote>text<blockquote"), "text<blockquote");
        assert_eq!(html_to_text(""), "");
    }
}
