//! What customers (and rules) write, through the store's own rules on every path: rules assign
//! through the item, ten files at most per message, customers' views of their conversations,
//! a write limit per visitor and per address, and mail to addresses nobody verified.

use crate::customer_data::{known_customer, Socket};
use crate::helpers::*;
use crate::notifications::{advance, deliver, mail_config, read, settle, Mail, SUPPORT};
use crate::smtp::SmtpServer;
use reqwest::Method;
use serde_json::{json, Value};

#[tokio::test]
async fn rule_assignment_makes_the_assignee_follow_and_tells_the_app() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (bea, bea_id) = app.agent(&admin, "bea@example.com").await;
    let project = admin.project("Hardware").await;
    for trigger in ["item_created", "conversation_started"] {
        let rule = json!({"name": format!("Bea takes {trigger}"), "trigger": {"kind": trigger},
                          "actions": [{"kind": "assign", "user_id": bea_id}]});
        admin.post("/api/v1/rules", rule).await.expect(201, "");
    }
    let mut beas_app = Socket::open(&app, "/api/v1/socket", Some(&bea.api_token().await)).await;
    beas_app.send(json!({"type": "watch_inbox"})).await;
    beas_app.send(json!({"type": "ping"})).await;
    beas_app.until(|f| f["type"] == "pong").await;

    let item = admin.item(project, "Screen flickers", None).await;
    let frame = beas_app.until(|f| f["type"] == "item" && f["item"]["id"] == item).await;
    assert_eq!(frame["item"]["assignee_id"], bea_id, "{frame}");
    assert_eq!(frame["item"]["followers"], json!([1, bea_id]), "{frame}");
    let stored = admin.get(&format!("/api/v1/items/{item}")).await.ok();
    assert!(stored["followers"].as_array().unwrap().contains(&json!(bea_id)), "{stored}");
    // Bea, who is in no project, may now see and answer it.
    bea.get(&format!("/api/v1/items/{item}")).await.ok();

    // A conversation without an item: assigned, and Bea takes part in it.
    let (token, _) = visitor(&app).await;
    let first = json!({"message": {"body": "hello"}});
    let started = as_visitor(&app, &token, Method::POST, "/api/v1/widget/conversations", Some(first)).await.ok();
    let id = started["conversation"]["id"].as_i64().unwrap();
    assert_eq!(admin.get(&format!("/api/v1/conversations/{id}")).await.ok()["assignee_id"], bea_id);
    bea.say(id, "Bea here").await.expect(201, "");
}

/// `n` small files uploaded at `path` by a request builder.
async fn uploads(n: usize, upload: impl Fn(usize) -> reqwest::RequestBuilder) -> Vec<i64> {
    let mut ids = Vec::new();
    for i in 0..n {
        let sent = upload(i).header("content-type", "text/plain").body(format!("file {i}")).send().await.unwrap();
        ids.push(answer(sent).await.ok()["id"].as_i64().unwrap());
    }
    ids
}

/// A new email with `n` attachments.
fn email_with_files(from: &str, n: usize) -> String {
    let mut raw = format!(
        "From: {from}\r\nTo: {SUPPORT}\r\nSubject: Photos of the damage\r\nMessage-ID: <files-{n}@example.net>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain\r\n\r\nSee the photos.\r\n"
    );
    for i in 0..n {
        raw.push_str(&format!(
            "--b\r\nContent-Type: text/plain; name=\"p{i}.txt\"\r\nContent-Disposition: attachment; filename=\"p{i}.txt\"\r\n\r\nphoto {i}\r\n"
        ));
    }
    raw.push_str("--b--\r\n");
    raw
}

#[tokio::test]
async fn every_path_caps_attachments_at_ten() {
    let smtp = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(mail_config(dir.path(), &smtp)).await;
    let admin = app.admin().await;
    let project = admin.project("Claims").await;
    let (token, customer) = known_customer(&app, &admin, "cy-1", "Cy", "cy@example.com").await;
    let item = admin.item(project, "Water damage", Some(customer)).await;
    let public = admin
        .conversation(
            json!({"kind": "public", "item_id": item, "customer_id": customer, "message": {"body": "Send photos"}}),
        )
        .await;
    let too_many = (422, "too_many_attachments");

    // An agent over HTTP.
    let files = uploads(11, |i| admin.request(Method::POST, &format!("/api/v1/attachments?filename=a{i}.txt"))).await;
    let path = format!("/api/v1/conversations/{public}/messages");
    admin.post(&path, json!({"body": "eleven", "attachment_ids": files})).await.expect(too_many.0, too_many.1);
    admin.post(&path, json!({"body": "ten", "attachment_ids": files[..10]})).await.expect(201, "");

    // The customer in the widget, in the portal and over the socket.
    let client = app.client();
    let mine = uploads(11, |i| {
        client
            .request(Method::POST, &format!("/api/v1/widget/attachments?filename=c{i}.txt"))
            .header("X-Rapport-Visitor", &token)
    })
    .await;
    let eleven = json!({"body": "eleven", "attachment_ids": mine});
    for path in
        [format!("/api/v1/widget/conversations/{public}/messages"), format!("/api/v1/portal/tickets/{item}/messages")]
    {
        as_visitor(&app, &token, Method::POST, &path, Some(eleven.clone())).await.expect(too_many.0, too_many.1);
    }
    let started = json!({"message": {"body": "eleven", "attachment_ids": mine}});
    let refused = as_visitor(&app, &token, Method::POST, "/api/v1/widget/conversations", Some(started)).await;
    refused.expect(too_many.0, too_many.1);
    let mut socket = Socket::open(&app, &format!("/api/v1/widget/socket?token={token}"), None).await;
    let frame =
        json!({"type": "send", "conversation_id": public, "client_id": "s-1", "body": "x", "attachment_ids": mine});
    socket.send(frame).await;
    let answer = socket.until(|f| f["type"] == "error" || f["type"] == "ack").await;
    assert_eq!(answer["code"], too_many.1, "{answer}");

    // By email: ten are kept, and the message says the rest were not.
    deliver(&app, "dana@example.org", SUPPORT, &email_with_files("dana@example.org", 12)).await;
    let filed = admin.get("/api/v1/conversations?view=open").await.ok();
    let by_mail = filed["entries"].as_array().unwrap().iter().find(|c| c["channel"] == "email").expect("the ticket");
    let messages = admin.get(&format!("/api/v1/conversations/{}/messages", by_mail["id"])).await.ok();
    assert_eq!(messages[0]["attachments"].as_array().unwrap().len(), 10, "{messages}");
    assert!(messages[0]["body"].as_str().unwrap().contains("2 attachment(s)"), "{messages}");
}

#[tokio::test]
async fn the_widget_lists_conversations_as_a_customer_may_see_them() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (bea, bea_id) = app.agent(&admin, "bea@example.com").await;
    let project = admin.project("Sales").await;
    let (token, _) = visitor(&app).await;
    let first =
        json!({"message": {"body": "Do you ship to Norway?"}, "page_url": "https://shop.example/secret-campaign"});
    let started = as_visitor(&app, &token, Method::POST, "/api/v1/widget/conversations", Some(first)).await.ok();
    let id = started["conversation"]["id"].as_i64().unwrap();
    admin
        .post(&format!("/api/v1/conversations/{id}/ticket"), json!({"project_id": project, "title": "Norway"}))
        .await
        .ok();
    let item = admin.get(&format!("/api/v1/conversations/{id}")).await.ok()["item_id"].clone();
    admin.send(Method::PATCH, &format!("/api/v1/items/{item}"), Some(json!({"assignee_id": bea_id}))).await.ok();
    bea.say(id, "We do.").await.ok();

    let keys = |v: &Value| -> Vec<String> {
        let mut keys: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    };
    let expected = [
        "created_at",
        "face",
        "id",
        "last_activity_at",
        "last_seq",
        "preview",
        "replies_unread",
        "status",
        "subject",
        "unread",
    ];
    assert_eq!(keys(&started["conversation"]), expected, "{started}");
    let listed = as_visitor(&app, &token, Method::GET, "/api/v1/widget/conversations", None).await.ok();
    assert_eq!(keys(&listed[0]), expected, "{listed}");
    // Unread: the bot's greeting and Bea's answer.
    assert_eq!((listed[0]["id"].as_i64(), listed[0]["unread"].as_i64()), (Some(id), Some(2)));
    // The row's face is who answered: their name and photo only.
    assert_eq!(keys(&listed[0]["face"]), ["id", "kind", "name", "photo_url"], "{listed}");
    assert_eq!(keys(&listed[0]["preview"]), ["attachments", "author_kind", "body", "created_at"], "{listed}");
    let text = listed.to_string();
    assert!(!text.contains("secret-campaign") && !text.contains("assignee"), "{text}");
}

#[tokio::test]
async fn widget_messages_are_rate_limited_per_visitor_and_address() {
    let app = spawn_app().await;
    let (token, _) = visitor(&app).await;
    let start = json!({"message": {"body": "hi"}});
    let started = as_visitor(&app, &token, Method::POST, "/api/v1/widget/conversations", Some(start)).await.ok();
    let id = started["conversation"]["id"].as_i64().unwrap();
    let path = format!("/api/v1/widget/conversations/{id}/messages");
    let say = |token: String, path: String, n: usize| {
        let app = &app;
        async move { as_visitor(app, &token, Method::POST, &path, Some(json!({"body": format!("message {n}")}))).await }
    };
    for n in 1..20 {
        say(token.clone(), path.clone(), n).await.expect(201, "");
    }
    // The 21st write in a burst is refused, with when to try again; it was not stored.
    let refused = app
        .client()
        .request(Method::POST, &path)
        .header("X-Rapport-Visitor", &token)
        .json(&json!({"body": "one too many"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.headers()["retry-after"], "2");
    answer(refused).await.expect(429, "too_many_messages");
    let upload = app.client().request(Method::POST, "/api/v1/widget/attachments?filename=a.txt");
    let upload = upload.header("X-Rapport-Visitor", &token).body("x").send().await.unwrap();
    answer(upload).await.expect(429, "too_many_messages");
    assert_eq!(app.count("messages WHERE author_kind = 'customer'").await, 20);
    app.clock.advance_ms(2_000);
    say(token.clone(), path.clone(), 21).await.expect(201, "");

    // Other visitors from the same address share a larger budget (4 × visitor_limit: 120 in a
    // burst).
    let mut accepted = 21;
    'visitors: for _ in 0..10 {
        let (other, _) = visitor(&app).await;
        let start = json!({"message": {"body": "hi"}});
        let started = as_visitor(&app, &other, Method::POST, "/api/v1/widget/conversations", Some(start)).await;
        if started.status == 429 {
            started.expect(429, "too_many_messages");
            break;
        }
        accepted += 1;
        let path = format!("/api/v1/widget/conversations/{}/messages", started.body["conversation"]["id"]);
        for n in 1..20 {
            let answer = say(other.clone(), path.clone(), n).await;
            if answer.status == 429 {
                answer.expect(429, "too_many_messages");
                break 'visitors;
            }
            accepted += 1;
        }
    }
    assert!((120..=123).contains(&accepted), "{accepted} writes from one address");
}

/// Starts a form and returns a function that submits it as a stranger with Dee's address.
async fn contact_form(app: &TestApp, admin: &Client) -> (String, Value) {
    let project = admin.project("Support").await;
    let form =
        admin.post("/api/v1/forms", json!({"name": "Contact", "project_id": project, "item_kind": "ticket"})).await;
    let key = form.expect(201, "")["key"].as_str().unwrap().to_owned();
    let started = app.client().get(&format!("/api/v1/forms/{key}/public")).await.ok()["started"].clone();
    app.clock.advance_ms(5_000);
    (key, started)
}

fn mails_to(smtp: &SmtpServer, address: &str) -> Vec<Mail> {
    smtp.messages().iter().map(|raw| read(raw)).filter(|m| m.to == address).collect()
}

#[tokio::test]
async fn an_unverified_form_submission_never_echoes_its_text_to_that_address() {
    let smtp = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(mail_config(dir.path(), &smtp)).await;
    let admin = app.admin().await;
    let (dee, dee_id) = known_customer(&app, &admin, "dee-1", "Dee", "dee@example.com").await;
    let (key, started) = contact_form(&app, &admin).await;
    for n in 0..5 {
        let submission = json!({"name": "Dee", "email": "DEE@example.com", "subject": format!("Call +1 555 0100 now ({n})"),
            "message": "Your account is locked: wire 1 BTC to unlock-4f9c.", "website": "", "started": started});
        app.client().post(&format!("/api/v1/forms/{key}/submissions"), submission).await.expect(201, "");
    }

    // Not in Dee's portal, not even once she proves her address again; the team sees a contact
    // whose address nobody verified.
    assert_eq!(as_visitor(&app, &dee, Method::GET, "/api/v1/portal/tickets", None).await.ok(), json!([]));
    let (again, same) = known_customer(&app, &admin, "dee-1", "Dee", "dee@example.com").await;
    assert_eq!(same, dee_id);
    assert_eq!(as_visitor(&app, &again, Method::GET, "/api/v1/portal/tickets", None).await.ok(), json!([]));
    let items = admin.get("/api/v1/items").await.ok();
    let item = &items["entries"][0];
    assert_eq!(item["unverified_email"], true, "{item}");
    assert_ne!(item["requester_id"], dee_id);
    let threads = admin.get(&format!("/api/v1/items/{}/conversations", item["id"])).await.ok();
    assert_eq!(threads[0]["unverified_email"], true, "{threads}");

    // The bot's answers, unseen, go out as a few neutral notices with nothing the stranger typed;
    // the team, once the unseen delay has passed, is still told what was asked.
    advance(&app, 61).await;
    settle(&app, 60_000).await;
    let to_team = admin.get("/api/v1/email/outbox").await.ok().to_string();
    assert!(to_team.contains("555 0100"), "the team is still told what was asked: {to_team}");
    let notices = mails_to(&smtp, "DEE@example.com");
    assert_eq!(notices.len(), 3, "at most three an hour: {notices:#?}");
    for mail in &notices {
        assert!(mail.subject.starts_with("Your request to"), "{}", mail.subject);
        for typed in ["555", "unlock-4f9c", "BTC"] {
            assert!(!mail.raw.contains(typed), "{typed} was echoed: {}", mail.raw);
        }
    }

    // What the team writes does reach the address, under a neutral subject.
    admin.say(threads[0]["id"].as_i64().unwrap(), "We never ask for money. Who are you?").await.ok();
    advance(&app, 61).await;
    let answered = mails_to(&smtp, "DEE@example.com");
    let team = answered.iter().find(|m| m.text.contains("We never ask for money")).expect("the team's answer");
    assert!(!team.raw.contains("555") && !team.raw.contains("unlock-4f9c"), "{}", team.raw);
    assert!(mails_to(&smtp, "dee@example.com").is_empty(), "nothing for Dee's own account");
}
