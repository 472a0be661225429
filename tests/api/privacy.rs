//! Data protection: an admin exports everything about a customer as JSON, and erases the
//! customer with all their data; agents may do neither.

use crate::helpers::*;
use crate::notifications::{advance, customer_chat, mail_config};
use crate::smtp::SmtpServer;
use base64::Engine;
use reqwest::Method;
use serde_json::{json, Value};

const EMAIL: &str = "erin@example.com";

struct Scene {
    app: TestApp,
    admin: Client,
    agent: Client,
    visitor: String,
    customer: i64,
    chat: i64,
    item: i64,
    internal: i64,
    attachment: i64,
    picture: Vec<u8>,
    _smtp: SmtpServer,
    _dir: tempfile::TempDir,
}

/// A customer (known to the team's site by her address) who chatted from the widget with a
/// picture, got an answer by email after a minute unseen, and has a ticket the team discusses
/// internally.
async fn scene() -> Scene {
    let smtp = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(mail_config(dir.path(), &smtp)).await;
    let admin = app.admin().await;
    let (agent, _) = app.agent(&admin, "agent@example.com").await;
    let secret = admin.get("/api/v1/settings/widget").await.ok()["identity_secret"].as_str().unwrap().to_owned();
    let (visitor, _) = visitor(&app).await;
    let user = crate::widget::signed(&secret, "erin-1", EMAIL, app.clock.now_secs() + 600);
    as_visitor(&app, &visitor, Method::POST, "/api/v1/widget/identify", Some(json!({"user": user}))).await.ok();
    let first = json!({"message": {"body": "My parcel never came, tracking zebra42"}});
    let started = as_visitor(&app, &visitor, Method::POST, "/api/v1/widget/conversations", Some(first)).await.ok();
    let chat = started["conversation"]["id"].as_i64().unwrap();
    let picture: Vec<u8> = b"\x89PNG\r\n\x1a\n".iter().copied().chain((0..5000u32).map(|i| (i % 241) as u8)).collect();
    let uploaded = app
        .client()
        .request(Method::POST, "/api/v1/widget/attachments?filename=receipt.png")
        .header("X-Rapport-Visitor", &visitor)
        .header("content-type", "image/png")
        .body(picture.clone())
        .send()
        .await
        .unwrap();
    let attachment = answer(uploaded).await.ok()["id"].as_i64().unwrap();
    as_visitor(
        &app,
        &visitor,
        Method::POST,
        &format!("/api/v1/widget/conversations/{chat}/messages"),
        Some(json!({"body": "here is the receipt", "attachment_ids": [attachment]})),
    )
    .await
    .ok();
    admin.say(chat, "Sorry Erin, we are on it").await.ok();
    advance(&app, 61).await;
    assert!(smtp.messages().iter().any(|m| m.contains(EMAIL)), "the unseen answer was not emailed to the customer");

    let customer = admin.get(&format!("/api/v1/conversations/{chat}")).await.ok()["customer_id"].as_i64().unwrap();
    let project = admin.project("Parcels").await;
    let item = admin.item(project, "Lost parcel zebra42", Some(customer)).await;
    let internal = admin
        .conversation(json!({"kind": "internal", "item_id": item, "subject": "Courier dispute",
            "message": {"body": "internal only: the courier blames the depot"}}))
        .await;
    Scene { app, admin, agent, visitor, customer, chat, item, internal, attachment, picture, _smtp: smtp, _dir: dir }
}

#[tokio::test]
async fn an_admin_exports_everything_about_a_customer_and_nothing_internal() {
    let s = scene().await;
    let path = format!("/api/v1/customers/{}/export", s.customer);
    s.agent.get(&path).await.expect(403, "forbidden");
    s.admin.get("/api/v1/customers/999999/export").await.expect(404, "customer_not_found");

    let response = s.admin.request(Method::GET, &path).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let disposition = response.headers()["content-disposition"].to_str().unwrap().to_owned();
    assert_eq!(disposition, format!("attachment; filename=\"customer-{}.json\"", s.customer));
    let text = response.text().await.unwrap();
    let export: Value = serde_json::from_str(&text).unwrap();

    assert_eq!(export["customer"]["id"], s.customer);
    assert_eq!(export["customer"]["email"], EMAIL);
    assert_eq!(export["sessions_started_at"].as_array().unwrap().len(), 1);
    let conversations = export["conversations"].as_array().unwrap();
    assert_eq!(conversations.len(), 1);
    assert_eq!(conversations[0]["id"], s.chat);
    let messages = conversations[0]["messages"].as_array().unwrap();
    // The auto-reply is there too, as the bot's.
    let said: Vec<(&str, &str)> =
        messages.iter().map(|m| (m["author_kind"].as_str().unwrap(), m["body"].as_str().unwrap())).collect();
    assert_eq!(said.len(), 4, "{said:?}");
    assert_eq!(said[0], ("customer", "My parcel never came, tracking zebra42"));
    assert_eq!(said[1].0, "bot");
    assert_eq!(said[2], ("customer", "here is the receipt"));
    assert_eq!(said[3], ("user", "Sorry Erin, we are on it"));
    assert!(messages[3]["author_name"].is_string());
    let file = &messages[2]["attachments"][0];
    assert_eq!(file["filename"], "receipt.png");
    let bytes = base64::engine::general_purpose::STANDARD.decode(file["data_base64"].as_str().unwrap()).unwrap();
    assert_eq!(bytes, s.picture);
    assert_eq!(export["tickets"][0]["id"], s.item);
    assert_eq!(export["tickets"][0]["title"], "Lost parcel zebra42");
    let sent = export["emails_sent"].as_array().unwrap();
    assert!(!sent.is_empty() && sent.iter().all(|m| m["to"] == EMAIL), "{sent:?}");
    assert!(sent[0]["text_body"].as_str().unwrap().contains("Sorry Erin"));

    // The export is made to be handed to the customer: the team's internal talk is not in it.
    assert!(!text.contains("courier blames"), "an internal message is in the export");
    assert!(!text.contains("Courier dispute"), "an internal subject is in the export");
}

#[tokio::test]
async fn an_admin_erases_a_customer_with_all_their_data() {
    let s = scene().await;
    let path = format!("/api/v1/customers/{}", s.customer);
    s.agent.delete(&path).await.expect(403, "forbidden");
    s.app.client().delete(&path).await.expect(401, "unauthenticated");
    assert_eq!(s.admin.get(&path).await.status.as_u16(), 200, "an agent's refusal erased something");

    // Someone else's data stays.
    let (_, other_chat) = customer_chat(&s.app, Some("other@example.com"), "unrelated zebra42 question").await;

    let erased = s.admin.delete(&path).await.ok();
    assert_eq!(erased["conversations"], 2, "the chat and the ticket's internal conversation: {erased}");
    assert_eq!(erased["items"], 1);
    assert!(erased["messages"].as_i64().unwrap() >= 4, "{erased}");
    assert!(erased["emails"].as_i64().unwrap() >= 1, "{erased}");

    for gone in [
        path.clone(),
        format!("/api/v1/customers/{}/export", s.customer),
        format!("/api/v1/conversations/{}", s.chat),
        format!("/api/v1/conversations/{}", s.internal),
        format!("/api/v1/items/{}", s.item),
        format!("/api/v1/attachments/{}", s.attachment),
    ] {
        assert_eq!(s.admin.get(&gone).await.status.as_u16(), 404, "{gone} is still there");
    }
    s.admin.delete(&path).await.expect(404, "customer_not_found");

    // Search finds only the other customer's message.
    let found = s.admin.get("/api/v1/search?q=zebra42").await.ok();
    let conversations: Vec<i64> =
        found["messages"].as_array().unwrap().iter().map(|m| m["conversation"]["id"].as_i64().unwrap()).collect();
    assert_eq!(conversations, [other_chat], "{found}");
    assert!(found["items"].as_array().unwrap().is_empty(), "{found}");

    // Their widget session is gone with them.
    let widget = as_visitor(&s.app, &s.visitor, Method::GET, "/api/v1/widget/conversations", None).await;
    assert_eq!(widget.status.as_u16(), 401, "{}", widget.body);

    // Nothing of theirs is left in any table, and the database is consistent.
    assert_eq!(
        s.app
            .count(
                "attachment_chunks c JOIN attachments a ON a.id = c.attachment_id WHERE a.uploader_kind = 'customer'"
            )
            .await,
        0
    );
    assert_eq!(s.app.count(&format!("outbox WHERE to_address = '{EMAIL}'")).await, 0);
    for (index, word) in [("messages", "receipt"), ("messages", "courier"), ("items", "parcel")] {
        assert_eq!(s.app.indexed(index, word).await, 0, "{word} is still in the search index of {index}");
    }
    assert_eq!(s.app.count("visitor_tokens").await, 1, "only the other customer's session");
    if !s.app.store.location().is_postgres() {
        // PostgreSQL checks every foreign key as it writes, and keeps its own pages whole;
        // SQLite is asked.
        assert_eq!(s.app.count("pragma_foreign_key_check").await, 0);
        assert_eq!(
            s.app.count("pragma_integrity_check WHERE integrity_check != 'ok'").await,
            0,
            "the database is consistent"
        );
    }
}

/// An erased customer's open widget socket is cut off, and nobody new ever gets their id: an
/// old reply address or socket could otherwise speak for (or listen to) someone else.
#[tokio::test]
async fn erasing_cuts_off_the_customers_sockets_and_retires_their_id() {
    use futures_util::{SinkExt, StreamExt};
    let s = scene().await;
    let port = s.app.base.rsplit(':').next().unwrap().to_owned();
    let url = format!("ws://127.0.0.1:{port}/api/v1/widget/socket?token={}", s.visitor);
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.expect("the widget socket opens");
    let subscribe = json!({"type": "subscribe", "conversation_id": s.chat}).to_string();
    socket.send(tokio_tungstenite::tungstenite::Message::text(subscribe)).await.unwrap();
    loop {
        let frame = socket.next().await.expect("open").expect("readable");
        if frame.to_text().unwrap_or("").contains("\"subscribed\"") {
            break;
        }
    }

    s.admin.delete(&format!("/api/v1/customers/{}", s.customer)).await.ok();
    let closed = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        while let Some(Ok(frame)) = socket.next().await {
            if frame.is_close() {
                return;
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the erased customer's socket stayed open");

    let (_, next) = visitor(&s.app).await;
    assert!(next > s.customer, "a new visitor got the erased customer's id {next}");
    let known = s.admin.post("/api/v1/customers", json!({"email": "new@example.com"})).await.ok();
    assert!(known["id"].as_i64().unwrap() > next);
}
