//! Cuts an emailed reply down to what its author newly wrote, so that answering a notification email posts
//! just the answer into the conversation.
//!
//! Mail clients mark quoted history in many ways and none of them reliably, so this is a set of heuristics.
//! Each one errs towards keeping text: a chat message with a leftover quote is a nuisance, one that lost
//! its point is a real loss. Forwarded messages ("---------- Forwarded message ---------") are kept on
//! purpose, since what was forwarded is usually the content.

/// The part of a plain-text email reply its author newly wrote: without the quoted history, the signature
/// and the "Sent from my iPhone" line, with blank lines trimmed at both ends and trailing whitespace trimmed
/// on every line. If nothing would be left (everything is quoted, or the answer sits below the quote),
/// returns the whole text, trimmed the same way, since an answer with its quote beats an empty one.
pub fn strip_reply(text: &str) -> String {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    let head = &lines[..opener(&lines).unwrap_or(lines.len())];
    let stripped = join(strip_tail(head));
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

/// The index of the first line that starts the quoted history: an attribution ("On ... wrote:"), an
/// Outlook separator or an Outlook header block. Quoted (`>`) lines never count, so that an attribution
/// inside a quote, as iOS Mail writes it or before inline answers, does not cut the answers below it.
fn opener(lines: &[&str]) -> Option<usize> {
    (0..lines.len()).find(|&i| {
        !is_quoted(lines[i])
            && (is_attribution_at(lines, i) || is_separator_at(lines, i) || is_header_block_at(lines, i))
    })
}

fn is_quoted(line: &str) -> bool {
    line.trim_start().starts_with('>')
}

fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

/// The line with every run of whitespace (including the no-break spaces Gmail puts before "AM" and French
/// clients before ":") made one plain space, and trimmed.
fn normalize(line: &str) -> String {
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether an attribution starts at line `i`. Gmail wraps long ones onto a second or third line; a wrapped
/// one must be followed by quoted lines, since joining lines could otherwise turn ordinary sentences into one.
fn is_attribution_at(lines: &[&str], i: usize) -> bool {
    for span in 1..=3.min(lines.len() - i) {
        let part = &lines[i..i + span];
        if span > 1 && part[1..].iter().any(|l| is_blank(l) || is_quoted(l)) {
            return false;
        }
        // An attribution that starts on a later line is found there, with nothing above it cut.
        if (1..span).any(|k| is_attribution(&normalize(&part[k..].join(" ")))) {
            return false;
        }
        let joined = normalize(&part.join(" "));
        if joined.chars().count() > 300 {
            return false;
        }
        if is_attribution(&joined) {
            return span == 1 || quote_follows(&lines[i + span..]);
        }
    }
    false
}

/// Whether the next non-blank line is quoted.
fn quote_follows(lines: &[&str]) -> bool {
    lines.iter().find(|l| !is_blank(l)).is_some_and(|l| is_quoted(l))
}

/// A (normalized) attribution line in one of the common languages. It must hold a digit (the date or
/// time every client writes), which keeps "My colleague wrote:" in the new text safe.
fn is_attribution(line: &str) -> bool {
    if !line.ends_with(':') || !line.chars().any(|c| c.is_ascii_digit()) {
        return false;
    }
    let lower = line.to_lowercase();
    let starts = |word: &str| lower.starts_with(word);
    let ends = |tail: &str| lower.ends_with(tail);
    (starts("on ") && ends(" wrote:"))
        || (starts("am ") && lower.contains(" schrieb "))
        || lower.contains(" schrieb am ")
        || (starts("le ") && (ends(" a écrit :") || ends(" a écrit:")))
        || (starts("el ") && ends(" escribió:"))
        || ends(" пишет:")
        || ends(" написал(а):")
        || ends(" написал:")
        || ends(" написала:")
        || (starts("il ") && ends(" ha scritto:"))
        || (starts("em ") && ends(" escreveu:"))
        || (starts("op ") && lower.contains(" schreef "))
}

/// A looser test for the line just above a trailing quote, where being wrong costs little: any of the
/// attribution verbs, or Gmail's verbless form in some languages ("вт, 24 нояб. 2026 г. в 10:00, X <a@b>:").
fn is_loose_attribution(line: &str) -> bool {
    let lower = normalize(line).to_lowercase();
    if !lower.ends_with(':') || !lower.chars().any(|c| c.is_ascii_digit()) {
        return false;
    }
    lower.ends_with(">:")
        || [" wrote:", " a écrit :", " a écrit:", " escribió:", " ha scritto:", " escreveu:"]
            .iter()
            .any(|tail| lower.ends_with(tail))
        || [" schrieb ", " schreef "].iter().any(|verb| lower.contains(verb))
        || ["пишет:", "написал(а):", "написал:", "написала:"].iter().any(|tail| lower.ends_with(tail))
}

/// "-----Original Message-----" and its translations, which Outlook writes before the quoted headers.
fn is_original_message(line: &str) -> bool {
    let t = line.trim();
    if !t.starts_with("--") {
        return false;
    }
    let inner = normalize(t.trim_matches('-')).to_lowercase();
    [
        "original message",
        "ursprüngliche nachricht",
        "message d'origine",
        "mensaje original",
        "исходное сообщение",
        "messaggio originale",
        "oorspronkelijk bericht",
        "mensagem original",
    ]
    .contains(&inner.as_str())
}

/// Outlook's line of underscores. Alone it is a plausible divider in ordinary text, so it only counts
/// directly before a header block.
fn is_underscores(line: &str) -> bool {
    let t = line.trim();
    t.len() >= 10 && t.chars().all(|c| c == '_')
}

fn is_separator_at(lines: &[&str], i: usize) -> bool {
    if is_original_message(lines[i]) {
        return true;
    }
    is_underscores(lines[i])
        && lines[i + 1..]
            .iter()
            .position(|l| !is_blank(l))
            .is_some_and(|n| n <= 1 && is_header_block_at(lines, i + 1 + n))
}

/// The lowercased name of a "Name: value" line, allowing Outlook's bold markers ("*From:* X").
fn header_key(line: &str) -> Option<String> {
    let t = line.trim_start().trim_start_matches('*');
    let (key, _) = t.split_once(':')?;
    let key = normalize(key.trim_end_matches('*'));
    (!key.is_empty() && key.chars().count() <= 20).then(|| key.to_lowercase())
}

const FROM_KEYS: &[&str] = &["from", "von", "de", "от", "da", "van", "från"];
const DATE_KEYS: &[&str] = &[
    "sent",
    "date",
    "gesendet",
    "datum",
    "envoyé",
    "enviado",
    "fecha",
    "отправлено",
    "дата",
    "inviato",
    "data",
    "verzonden",
    "skickat",
];
const OTHER_KEYS: &[&str] = &[
    "to",
    "cc",
    "subject",
    "an",
    "betreff",
    "à",
    "objet",
    "para",
    "asunto",
    "кому",
    "тема",
    "a",
    "oggetto",
    "aan",
    "onderwerp",
    "assunto",
    "till",
    "ämne",
];

/// Whether the quoted headers Outlook writes start at line `i`: "From:", then within a few lines "Sent:"
/// (or "Date:"), and "To:" or "Subject:". All three are needed so that a "From:" in the new text is safe.
fn is_header_block_at(lines: &[&str], i: usize) -> bool {
    let has_key = |line: &str, keys: &[&str]| header_key(line).is_some_and(|k| keys.contains(&k.as_str()));
    if !has_key(lines[i], FROM_KEYS) {
        return false;
    }
    let next = |n: usize| lines.iter().skip(i + 1).take(n).filter(|l| !is_quoted(l));
    next(4).any(|l| has_key(l, DATE_KEYS)) && next(6).any(|l| has_key(l, OTHER_KEYS))
}

/// The lines that mobile clients append, compared in lowercase, as prefixes.
const MOBILE_SIGNATURES: &[&str] = &[
    "sent from my ",
    "sent from mail for windows",
    "sent from outlook",
    "sent from yahoo mail",
    "sent with proton mail",
    "get outlook for ",
    "von meinem ",
    "envoyé de mon ",
    "enviado desde mi ",
    "enviado do meu ",
    "inviato da ",
    "verzonden vanaf mijn ",
    "отправлено с ",
];

fn is_mobile_signature(line: &str) -> bool {
    let lower = normalize(line).to_lowercase();
    lower.chars().count() <= 80 && MOBILE_SIGNATURES.iter().any(|p| lower.starts_with(p))
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
            if end > 0 && is_loose_attribution(lines[end - 1]) {
                end -= 1;
            }
        } else if is_mobile_signature(last) || is_underscores(last) || is_original_message(last) {
            end -= 1;
        } else {
            break;
        }
    }
    &lines[..end]
}

#[cfg(test)]
mod tests {
    use super::strip_reply;

    #[test]
    fn text_without_quotes_is_kept_and_trimmed() {
        assert_eq!(
            strip_reply("\r\n\r\nHello,  \r\n\r\n  indented line\t\r\nbye\r\n\r\n"),
            "Hello,\n\n  indented line\nbye"
        );
        assert_eq!(strip_reply("one\rtwo"), "one\ntwo");
        assert_eq!(strip_reply(""), "");
        assert_eq!(strip_reply("  \n\n "), "");
    }

    #[test]
    fn gmail_attribution_on_one_line() {
        let text = "Sounds good.\r\n\r\nOn Tue, Nov 24, 2026 at 10:00 AM Rapport <support+r1-u2-abc@example.com> wrote:\r\n\r\n> Hello\r\n> there\r\n>\r\n";
        assert_eq!(strip_reply(text), "Sounds good.");
    }

    #[test]
    fn gmail_attribution_wrapped_onto_two_lines_with_narrow_no_break_space() {
        let text = "Sounds good.\nSecond line.\n\nOn Tue, Nov 24, 2026 at 10:00\u{202f}AM Rapport <\nsupport+r1-u2-abc@example.com> wrote:\n\n> Hello\n";
        assert_eq!(strip_reply(text), "Sounds good.\nSecond line.");
    }

    #[test]
    fn gmail_attribution_wrapped_onto_three_lines() {
        let text = "Yes.\n\nOn Tue, Nov 24, 2026 at 10:00 AM A Very Long Display Name Of The\nSupport Team Of Example Corporation <\nsupport@example.com> wrote:\n> Hello\n";
        assert_eq!(strip_reply(text), "Yes.");
    }

    #[test]
    fn sentences_that_only_look_like_a_wrapped_attribution_are_kept() {
        let text = "On Monday I tried it 3 times\nand the log wrote:\nerror 42 at startup";
        assert_eq!(strip_reply(text), text);
        // Without a date or time it is not taken for an attribution either.
        let text = "On reflection, my colleague wrote:\nit works for her.";
        assert_eq!(strip_reply(text), text);
    }

    #[test]
    fn apple_mail_attribution_then_blank_line_then_quote() {
        let text = "Perfect, that fixed it.\n\nOn 24 Nov 2026, at 10:00, Rapport <support@example.com> wrote:\n\n> Hello\n> \n> Bye\n";
        assert_eq!(strip_reply(text), "Perfect, that fixed it.");
    }

    #[test]
    fn ios_mail_quotes_the_attribution_and_signs_with_sent_from_my_iphone() {
        let text = "Perfect, that fixed it.\n\nSent from my iPhone\n\n> On 24 Nov 2026, at 10:00, Rapport <support@example.com> wrote:\n> \n> Hello\n";
        assert_eq!(strip_reply(text), "Perfect, that fixed it.");
    }

    #[test]
    fn outlook_separator_and_header_block() {
        let text = "I’m still seeing the error.\r\n \r\n________________________________\r\nFrom: Rapport <support+r1@example.com>\r\nSent: Tuesday, November 24, 2026 10:00 AM\r\nTo: Dana Scully <dana@example.net>\r\nSubject: Export fails\r\n\r\nHello Dana\r\n";
        assert_eq!(strip_reply(text), "I’m still seeing the error.");
    }

    #[test]
    fn outlook_original_message_separator() {
        let text = "See below.\n\n-----Original Message-----\nFrom: Rapport [mailto:support@example.com]\nSent: Tuesday, November 24, 2026 10:00 AM\nTo: Dana\nSubject: Hi\n\nHello";
        assert_eq!(strip_reply(text), "See below.");
        let german = "Siehe unten.\n\n-----Ursprüngliche Nachricht-----\nVon: Rapport\nGesendet: Dienstag\nAn: Dana\nBetreff: Hi\n";
        assert_eq!(strip_reply(german), "Siehe unten.");
    }

    #[test]
    fn outlook_header_block_without_separator_and_with_bold_markers() {
        let text = "Done.\n\nFrom: Rapport <support@example.com>\nDate: Tuesday, 24 November 2026 at 10:00\nTo: Dana <dana@example.net>\nSubject: Hi\n\nHello";
        assert_eq!(strip_reply(text), "Done.");
        let bold = "Done.\n\n*From:* Rapport <support@example.com>\n*Sent:* Tuesday, November 24, 2026 10:00 AM\n*To:* Dana\n*Subject:* Hi\n\nHello";
        assert_eq!(strip_reply(bold), "Done.");
        let french = "Fait.\n\nDe : Rapport <support@example.com>\nEnvoyé : mardi 24 novembre 2026 10:00\nÀ : Dana\nObjet : Salut\n";
        assert_eq!(strip_reply(french), "Fait.");
    }

    #[test]
    fn get_outlook_for_ios_is_dropped() {
        let text = "Thanks!\n\nGet Outlook for iOS<https://aka.ms/o0ukef>\n________________________________\nFrom: Rapport <support@example.com>\nSent: Tuesday, November 24, 2026 10:00:00 AM\nTo: Dana\nSubject: Hi\n\nHello";
        assert_eq!(strip_reply(text), "Thanks!");
    }

    #[test]
    fn header_like_lines_in_new_text_are_kept() {
        let text = "From: the billing page\nTo: the invoices page\nit breaks.";
        assert_eq!(strip_reply(text), text);
        let text = "Steps:\n__________\nOpen the page\nClick export";
        assert_eq!(strip_reply(text), text);
    }

    #[test]
    fn thunderbird_attribution() {
        let text = "Works now.\n\nOn 24/11/2026 10:00, Rapport wrote:\n> Hello\n";
        assert_eq!(strip_reply(text), "Works now.");
    }

    #[test]
    fn attributions_in_other_languages() {
        for opener in [
            "Am 24.11.2026 um 10:00 schrieb Rapport <support@example.com>:",
            "Am Di., 24. Nov. 2026 um 10:00 Uhr schrieb Rapport <support@example.com>:",
            "Rapport schrieb am 24.11.2026 10:00:",
            "Le mar. 24 nov. 2026 à 10:00, Rapport <support@example.com> a écrit\u{a0}:",
            "Le 24/11/2026 à 10:00, Rapport a écrit :",
            "El mar, 24 nov 2026 a las 10:00, Rapport (<support@example.com>) escribió:",
            "24.11.2026 10:00, Rapport пишет:",
            "24 нояб. 2026 г., в 10:00, Rapport <support@example.com> написал(а):",
            "Il giorno mar 24 nov 2026 alle ore 10:00 Rapport <support@example.com> ha scritto:",
            "Em ter., 24 de nov. de 2026 às 10:00, Rapport <support@example.com> escreveu:",
            "Op di 24 nov 2026 om 10:00 schreef Rapport <support@example.com>:",
        ] {
            let text = format!("Danke.\n\n{opener}\n\n> Hallo\n");
            assert_eq!(strip_reply(&text), "Danke.", "{opener}");
        }
    }

    #[test]
    fn the_line_above_an_attribution_is_not_joined_to_it() {
        let text = "Спасибо, работает\n24.11.2026 10:00, Rapport пишет:\n> Привет\n";
        assert_eq!(strip_reply(text), "Спасибо, работает");
        let text = "Danke\nRapport schrieb am 24.11.2026 10:00:\n> Hallo\n";
        assert_eq!(strip_reply(text), "Danke");
    }

    #[test]
    fn signature_delimiters() {
        assert_eq!(strip_reply("Thanks\n\n-- \nDana Scully\nFBI\n"), "Thanks");
        assert_eq!(strip_reply("Thanks\n--\nDana Scully\n"), "Thanks");
        // The last delimiter counts, so dashes earlier in the text cut nothing.
        assert_eq!(strip_reply("a\n--\nb\n\n-- \nsig"), "a\n--\nb");
        // Lines that merely start with dashes are text.
        assert_eq!(strip_reply("Thanks\n-- Dana"), "Thanks\n-- Dana");
        assert_eq!(strip_reply("Thanks\n\nSent from my Galaxy\n"), "Thanks");
        assert_eq!(strip_reply("Thanks\n\nVon meinem iPhone gesendet"), "Thanks");
    }

    #[test]
    fn sent_from_in_the_middle_of_the_text_is_kept() {
        let text = "Sent from my office it fails,\nfrom home it works.";
        assert_eq!(strip_reply(text), text);
    }

    #[test]
    fn a_trailing_quote_and_its_attribution_are_dropped() {
        assert_eq!(strip_reply("Yes\n\n> did it work?\n>\n> more\n\n"), "Yes");
        // Gmail in Russian writes no verb; the line just above a trailing quote may go anyway.
        let text = "Да.\n\nвт, 24 нояб. 2026 г. в 10:00, Rapport <support@example.com>:\n\n> Привет\n";
        assert_eq!(strip_reply(text), "Да.");
        // An ordinary sentence above a trailing quote stays.
        assert_eq!(strip_reply("I got this:\n\n> error 42\n"), "I got this:");
    }

    #[test]
    fn inline_answers_are_kept() {
        let text = "Hi,\n\n> Which browser?\nFirefox.\n\n> Which version?\n120, on Linux.\n\n> Anything else?\n";
        assert_eq!(strip_reply(text), "Hi,\n\n> Which browser?\nFirefox.\n\n> Which version?\n120, on Linux.");
    }

    #[test]
    fn everything_quoted_or_written_below_the_quote_returns_the_original() {
        let text = "> Hello\n> there\n";
        assert_eq!(strip_reply(text), "> Hello\n> there");
        let text = "On 24/11/2026 10:00, Rapport wrote:\n> Hello\n\nMy answer is below.\n";
        assert_eq!(strip_reply(text), text.trim_end());
        assert_eq!(strip_reply("-- \nDana"), "--\nDana");
    }

    mod fixtures {
        use super::strip_reply;
        use mail_parser::{HeaderValue, MessageParser, MimeHeaders};

        /// Stands in for what the integration tests substitute, and checks nothing is left over.
        fn fill(raw: &str) -> Vec<u8> {
            let filled = [
                ("{{MESSAGE_ID}}", "<n1.c7.a3f9@rapport.example.com>"),
                ("{{SUBJECT}}", "Export fails"),
                ("{{FROM}}", "Dana Scully <dana@example.net>"),
                ("{{REPLY_ADDRESS}}", "support+r1-u2-abc@example.com"),
                ("{{SUPPORT_ADDRESS}}", "support@example.com"),
                ("{{QUOTED}}", "Could you try the export again?"),
            ]
            .iter()
            .fold(raw.to_owned(), |text, (token, value)| text.replace(token, value));
            assert!(!filled.contains("{{"), "{filled}");
            filled.into_bytes()
        }

        fn in_reply_to(message: &mail_parser::Message) -> Option<String> {
            message.in_reply_to().as_text().map(str::to_owned)
        }

        fn first_to(message: &mail_parser::Message) -> String {
            message.to().and_then(|a| a.first()).and_then(|a| a.address()).unwrap_or_default().to_owned()
        }

        #[test]
        fn gmail() {
            let raw = fill(include_str!("../../tests/api/fixtures/mail/gmail_reply.eml"));
            let message = MessageParser::default().parse(&raw).unwrap();
            let text = message.body_text(0).unwrap();
            assert!(text.contains("Could you try the export again?"));
            assert_eq!(
                strip_reply(&text),
                "Thanks, the export works now.\nI had to clear the browser cache first, in case anyone else runs into it."
            );
            assert!(message.body_html(0).unwrap().contains("<blockquote class=\"gmail_quote\""));
            assert_eq!(in_reply_to(&message).as_deref(), Some("n1.c7.a3f9@rapport.example.com"));
            assert_eq!(message.references().as_text(), Some("n1.c7.a3f9@rapport.example.com"));
            assert_eq!(message.subject(), Some("Re: Export fails"));
            assert_eq!(first_to(&message), "support+r1-u2-abc@example.com");
            assert!(message.message_id().unwrap().ends_with("@mail.gmail.com"));
            assert_eq!(message.attachment_count(), 0);
        }

        #[test]
        fn outlook() {
            let raw = fill(include_str!("../../tests/api/fixtures/mail/outlook_reply.eml"));
            let message = MessageParser::default().parse(&raw).unwrap();
            let text = message.body_text(0).unwrap();
            assert!(text.contains("Could you try the export again?"));
            assert_eq!(strip_reply(&text), "I’m still seeing the error on the invoices page.");
            assert!(message.body_html(0).unwrap().contains("divRplyFwdMsg"));
            assert_eq!(in_reply_to(&message).as_deref(), Some("n1.c7.a3f9@rapport.example.com"));
            assert_eq!(message.references(), &HeaderValue::Empty);
            assert_eq!(first_to(&message), "support+r1-u2-abc@example.com");
            assert_eq!(message.attachment_count(), 1);
            let attachment = message.attachment(0).unwrap();
            assert_eq!(attachment.attachment_name(), Some("report.csv"));
            assert!(attachment.contents().starts_with(b"invoice,date,amount,status\r\n"));
            assert_eq!(attachment.contents().len(), 95);
        }

        #[test]
        fn apple_mail() {
            let raw = fill(include_str!("../../tests/api/fixtures/mail/apple_reply.eml"));
            let message = MessageParser::default().parse(&raw).unwrap();
            let text = message.body_text(0).unwrap();
            assert!(text.contains("\n-- \nJane Appleseed"), "{text}");
            assert!(text.contains("Could you try the export again?"));
            assert_eq!(strip_reply(&text), "Perfect, that fixed it.");
            assert!(message.body_html(0).unwrap().contains("<blockquote type=\"cite\">"));
            assert_eq!(in_reply_to(&message).as_deref(), Some("n1.c7.a3f9@rapport.example.com"));
            assert_eq!(message.references().as_text(), Some("n1.c7.a3f9@rapport.example.com"));
            assert_eq!(first_to(&message), "support@example.com");
            assert_eq!(message.message_id(), Some("8F3A6C2E-5B1D-4F7A-9E0C-2D4B6A8C1E3F@example.org"));
            assert_eq!(message.attachment_count(), 0);
        }

        #[test]
        fn auto_reply() {
            let raw = fill(include_str!("../../tests/api/fixtures/mail/auto_reply.eml"));
            let message = MessageParser::default().parse(&raw).unwrap();
            assert_eq!(message.header_raw("Auto-Submitted").map(str::trim), Some("auto-replied"));
            assert_eq!(message.header_raw("X-Auto-Response-Suppress").map(str::trim), Some("All"));
            assert_eq!(message.subject(), Some("Automatic reply: Export fails"));
            assert_eq!(in_reply_to(&message).as_deref(), Some("n1.c7.a3f9@rapport.example.com"));
            let text = message.body_text(0).unwrap();
            assert!(strip_reply(&text).starts_with("Thank you for your message. I am out of the office until Monday"));
        }

        #[test]
        fn new_ticket() {
            let raw = fill(include_str!("../../tests/api/fixtures/mail/new_ticket.eml"));
            let message = MessageParser::default().parse(&raw).unwrap();
            assert_eq!(message.in_reply_to(), &HeaderValue::Empty);
            assert_eq!(message.references(), &HeaderValue::Empty);
            assert_eq!(message.subject(), Some("Cannot log in"));
            assert_eq!(first_to(&message), "support@example.com");
            let text = message.body_text(0).unwrap();
            assert!(text.contains("\n-- \nDana Scully"), "the signature delimiter keeps its space: {text}");
            let stripped = strip_reply(&text);
            assert!(stripped.starts_with("Hello,\n\nsince this morning"), "{stripped}");
            assert!(stripped.ends_with("A screenshot is attached."), "{stripped}");
            assert_eq!(message.attachment_count(), 1);
            let png = message.attachment(0).unwrap();
            assert_eq!(png.attachment_name(), Some("login.png"));
            assert!(png.contents().starts_with(b"\x89PNG\r\n\x1a\n"));
        }
    }
}

/// Property tests: whatever text an email carries, `strip_reply` never panics and keeps a run
/// of the author's own lines (never invents or reorders text, never returns nothing when there
/// was something); and an answer written above the quoted history of the common mail clients
/// comes out exactly. More cases with `PROPTEST_CASES=...`.
#[cfg(test)]
mod proptests {
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
        fn any_text_keeps_a_run_of_its_own_trimmed_lines(text in ".{0,400}") {
            check(&text)?;
        }

        #[test]
        fn mail_like_text_keeps_a_run_of_its_own_trimmed_lines(
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
        let all = lines_of(text);
        let found = all.windows(kept.len()).any(|w| w.iter().zip(&kept).all(|(a, b)| a == b));
        prop_assert!(found, "{:?} is not a run of the lines of {:?}", out, text);
        Ok(())
    }
}
