//! The one-minute rule end to end: messages not seen in time are emailed through a real SMTP
//! server (aiosmtpd), replies by email come back through Rapport's SMTP listener, and the
//! clock is moved, never waited for.

use crate::helpers::*;
use crate::smtp::SmtpServer;
use mail_parser::MessageParser;
use rapport::clock::Clock;
use reqwest::Method;
use serde_json::json;
use std::time::{Duration, Instant};

pub const SUPPORT: &str = "support@acme.test";

pub fn mail_config(dir: &std::path::Path, smtp: &SmtpServer) -> rapport::config::Config {
    let mut config = crate::helpers::config_for(dir);
    config.smtp_url = Some(rapport::domain::Secret::new(smtp.url()));
    config.smtp_from = Some(format!("Acme Support <{SUPPORT}>"));
    config.inbound_smtp_listen = Some("127.0.0.1:0".parse().unwrap());
    config
}

/// What the tests read of a delivered email.
#[derive(Debug)]
pub struct Mail {
    pub to: String,
    pub reply_to: String,
    pub message_id: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub raw: String,
}

pub fn read(raw: &str) -> Mail {
    let m = MessageParser::default().parse(raw.as_bytes()).expect("a parsable email");
    let addr =
        |a: Option<&mail_parser::Address>| a.and_then(|a| a.first()).and_then(|a| a.address()).unwrap_or("").to_owned();
    Mail {
        to: addr(m.to()),
        reply_to: addr(m.reply_to()),
        message_id: format!("<{}>", m.message_id().unwrap_or("")),
        subject: m.subject().unwrap_or("").to_owned(),
        text: m.body_text(0).unwrap_or_default().into_owned(),
        html: m.body_html(0).unwrap_or_default().into_owned(),
        raw: raw.to_owned(),
    }
}

/// Waits (in real time) until the app has dealt with everything due by its clock: nothing
/// scheduled is overdue and nothing in the outbox is waiting for its attempt.
pub async fn settle(app: &TestApp, delay_ms: i64) {
    let start = Instant::now();
    loop {
        let now = app.clock.now_ms();
        let due = now - delay_ms;
        let overdue = app.count(format!("pending_notifications WHERE since <= {due}")).await
            + app.count(format!("notices WHERE owed_since IS NULL OR owed_since <= {due}")).await;
        let waiting = app.count(format!("outbox WHERE status = 'pending' AND next_attempt_at <= {now}")).await;
        if overdue == 0 && waiting == 0 {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "email jobs did not settle: {overdue} overdue, {waiting} waiting"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Moves the clock and waits for the email jobs to catch up.
pub async fn advance(app: &TestApp, seconds: i64) {
    app.clock.advance_ms(seconds * 1000);
    settle(app, 60_000).await;
}

/// A widget visitor who gave their email, and the conversation they started.
pub async fn customer_chat(app: &TestApp, email: Option<&str>, text: &str) -> (String, i64) {
    let (token, _) = visitor(app).await;
    if let Some(email) = email {
        as_visitor(
            app,
            &token,
            Method::POST,
            "/api/v1/widget/identify",
            Some(json!({"name": "Ann Customer", "email": email})),
        )
        .await
        .ok();
    }
    let created =
        as_visitor(app, &token, Method::POST, "/api/v1/widget/conversations", Some(json!({"message": {"body": text}})))
            .await
            .ok();
    (token, created["conversation"]["id"].as_i64().unwrap())
}

/// Hands a raw email to Rapport's SMTP listener, as a mail server would.
pub async fn deliver(app: &TestApp, from: &str, to: &str, raw: &str) {
    use lettre::{address::Envelope, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(app.inbound_smtp.expect("the inbound SMTP listener"))
        .build();
    let envelope = Envelope::new(Some(from.parse().unwrap()), vec![to.parse().unwrap()]).unwrap();
    transport.send_raw(&envelope, raw.as_bytes()).await.expect("Rapport accepted the mail");
}

/// A fixture from tests/api/fixtures/mail with its placeholders filled.
pub fn fixture(name: &str, fill: &[(&str, &str)]) -> String {
    let path = format!("{}/tests/api/fixtures/mail/{name}", env!("CARGO_MANIFEST_DIR"));
    let mut text = std::fs::read_to_string(path).unwrap();
    for (key, value) in fill {
        text = text.replace(&format!("{{{{{key}}}}}"), value);
    }
    text
}

#[tokio::test]
async fn an_unseen_customer_message_emails_the_agents_who_asked_for_it_after_a_minute() {
    let smtp = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(mail_config(dir.path(), &smtp)).await;
    let admin = app.admin().await;
    let (_bob, _) = app.agent(&admin, "bob@example.com").await;
    let (quiet, _) = app.agent(&admin, "quiet@example.com").await;
    let mut prefs = quiet.get("/api/v1/me/preferences").await.ok();
    prefs["email_fallback"] = json!(false);
    quiet.put("/api/v1/me/preferences", Some(prefs)).await.ok();

    let (_, id) = customer_chat(&app, None, "Where is my order <b>#123</b>?").await;
    advance(&app, 59).await;
    assert_eq!(app.count("outbox").await, 0, "nothing before the minute is up");
    advance(&app, 2).await;
    let got = smtp.wait_for(2);
    let mut to: Vec<_> = got.iter().map(|m| read(m).to).collect();
    to.sort();
    assert_eq!(to, ["admin@example.com", "bob@example.com"], "not the agent who turned emails off");
    let mail = read(&got[0]);
    assert!(mail.text.contains("Where is my order <b>#123</b>?"), "{}", mail.text);
    assert!(mail.html.contains("Where is my order &lt;b&gt;#123&lt;/b&gt;?"), "user text is never HTML");
    assert!(mail.text.contains(&format!("/app/#conversation/{id}")));
    assert!(mail.raw.contains("Auto-Submitted: auto-generated"));
    assert!(mail.reply_to.starts_with("support+r") && mail.reply_to.ends_with("@acme.test"), "{}", mail.reply_to);
    assert!(mail.message_id.contains(".") && mail.message_id.ends_with("@acme.test>"), "{}", mail.message_id);
    // The bot's auto-reply notifies nobody, and an anonymous customer has no address.
    advance(&app, 3600).await;
    assert_eq!(smtp.messages().len(), 2, "nothing twice, nothing more");
}

#[tokio::test]
async fn a_message_seen_at_59_seconds_is_never_emailed_and_several_unseen_become_one_email() {
    let smtp = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(mail_config(dir.path(), &smtp)).await;
    let admin = app.admin().await;
    let (token, id) = customer_chat(&app, None, "first").await;
    advance(&app, 59).await;
    let last = admin.get(&format!("/api/v1/conversations/{id}")).await.ok()["last_seq"].as_i64().unwrap();
    admin.post(&format!("/api/v1/conversations/{id}/seen"), json!({"seq": last})).await.ok();
    advance(&app, 120).await;
    assert_eq!(app.count("outbox").await, 0);

    for text in ["second", "third"] {
        as_visitor(
            &app,
            &token,
            Method::POST,
            &format!("/api/v1/widget/conversations/{id}/messages"),
            Some(json!({"body": text})),
        )
        .await
        .ok();
        advance(&app, 20).await;
    }
    advance(&app, 30).await;
    let got = smtp.wait_for(1);
    assert_eq!(got.len(), 1, "two unseen messages, one email");
    let mail = read(&got[0]);
    assert!(mail.text.contains("second") && mail.text.contains("third"), "{}", mail.text);
    assert!(!mail.text.contains("first"), "what was seen is not repeated");
}

#[tokio::test]
async fn a_restart_at_30_seconds_still_sends_at_60_once() {
    let smtp = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(mail_config(dir.path(), &smtp)).await;
    app.admin().await;
    customer_chat(&app, None, "are you there?").await;
    advance(&app, 30).await;
    app.stop().await;

    let app = spawn_with(mail_config(dir.path(), &smtp)).await;
    app.clock.advance_ms(30_000);
    settle(&app, 60_000).await;
    advance(&app, 25).await;
    assert_eq!(smtp.messages().len(), 0, "not before the minute");
    advance(&app, 10).await;
    assert_eq!(smtp.wait_for(1).len(), 1);
    app.stop().await;
    let app = spawn_with(mail_config(dir.path(), &smtp)).await;
    advance(&app, 3600).await;
    assert_eq!(smtp.messages().len(), 1, "a restart does not repeat it");
}

/// The scheduler decides and renders between a read and a write: a row that changed in
/// between is not settled on the old read. A message that came meanwhile stays owed and goes
/// out with the one before it in the next round's email, once.
#[tokio::test]
async fn a_message_between_the_schedulers_read_and_its_write_is_neither_lost_nor_sent_twice() {
    let smtp = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(mail_config(dir.path(), &smtp)).await;
    app.admin().await;
    let (token, id) = customer_chat(&app, None, "first").await;
    // The test plays one round by hand, a minute ahead of the app's clock: the app's own
    // scheduler sees nothing due yet.
    let store = &app.store;
    let later = app.clock.now_ms() + 61_000;
    let due = store.mail().due(later - 60_000, 500, rapport::notify::MESSAGES_PER_EMAIL, later).await.unwrap();
    as_visitor(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/widget/conversations/{id}/messages"),
        Some(json!({"body": "second"})),
    )
    .await
    .ok();
    let head = rapport::mail::render::Letterhead::signed(store.mail().signing().await.unwrap(), SUPPORT, &app.base);
    let decided = rapport::notify::decide(due.notices, due.owed, &head, later);
    let emails: Vec<_> = decided.iter().filter_map(|d| d.email.as_ref()).map(|e| e.to.as_str()).collect();
    assert_eq!(emails, ["admin@example.com"], "decided on the old read");
    assert_eq!(store.mail().settle(decided, later).await.unwrap(), 0, "its row changed: nothing queued");
    assert_eq!(app.count("outbox").await, 0);
    let owed = app.count("pending_notifications WHERE party_kind = 'user' AND last_seq > first_seq").await;
    assert_eq!(owed, 1, "the admin is still owed both messages");

    advance(&app, 61).await;
    let mail = read(&smtp.wait_for(1)[0]);
    assert!(mail.text.contains("first") && mail.text.contains("second"), "{}", mail.text);
    advance(&app, 3600).await;
    assert_eq!(smtp.messages().len(), 1, "once");
}

#[tokio::test]
async fn smtp_down_for_ten_minutes_then_back_every_email_arrives_once() {
    let mut smtp = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(mail_config(dir.path(), &smtp)).await;
    app.admin().await;
    smtp.stop();
    for n in 0..3 {
        customer_chat(&app, None, &format!("message {n}")).await;
    }
    for _ in 0..11 {
        advance(&app, 60).await;
    }
    let attempts = app.probe("SELECT min(attempts) FROM outbox").await.unwrap();
    assert!(attempts >= 2, "retried while the server was down ({attempts})");
    assert_eq!(app.count("outbox WHERE status = 'pending'").await, 3);
    smtp.start_again();
    advance(&app, 3600).await;
    let got = smtp.wait_for(3);
    let mut ids: Vec<String> = got.iter().map(|m| read(m).message_id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3, "every email once");
    advance(&app, 3 * 3600).await;
    assert_eq!(smtp.messages().len(), 3);
    assert_eq!(app.count("outbox WHERE status = 'sent'").await, 3);
}

#[tokio::test]
async fn a_permanent_refusal_is_recorded_for_admins_and_not_retried() {
    let smtp = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(mail_config(dir.path(), &smtp)).await;
    let admin = app.admin().await;
    let (_, id) = customer_chat(&app, Some("reject-me@example.com"), "hello").await;
    admin.say(id, "We are on it").await.ok();
    advance(&app, 61).await;
    let failed = admin.get("/api/v1/email/outbox?status=failed").await.ok();
    assert_eq!(failed.as_array().unwrap().len(), 1, "{failed}");
    assert_eq!(failed[0]["to"], "reject-me@example.com");
    assert!(failed[0]["last_error"].as_str().unwrap().contains("550"), "{failed}");
    advance(&app, 5 * 3600).await;
    let attempts = app.probe("SELECT attempts FROM outbox WHERE to_address = 'reject-me@example.com'").await.unwrap();
    assert_eq!(attempts, 1, "a 550 is not retried");
    let settings = admin.get("/api/v1/settings/email").await.ok();
    assert_eq!(settings["counts"]["failed"], 1);
    admin.get("/api/v1/email/outbox?status=bogus").await.expect(400, "invalid_query");
}

#[tokio::test]
async fn every_email_step_of_the_flow_can_be_turned_off() {
    let smtp = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(mail_config(dir.path(), &smtp)).await;
    let admin = app.admin().await;
    // Emails to agents and to customers are rules of the notification flow.
    let notify_in_app_only = json!([{"kind": "notify", "to": "team", "app": true, "email": false}]);
    admin.change_rule("team_notification", json!({"actions": notify_in_app_only})).await;
    admin.change_rule("customer_email", json!({"enabled": false})).await;
    let off = json!({"inbound": false, "inbound_project_id": null});
    admin.put("/api/v1/settings/email/flow", Some(off.clone())).await.ok();
    assert_eq!(admin.get("/api/v1/settings/email").await.ok()["flow"], off);
    let (_, id) = customer_chat(&app, Some("ann@example.com"), "hello?").await;
    admin.say(id, "hi Ann").await.ok();
    advance(&app, 3600).await;
    assert_eq!(app.count("outbox").await, 0, "neither agents nor customers are emailed");
    let raw = fixture("new_ticket.eml", &[("FROM", "dana@example.org"), ("SUPPORT_ADDRESS", SUPPORT)]);
    deliver(&app, "dana@example.org", SUPPORT, &raw).await;
    assert_eq!(app.count("conversations").await, 1, "no ticket from email");
    let dropped = admin.get("/api/v1/email/inbound").await.ok();
    assert_eq!(dropped[0]["reason"], "inbound_off");
    admin
        .put("/api/v1/settings/email/flow", Some(json!({"inbound": true, "inbound_project_id": 999})))
        .await
        .expect(404, "project_not_found");
}
