//! Emails a person can act on from their inbox: a subject that names the ticket or the first
//! words of the conversation and the team, a preview line with the newest words, and a reply
//! address on every new-ticket email to an agent (a portal ticket's too), with a real SMTP sink.

use crate::customer_data::known_customer;
use crate::helpers::*;
use crate::notifications::{advance, deliver, mail_config, read, Mail};
use crate::portal_and_forms::{portal, sign_in_by_link};
use crate::smtp::SmtpServer;
use reqwest::Method;
use serde_json::{json, Value};

const TEAM: &str = "Acme Support";

async fn named_team(admin: &Client) {
    let mut widget = admin.get("/api/v1/settings/widget").await.ok();
    widget["team_name"] = json!(TEAM);
    admin.put("/api/v1/settings/widget", Some(widget)).await.ok();
}

fn mails_to(smtp: &SmtpServer, to: &str) -> Vec<Mail> {
    smtp.messages().iter().map(|m| read(m)).filter(|m| m.to == to).collect()
}

/// The email to `to` that says `text`, once the sink has it (its delivery is real I/O).
fn mail_saying(smtp: &SmtpServer, to: &str, text: &str) -> Mail {
    let start = std::time::Instant::now();
    loop {
        if let Some(mail) = mails_to(smtp, to).into_iter().find(|m| m.text.contains(text)) {
            return mail;
        }
        assert!(start.elapsed().as_secs() < 10, "no email to {to} saying {text}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// The hidden preview line of an HTML email: what mail clients show after the subject.
fn preview(mail: &Mail) -> String {
    let start = mail.html.find("display:none").unwrap_or_else(|| panic!("no preview line: {}", mail.html));
    let text = &mail.html[start..];
    let text = &text[text.find('>').unwrap() + 1..];
    text[..text.find("&#8204;").unwrap()].to_owned()
}

async fn messages(client: &Client, conversation: i64) -> Vec<Value> {
    client.get(&format!("/api/v1/conversations/{conversation}/messages")).await.ok().as_array().unwrap().clone()
}

#[tokio::test]
async fn an_agent_answers_a_new_portal_ticket_by_replying_to_its_email_and_the_customer_reads_it_in_the_portal() {
    let smtp = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(mail_config(dir.path(), &smtp)).await;
    let admin = app.admin().await;
    admin.project("Support").await;
    named_team(&admin).await;
    admin.change_rule("ticket_auto_reply", json!({"enabled": false})).await;
    let (ann, _) = sign_in_by_link(&app, &smtp, "ann@example.com").await;
    let ticket = json!({"title": "Refund for order 1042", "description": "The parcel came back to you a week ago."});
    let ticket = portal(&app, &ann, Method::POST, "/api/v1/portal/tickets", Some(ticket)).await.expect(201, "");
    let item = ticket["id"].as_i64().unwrap();

    // The ticket has no conversation yet; its email to the team still has a reply address.
    advance(&app, 61).await;
    let email = mail_saying(&smtp, ADMIN_EMAIL, "by portal from");
    assert!(email.reply_to.starts_with("support+r") && email.reply_to.ends_with("@acme.test"), "{}", email.reply_to);
    assert!(email.text.contains("Reply to this email to answer"), "{}", email.text);
    assert_eq!(email.subject, format!("Refund for order 1042 — {TEAM}"));
    assert!(preview(&email).contains("Refund for order 1042"), "{}", preview(&email));
    assert_eq!(admin.get(&format!("/api/v1/items/{item}/conversations")).await.ok(), json!([]));

    let answer = format!(
        "From: Admin <{ADMIN_EMAIL}>\r\nTo: {}\r\nSubject: Re: {}\r\nMessage-ID: <answer-1@client.example>\r\n\
         In-Reply-To: {}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nWe sent the refund today.\r\n",
        email.reply_to, email.subject, email.message_id
    );
    deliver(&app, ADMIN_EMAIL, &email.reply_to, &answer).await;
    let held = admin.get("/api/v1/email/inbound?outcome=held").await.ok();
    assert_eq!(held, json!([]), "not held");
    let threads = admin.get(&format!("/api/v1/items/{item}/conversations")).await.ok();
    let thread = threads[0]["id"].as_i64().expect("the answer started the ticket's conversation");
    let last = messages(&admin, thread).await.last().cloned().unwrap();
    assert_eq!((&last["author"]["kind"], &last["body"]), (&json!("user"), &json!("We sent the refund today.")));
    let theirs =
        portal(&app, &ann, Method::GET, &format!("/api/v1/widget/conversations/{thread}/messages"), None).await.ok();
    assert!(theirs.to_string().contains("We sent the refund today."), "{theirs}");
}

#[tokio::test]
async fn notification_emails_name_the_topic_and_the_team_in_the_subject_and_preview_the_newest_words() {
    let smtp = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(mail_config(dir.path(), &smtp)).await;
    let admin = app.admin().await;
    named_team(&admin).await;
    let (token, _) = known_customer(&app, &admin, "ann-1", "Ann", "ann@example.com").await;
    let first = json!({"message": {"body": "My parcel never arrived and the tracking page says delivered, what now?"}});
    let chat = as_visitor(&app, &token, Method::POST, "/api/v1/widget/conversations", Some(first)).await.ok();
    let chat = chat["conversation"]["id"].as_i64().unwrap();

    // To the agent: the first words of the conversation, its number and the team.
    advance(&app, 61).await;
    let to_agent = mail_saying(&smtp, ADMIN_EMAIL, "My parcel never arrived");
    assert_eq!(to_agent.subject, format!("My parcel never arrived and the tracking page says… (#{chat}) — {TEAM}"));
    assert!(preview(&to_agent).starts_with("My parcel never arrived"), "{}", preview(&to_agent));

    // To the customer: "Re:" the same words and the team; the preview is the newest reply.
    admin.say(chat, "Sorry about that! We opened an investigation with the courier.").await.ok();
    advance(&app, 61).await;
    let to_ann = mail_saying(&smtp, "ann@example.com", "investigation with the courier");
    let subject = format!("Re: My parcel never arrived and the tracking page says… — {TEAM}");
    assert_eq!(to_ann.subject, subject);
    assert_eq!(preview(&to_ann), "Sorry about that! We opened an investigation with the courier.");
    assert!(!to_ann.text.contains("&#8204;"), "the preview is for HTML only");

    // The next reply keeps the subject, so the thread holds together; the preview moves on.
    admin.say(chat, "Good news: the courier found it & will deliver <tomorrow>.").await.ok();
    advance(&app, 61).await;
    let next = mail_saying(&smtp, "ann@example.com", "the courier found it");
    assert_eq!(next.subject, subject);
    assert_eq!(preview(&next), "Good news: the courier found it &amp; will deliver &lt;tomorrow&gt;.", "escaped");

    // A ticket's title names its conversation.
    let project = admin.project("Billing").await;
    let ticket = json!({"project_id": project, "title": "Refund for order 1042"});
    admin.post(&format!("/api/v1/conversations/{chat}/ticket"), ticket).await.expect(201, "");
    admin.say(chat, "The refund is on its way.").await.ok();
    advance(&app, 61).await;
    let titled = mail_saying(&smtp, "ann@example.com", "The refund is on its way.");
    assert_eq!(titled.subject, format!("Re: Refund for order 1042 — {TEAM}"));
}
