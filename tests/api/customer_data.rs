//! What a customer may see of their own data: the export built from the customer's own views,
//! addresses nobody verified counting for nothing, and a ticket's public conversation following
//! its requester on every path (portal, widget, socket, rules, reply by email).

use crate::helpers::*;
use crate::notifications::{advance, deliver, fixture, mail_config, read, SUPPORT};
use crate::smtp::SmtpServer;
use futures_util::{SinkExt, StreamExt};
use rapport::domain::identity::{sign, SiteIdentity};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// A customer the team's site vouches for (signed identity): their widget token, which is a
/// portal session too, and their id.
pub async fn known_customer(app: &TestApp, admin: &Client, site_id: &str, name: &str, email: &str) -> (String, i64) {
    let secret = admin.get("/api/v1/settings/widget").await.ok()["identity_secret"].as_str().unwrap().to_owned();
    let mut identity = SiteIdentity {
        id: site_id.into(),
        email: Some(email.into()),
        name: Some(name.into()),
        expires: Some(app.clock.now_secs() + 600),
        signature: None,
    };
    identity.signature = Some(sign(&secret, &identity));
    let user = json!({"id": identity.id, "email": identity.email, "name": identity.name,
                      "expires": identity.expires, "signature": identity.signature});
    let (token, _) = visitor(app).await;
    let me = as_visitor(app, &token, Method::POST, "/api/v1/widget/identify", Some(json!({"user": user}))).await.ok();
    (token, me["id"].as_i64().unwrap())
}

/// A live socket, for what a client is told.
pub struct Socket {
    ws: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
}

impl Socket {
    /// A customer's socket (`bearer: None`, the token in the path) or an agent's.
    pub async fn open(app: &TestApp, path: &str, bearer: Option<&str>) -> Socket {
        let url = format!("ws{}{path}", app.base.strip_prefix("http").unwrap());
        let mut request = url.into_client_request().unwrap();
        if let Some(token) = bearer {
            request.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
        }
        let (ws, _) = tokio_tungstenite::connect_async(request).await.expect("the socket opens");
        let mut socket = Socket { ws };
        socket.until(|f| f["type"] == "hello").await;
        socket
    }

    pub async fn send(&mut self, frame: Value) {
        self.ws.send(WsMessage::text(frame.to_string())).await.unwrap();
    }

    /// The first frame that `wanted` picks, within a few seconds.
    pub async fn until(&mut self, wanted: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let next = tokio::time::timeout_at(deadline, self.ws.next()).await.expect("the frame in time");
            if let Some(Ok(WsMessage::Text(text))) = next {
                let frame: Value = serde_json::from_str(&text).unwrap();
                if wanted(&frame) {
                    return frame;
                }
            }
        }
    }
}

#[tokio::test]
async fn a_customer_export_never_contains_the_teams_ticket_description() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let project = admin.project("Support").await;
    admin.put("/api/v1/settings/portal", Some(json!({"enabled": true, "project_id": project}))).await.ok();
    let (token, gus) = known_customer(&app, &admin, "gus-1", "Gus", "gus@example.com").await;
    let team_words = "team-only-5c1e: Gus threatens to churn";
    admin
        .post(
            "/api/v1/items",
            json!({"project_id": project, "kind": "ticket", "title": "Replace router", "requester_id": gus,
                   "description": team_words}),
        )
        .await
        .expect(201, "");
    let own = json!({"title": "Router blinks red", "description": "It blinks red since Monday."});
    as_visitor(&app, &token, Method::POST, "/api/v1/portal/tickets", Some(own)).await.expect(201, "");

    let export = admin.get(&format!("/api/v1/customers/{gus}/export")).await.ok();
    let tickets = export["tickets"].as_array().unwrap();
    let described: Vec<(&str, &str)> =
        tickets.iter().map(|t| (t["title"].as_str().unwrap(), t["description"].as_str().unwrap())).collect();
    assert!(described.contains(&("Router blinks red", "It blinks red since Monday.")), "{described:?}");
    assert!(described.contains(&("Replace router", "")), "{described:?}");
    assert!(!export.to_string().contains("team-only-5c1e"), "the team's description is in the export: {export}");
    // The same view as the portal's, field for field.
    let portal = as_visitor(&app, &token, Method::GET, "/api/v1/portal/tickets", None).await.ok();
    assert_eq!(export["tickets"], portal);
}

#[tokio::test]
async fn export_and_erase_ignore_an_unverified_contact_email() {
    let smtp = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(mail_config(dir.path(), &smtp)).await;
    let admin = app.admin().await;
    let (bea, _) = app.agent(&admin, "bea@example.com").await;
    // Bea's own mail: an internal thread she started, answered while she is away.
    let payroll = bea.conversation(json!({"kind": "internal", "subject": "Payroll"})).await;
    admin.say(payroll, "internal-7f2a: salaries go out late").await.ok();

    // An anonymous visitor types Bea's address into the widget and chats.
    let (token, visitor_id) = visitor(&app).await;
    let contact = json!({"name": "Not Bea", "email": "bea@example.com"});
    as_visitor(&app, &token, Method::POST, "/api/v1/widget/identify", Some(contact)).await.ok();
    let first = json!({"message": {"body": "hello, I am definitely Bea"}});
    let chat = as_visitor(&app, &token, Method::POST, "/api/v1/widget/conversations", Some(first)).await.ok();
    let chat = chat["conversation"]["id"].as_i64().unwrap();
    admin.say(chat, "Hello, how can we help?").await.ok();
    advance(&app, 61).await;
    let beas_own = || {
        app.count(format!("outbox WHERE to_address = 'bea@example.com' AND conversation_id IS DISTINCT FROM {chat}"))
    };
    assert!(beas_own().await >= 1, "Bea was emailed about her internal thread");

    let export = admin.get(&format!("/api/v1/customers/{visitor_id}/export")).await.ok();
    assert_eq!(export["customer"]["contact_email"], "bea@example.com");
    assert_eq!(export["emails_sent"], json!([]), "{export}");
    assert!(!export.to_string().contains("internal-7f2a"), "an agent's mail is in the export: {export}");

    let before = beas_own().await;
    admin.delete(&format!("/api/v1/customers/{visitor_id}")).await.ok();
    assert_eq!(beas_own().await, before, "erasing the visitor deleted mail of the address they typed");
    admin.get(&format!("/api/v1/conversations/{payroll}")).await.ok();
}

/// Items with a public conversation with Ann, and a rule that greets the customer by name and
/// address whenever the item changes status.
async fn ticket_of_ann(app: &TestApp, admin: &Client) -> (String, i64, String, i64, i64, i64) {
    let project = admin.project("Support").await;
    let (ann, ann_id) = known_customer(app, admin, "ann-1", "Ann", "ann@example.com").await;
    let (bob, bob_id) = known_customer(app, admin, "bob-1", "Bob", "bob@example.com").await;
    let rule = json!({"name": "Greet", "trigger": {"kind": "status_changed"},
        "conditions": [{"field": "changed", "op": "is", "value": "item"}],
        "actions": [{"kind": "bot_reply", "text": "Dear {{customer.name}} <{{customer.email}}>: {{item.title}} changed."}]});
    admin.post("/api/v1/rules", rule).await.expect(201, "");
    let item = admin.item(project, "Broken screen", Some(ann_id)).await;
    let public = admin
        .conversation(json!({"kind": "public", "item_id": item, "customer_id": ann_id,
                             "message": {"body": "We will send a courier."}}))
        .await;
    (ann, ann_id, bob, bob_id, item, public)
}

#[tokio::test]
async fn a_requester_change_moves_the_public_conversation_to_the_new_requester() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (ann, _, bob, bob_id, item, public) = ticket_of_ann(&app, &admin).await;
    let ticket = format!("/api/v1/portal/tickets/{item}");
    assert_eq!(as_visitor(&app, &ann, Method::GET, &ticket, None).await.ok()["conversation_id"], public);
    let mut anns_socket = Socket::open(&app, &format!("/api/v1/widget/socket?token={ann}"), None).await;

    let path = format!("/api/v1/items/{item}");
    admin.send(Method::PATCH, &path, Some(json!({"requester_id": bob_id}))).await.ok();
    let moved = admin.get(&format!("/api/v1/conversations/{public}")).await.ok();
    assert_eq!(moved["customer_id"], bob_id);

    // Ann loses it at once, by every path.
    as_visitor(&app, &ann, Method::GET, &ticket, None).await.expect(404, "ticket_not_found");
    let messages = format!("/api/v1/widget/conversations/{public}/messages");
    as_visitor(&app, &ann, Method::GET, &messages, None).await.expect(404, "conversation_not_found");
    let hers = as_visitor(&app, &ann, Method::GET, "/api/v1/widget/conversations", None).await.ok();
    assert_eq!(hers, json!([]));
    anns_socket.send(json!({"type": "subscribe", "conversation_id": public})).await;
    let refused = anns_socket.until(|f| f["type"] == "error" || f["type"] == "subscribed").await;
    assert_eq!(refused["code"], "conversation_not_found", "{refused}");

    // Bob reads and answers it in the portal and the widget.
    let his = as_visitor(&app, &bob, Method::GET, &ticket, None).await.ok();
    assert_eq!(his["conversation_id"], public);
    let reply = json!({"body": "Thanks, I took this over from Ann."});
    let posted = as_visitor(&app, &bob, Method::POST, &format!("{ticket}/messages"), Some(reply)).await.expect(201, "");
    assert_eq!(posted["conversation"]["id"], public);
    let listed = as_visitor(&app, &bob, Method::GET, "/api/v1/widget/conversations", None).await.ok();
    assert_eq!(listed[0]["id"], public);

    // A rule writes to the conversation's customer as they now are.
    admin.post(&format!("/api/v1/items/{item}/status"), json!({"status": "closed"})).await.ok();
    let thread = as_visitor(&app, &bob, Method::GET, &messages, None).await.ok();
    let bot: Vec<&str> = thread
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["author"]["kind"] == "bot")
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(bot, ["Dear Bob <bob@example.com>: Broken screen changed."]);
    let everything = admin.get(&format!("/api/v1/items/{item}/conversations")).await.ok().to_string();
    assert!(!everything.contains("ann@example.com"), "Ann's address went somewhere: {everything}");
}

#[tokio::test]
async fn an_old_requesters_reply_address_stops_working_after_a_requester_change() {
    let smtp = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(mail_config(dir.path(), &smtp)).await;
    let admin = app.admin().await;
    let (_, _, _, bob_id, item, public) = ticket_of_ann(&app, &admin).await;
    advance(&app, 61).await;
    let to_ann = smtp.messages().iter().map(|raw| read(raw)).find(|m| m.to == "ann@example.com").expect("Ann's email");

    admin.send(Method::PATCH, &format!("/api/v1/items/{item}"), Some(json!({"requester_id": bob_id}))).await.ok();
    let reply = fixture(
        "gmail_reply.eml",
        &[
            ("FROM", "Ann <ann@example.com>"),
            ("REPLY_ADDRESS", &to_ann.reply_to),
            ("SUPPORT_ADDRESS", SUPPORT),
            ("MESSAGE_ID", &to_ann.message_id),
            ("SUBJECT", &to_ann.subject),
            ("QUOTED", "We will send a courier."),
        ],
    );
    deliver(&app, "ann@example.com", &to_ann.reply_to, &reply).await;
    let thread = admin.get(&format!("/api/v1/conversations/{public}/messages")).await.ok();
    assert!(thread.as_array().unwrap().iter().all(|m| m["author"]["kind"] != "customer"), "{thread}");
    let held = admin.get("/api/v1/email/inbound?outcome=held").await.ok();
    assert_eq!(held[0]["reason"], "conversation_unavailable", "{held}");
}
