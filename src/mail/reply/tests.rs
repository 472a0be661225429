//! The extractor's examples: one per client and language, and the fixtures' emails.

use super::{html_to_text, strip_reply};

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
    let german =
        "Siehe unten.\n\n-----Ursprüngliche Nachricht-----\nVon: Rapport\nGesendet: Dienstag\nAn: Dana\nBetreff: Hi\n";
    assert_eq!(strip_reply(german), "Siehe unten.");
}

#[test]
fn outlook_header_block_without_separator_and_with_bold_markers() {
    let text = "Done.\n\nFrom: Rapport <support@example.com>\nDate: Tuesday, 24 November 2026 at 10:00\nTo: Dana <dana@example.net>\nSubject: Hi\n\nHello";
    assert_eq!(strip_reply(text), "Done.");
    let bold = "Done.\n\n*From:* Rapport <support@example.com>\n*Sent:* Tuesday, November 24, 2026 10:00 AM\n*To:* Dana\n*Subject:* Hi\n\nHello";
    assert_eq!(strip_reply(bold), "Done.");
    let french =
        "Fait.\n\nDe : Rapport <support@example.com>\nEnvoyé : mardi 24 novembre 2026 10:00\nÀ : Dana\nObjet : Salut\n";
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
fn everything_quoted_returns_the_original() {
    let text = "> Hello\n> there\n";
    assert_eq!(strip_reply(text), "> Hello\n> there");
    assert_eq!(strip_reply("-- \nDana"), "--\nDana");
    let text = "On 24/11/2026 10:00, Rapport wrote:\n> Hello\n";
    assert_eq!(strip_reply(text), text.trim_end());
}

#[test]
fn text_written_below_the_quote_is_kept() {
    let text = "On 24/11/2026 10:00, Rapport wrote:\n> Hello\n\nMy answer is below.\n";
    assert_eq!(strip_reply(text), "My answer is below.");
    // Above and below: both parts, one blank line between them, the signature trimmed.
    let answer = (1..=20).map(|n| format!("Step {n} of what I did.")).collect::<Vec<_>>().join("\n");
    let text = format!(
        "Hi,\n\nOn Tue, Nov 24, 2026 at 10:00 AM Rapport <support@example.com> wrote:\n> Did it work?\n>\n> Ada\n\n{answer}\n\n-- \nDana\n"
    );
    assert_eq!(strip_reply(&text), format!("Hi,\n\n{answer}"));
}

#[test]
fn answers_between_quotes_keep_their_questions_and_lose_the_attribution() {
    let text = "Hi,\n\nOn Tue, Nov 24, 2026 at 10:00 AM Rapport <support@example.com> wrote:\n> Which browser?\nFirefox.\n\n> Which version?\n120.\n\n> Anything else?\n> Ada\n";
    assert_eq!(strip_reply(text), "Hi,\n\n> Which browser?\nFirefox.\n\n> Which version?\n120.");
}

#[test]
fn attributions_in_more_languages() {
    for opener in [
        "W dniu 24.11.2026 o 10:00, Rapport <support@example.com> pisze:",
        "W dniu wt., 24 lis 2026 o 10:00 Rapport <support@example.com> napisał(a):",
        "вт, 24 лист. 2026 р. о 10:00 Rapport <support@example.com> пише:",
        "24.11.2026 10:00, Rapport написав:",
        "Den tir. 24. nov. 2026 kl. 10.00 skrev Rapport <support@example.com>:",
        "tir. 24. nov. 2026 kl. 10:00 skrev Rapport <support@example.com>:",
        "Den 24 nov. 2026 kl. 10:00 skrev Rapport <support@example.com>:",
        "Rapport <support@example.com> kirjoitti 24.11.2026 kello 10.00:",
        "Op 24 nov. 2026, om 10:00 heeft Rapport <support@example.com> het volgende geschreven:",
        "2026年11月24日 上午10:00，Rapport <support@example.com> 写道：",
        "2026년 11월 24일 (화) 오전 10:00, Rapport <support@example.com>님이 작성:",
        "2026年11月24日(火) 10:00 Rapport <support@example.com>のメッセージ:",
        "Dne 24. 11. 2026 10:00 napsal(a) Rapport <support@example.com>:",
        "2026. nov. 24., K, 10:00 Rapport <support@example.com> írta:",
        "24 Kas 2026 Sal, 10:00 tarihinde Rapport <support@example.com> şunu yazdı:",
    ] {
        let text = format!("Tak.\n\n{opener}\n\n> Hej\n");
        assert_eq!(strip_reply(&text), "Tak.", "{opener}");
        // Most of these clients can also quote without `>`.
        let text = format!("Tak.\n\n{opener}\n\nHej, original text\n");
        assert_eq!(strip_reply(&text), "Tak.", "{opener} without >");
    }
}

#[test]
fn an_attribution_wrapped_onto_two_lines_is_found_without_quote_marks() {
    let text = "Yes.\n\nOn Wed, May 18, 2016 at 11:10 PM Steven Scott <steven@example.com>\nwrote:\n\nThe original, not quoted.\n";
    assert_eq!(strip_reply(text), "Yes.");
}

#[test]
fn date_only_attributions() {
    for opener in [
        "2017-11-24 16:32 GMT+01:00 Rapport <support@example.com>:",
        "24.11.2017, 16:32, \"Rapport\" <support@example.com>:",
        "Пятница, 24 ноября 2017, 16:32 +03:00 от Rapport <support@example.com>:",
    ] {
        for quote in ["> Hello", "Hello, not quoted"] {
            let text = format!("Ok.\n\n{opener}\n{quote}\n");
            assert_eq!(strip_reply(&text), "Ok.", "{opener} / {quote}");
        }
    }
    // A sentence with an address and a time is not one.
    let text = "Call me at 10:00 or write to dana@example.com:\nI am around.";
    assert_eq!(strip_reply(text), text);
}

#[test]
fn dashed_attributions_and_separators() {
    for opener in [
        "---- John Smith wrote ----",
        "---- On Wed, 24 Feb 2021 10:00:00 +0100 John Smith <john@example.com> wrote ----",
        "-----Reply Message-----",
        "-----Antwort Nachricht-----",
        "-----Oprindelig meddelelse-----",
        "-------- Oprindelig besked --------",
        "-----Opprinnelig melding-----",
        "-----Wiadomość oryginalna-----",
    ] {
        let text = format!("Done.\n\n{opener}\nFrom: Rapport\nOld text\n");
        assert_eq!(strip_reply(&text), "Done.", "{opener}");
    }
}

#[test]
fn header_blocks_in_more_languages() {
    for block in [
        "De : Rapport <support@example.com>\nEnvoyé le : mardi 24 novembre 2026 10:00\nÀ : Dana\nObjet : Export",
        "Fra: Rapport <support@example.com>\nSendt: 24. november 2026 10:00\nTil: Dana\nEmne: Export",
        "Från: Rapport <support@example.com>\nSkickat: den 24 november 2026 10:00\nTill: Dana\nÄmne: Export",
        "Od: Rapport <support@example.com>\nWysłano: wtorek, 24 listopada 2026 10:00\nDo: Dana\nTemat: Export",
        "Lähettäjä: Rapport <support@example.com>\nLähetetty: 24. marraskuuta 2026 10.00\nVastaanottaja: Dana\nAihe: Export",
        "发件人: Rapport <support@example.com>\n发送时间: 2026年11月24日 10:00\n收件人: Dana\n主题: Export",
        "发件人：Rapport <support@example.com>\n发送时间：2026年11月24日 10:00\n收件人：Dana\n主题：Export",
        "差出人: Rapport <support@example.com>\n送信日時: 2026年11月24日 10:00\n宛先: Dana\n件名: Export",
        "Date: Tue, 24 Nov 2026 10:00:00 +0000\nFrom: Rapport <support@example.com>\nTo: Dana\nSubject: Export",
    ] {
        let text = format!("Thanks.\n\n{block}\n\nHello Dana,\nthe original.\n");
        assert_eq!(strip_reply(&text), "Thanks.", "{block}");
    }
}

#[test]
fn a_forwarded_message_is_kept_whole() {
    let text = "Please look at this one.\n\n---------- Forwarded message ---------\nFrom: Bob <bob@example.org>\nDate: Tue, 24 Nov 2026 at 10:00\nSubject: Invoice 42\nTo: Dana <dana@example.net>\n\nThe invoice is wrong.\n\n-- \nBob\n";
    assert_eq!(strip_reply(text), text.trim_end().replace("-- \n", "--\n"));
    let apple = "FYI\n\nBegin forwarded message:\n\nFrom: Bob <bob@example.org>\nSubject: Invoice 42\nDate: 24 November 2026 at 10:00:00 CET\nTo: Dana\n\nThe invoice is wrong.";
    assert_eq!(strip_reply(apple), apple);
    let german = "Siehe unten.\n\n---------- Weitergeleitete Nachricht ---------\nVon: Bob\nDatum: 24.11.2026\nBetreff: Rechnung\nAn: Dana\n\nDie Rechnung stimmt nicht.";
    assert_eq!(strip_reply(german), german);
}

#[test]
fn sent_from_lines_in_more_languages() {
    for line in
        ["Skickat från min iPhone", "Sendt fra min iPhone", "Wysłane z iPhone'a", "发自我的iPhone", "iPhoneから送信"]
    {
        assert_eq!(strip_reply(&format!("Ok\n\n{line}\n")), "Ok", "{line}");
    }
}

#[test]
fn html_only_replies_are_read_by_their_structure() {
    let read = |html: &str| strip_reply(&html_to_text(html));
    // Outlook on the web: its quoted headers in `divRplyFwdMsg`, the original after them.
    let outlook = "<html><body><div>Reply</div><div>I'm still seeing it.</div><div id=\"appendonsend\"></div>\
        <hr style=\"display:inline-block;width:98%\"><div id=\"divRplyFwdMsg\" dir=\"ltr\"><font face=\"Calibri\">\
        <b>From:</b> Rapport &lt;support@example.com&gt;<br><b>Sent:</b> Tuesday, November 24, 2026 10:00 AM<br>\
        <b>To:</b> Dana<br><b>Subject:</b> Export</font><div>&nbsp;</div></div><div>Could you try again?</div></body></html>";
    assert_eq!(read(outlook), "Reply\nI'm still seeing it.");
    // A header block that starts with the date.
    let date_first = "<div>Thanks</div><div>Date: Tue, 24 Nov 2026 10:00</div><div>From: Rapport</div>\
        <div>To: Dana</div><div>Subject: Export</div><div>Could you try again?</div>";
    assert_eq!(read(date_first), "Thanks");
    // Gmail, answered below the quote.
    let gmail = "<div dir=\"ltr\">Hi,</div><br><div class=\"gmail_quote\"><div dir=\"ltr\" class=\"gmail_attr\">\
        On Tue, Nov 24, 2026 at 10:00 AM Rapport &lt;<a href=\"mailto:support@example.com\">support@example.com</a>&gt; wrote:<br></div>\
        <blockquote class=\"gmail_quote\" style=\"margin:0px 0px 0px 0.8ex\">Did it work?</blockquote></div>\
        <div>Yes, after clearing the cache.</div>";
    assert_eq!(read(gmail), "Hi,\n\nYes, after clearing the cache.");
    // Thunderbird's attribution, and Apple Mail's inside the quote.
    let thunderbird = "<p>Works now.</p><div class=\"moz-cite-prefix\">On 24/11/2026 10:00, Rapport wrote:<br></div>\
        <blockquote type=\"cite\">Hello</blockquote>";
    assert_eq!(read(thunderbird), "Works now.");
    let apple = "<div>Perfect.</div><div><br><blockquote type=\"cite\"><div>On 24 Nov 2026, at 10:00, Rapport \
        &lt;support@example.com&gt; wrote:</div><br><div><div>Hello</div></div></blockquote></div>";
    assert_eq!(read(apple), "Perfect.");
}

#[test]
fn a_subject_says_whether_an_email_forwards_another() {
    use super::words::is_forward_subject;
    for subject in
        ["Fwd: Invoice", "FW: Renewal", "WG: Rücklastschrift", "VS: Ingen svar", "TR : Facture", "RV: Pedido"]
    {
        assert!(is_forward_subject(subject), "{subject}");
    }
    for subject in ["转发：发票", "Пересл.: Счёт", "Doorst: factuur", "ENC: Pedido", "I: Ordine"] {
        assert!(is_forward_subject(subject), "{subject}");
    }
    for subject in ["Re: Fwd: Invoice", "Invoice", "Fwd", "Fix: the export", "Re: FW: Renewal"] {
        assert!(!is_forward_subject(subject), "{subject}");
    }
}

mod fixtures {
    use super::{html_to_text, strip_reply};
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
        let raw = fill(include_str!("../../../tests/api/fixtures/mail/gmail_reply.eml"));
        let message = MessageParser::default().parse(&raw).unwrap();
        let text = message.body_text(0).unwrap();
        assert!(text.contains("Could you try the export again?"));
        assert_eq!(
            strip_reply(&text),
            "Thanks, the export works now.\nI had to clear the browser cache first, in case anyone else runs into it."
        );
        assert!(message.body_html(0).unwrap().contains("<blockquote class=\"gmail_quote\""));
        assert_eq!(strip_reply(&html_to_text(&message.body_html(0).unwrap())), strip_reply(&text));
        assert_eq!(in_reply_to(&message).as_deref(), Some("n1.c7.a3f9@rapport.example.com"));
        assert_eq!(message.references().as_text(), Some("n1.c7.a3f9@rapport.example.com"));
        assert_eq!(message.subject(), Some("Re: Export fails"));
        assert_eq!(first_to(&message), "support+r1-u2-abc@example.com");
        assert!(message.message_id().unwrap().ends_with("@mail.gmail.com"));
        assert_eq!(message.attachment_count(), 0);
    }

    #[test]
    fn outlook() {
        let raw = fill(include_str!("../../../tests/api/fixtures/mail/outlook_reply.eml"));
        let message = MessageParser::default().parse(&raw).unwrap();
        let text = message.body_text(0).unwrap();
        assert!(text.contains("Could you try the export again?"));
        assert_eq!(strip_reply(&text), "I’m still seeing the error on the invoices page.");
        assert!(message.body_html(0).unwrap().contains("divRplyFwdMsg"));
        assert_eq!(strip_reply(&html_to_text(&message.body_html(0).unwrap())), strip_reply(&text));
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
        let raw = fill(include_str!("../../../tests/api/fixtures/mail/apple_reply.eml"));
        let message = MessageParser::default().parse(&raw).unwrap();
        let text = message.body_text(0).unwrap();
        assert!(text.contains("\n-- \nJane Appleseed"), "{text}");
        assert!(text.contains("Could you try the export again?"));
        assert_eq!(strip_reply(&text), "Perfect, that fixed it.");
        assert!(message.body_html(0).unwrap().contains("<blockquote type=\"cite\">"));
        assert_eq!(strip_reply(&html_to_text(&message.body_html(0).unwrap())), strip_reply(&text));
        assert_eq!(in_reply_to(&message).as_deref(), Some("n1.c7.a3f9@rapport.example.com"));
        assert_eq!(message.references().as_text(), Some("n1.c7.a3f9@rapport.example.com"));
        assert_eq!(first_to(&message), "support@example.com");
        assert_eq!(message.message_id(), Some("8F3A6C2E-5B1D-4F7A-9E0C-2D4B6A8C1E3F@example.org"));
        assert_eq!(message.attachment_count(), 0);
    }

    #[test]
    fn auto_reply() {
        let raw = fill(include_str!("../../../tests/api/fixtures/mail/auto_reply.eml"));
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
        let raw = fill(include_str!("../../../tests/api/fixtures/mail/new_ticket.eml"));
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

/// The corpus in tests/api/fixtures/mail/replies: one folder per class of email (languages,
/// bottom posting, HTML only, forwards…), each email beside the text its author wrote. Every
/// one must come out exactly; a failure names the class and shows both texts.
mod corpus {
    use crate::mail::reply::authors_text;
    use std::collections::BTreeMap;
    use std::path::Path;

    #[test]
    fn every_email_of_the_corpus_comes_out_as_its_author_wrote_it() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/api/fixtures/mail/replies");
        let mut tally: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        let mut failures = Vec::new();
        for class in std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().path()) {
            let class_name = class.file_name().unwrap().to_string_lossy().into_owned();
            for eml in std::fs::read_dir(&class).unwrap().map(|e| e.unwrap().path()) {
                if eml.extension().is_none_or(|e| e != "eml") {
                    continue;
                }
                let raw = std::fs::read(&eml).unwrap();
                let expected = std::fs::read_to_string(eml.with_extension("txt")).unwrap();
                let expected = expected.replace("\r\n", "\n");
                let mail = mail_parser::MessageParser::default().parse(&raw).unwrap();
                let got = authors_text(&mail);
                let counts = tally.entry(class_name.clone()).or_default();
                counts.1 += 1;
                if got == expected.trim_end() {
                    counts.0 += 1;
                } else {
                    let name = eml.file_name().unwrap().to_string_lossy().into_owned();
                    failures
                        .push(format!("{class_name}/{name}\n--- expected\n{}\n--- got\n{got}\n", expected.trim_end()));
                }
            }
        }
        for (class, (passed, total)) in &tally {
            eprintln!("{class:>26}: {passed}/{total}");
        }
        assert!(failures.is_empty(), "{} emails came out wrong:\n\n{}", failures.len(), failures.join("\n"));
        assert!(tally.values().map(|t| t.1).sum::<usize>() >= 90, "the corpus is there: {tally:?}");
    }
}
