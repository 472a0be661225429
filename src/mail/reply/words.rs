//! What mail clients write around quoted history, in the languages Rapport's customers write
//! in: the words are data, here in one place; the functions below only read them. Every line
//! they are asked about is already normalized (runs of whitespace made one space, trimmed) and
//! lowercased.

/// Verbs an attribution ends with, before its colon: "On Tue, … Dana <d@x> wrote:".
const ENDING_VERBS: &[&str] = &[
    "wrote",      // English
    "a écrit",    // French
    "escribió",   // Spanish
    "ha scritto", // Italian
    "escreveu",   // Portuguese
    "schreef",    // Dutch
    "geschreven", // Dutch, Apple Mail ("… heeft Dana het volgende geschreven:")
    "schrieb",    // German ("Dana schrieb:")
    "skrev",      // Danish, Norwegian, Swedish
    "kirjoitti",  // Finnish
    "napisał(a)", // Polish
    "napisał",
    "napisała",
    "pisze",
    "napsal(a)", // Czech
    "napsal",
    "napsala",
    "napísal", // Slovak
    "írta",    // Hungarian
    "a scris", // Romanian
    "yazdı",   // Turkish
    "пишет",   // Russian
    "написал(а)",
    "написал",
    "написала",
    "написав", // Ukrainian
    "пише",
    "έγραψε",   // Greek
    "כתב",      // Hebrew
    "كتب",      // Arabic
    "menulis",  // Indonesian
    "đã viết",  // Vietnamese
    "kirjutas", // Estonian
    "rašė",     // Lithuanian
    "rakstīja", // Latvian
];

/// Verbs that stand in the middle of an attribution, the author's name and address after them:
/// "Am 24.11.2026 um 10:00 schrieb Dana <d@x>:", "Den 24. nov. 2026 kl. 10.00 skrev Dana <d@x>:".
const INNER_VERBS: &[&str] = &[
    "schrieb",
    "skrev",
    "schreef",
    "kirjoitti",
    "napisał(a)",
    "napisał",
    "napisała",
    "pisze",
    "написал(а)",
    "написал",
    "написав",
    "escribió",
    "a écrit",
    "wrote",
    "írta",
    "napsal(a)",
    "napsal",
];

/// How Chinese, Japanese and Korean clients end an attribution (no space before them).
const CJK_ENDINGS: &[&str] = &["写道", "寫道", "작성", "のメッセージ", "が書きました", "님이 작성"];

/// The words between the dashes of a separator that comes before quoted history:
/// "-----Original Message-----", "-------- Oprindelig besked --------".
const ORIGINAL_MESSAGE: &[&str] = &[
    "original message",
    "reply message",
    "ursprüngliche nachricht",
    "antwort nachricht",
    "message d'origine",
    "message original",
    "mensaje original",
    "messaggio originale",
    "mensagem original",
    "oorspronkelijk bericht",
    "origineel bericht",
    "oprindelig meddelelse",
    "oprindelig besked",
    "opprinnelig melding",
    "ursprungligt meddelande",
    "alkuperäinen viesti",
    "wiadomość oryginalna",
    "oryginalna wiadomość",
    "původní zpráva",
    "pôvodná správa",
    "eredeti üzenet",
    "orijinal mesaj",
    "исходное сообщение",
    "оригинальное сообщение",
    "оригінальне повідомлення",
    "原始邮件",
    "原始郵件",
    "元のメッセージ",
    "원본 메시지",
];

/// The words that mark a forwarded message, between dashes or on a line of their own: what
/// follows is what the customer wants the team to read.
const FORWARDED: &[&str] = &[
    "forwarded message",
    "begin forwarded message",
    "weitergeleitete nachricht",
    "anfang der weitergeleiteten nachricht",
    "message transféré",
    "début du message réexpédié",
    "mensaje reenviado",
    "inicio del mensaje reenviado",
    "messaggio inoltrato",
    "mensagem encaminhada",
    "doorgestuurd bericht",
    "videresendt meddelelse",
    "videresendt melding",
    "vidarebefordrat meddelande",
    "välitetty viesti",
    "przekazana wiadomość",
    "wiadomość przekazana",
    "přeposlaná zpráva",
    "пересылаемое сообщение",
    "пересланное сообщение",
    "переслане повідомлення",
    "转发的邮件",
    "轉寄的郵件",
    "転送されたメッセージ",
    "전달된 메시지",
];

/// The names of the headers Outlook and others write above quoted history, by what they say.
const FROM_KEYS: &[&str] = &[
    "from",
    "von",
    "de",
    "da",
    "van",
    "från",
    "fra",
    "lähettäjä",
    "od",
    "от",
    "від",
    "kimden",
    "feladó",
    "expéditeur",
    "remitente",
    "afzender",
    "avsender",
    "odesílatel",
    "发件人",
    "寄件者",
    "差出人",
    "보낸 사람",
];
const DATE_KEYS: &[&str] = &[
    "sent",
    "date",
    "gesendet",
    "datum",
    "envoyé",
    "envoyé le",
    "enviado",
    "enviado el",
    "enviado em",
    "enviada em",
    "fecha",
    "inviato",
    "data",
    "verzonden",
    "skickat",
    "sendt",
    "dato",
    "lähetetty",
    "päivämäärä",
    "wysłano",
    "data wysłania",
    "отправлено",
    "дата",
    "надіслано",
    "odesláno",
    "gönderildi",
    "tarih",
    "elküldve",
    "dátum",
    "发送时间",
    "日期",
    "寄件日期",
    "送信日時",
    "日付",
    "보낸 날짜",
    "날짜",
];
const TO_KEYS: &[&str] = &[
    "to",
    "cc",
    "an",
    "à",
    "a",
    "para",
    "aan",
    "till",
    "til",
    "vastaanottaja",
    "do",
    "кому",
    "komu",
    "kime",
    "címzett",
    "收件人",
    "收件者",
    "抄送",
    "宛先",
    "받는 사람",
    "kopie",
    "kopio",
    "dw",
];
const SUBJECT_KEYS: &[&str] = &[
    "subject",
    "betreff",
    "objet",
    "asunto",
    "oggetto",
    "assunto",
    "onderwerp",
    "ämne",
    "emne",
    "aihe",
    "temat",
    "тема",
    "předmět",
    "konu",
    "tárgy",
    "主题",
    "主旨",
    "件名",
    "제목",
];

/// The start of a line that mobile and webmail clients append below what was written.
const SENT_FROM: &[&str] = &[
    "sent from my ",
    "sent from mail for windows",
    "sent from outlook",
    "sent from yahoo mail",
    "sent from the all new aol app",
    "sent with proton mail",
    "get outlook for ",
    "von meinem ",
    "gesendet von ",
    "envoyé de mon ",
    "envoyé depuis ",
    "enviado desde mi ",
    "enviado do meu ",
    "inviato da ",
    "verzonden vanaf mijn ",
    "verstuurd vanaf mijn ",
    "skickat från min ",
    "sendt fra min ",
    "lähetetty iphonesta",
    "lähetetty android",
    "wysłane z ",
    "odesláno z ",
    "отправлено с ",
    "отправлено из ",
    "надіслано з ",
    "发自我的",
    "從我的",
    "iphoneから送信",
    "나의 iphone에서 보냄",
];

/// What a header line names, for telling a quoted header block from text.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Header {
    From,
    Date,
    To,
    Subject,
}

/// The header a "Name: value" line is, allowing Outlook's bold markers ("*From:* X"), a space
/// before the colon ("De : X") and the full-width colon of Chinese and Japanese clients.
pub(super) fn header(line: &str) -> Option<Header> {
    let t = line.trim_start_matches('*');
    let at = t.find([':', '：'])?;
    let key = t[..at].trim_end_matches('*').trim();
    if key.is_empty() || key.chars().count() > 25 {
        return None;
    }
    [(FROM_KEYS, Header::From), (DATE_KEYS, Header::Date), (TO_KEYS, Header::To), (SUBJECT_KEYS, Header::Subject)]
        .into_iter()
        .find(|(keys, _)| keys.contains(&key))
        .map(|(_, header)| header)
}

/// The text of a line without the colon it ends with, if it ends with one.
fn before_colon(line: &str) -> Option<&str> {
    line.strip_suffix(':').or_else(|| line.strip_suffix('：')).map(str::trim_end)
}

/// Whether `text` ends with `word` as a word of its own (not the end of a longer one).
fn ends_with_word(text: &str, word: &str) -> bool {
    text.strip_suffix(word).is_some_and(|rest| rest.chars().last().is_none_or(|c| !c.is_alphanumeric()))
}

/// Whether `word` stands in `text` as a word of its own.
fn has_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().last();
        let after = text[at + word.len()..].chars().next();
        before.is_none_or(|c| !c.is_alphanumeric()) && after.is_none_or(|c| !c.is_alphanumeric())
    })
}

/// A time of day as clients write it: "10:00", "9.05", "23:10".
fn has_time(text: &str) -> bool {
    let b = text.as_bytes();
    (1..b.len().saturating_sub(2)).any(|i| {
        (b[i] == b':' || b[i] == b'.')
            && b[i - 1].is_ascii_digit()
            && b[i + 1].is_ascii_digit()
            && b[i + 2].is_ascii_digit()
            && b.get(i + 3).is_none_or(|c| !c.is_ascii_digit())
    })
}

/// A year between 1990 and 2099 standing alone: "2026", "2026-11-24", "2026年".
fn has_year(text: &str) -> bool {
    let b = text.as_bytes();
    (0..b.len().saturating_sub(3)).any(|i| {
        let digits = &b[i..i + 4];
        digits.iter().all(u8::is_ascii_digit)
            && (digits.starts_with(b"19") && digits[2] >= b'9' || digits.starts_with(b"20"))
            && (i == 0 || !b[i - 1].is_ascii_digit())
            && b.get(i + 4).is_none_or(|c| !c.is_ascii_digit())
    })
}

/// An email address, or the angle brackets clients put one in.
fn has_address(text: &str) -> bool {
    text.contains('@') || (text.contains('<') && text.contains('>'))
}

/// Whether a (normalized, lowercased) line is an attribution: who wrote the quoted history and
/// when. A date or a time must be in it, which keeps "my colleague wrote:" in new text safe; a
/// verb in the middle of the line ("am … schrieb dana <d@x>:") needs a time or a year and an
/// address too, and so does the verbless form of Gmail, Yandex and mail.ru
/// ("2017-11-24 16:32 gmt+01:00 dana <d@x>:").
pub(super) fn is_attribution(line: &str) -> bool {
    let Some(body) = before_colon(line) else { return false };
    if body.chars().count() > 300 || !body.chars().any(|c| c.is_ascii_digit()) {
        return false;
    }
    let dated = has_time(body) || has_year(body);
    ENDING_VERBS.iter().any(|verb| ends_with_word(body, verb))
        || CJK_ENDINGS.iter().any(|ending| body.ends_with(ending))
        || (dated && has_address(body) && INNER_VERBS.iter().any(|verb| has_word(body, verb)))
        || (has_time(body) && has_year(body) && body.ends_with('>'))
}

/// Whether an attribution is sure enough to cut at even when no `>` line follows it: it names
/// a time or a year, as every client's does ("my son, 5, wrote:" does not).
pub(super) fn is_certain_attribution(line: &str) -> bool {
    is_attribution(line) && (has_time(line) || has_year(line))
}

/// A looser test, for the line just above a quote that ends the email, where being wrong costs
/// little: any attribution verb at the end, or an address at the end, with a digit somewhere.
pub(super) fn is_loose_attribution(line: &str) -> bool {
    let Some(body) = before_colon(line) else { return false };
    body.chars().any(|c| c.is_ascii_digit())
        && (body.ends_with('>')
            || ENDING_VERBS.iter().any(|verb| ends_with_word(body, verb))
            || CJK_ENDINGS.iter().any(|ending| body.ends_with(ending))
            || INNER_VERBS.iter().any(|verb| has_word(body, verb)))
}

/// The words between the dashes of a line like "-----Original Message-----", if it is one.
fn dashed(line: &str) -> Option<&str> {
    let inner = line.strip_prefix("--")?.strip_suffix("--")?;
    Some(inner.trim_matches(['-', ' ']))
}

/// "-----Original Message-----" and its kin, which come before quoted headers; and the dashed
/// attributions of some clients: "---- Dana wrote ----", "---- On Wed, … Dana wrote ----".
pub(super) fn is_separator(line: &str) -> bool {
    let Some(inner) = dashed(line) else { return false };
    ORIGINAL_MESSAGE.contains(&inner)
        || (inner.chars().count() <= 200 && ENDING_VERBS.iter().any(|verb| ends_with_word(inner, verb)))
}

/// "---------- Forwarded message ---------", "Begin forwarded message:" and their kin.
pub(super) fn is_forward(line: &str) -> bool {
    let inner = dashed(line).or_else(|| before_colon(line)).unwrap_or(line);
    FORWARDED.contains(&inner)
}

/// What mail clients write before a forwarded email's subject: "Fwd:", Outlook's "FW:" and its
/// translations ("WG:" German, "VS:" Danish, Norwegian and Finnish, "VB:" Swedish, "TR:" French,
/// "RV:" Spanish, "I:" Italian, "ENC:" Portuguese, "Doorst:" Dutch, "PD:" Polish, "Пересл:"
/// Russian, "转发:" Chinese, "転送:" Japanese, "전달:" Korean).
const FORWARD_SUBJECTS: &[&str] =
    &["fw", "fwd", "wg", "vs", "vb", "tr", "rv", "i", "enc", "doorst", "pd", "пересл", "转发", "轉寄", "転送", "전달"];

/// Whether a subject says its email forwards another ("Fwd: Invoice", "WG: Rücklastschrift"); only
/// the first prefix counts, so "Re: Fwd: …" is a reply.
pub(super) fn is_forward_subject(subject: &str) -> bool {
    subject.trim().split_once([':', '：']).is_some_and(|(prefix, _)| {
        let prefix = prefix.trim().trim_end_matches('.').to_lowercase();
        FORWARD_SUBJECTS.contains(&prefix.as_str())
    })
}

/// "Sent from my iPhone" and its kin.
pub(super) fn is_sent_from(line: &str) -> bool {
    line.chars().count() <= 80 && SENT_FROM.iter().any(|start| line.starts_with(start))
}
