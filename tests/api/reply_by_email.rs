//! Email back into Rapport, through its SMTP listener: replies shaped like Gmail's, Outlook's
//! and Apple Mail's thread into their conversation; identity comes from the reply token only;
//! automatic mail is dropped; new mail opens a ticket with one auto-reply; and nothing of an
//! internal conversation ever reaches a customer's inbox.

use crate::helpers::*;
use crate::notifications::{advance, customer_chat, deliver, fixture, mail_config, read, Mail, SUPPORT};
use crate::smtp::SmtpServer;
use serde_json::{json, Value};

const ANN: &str = "ann@example.com";

/// Gives a fixture a Message-ID of its own, so the same shape can be sent twice.
fn fresh_id(raw: String, n: u32) -> String {
    let mut out = Vec::new();
    let mut replacing = false;
    for line in raw.lines() {
        if line.to_ascii_lowercase().starts_with("message-id:") {
            out.push(format!("Message-ID: <fixture-{n}-{}@client.example>", rand_tag()));
            replacing = true;
        } else if !(replacing && line.starts_with([' ', '\t'])) {
            // A folded header goes on over indented lines.
            replacing = false;
            out.push(line.to_owned());
        }
    }
    out.join("\r\n")
}

fn rand_tag() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
}

/// The newest email Rapport sent to `to`.
fn last_to(smtp: &SmtpServer, to: &str) -> Mail {
    smtp.wait_for(1);
    smtp.messages().iter().rev().map(|m| read(m)).find(|m| m.to == to).unwrap_or_else(|| panic!("no mail to {to}"))
}

/// A reply to `mail` in the shape of a mail client's fixture.
fn reply(shape: &str, mail: &Mail, from: &str, quoted: &str) -> String {
    fixture(
        shape,
        &[
            ("FROM", from),
            ("REPLY_ADDRESS", &mail.reply_to),
            ("SUPPORT_ADDRESS", SUPPORT),
            ("MESSAGE_ID", &mail.message_id),
            ("SUBJECT", &mail.subject),
            ("QUOTED", quoted),
        ],
    )
}

async fn messages(client: &Client, conversation: i64) -> Vec<Value> {
    client.get(&format!("/api/v1/conversations/{conversation}/messages")).await.ok().as_array().unwrap().clone()
}

/// An app where Ann chatted, the admin answered, and Ann was emailed the answer.
async fn answered(smtp: &SmtpServer, dir: &std::path::Path) -> (TestApp, Client, i64, Mail) {
    let app = spawn_with(mail_config(dir, smtp)).await;
    let admin = app.admin().await;
    let (_, id) = customer_chat(&app, Some(ANN), "The export button does nothing").await;
    admin.say(id, "Try clearing the cache").await.ok();
    advance(&app, 61).await;
    let mail = last_to(smtp, ANN);
    assert!(mail.text.contains("Try clearing the cache"), "{}", mail.text);
    (app, admin, id, mail)
}

#[tokio::test]
async fn html_only_bottom_posted_and_long_replies_land_as_their_authors_wrote_them() {
    let smtp = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let (app, admin, id, mail) = answered(&smtp, dir.path()).await;
    let from = format!("Ann Customer <{ANN}>");
    let last = || async { messages(&admin, id).await.last().cloned().unwrap() };

    // Outlook on the web sends HTML only: read by its structure, the quoted headers cut.
    let html = fresh_id(reply("html_only_reply.eml", &mail, &from, "Try clearing the cache"), 21);
    deliver(&app, ANN, &mail.reply_to, &html).await;
    assert_eq!(last().await["body"], "Reply\nThe invoice still shows the old address, see step 3.");

    // Thunderbird in Polish, answered below the quote: both parts, without the quote.
    let below = fresh_id(reply("bottom_posted_reply.eml", &mail, &from, "Try clearing the cache"), 22);
    deliver(&app, ANN, &mail.reply_to, &below).await;
    assert_eq!(last().await["body"], "Dzień dobry,\n\nWyczyściłam pamięć podręczną i eksport działa.\nDziękuję!");

    // A reply longer than a message may be shows its start and brings the whole text as a file.
    let log: String =
        (1..=700).map(|n| format!("Line {n} of the log I was asked for: nothing unusual here.\r\n")).collect();
    let long = format!(
        "From: {from}\r\nTo: {}\r\nSubject: Re: {}\r\nMessage-ID: <long-{}@client.example>\r\nIn-Reply-To: {}\r\n\
         Content-Type: text/plain; charset=utf-8\r\nMIME-Version: 1.0\r\n\r\n{log}",
        mail.reply_to,
        mail.subject,
        rand_tag(),
        mail.message_id
    );
    deliver(&app, ANN, &mail.reply_to, &long).await;
    let posted = last().await;
    let body = posted["body"].as_str().unwrap();
    assert!(body.starts_with("Line 1 of the log"), "{body}");
    assert!(body.ends_with("[The email goes on: its whole text is attached as email.txt.]"), "{body}");
    assert_eq!(posted["attachments"][0]["filename"], "email.txt");
    let file = posted["attachments"][0]["id"].as_i64().unwrap();
    let res = admin.request(reqwest::Method::GET, &format!("/api/v1/attachments/{file}")).send().await.unwrap();
    assert_eq!(res.text().await.unwrap(), log.replace("\r\n", "\n").trim_end());
}

#[tokio::test]
async fn replies_from_gmail_outlook_and_apple_mail_land_in_the_conversation_without_the_quote() {
    let smtp = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let (app, admin, id, mail) = answered(&smtp, dir.path()).await;
    let from = format!("Ann Customer <{ANN}>");

    deliver(&app, ANN, &mail.reply_to, &reply("gmail_reply.eml", &mail, &from, "Try clearing the cache")).await;
    let last = messages(&admin, id).await.last().cloned().unwrap();
    assert_eq!(last["author"]["kind"], "customer");
    assert_eq!(
        last["body"],
        "Thanks, the export works now.\nI had to clear the browser cache first, in case anyone else runs into it."
    );

    deliver(&app, ANN, &mail.reply_to, &reply("outlook_reply.eml", &mail, &from, "Try clearing the cache")).await;
    let last = messages(&admin, id).await.last().cloned().unwrap();
    assert_eq!(last["body"], "I’m still seeing the error on the invoices page.");
    assert_eq!(last["attachments"][0]["filename"], "report.csv");

    // Apple Mail answered the From address: the token is only in In-Reply-To and References.
    deliver(&app, ANN, SUPPORT, &reply("apple_reply.eml", &mail, &from, "Try clearing the cache")).await;
    let last = messages(&admin, id).await.last().cloned().unwrap();
    assert_eq!(last["body"], "Perfect, that fixed it.");
    assert_eq!(app.count("conversations").await, 1, "every reply threaded, no duplicate conversation");

    // Agents answer by email too: the admin was emailed Ann's replies and replies to that.
    advance(&app, 61).await;
    let to_admin = last_to(&smtp, ADMIN_EMAIL);
    let raw = fresh_id(reply("gmail_reply.eml", &to_admin, ADMIN_EMAIL, "Perfect"), 8);
    deliver(&app, ADMIN_EMAIL, &to_admin.reply_to, &raw).await;
    let last = messages(&admin, id).await.last().cloned().unwrap();
    assert_eq!(last["author"]["kind"], "user");
    assert!(last["body"].as_str().unwrap().starts_with("Thanks, the export works now."));
}

#[tokio::test]
async fn a_forged_sender_or_a_missing_token_never_posts_as_the_recipient() {
    let smtp = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let (app, admin, id, mail) = answered(&smtp, dir.path()).await;
    let before = messages(&admin, id).await.len();

    let forged = fresh_id(reply("gmail_reply.eml", &mail, "Mallory <mallory@evil.test>", "x"), 1);
    deliver(&app, "mallory@evil.test", &mail.reply_to, &forged).await;
    let mut tampered = mail.reply_to.clone();
    let at = tampered.find('@').unwrap();
    tampered.replace_range(at - 3..at, "aaa");
    let altered = Mail { reply_to: tampered.clone(), message_id: "<none@client.example>".into(), ..read(&mail.raw) };
    deliver(&app, ANN, &tampered, &fresh_id(reply("gmail_reply.eml", &altered, ANN, "x"), 2)).await;
    let staff = fresh_id(fixture("new_ticket.eml", &[("FROM", ADMIN_EMAIL), ("SUPPORT_ADDRESS", SUPPORT)]), 3);
    deliver(&app, ADMIN_EMAIL, SUPPORT, &staff).await;
    assert_eq!(messages(&admin, id).await.len(), before, "nothing was posted as Ann or as the admin");

    let held = admin.get("/api/v1/email/inbound?outcome=held").await.ok();
    let mut reasons: Vec<&str> = held.as_array().unwrap().iter().map(|h| h["reason"].as_str().unwrap()).collect();
    reasons.sort();
    assert_eq!(reasons, ["agent_without_token", "reply_token_forged", "sender_mismatch"]);

    // Mail to the support address with no token is a new ticket, never a post into Ann's chat.
    let new = fresh_id(fixture("new_ticket.eml", &[("FROM", ANN), ("SUPPORT_ADDRESS", SUPPORT)]), 4);
    deliver(&app, ANN, SUPPORT, &new).await;
    assert_eq!(messages(&admin, id).await.len(), before);
    assert_eq!(app.count("conversations").await, 2);

    // An admin who checked the held reply releases it: it is posted as the token's recipient.
    let mismatch = held.as_array().unwrap().iter().find(|h| h["reason"] == "sender_mismatch").unwrap();
    let path = format!("/api/v1/email/inbound/{}", mismatch["id"]);
    let released = admin.post(&format!("{path}/release"), json!({})).await.ok();
    assert_eq!(released["conversation_id"], id);
    assert_eq!(messages(&admin, id).await.last().unwrap()["author"]["kind"], "customer");
    admin.post(&format!("{path}/release"), json!({})).await.expect(404, "held_mail_not_found");
    let forged_one = held.as_array().unwrap().iter().find(|h| h["reason"] == "reply_token_forged").unwrap();
    admin.post(&format!("/api/v1/email/inbound/{}/discard", forged_one["id"]), json!({})).await.ok();
    let (agent, _) = app.agent(&admin, "bob@example.com").await;
    agent.get("/api/v1/email/inbound").await.expect(403, "forbidden");
}

#[tokio::test]
async fn an_automatic_reply_is_dropped_and_never_answered() {
    let smtp = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let (app, admin, id, mail) = answered(&smtp, dir.path()).await;
    let before = messages(&admin, id).await.len();
    let sent = smtp.messages().len();
    deliver(&app, ANN, &mail.reply_to, &reply("auto_reply.eml", &mail, ANN, "")).await;
    // An out-of-office sent to the support address opens no ticket and gets no auto-reply.
    let ooo = fresh_id(reply("auto_reply.eml", &Mail { reply_to: SUPPORT.into(), ..read(&mail.raw) }, ANN, ""), 5);
    deliver(&app, ANN, SUPPORT, &ooo).await;
    advance(&app, 3600).await;
    assert_eq!(messages(&admin, id).await.len(), before);
    assert_eq!(app.count("conversations").await, 1);
    assert_eq!(smtp.messages().len(), sent, "no email answers an automatic one");
    let dropped = admin.get("/api/v1/email/inbound").await.ok();
    assert_eq!(dropped.as_array().unwrap().len(), 2, "{dropped}");
    assert!(dropped.as_array().unwrap().iter().all(|d| d["reason"] == "automatic"), "{dropped}");
}

#[tokio::test]
async fn a_new_email_opens_a_ticket_and_gets_exactly_one_auto_reply() {
    let smtp = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(mail_config(dir.path(), &smtp)).await;
    let admin = app.admin().await;
    let project = admin.project("Support").await;
    let raw = fixture("new_ticket.eml", &[("FROM", "Dana Scully <dana@example.org>"), ("SUPPORT_ADDRESS", SUPPORT)]);
    deliver(&app, "dana@example.org", SUPPORT, &raw).await;
    deliver(&app, "dana@example.org", SUPPORT, &raw).await;

    let items = admin.get("/api/v1/items").await.ok();
    let items = items["entries"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1, "the same email twice is one ticket");
    assert_eq!(items[0]["project_id"], project);
    assert_eq!(items[0]["channel"], "email");
    assert_eq!(items[0]["title"], "Cannot log in");
    let conversations = admin.get(&format!("/api/v1/items/{}/conversations", items[0]["id"])).await.ok();
    let id = conversations[0]["id"].as_i64().unwrap();
    let thread = messages(&admin, id).await;
    assert_eq!(thread.len(), 2);
    assert!(thread[0]["body"].as_str().unwrap().starts_with("Hello,"));
    assert!(!thread[0]["body"].as_str().unwrap().contains("\n-- \n"), "the signature is not posted");
    assert_eq!(thread[0]["attachments"][0]["filename"], "login.png");
    assert_eq!(thread[1]["author"]["kind"], "bot");

    advance(&app, 61).await;
    advance(&app, 3600).await;
    let to_dana: Vec<Mail> = smtp.messages().iter().map(|m| read(m)).filter(|m| m.to == "dana@example.org").collect();
    assert_eq!(to_dana.len(), 1, "exactly one auto-reply");
    assert!(to_dana[0].text.contains("thanks for getting in touch"), "{}", to_dana[0].text);
    let to_admin = smtp.messages().iter().map(|m| read(m)).find(|m| m.to == ADMIN_EMAIL).expect("the team is told");
    assert!(to_admin.text.contains("Hello,"), "{}", to_admin.text);

    // Dana answers the auto-reply: her answer joins the ticket.
    let answer = fresh_id(reply("gmail_reply.eml", &to_dana[0], "dana@example.org", "Thanks"), 6);
    deliver(&app, "dana@example.org", &to_dana[0].reply_to, &answer).await;
    assert_eq!(messages(&admin, id).await.len(), 3);
    assert_eq!(app.count("items").await, 1);
}

#[tokio::test]
async fn the_canary_of_an_internal_message_never_reaches_a_customer() {
    let smtp = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(mail_config(dir.path(), &smtp)).await;
    let admin = app.admin().await;
    let (bob, bob_id) = app.agent(&admin, "bob@example.com").await;
    let project = admin.project("Billing").await;
    admin.put(&format!("/api/v1/projects/{project}/members/{bob_id}"), None).await.ok();
    let customer = admin.customer("carol@example.com").await;
    let item = admin.item(project, "Refund", Some(customer)).await;
    let public = admin
        .conversation(json!({"kind": "public", "item_id": item, "customer_id": customer, "message": {"body": "We are looking into your refund"}}))
        .await;
    let internal = admin
        .conversation(json!({"kind": "internal", "item_id": item, "message": {"body": "CANARY-7731 do not refund, see fraud note"}}))
        .await;
    bob.say(internal, "CANARY-7731 agreed").await.ok();
    bob.say(public, "Refund approved").await.ok();
    advance(&app, 61).await;
    advance(&app, 3600).await;

    let all: Vec<Mail> = smtp.messages().iter().map(|m| read(m)).collect();
    let to_carol: Vec<&Mail> = all.iter().filter(|m| m.to == "carol@example.com").collect();
    assert_eq!(to_carol.len(), 1, "{all:#?}");
    assert!(to_carol[0].text.contains("Refund approved"));
    for m in &to_carol {
        assert!(!m.raw.contains("CANARY") && !m.raw.contains("fraud"), "{}", m.raw);
    }
    assert!(
        all.iter().any(|m| m.to == ADMIN_EMAIL && m.text.contains("CANARY-7731 agreed")),
        "agents get internal mail"
    );
    // Even the admin's reply token for the internal conversation does not let the customer in.
    let internal_mail = all.iter().find(|m| m.to == ADMIN_EMAIL && m.subject.starts_with("[Internal]")).unwrap();
    let raw = fresh_id(reply("gmail_reply.eml", internal_mail, "carol@example.com", "x"), 7);
    deliver(&app, "carol@example.com", &internal_mail.reply_to, &raw).await;
    let thread = messages(&admin, internal).await;
    assert!(thread.iter().all(|m| m["author"]["kind"] == "user"));
}

#[tokio::test]
async fn replies_and_new_mail_arrive_from_a_real_imap_mailbox() {
    let smtp = SmtpServer::start();
    let imap = crate::imap_server::ImapServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut config = mail_config(dir.path(), &smtp);
    config.inbound_smtp_listen = None;
    config.imap_url = Some(rapport::domain::Secret::new(imap.url()));
    config.imap_poll_secs = 1;
    let (app, admin, id, mail) = {
        let app = spawn_with(config).await;
        let admin = app.admin().await;
        let (_, id) = customer_chat(&app, Some(ANN), "The export button does nothing").await;
        admin.say(id, "Try clearing the cache").await.ok();
        advance(&app, 61).await;
        let mail = last_to(&smtp, ANN);
        (app, admin, id, mail)
    };
    imap.deliver(reply("gmail_reply.eml", &mail, ANN, "Try clearing the cache").as_bytes());
    imap.deliver(fixture("new_ticket.eml", &[("FROM", "dana@example.org"), ("SUPPORT_ADDRESS", SUPPORT)]).as_bytes());
    let start = std::time::Instant::now();
    while app.count("inbound_mail").await < 2 {
        assert!(start.elapsed() < std::time::Duration::from_secs(20), "the mailbox was not polled");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let last = messages(&admin, id).await.last().cloned().unwrap();
    assert!(last["body"].as_str().unwrap().starts_with("Thanks, the export works now."), "{last}");
    assert_eq!(app.count("conversations").await, 2, "the new mail opened a conversation of its own");
    assert_eq!(imap.unseen(), 0, "both are marked seen once recorded");
}

/// The email to `to` that says `text`, once the SMTP sink has it (it may lag the outbox by a moment).
fn mail_saying(smtp: &SmtpServer, to: &str, text: &str) -> Mail {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let found = smtp.messages().iter().rev().map(|m| read(m)).find(|m| m.to == to && m.text.contains(text));
        match found {
            Some(mail) => return mail,
            None if std::time::Instant::now() < deadline => std::thread::sleep(std::time::Duration::from_millis(20)),
            None => panic!("no mail to {to} saying {text:?}"),
        }
    }
}

/// The thread headers of an email Rapport sent: In-Reply-To and the References list.
fn thread_headers(mail: &Mail) -> (String, Vec<String>) {
    let m = mail_parser::MessageParser::default().parse(mail.raw.as_bytes()).unwrap();
    let in_reply_to = m.in_reply_to().as_text().unwrap_or("").to_owned();
    let references = m.references().as_text_list().unwrap_or_default().iter().map(|s| s.to_string()).collect();
    (in_reply_to, references)
}

#[tokio::test]
async fn a_reply_to_an_emailed_ticket_threads_in_the_customers_mail_client() {
    let smtp = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(mail_config(dir.path(), &smtp)).await;
    let admin = app.admin().await;
    admin.project("Support").await;
    // Dana writes from a thread of her own (a forward of an older exchange): "RE:" already.
    let first = fixture("new_ticket.eml", &[("FROM", "Dana Scully <dana@example.org>"), ("SUPPORT_ADDRESS", SUPPORT)])
        .replace("Subject: Cannot log in", "Subject: RE: Cannot log in\r\nReferences: <older@example.net>")
        .replace("<5e1b7c2a-93d4-4f0e-8a6b-2c9d1e7f3a40@example.net>", "<first@example.net>");
    deliver(&app, "dana@example.org", SUPPORT, &first).await;
    let items = admin.get("/api/v1/items").await.ok();
    let item = items["entries"][0]["id"].clone();
    let id = admin.get(&format!("/api/v1/items/{item}/conversations")).await.ok()[0]["id"].as_i64().unwrap();
    advance(&app, 61).await;

    admin.say(id, "Please try a private window").await.ok();
    advance(&app, 61).await;
    let answer = mail_saying(&smtp, "dana@example.org", "Please try a private window");
    assert_eq!(answer.subject, "Re: Cannot log in", "Re: once, on her subject");
    assert_eq!(
        thread_headers(&answer),
        ("first@example.net".into(), vec!["older@example.net".into(), "first@example.net".into()])
    );

    // She answers from Gmail; the team's next email answers that email of hers.
    let raw = fresh_id(reply("gmail_reply.eml", &answer, "dana@example.org", "Please try"), 9);
    let hers = read(&raw).message_id.trim_matches(['<', '>']).to_owned();
    deliver(&app, "dana@example.org", &answer.reply_to, &raw).await;
    assert_eq!(messages(&admin, id).await.last().unwrap()["author"]["kind"], "customer");
    admin.say(id, "Glad it works").await.ok();
    advance(&app, 61).await;
    let next = mail_saying(&smtp, "dana@example.org", "Glad it works");
    assert_eq!(next.subject, "Re: Cannot log in");
    let (in_reply_to, references) = thread_headers(&next);
    assert_eq!(in_reply_to, hers);
    assert_eq!(references.last(), Some(&hers));
    assert!(references.contains(&answer.message_id.trim_matches(['<', '>']).to_owned()), "{references:?}");
}

/// The new-ticket emails the admin was sent about `title`.
fn ticket_emails(smtp: &SmtpServer, title: &str) -> Vec<Mail> {
    let about = format!("\"{title}\"");
    smtp.messages()
        .iter()
        .map(|m| read(m))
        .filter(|m| m.to == ADMIN_EMAIL && m.text.contains("by portal from") && m.text.contains(&about))
        .collect()
}

#[tokio::test]
async fn a_new_ticket_email_to_an_agent_waits_the_unseen_delay_and_is_not_sent_if_they_opened_it() {
    use crate::portal_and_forms::{portal, sign_in_by_link};
    let smtp = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(mail_config(dir.path(), &smtp)).await;
    let admin = app.admin().await;
    let (ann, _) = sign_in_by_link(&app, &smtp, ANN).await;
    let mut ids = Vec::new();
    for title in ["Opened at once", "Left alone"] {
        let body = json!({"title": title, "description": "Details."});
        let ticket =
            portal(&app, &ann, reqwest::Method::POST, "/api/v1/portal/tickets", Some(body)).await.expect(201, "");
        ids.push(ticket["id"].as_i64().unwrap());
    }
    advance(&app, 30).await;
    assert!(ticket_emails(&smtp, "Left alone").is_empty(), "nothing before the delay");
    admin.get(&format!("/api/v1/items/{}", ids[0])).await.ok();

    advance(&app, 31).await;
    smtp.wait_for(2);
    assert_eq!(ticket_emails(&smtp, "Left alone").len(), 1, "unseen after the delay: emailed once");
    advance(&app, 3600).await;
    assert!(ticket_emails(&smtp, "Opened at once").is_empty(), "the admin opened it: no email");
    assert_eq!(ticket_emails(&smtp, "Left alone").len(), 1);
}

#[tokio::test]
async fn an_agent_answers_a_new_ticket_email_by_replying_to_it() {
    let smtp = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(mail_config(dir.path(), &smtp)).await;
    let admin = app.admin().await;
    admin.project("Support").await;
    let rule = json!({"name": "New items to the admin", "trigger": {"kind": "item_created"}, "conditions": [],
                      "actions": [{"kind": "notify", "to": "users", "user_ids": [1], "email": true,
                                   "text": "New ticket to answer: \"{{item.title}}\""}]});
    admin.post("/api/v1/rules", rule).await.ok();
    let raw = fixture("new_ticket.eml", &[("FROM", "dana@example.org"), ("SUPPORT_ADDRESS", SUPPORT)]);
    deliver(&app, "dana@example.org", SUPPORT, &raw).await;
    advance(&app, 61).await;
    let email = mail_saying(&smtp, ADMIN_EMAIL, "New ticket to answer");
    assert!(email.reply_to.contains('+'), "a reply address with a token: {}", email.reply_to);

    let answer = fresh_id(reply("gmail_reply.eml", &email, ADMIN_EMAIL, "New ticket"), 12);
    deliver(&app, ADMIN_EMAIL, &email.reply_to, &answer).await;
    let items = admin.get("/api/v1/items").await.ok();
    let item = items["entries"][0]["id"].clone();
    let id = admin.get(&format!("/api/v1/items/{item}/conversations")).await.ok()[0]["id"].as_i64().unwrap();
    let last = messages(&admin, id).await.last().cloned().unwrap();
    assert_eq!(last["author"]["kind"], "user", "posted as the admin, not held: {last}");
    let held = admin.get("/api/v1/email/inbound?outcome=held").await.ok();
    assert!(held.as_array().unwrap().is_empty(), "{held}");
}
