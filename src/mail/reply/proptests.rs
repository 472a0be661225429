//! Property tests: whatever text an email carries, `strip_reply` never panics and keeps a run
//! of the author's own lines (never invents or reorders text, never returns nothing when there
//! was something); and an answer written above the quoted history of the common mail clients
//! comes out exactly. More cases with `PROPTEST_CASES=...`.

use super::strip_reply;
use proptest::prelude::*;

/// The text as `strip_reply` sees it: one `\n` per line break, each line trimmed at the end.
fn lines_of(text: &str) -> Vec<String> {
    text.replace("\r\n", "\n").replace('\r', "\n").lines().map(|l| l.trim_end().to_owned()).collect()
}

/// Lines that mail clients write, and some that only look like them.
fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => ".{0,60}",
        3 => "[a-zA-Z ,.!?]{0,50}",
        2 => "> .{0,40}".prop_map(|s| s),
        1 => Just(String::new()),
        1 => Just("   \t".to_owned()),
        1 => Just(">".to_owned()),
        1 => Just("--".to_owned()),
        1 => Just("-- ".to_owned()),
        1 => Just("-----Original Message-----".to_owned()),
        1 => Just("________________________________".to_owned()),
        1 => Just("On Tue, Nov 24, 2026 at 10:00 AM Rapport <support@example.com> wrote:".to_owned()),
        1 => Just("On Tue, Nov 24, 2026 at 10:00\u{202f}AM Rapport <".to_owned()),
        1 => Just("support@example.com> wrote:".to_owned()),
        1 => Just("Le mar. 24 nov. 2026 à 10:00, Rapport <a@b.c> a écrit :".to_owned()),
        1 => Just("Am 24.11.2026 um 10:00 schrieb Rapport <a@b.c>:".to_owned()),
        1 => Just("From: Rapport <support@example.com>".to_owned()),
        1 => Just("*From:* Rapport".to_owned()),
        1 => Just("Sent: Tuesday, November 24, 2026 10:00 AM".to_owned()),
        1 => Just("To: Dana".to_owned()),
        1 => Just("Subject: Re: 1".to_owned()),
        1 => Just("Sent from my iPhone".to_owned()),
        1 => Just("My colleague wrote:".to_owned()),
        1 => "[:>*_ \u{a0}-]{1,12}",
    ]
}

fn separator() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["\n", "\r\n", "\r"])
}

/// An answer: words without digits, colons, quote marks or signature lines.
fn answer() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec("[a-z]{1,10}( [a-zA-Z]{1,10}){0,8}[.!?]?", 1..6)
        .prop_filter("no mobile signature", |lines| lines.iter().all(|l| !l.to_lowercase().contains("from")))
}

/// The quoted history below an answer, as the common clients write it.
fn history() -> impl Strategy<Value = String> {
    let quoted = prop::collection::vec("[ -~]{0,40}", 1..5)
        .prop_map(|lines| lines.iter().map(|l| format!("> {l}")).collect::<Vec<_>>().join("\n"));
    (
        prop::sample::select(vec![
            "On Tue, Nov 24, 2026 at 10:00 AM Rapport <support+r1-u2-3-abc@example.com> wrote:\n\n",
            "On Tue, Nov 24, 2026 at 10:00\u{202f}AM Rapport <\nsupport@example.com> wrote:\n",
            "Le mar. 24 nov. 2026 à 10:00, Rapport <support@example.com> a écrit :\n",
            "Am 24.11.2026 um 10:00 schrieb Rapport <support@example.com>:\n",
            "> On 24 Nov 2026, at 10:00, Rapport <support@example.com> wrote:\n>\n",
            "-----Original Message-----\nFrom: Rapport <support@example.com>\nSent: Tuesday, November 24, 2026 10:00 AM\nTo: Dana <dana@example.net>\nSubject: Re: [#1] Export\n\n",
            "________________________________\nFrom: Rapport <support@example.com>\nSent: Tuesday, November 24, 2026 10:00 AM\nTo: Dana\nSubject: Export\n\n",
            "Sent from my iPhone\n\n",
            "-- \nDana Scully\nField office\n\n",
        ]),
        quoted,
    )
        .prop_map(|(opener, quoted)| format!("{opener}{quoted}\n"))
}

proptest! {
    #![proptest_config(crate::proptest_config())]

    #[test]
    fn any_text_keeps_its_own_trimmed_lines_in_order(text in ".{0,400}") {
        check(&text)?;
    }

    #[test]
    fn mail_like_text_keeps_its_own_trimmed_lines_in_order(
        lines in prop::collection::vec(line(), 0..30),
        sep in separator(),
    ) {
        check(&lines.join(sep))?;
    }

    #[test]
    fn an_answer_above_the_history_is_what_remains(
        answer in answer(),
        blank_lines in 0..3usize,
        history in history(),
        sep in separator(),
    ) {
        let text = format!("{}\n{}{history}", answer.join("\n"), "\n".repeat(blank_lines)).replace('\n', sep);
        prop_assert_eq!(strip_reply(&text), answer.join("\n"));
    }
}

/// Lines of any script (emoji, CJK, right-to-left, stray spaces and blank lines), without the
/// marks that make a line a quote, an attribution or a signature: `>`, `:`, a leading dash.
fn any_answer() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(prop_oneof![6 => "[^>:\\s\\-_*][^:>\\r\\n]{0,50}", 1 => Just(String::new())], 1..8)
}

proptest! {
    #![proptest_config(crate::proptest_config())]

    #[test]
    fn no_line_the_author_wrote_above_the_first_quote_is_lost(
        answer in any_answer(),
        history in history(),
        sep in separator(),
    ) {
        let text = format!("{}\n\n{history}", answer.join("\n")).replace('\n', sep);
        let lines: Vec<String> = answer.iter().map(|l| l.trim_end().to_owned()).collect();
        let first = lines.iter().position(|l| !l.is_empty()).unwrap_or(lines.len());
        let last = lines.iter().rposition(|l| !l.is_empty()).map_or(first, |i| i + 1);
        let expected = lines[first..last].join("\n");
        prop_assume!(!expected.is_empty());
        prop_assert_eq!(strip_reply(&text), expected);
    }
}

fn check(text: &str) -> Result<(), TestCaseError> {
    let out = strip_reply(text);
    prop_assert!(!out.contains('\r'));
    prop_assert_eq!(out.is_empty(), text.trim().is_empty(), "{:?} became {:?}", text, out);
    if out.is_empty() {
        return Ok(());
    }
    let kept: Vec<&str> = out.split('\n').collect();
    prop_assert!(kept.iter().all(|l| l.trim_end() == *l), "{:?}", out);
    prop_assert!(!kept[0].trim().is_empty() && !kept[kept.len() - 1].trim().is_empty(), "{:?}", out);
    // What is kept are the author's lines in their order; only blank lines may be added,
    // where quoted history was taken out.
    let mut all = lines_of(text).into_iter();
    for line in kept.iter().filter(|l| !l.is_empty()) {
        prop_assert!(all.any(|l| l == *line), "{:?} is not in order among the lines of {:?}", line, text);
    }
    Ok(())
}
