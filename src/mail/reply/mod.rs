//! Cuts an emailed reply down to what its author wrote, so that answering a notification email
//! posts just the answer into the conversation: the quoted history, the signature and the
//! "Sent from my iPhone" line go; what the author wrote above, between and below quotes stays.
//!
//! Mail clients mark quoted history in many ways and none of them reliably, so this is a set of
//! heuristics over the words clients write (in `words`, by language). Each errs towards keeping
//! text: a chat message with a leftover quote is a nuisance, one that lost its point is a real
//! loss. Forwarded messages are kept whole, since what was forwarded is the content.

mod html;
mod words;

pub use html::html_to_text;
use words::Header;

/// What an email says, as text: its plain-text part as the author's client wrote it, or, for
/// an email with HTML only, the HTML read with its structure (`html_to_text`).
pub fn text_of(mail: &mail_parser::Message) -> String {
    match mail.text_part(0) {
        Some(part) if part.is_text_html() => mail.body_html(0).map(|html| html_to_text(&html)).unwrap_or_default(),
        _ => mail.body_text(0).map(|text| text.into_owned()).unwrap_or_default(),
    }
}

/// The part of an email its author wrote (`strip_reply` of `text_of`). An email whose subject
/// says it forwards another ("Fwd:", "FW:", "WG:"…) keeps what it forwards even where its client
/// marks it as it marks quoted history (Outlook: a line of underscores and a header block).
pub fn authors_text(mail: &mail_parser::Message) -> String {
    let forwarding = mail.subject().is_some_and(words::is_forward_subject);
    strip(&text_of(mail), forwarding)
}

/// The part of a plain-text email its author wrote: without quoted history, the signature and
/// the "Sent from my iPhone" line, with blank lines trimmed at both ends and trailing whitespace
/// trimmed on every line. If nothing would be left (everything is quoted), returns the whole
/// text, trimmed the same way, since an answer with its quote beats an empty one.
pub fn strip_reply(text: &str) -> String {
    strip(text, false)
}

fn strip(text: &str, forwarding: bool) -> String {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    let (own, forwarded) = Reader::new(&lines, forwarding).authors_lines();
    let mut parts = vec![join(strip_tail(&own))];
    parts.extend(forwarded.map(join));
    let stripped = parts.into_iter().filter(|p| !p.is_empty()).collect::<Vec<_>>().join("\n\n");
    if stripped.is_empty() {
        join(&lines)
    } else {
        stripped
    }
}

/// The lines without blank ones at either end, joined with `\n`.
fn join(lines: &[&str]) -> String {
    let start = lines.iter().position(|l| !l.trim().is_empty()).unwrap_or(lines.len());
    let end = lines.iter().rposition(|l| !l.trim().is_empty()).map_or(start, |i| i + 1);
    lines[start..end].join("\n")
}

fn is_quoted(line: &str) -> bool {
    line.trim_start().starts_with('>')
}

fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

/// The line as `words` reads it: every run of whitespace (the no-break spaces Gmail puts before
/// "AM" and French clients before ":" included) one plain space, trimmed, lowercased.
fn key(line: &str) -> String {
    line.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// Where quoted history starts, and how sure that is.
struct Opener {
    /// How many lines the attribution, separator or header block takes.
    lines: usize,
    /// Sure enough to cut at when no `>` line follows (the quote is not marked).
    certain: bool,
}

/// An email's lines, with what `words` reads of each.
struct Reader<'a> {
    lines: &'a [&'a str],
    keys: Vec<String>,
    /// The email forwards another: its first separator or header block starts what it forwards.
    forwarding: bool,
}

impl<'a> Reader<'a> {
    fn new(lines: &'a [&'a str], forwarding: bool) -> Self {
        Reader { lines, keys: lines.iter().map(|l| key(l)).collect(), forwarding }
    }

    fn quoted(&self, i: usize) -> bool {
        is_quoted(self.lines[i])
    }

    fn blank(&self, i: usize) -> bool {
        is_blank(self.lines[i])
    }

    /// The first line at or after `from` that is not blank (the end if none).
    fn next_text(&self, from: usize) -> usize {
        (from..self.lines.len()).find(|&i| !self.blank(i)).unwrap_or(self.lines.len())
    }

    /// The first line at or after `from` that is neither quoted nor blank (the end if none).
    fn after_quote(&self, from: usize) -> usize {
        (from..self.lines.len()).find(|&i| !self.blank(i) && !self.quoted(i)).unwrap_or(self.lines.len())
    }

    /// The author's lines, and the forwarded message they sent on, if any. Quoted history is
    /// left out where it starts with an attribution, a separator or a header block: a quote
    /// marked with `>` up to where the author writes again (below it: bottom posting), one not
    /// marked up to the end. When the author answers between quotes (inline), the quotes stay
    /// as the questions of the answers, and only the attribution goes.
    fn authors_lines(&self) -> (Vec<&'a str>, Option<&'a [&'a str]>) {
        let n = self.lines.len();
        let mut own: Vec<&'a str> = Vec::new();
        let mut i = 0;
        while i < n {
            let forward = || words::is_forward(&self.keys[i]) || (self.forwarding && self.history_marker(i).is_some());
            if !self.quoted(i) && forward() {
                return (own, Some(&self.lines[i..]));
            }
            if self.quoted(i) && (own.iter().all(|l| is_blank(l)) || self.quoted_attribution(i)) {
                // A quote the author wrote below and not between (bottom posting, as iOS Mail
                // writes it with the attribution inside the quote) goes.
                if let Some(after) = self.answered_below(i) {
                    gap(&mut own);
                    i = after;
                    continue;
                }
            }
            if let Some(opener) = self.opener(i) {
                let next = self.next_text(i + opener.lines);
                if next < n && self.quoted(next) {
                    match self.answered_below(next) {
                        Some(after) => {
                            gap(&mut own);
                            i = after;
                        }
                        None if self.after_quote(next) == n => break,
                        None => i += opener.lines,
                    }
                    continue;
                }
                if opener.certain {
                    break;
                }
            }
            own.push(self.lines[i]);
            i += 1;
        }
        (own, None)
    }

    /// Where the author writes again below the quote at line `from`, if nothing is quoted after
    /// that (the quote was answered below, not between).
    fn answered_below(&self, from: usize) -> Option<usize> {
        let after = self.after_quote(from);
        (after < self.lines.len() && !(after..self.lines.len()).any(|k| self.quoted(k))).then_some(after)
    }

    /// Whether the quote at line `i` starts with an attribution (on up to three quoted lines).
    fn quoted_attribution(&self, i: usize) -> bool {
        let mut joined = String::new();
        for line in self.lines[i..].iter().take(3).take_while(|l| is_quoted(l)) {
            let text = line.trim_start().trim_start_matches(|c: char| c == '>' || c.is_whitespace());
            if text.is_empty() {
                return false;
            }
            joined = format!("{joined} {}", key(text)).trim_start().to_owned();
            if words::is_attribution(&joined) {
                return true;
            }
        }
        false
    }

    /// The attribution, separator or header block that starts at line `i`, if one does. Quoted
    /// lines never start one, so that an attribution inside a quote, as iOS Mail writes it or
    /// before inline answers, cuts nothing.
    fn opener(&self, i: usize) -> Option<Opener> {
        if self.quoted(i) {
            return None;
        }
        if let Some(lines) = self.history_marker(i) {
            return Some(Opener { lines, certain: true });
        }
        self.attribution(i)
    }

    /// A separator or a quoted header block at line `i`, and how many lines it takes.
    fn history_marker(&self, i: usize) -> Option<usize> {
        if words::is_separator(&self.keys[i]) || self.underscores_before_headers(i) {
            return Some(1);
        }
        self.header_block(i)
    }

    /// An attribution at line `i`. Gmail wraps long ones onto a second or third line; a wrapped
    /// one without a date or time must be followed by quoted lines, since joining lines could
    /// otherwise turn ordinary sentences into one.
    fn attribution(&self, i: usize) -> Option<Opener> {
        for span in 1..=3.min(self.lines.len() - i) {
            let rest = i + 1..i + span;
            if rest.clone().any(|k| self.blank(k) || self.quoted(k)) {
                return None;
            }
            // An attribution that starts on a later line (with its date) is found there, with
            // nothing above it cut; a later line that only ends one ("…@example.com> wrote:") is not.
            if rest.clone().any(|k| words::is_certain_attribution(&self.keys[k..i + span].join(" "))) {
                return None;
            }
            let joined = self.keys[i..i + span].join(" ");
            if joined.chars().count() > 300 {
                return None;
            }
            if words::is_attribution(&joined) {
                return Some(Opener { lines: span, certain: words::is_certain_attribution(&joined) });
            }
        }
        None
    }

    /// Outlook's line of underscores, directly above a header block. Alone it is a plausible
    /// divider in ordinary text.
    fn underscores_before_headers(&self, i: usize) -> bool {
        is_underscores(self.lines[i]) && {
            let next = self.next_text(i + 1);
            next <= i + 2 && next < self.lines.len() && self.header_block(next).is_some()
        }
    }

    /// The quoted headers many clients write start at line `i`: "From:" (or "Date:") and, among
    /// the next lines, the date, and the recipient or the subject, in any of the languages of
    /// `words`. All three are needed so that a "From:" in the new text is safe. Returns how many
    /// lines the block takes.
    fn header_block(&self, i: usize) -> Option<usize> {
        let first = words::header(&self.keys[i])?;
        if !matches!(first, Header::From | Header::Date) {
            return None;
        }
        let mut seen = vec![first];
        let mut last = i;
        for k in i + 1..self.lines.len().min(i + 10) {
            if self.quoted(k) {
                break;
            }
            match words::header(&self.keys[k]) {
                Some(header) => {
                    seen.push(header);
                    last = k;
                }
                // A blank line, or one wrapped value ("To: a, b,\n c"), may stand between them.
                None if k > last + 2 => break,
                None => {}
            }
        }
        let has = |h: Header| seen.contains(&h);
        (has(Header::From) && has(Header::Date) && (has(Header::To) || has(Header::Subject))).then_some(last + 1 - i)
    }
}

/// A blank line where quoted history was taken out, unless there is one already.
fn gap(own: &mut Vec<&str>) {
    if own.last().is_some_and(|l| !is_blank(l)) {
        own.push("");
    }
}

/// A line of ten or more underscores.
fn is_underscores(line: &str) -> bool {
    let t = line.trim();
    t.len() >= 10 && t.chars().all(|c| c == '_')
}

/// The lines without the signature and what clients leave at the end: a trailing quote (and the
/// attribution just above it), "Sent from my ..." lines, and a separator whose header block was cut.
fn strip_tail<'a, 'b>(lines: &'a [&'b str]) -> &'a [&'b str] {
    // The last delimiter, so that a "--" in the middle of the text cuts as little as possible.
    let mut end = lines.iter().rposition(|l| l.trim_end() == "--").unwrap_or(lines.len());
    loop {
        while end > 0 && is_blank(lines[end - 1]) {
            end -= 1;
        }
        let Some(&last) = end.checked_sub(1).map(|i| &lines[i]) else { break };
        if is_quoted(last) {
            while end > 0 && (is_quoted(lines[end - 1]) || is_blank(lines[end - 1])) {
                end -= 1;
            }
            if end > 0 && words::is_loose_attribution(&key(lines[end - 1])) {
                end -= 1;
            }
        } else if words::is_sent_from(&key(last)) || is_underscores(last) || words::is_separator(&key(last)) {
            end -= 1;
        } else {
            break;
        }
    }
    &lines[..end]
}

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
