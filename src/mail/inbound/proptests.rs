//! Property tests of the whole inbound path on a real store: arbitrary bytes and real mail
//! clients' messages (the fixtures of the API tests, filled in with a valid reply address and
//! then mangled: headers, boundaries, encodings, truncation, stray bytes). Whatever arrives is
//! posted, filed, held or dropped with a reason; it never panics and never fails as if the
//! store were at fault (which would have the mail offered again forever). More cases with
//! `PROPTEST_CASES=...`.

use super::*;
use crate::clock::ManualClock;
use proptest::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

const NOW: i64 = 1_800_000_000_000;
const SUPPORT: &str = "support@example.com";
const CUSTOMER: &str = "dana@example.net";
const FIXTURES: &[&str] = &[
    include_str!("../../../tests/api/fixtures/mail/new_ticket.eml"),
    include_str!("../../../tests/api/fixtures/mail/gmail_reply.eml"),
    include_str!("../../../tests/api/fixtures/mail/apple_reply.eml"),
    include_str!("../../../tests/api/fixtures/mail/outlook_reply.eml"),
    include_str!("../../../tests/api/fixtures/mail/auto_reply.eml"),
    include_str!("../../../tests/api/fixtures/mail/html_only_reply.eml"),
    include_str!("../../../tests/api/fixtures/mail/bottom_posted_reply.eml"),
];

/// One store for every case (as in production, mail after mail), a customer with a
/// conversation, and the fixtures filled in as replies into it.
struct World {
    rt: tokio::runtime::Runtime,
    room: Mailroom,
    seeds: Vec<String>,
    reply_address: String,
    _dir: tempfile::TempDir,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let room = Mailroom {
            store: store.clone(),
            clock: Arc::new(ManualClock::new(NOW)),
            own_addresses: vec![SUPPORT.into()],
            max_attachment_bytes: 64 * 1024,
        };
        let (reply_address, message_id) = rt.block_on(async {
            store.items().insert_project("Support".to_owned(), NOW).await.unwrap();
            let first = fill(FIXTURES[0], "", "<none@example.com>").replace("{{SUPPORT_ADDRESS}}", SUPPORT);
            let Ok(Received::Ticket(conversation)) = room.receive(first.into_bytes(), &[]).await else {
                panic!("the first email opens a ticket");
            };
            let customer = store
                .customers()
                .by_email(CUSTOMER.to_owned())
                .await
                .unwrap()
                .expect("the sender became a customer")
                .id;
            let secret = store.mail().signing().await.unwrap().reply_secret;
            let token = ReplyToken::new(conversation, Party::Customer(customer), NOW).sign(&secret);
            (format!("support+{token}@example.com"), format!("<{token}.n0nce@example.com>"))
        });
        let seeds = FIXTURES.iter().map(|f| fill(f, &reply_address, &message_id)).collect();
        World { rt, room, seeds, reply_address, _dir: dir }
    })
}

fn fill(fixture: &str, reply_address: &str, message_id: &str) -> String {
    fixture
        .replace("{{FROM}}", &format!("Dana Scully <{CUSTOMER}>"))
        .replace("{{REPLY_ADDRESS}}", reply_address)
        .replace("{{SUPPORT_ADDRESS}}", SUPPORT)
        .replace("{{MESSAGE_ID}}", message_id)
        .replace("{{SUBJECT}}", "Cannot log in")
        .replace("{{QUOTED}}", "Hello Dana, please try again.")
}

/// A fresh Message-ID, so that most cases are not recognised as the same email again.
fn fresh_id() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!("<fuzz-{}@example.org>", N.fetch_add(1, Ordering::Relaxed))
}

/// Hands one email to the mailroom: any outcome but an error is fine. One at a time, as
/// the tests share the store: two deliveries of the same email at the same moment may fail
/// one of them on purpose (the mail is offered again, and is then a duplicate).
fn deliver(raw: Vec<u8>, envelope: &[String]) -> Result<Received, TestCaseError> {
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let w = world();
    let outcome = w.rt.block_on(w.room.receive(raw.clone(), envelope));
    outcome.map_err(|e| {
        TestCaseError::fail(format!("{e:?} for an email of {} bytes:\n{}", raw.len(), String::from_utf8_lossy(&raw)))
    })
}

/// One change to a message's text.
#[derive(Debug, Clone)]
enum Mutation {
    /// Sets the value of the `n`th header (of those present) to `value`.
    HeaderValue(prop::sample::Index, String),
    DropHeader(prop::sample::Index),
    DuplicateHeader(prop::sample::Index),
    AddHeader(String, String),
    /// Replaces every occurrence of the first boundary with `to`.
    Boundary(String),
    TransferEncoding(&'static str),
    Charset(String),
    ContentType(String),
    Truncate(prop::sample::Index),
    Bytes(prop::sample::Index, Vec<u8>),
    DeleteBytes(prop::sample::Index, usize),
    LongLine(prop::sample::Index, usize),
}

fn header_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "From",
            "To",
            "Cc",
            "Subject",
            "Message-ID",
            "In-Reply-To",
            "References",
            "Content-Type",
            "Content-Transfer-Encoding",
            "Auto-Submitted",
            "Precedence",
            "Return-Path",
            "Delivered-To",
            "X-Original-To",
            "Envelope-To",
            "MIME-Version",
            "Content-Disposition",
        ])
        .prop_map(str::to_owned),
        "[A-Za-z-]{1,20}",
    ]
}

fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,80}",
        "[ -~]{0,200}",
        Just(String::new()),
        Just("<>".to_owned()),
        Just("=?utf-8?B?w6nDqcOp?= =?iso-8859-1?Q?=E9t=E9?=".to_owned()),
        Just("=?bogus?X?????=".to_owned()),
        Just("\"unterminated <a@b".to_owned()),
        Just("a@b, , <c@d>, \"x\" <>, @, <<<>>>".to_owned()),
        Just("multipart/mixed; boundary=\"\"".to_owned()),
        Just("multipart/mixed".to_owned()),
        Just("multipart/report; report-type=delivery-status".to_owned()),
        Just(format!("support+{}@example.com", "r".repeat(500))),
        Just("support+r-u-1-a@example.com, support+R1-C1-1-AAAA@example.com".to_owned()),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let index = any::<prop::sample::Index>();
    prop_oneof![
        (index.clone(), header_value()).prop_map(|(i, v)| Mutation::HeaderValue(i, v)),
        index.clone().prop_map(Mutation::DropHeader),
        index.clone().prop_map(Mutation::DuplicateHeader),
        (header_name(), header_value()).prop_map(|(n, v)| Mutation::AddHeader(n, v)),
        prop_oneof![Just(String::new()), Just("-".to_owned()), "[ -~]{0,80}"].prop_map(Mutation::Boundary),
        prop::sample::select(vec!["base64", "quoted-printable", "8bit", "binary", "x-uuencode", "bogus", ""])
            .prop_map(Mutation::TransferEncoding),
        prop_oneof![
            prop::sample::select(vec!["utf-16", "utf-7", "iso-2022-jp", "koi8-r", "windows-1252", "x-unknown", ""])
                .prop_map(str::to_owned),
            "[ -~]{0,30}",
        ]
        .prop_map(Mutation::Charset),
        prop::sample::select(vec![
            "text/html",
            "multipart/alternative",
            "multipart/mixed",
            "message/rfc822",
            "application/octet-stream",
            "text/plain; format=flowed; delsp=yes",
            "multipart/digest",
            "x/y/z",
            "",
        ])
        .prop_map(|t| Mutation::ContentType(t.to_owned())),
        index.clone().prop_map(Mutation::Truncate),
        (index.clone(), prop::collection::vec(any::<u8>(), 1..16)).prop_map(|(i, b)| Mutation::Bytes(i, b)),
        (index.clone(), 1..64usize).prop_map(|(i, n)| Mutation::DeleteBytes(i, n)),
        (index, 1..200_000usize).prop_map(|(i, n)| Mutation::LongLine(i, n)),
    ]
}

/// The header lines of a message (before the first blank line): byte ranges of each.
fn headers(raw: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut out: Vec<std::ops::Range<usize>> = Vec::new();
    let mut start = 0;
    while start < raw.len() {
        let end = raw[start..].iter().position(|&b| b == b'\n').map_or(raw.len(), |i| start + i + 1);
        let line = &raw[start..end];
        if line.iter().all(|b| b.is_ascii_whitespace()) {
            break;
        }
        if line[0] == b' ' || line[0] == b'\t' {
            if let Some(last) = out.last_mut() {
                *last = last.start..end; // a folded header goes on
            }
        } else {
            out.push(start..end);
        }
        start = end;
    }
    out
}

fn replace_all(raw: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    if from.is_empty() {
        return raw.to_vec();
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(raw[i]);
            i += 1;
        }
    }
    out
}

/// Replaces what follows `key` (case-insensitively) up to the end of its value.
fn set_param(raw: &[u8], key: &str, value: &str) -> Vec<u8> {
    let lower = raw.to_ascii_lowercase();
    let Some(at) = lower.windows(key.len()).position(|w| w == key.as_bytes()) else {
        return raw.to_vec();
    };
    let start = at + key.len();
    let end = raw[start..].iter().position(|&b| matches!(b, b';' | b'\r' | b'\n')).map_or(raw.len(), |i| start + i);
    [&raw[..start], value.as_bytes(), &raw[end..]].concat()
}

/// Sets a header (all of its folded lines), or adds it when there is none.
fn set_header(raw: &[u8], name: &str, value: &str) -> Vec<u8> {
    let line = format!("{name}: {value}\r\n").into_bytes();
    let prefix = format!("{}:", name.to_ascii_lowercase());
    match headers(raw).into_iter().find(|h| raw[h.clone()].to_ascii_lowercase().starts_with(prefix.as_bytes())) {
        Some(h) => [&raw[..h.start], &line, &raw[h.end..]].concat(),
        None => [&line, raw].concat(),
    }
}

fn apply(mut raw: Vec<u8>, mutation: &Mutation) -> Vec<u8> {
    let heads = headers(&raw);
    match mutation {
        Mutation::HeaderValue(i, value) if !heads.is_empty() => {
            let h = heads[i.index(heads.len())].clone();
            let colon = raw[h.clone()].iter().position(|&b| b == b':').map_or(h.start, |c| h.start + c + 1);
            raw.splice(colon..h.end, format!(" {value}\r\n").into_bytes());
        }
        Mutation::DropHeader(i) if !heads.is_empty() => {
            raw.drain(heads[i.index(heads.len())].clone());
        }
        Mutation::DuplicateHeader(i) if !heads.is_empty() => {
            let h = heads[i.index(heads.len())].clone();
            let copy = raw[h.clone()].to_vec();
            raw.splice(h.start..h.start, copy);
        }
        Mutation::AddHeader(name, value) => {
            raw.splice(0..0, format!("{name}: {value}\r\n").into_bytes());
        }
        Mutation::Boundary(to) => {
            let text = String::from_utf8_lossy(&raw).into_owned();
            if let Some(b) = text.split("boundary=\"").nth(1).and_then(|r| r.split('"').next()) {
                raw = replace_all(&raw, b.as_bytes(), to.as_bytes());
            }
        }
        Mutation::TransferEncoding(e) => raw = set_param(&raw, "content-transfer-encoding:", &format!(" {e}")),
        Mutation::Charset(c) => raw = set_param(&raw, "charset=", c),
        Mutation::ContentType(t) => raw = set_param(&raw, "content-type:", &format!(" {t}")),
        Mutation::Truncate(i) => raw.truncate(i.index(raw.len() + 1)),
        Mutation::Bytes(i, bytes) => {
            let at = i.index(raw.len() + 1);
            raw.splice(at..at, bytes.iter().copied());
        }
        Mutation::DeleteBytes(i, n) => {
            let at = i.index(raw.len() + 1);
            raw.drain(at..(at + n).min(raw.len()));
        }
        Mutation::LongLine(i, n) => {
            let at = i.index(raw.len() + 1);
            raw.splice(at..at, std::iter::repeat_n(b'x', *n));
        }
        _ => {}
    }
    raw
}

fn envelope() -> impl Strategy<Value = Vec<String>> {
    prop_oneof![
        3 => Just(Vec::new()),
        1 => Just(vec![SUPPORT.to_owned()]),
        1 => Just(vec!["{{REPLY}}".to_owned()]),
        1 => prop::collection::vec(".{0,60}", 0..3),
    ]
}

fn envelope_for(envelope: Vec<String>) -> Vec<String> {
    let reply = &world().reply_address;
    envelope.into_iter().map(|a| if a == "{{REPLY}}" { reply.clone() } else { a }).collect()
}

proptest! {
    #![proptest_config(crate::proptest_config())]

    #[test]
    fn arbitrary_bytes_are_dropped_or_filed(raw in prop::collection::vec(any::<u8>(), 0..2000), to in envelope()) {
        deliver(raw, &envelope_for(to))?;
    }

    #[test]
    fn arbitrary_text_with_headers_is_dropped_or_filed(
        heads in prop::collection::vec((header_name(), header_value()), 0..8),
        body in ".{0,500}",
        to in envelope(),
    ) {
        let mut raw = format!("From: {CUSTOMER}\r\nMessage-ID: {}\r\n", fresh_id());
        for (name, value) in heads {
            raw.push_str(&format!("{name}: {value}\r\n"));
        }
        raw.push_str("\r\n");
        raw.push_str(&body);
        deliver(raw.into_bytes(), &envelope_for(to))?;
    }

    #[test]
    fn mangled_real_messages_are_posted_filed_held_or_dropped(
        seed in any::<prop::sample::Index>(),
        keep_id in prop::bool::weighted(0.1),
        mutations in prop::collection::vec(mutation(), 1..5),
        to in envelope(),
    ) {
        let w = world();
        let mut raw = w.seeds[seed.index(w.seeds.len())].clone().into_bytes();
        if !keep_id {
            raw = set_header(&raw, "Message-ID", &fresh_id());
        }
        for m in &mutations {
            raw = apply(raw, m);
        }
        deliver(raw, &envelope_for(to))?;
    }
}

/// Found by the properties above: the second copy of an unparseable email (an empty one,
/// say) failed on the unique Message-ID instead of being a duplicate, so the SMTP listener
/// answered 451 and the IMAP poll left it unseen, for ever.
#[test]
fn an_unparseable_email_delivered_twice_is_a_duplicate() {
    let _ = world();
    let first = deliver(Vec::new(), &[]).unwrap();
    assert!(matches!(first, Received::Dropped("unparseable") | Received::Duplicate), "{first:?}");
    assert_eq!(deliver(Vec::new(), &[]).unwrap(), Received::Duplicate);
    // Nor is anything else without a Message-ID handled twice.
    let garbage = b"\xff\xfe\x00 no headers at all".to_vec();
    deliver(garbage.clone(), &[]).unwrap();
    assert_eq!(deliver(garbage, &[]).unwrap(), Received::Duplicate);
}

/// A Message-ID that is empty once trimmed (`<\u{a0}>`) names no email: two different
/// ones are two emails, not one and a duplicate silently dropped.
#[test]
fn an_empty_message_id_is_no_message_id() {
    let _ = world();
    for n in 0..4 {
        let id = if n % 2 == 0 { "<>" } else { "<\u{a0}>" };
        let raw = format!("From: {CUSTOMER}\r\nMessage-ID: {id}\r\nSubject: empty id {n}\r\n\r\nHello {n}\r\n");
        let outcome = deliver(raw.into_bytes(), &[]).unwrap();
        assert!(matches!(outcome, Received::Ticket(_)), "email {n}: {outcome:?}");
    }
}

/// The fixtures themselves, unmangled, do what they are for.
#[test]
fn the_seeds_are_real_replies() {
    let w = world();
    for (n, seed) in w.seeds.iter().enumerate().skip(1) {
        let raw = set_header(seed.as_bytes(), "Message-ID", &fresh_id());
        let outcome = deliver(raw, &[]).unwrap();
        let expected = if n == 4 { Received::Dropped("automatic") } else { Received::Posted(1) };
        assert_eq!(outcome, expected, "fixture {n}");
    }
}
