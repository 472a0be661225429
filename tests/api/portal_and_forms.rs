//! The customer portal (sign-in by emailed link or password, own tickets only, replies) and web
//! forms (designed by admins, spam kept out, submissions become tickets that run the rules),
//! with a real SMTP server.

use crate::helpers::*;
use crate::notifications::{mail_config, read, settle};
use crate::smtp::SmtpServer;
use reqwest::Method;
use serde_json::{json, Value};

pub async fn portal(app: &TestApp, token: &str, method: Method, path: &str, body: Option<Value>) -> Answer {
    as_visitor(app, token, method, path, body).await
}

/// Asks for a sign-in link for `email` and redeems the one that arrives.
pub async fn sign_in_by_link(app: &TestApp, smtp: &SmtpServer, email: &str) -> (String, i64) {
    let links = || -> Vec<String> {
        smtp.messages()
            .iter()
            .map(|raw| read(raw))
            .filter(|m| m.to == email)
            .map(|m| link_token(&m.text))
            .filter(|t| !t.is_empty())
            .collect()
    };
    // A new link, not one seen before: a slow SMTP server may be handed an email twice (the
    // outbox retries when it cannot tell it was taken), and a used link does not work again.
    let before = links();
    app.client().post("/api/v1/portal/link", json!({"email": email})).await.expect(202, "");
    settle(app, 60_000).await;
    let start = std::time::Instant::now();
    let token = loop {
        if let Some(new) = links().into_iter().find(|t| !before.contains(t)) {
            break new;
        }
        assert!(start.elapsed().as_secs() < 10, "no sign-in email to {email}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let session = app.client().post("/api/v1/portal/link/redeem", json!({"token": token})).await.ok();
    (session["token"].as_str().unwrap().to_owned(), session["customer"]["id"].as_i64().unwrap())
}

fn link_token(text: &str) -> String {
    let Some(at) = text.find("/portal/#link=") else { return String::new() };
    let start = at + "/portal/#link=".len();
    text[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
}

fn bodies(messages: &Value) -> Vec<String> {
    messages.as_array().unwrap().iter().map(|m| m["body"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn a_customer_signs_in_by_link_or_password_and_sees_only_their_tickets_and_public_replies() {
    let smtp = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(mail_config(dir.path(), &smtp)).await;
    let admin = app.admin().await;
    admin.project("Support").await;
    admin.change_rule("ticket_auto_reply", json!({"enabled": false})).await;

    let (ann, ann_id) = sign_in_by_link(&app, &smtp, "ann@example.com").await;
    let me = portal(&app, &ann, Method::GET, "/api/v1/portal/me", None).await.ok();
    assert_eq!(me["customer"]["email"], "ann@example.com");
    assert_eq!(me["has_password"], false);
    portal(&app, &ann, Method::PUT, "/api/v1/portal/password", Some(json!({"password": "short"})))
        .await
        .expect(422, "weak_password");
    portal(&app, &ann, Method::PUT, "/api/v1/portal/password", Some(json!({"password": "ann's long password"})))
        .await
        .expect(204, "");
    portal(&app, &ann, Method::POST, "/api/v1/portal/logout", None).await.expect(204, "");
    portal(&app, &ann, Method::GET, "/api/v1/portal/me", None).await.expect(401, "not_signed_in");
    let anonymous = app.client();
    anonymous
        .post("/api/v1/portal/login", json!({"email": "ann@example.com", "password": "wrong password!"}))
        .await
        .expect(401, "invalid_credentials");
    let session = anonymous
        .post("/api/v1/portal/login", json!({"email": "ANN@example.com", "password": "ann's long password"}))
        .await
        .ok();
    assert_eq!(session["customer"]["id"], ann_id);
    let ann = session["token"].as_str().unwrap().to_owned();

    // A new ticket goes to the team, waits in Unanswered items, and is the customer's alone.
    let ticket = portal(
        &app,
        &ann,
        Method::POST,
        "/api/v1/portal/tickets",
        Some(json!({"title": "Invoice is wrong", "description": "It says 12 seats; we have 10."})),
    )
    .await
    .expect(201, "");
    let id = ticket["id"].as_i64().unwrap();
    assert_eq!(ticket["channel"], "portal");
    assert_eq!(ticket["conversation_id"], Value::Null);
    assert!(ticket.get("assignee_id").is_none(), "nothing internal in a ticket: {ticket}");
    let unanswered = admin.get("/api/v1/items?view=unanswered").await.ok();
    assert_eq!(unanswered["entries"][0]["id"], id);
    assert_eq!(unanswered["entries"][0]["requester_id"], ann_id);

    // The team answers publicly and discusses it internally; the customer sees only the answer.
    let canary = "canary-internal-4b1d";
    admin
        .conversation(json!({"kind": "internal", "item_id": id, "message": {"body": format!("{canary}: they had 12")}}))
        .await;
    let public = admin
        .conversation(json!({"kind": "public", "item_id": id, "customer_id": ann_id,
                             "message": {"body": "Fixed: you now pay for 10."}}))
        .await;
    let tickets = portal(&app, &ann, Method::GET, "/api/v1/portal/tickets", None).await.ok();
    assert_eq!(tickets.as_array().unwrap().len(), 1);
    assert_eq!(tickets[0]["conversation_id"], public);
    assert_eq!(tickets[0]["unread"], 1);
    let path = format!("/api/v1/widget/conversations/{public}/messages");
    let messages = portal(&app, &ann, Method::GET, &path, None).await.ok();
    assert_eq!(bodies(&messages), ["Fixed: you now pay for 10."]);
    let reply = portal(
        &app,
        &ann,
        Method::POST,
        &format!("/api/v1/portal/tickets/{id}/messages"),
        Some(json!({"body": "Thank you!", "client_id": "r1"})),
    )
    .await
    .expect(201, "");
    assert_eq!(reply["conversation"]["id"], public, "the reply joins the ticket's conversation");
    for path in ["/api/v1/portal/tickets", &format!("/api/v1/portal/tickets/{id}"), &path] {
        let seen = portal(&app, &ann, Method::GET, path, None).await.ok().to_string();
        assert!(!seen.contains(canary), "{path} leaked the internal note: {seen}");
    }

    // Another customer finds nothing of Ann's, by any id.
    let (bob, _) = sign_in_by_link(&app, &smtp, "bob@example.com").await;
    assert_eq!(portal(&app, &bob, Method::GET, "/api/v1/portal/tickets", None).await.ok(), json!([]));
    portal(&app, &bob, Method::GET, &format!("/api/v1/portal/tickets/{id}"), None)
        .await
        .expect(404, "ticket_not_found");
    portal(&app, &bob, Method::POST, &format!("/api/v1/portal/tickets/{id}/messages"), Some(json!({"body": "hi"})))
        .await
        .expect(404, "ticket_not_found");
    portal(&app, &bob, Method::GET, &path, None).await.expect(404, "conversation_not_found");
    // An anonymous widget visitor is not signed in to the portal.
    let (visitor, _) = visitor(&app).await;
    portal(&app, &visitor, Method::GET, "/api/v1/portal/tickets", None).await.expect(401, "not_signed_in");
}

#[tokio::test]
async fn a_sign_in_link_works_once_and_not_after_half_an_hour() {
    let smtp = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(mail_config(dir.path(), &smtp)).await;
    let anonymous = app.client();
    anonymous.post("/api/v1/portal/link", json!({"email": "not an address"})).await.expect(422, "invalid_email");
    anonymous.post("/api/v1/portal/link", json!({"email": "cy@example.com"})).await.expect(202, "");
    anonymous.post("/api/v1/portal/link", json!({"email": "cy@example.com"})).await.expect(202, "");
    settle(&app, 60_000).await;
    let mails = smtp.wait_for(2);
    let mail = read(&mails[0]);
    assert!(mail.subject.starts_with("Sign in to"), "{}", mail.subject);
    let (first, second) = (link_token(&mail.text), link_token(&read(&mails[1]).text));
    anonymous.post("/api/v1/portal/link/redeem", json!({"token": first})).await.ok();
    anonymous.post("/api/v1/portal/link/redeem", json!({"token": first})).await.expect(401, "link_invalid");
    app.clock.advance_ms(31 * 60 * 1000);
    anonymous.post("/api/v1/portal/link/redeem", json!({"token": second})).await.expect(401, "link_invalid");
    // Asking again and again from one place is limited.
    for _ in 0..5 {
        anonymous.post("/api/v1/portal/link", json!({"email": "cy@example.com"})).await;
    }
    anonymous.post("/api/v1/portal/link", json!({"email": "cy@example.com"})).await.expect(429, "too_many_requests");
}

/// A form proves no address; the first to prove a fresh one (here the team's site, then a
/// sign-in link) is the customer the form's contact becomes, with its ticket.
#[tokio::test]
async fn a_known_customer_is_one_identity_across_form_portal_and_widget() {
    let smtp = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(mail_config(dir.path(), &smtp)).await;
    let admin = app.admin().await;
    let project = admin.project("Support").await;
    let form = admin
        .post("/api/v1/forms", json!({"name": "Contact", "project_id": project, "item_kind": "ticket"}))
        .await
        .expect(201, "");
    let key = form["key"].as_str().unwrap();
    let started = app.client().get(&format!("/api/v1/forms/{key}/public")).await.ok()["started"].clone();
    app.clock.advance_ms(5_000);
    let submission = json!({"name": "Dee", "email": "dee@example.com", "subject": "Where is my order?",
                            "message": "Order 42 has not arrived.", "website": "", "started": started});
    app.client().post(&format!("/api/v1/forms/{key}/submissions"), submission).await.expect(201, "");

    // The widget, identified by the team's site with the same address, is the same customer.
    let secret = admin.get("/api/v1/settings/widget").await.ok()["identity_secret"].as_str().unwrap().to_owned();
    let (widget, _) = visitor(&app).await;
    let user = crate::widget::signed(&secret, "site-user-7", "dee@example.com", app.clock.now_secs() + 600);
    let identified =
        as_visitor(&app, &widget, Method::POST, "/api/v1/widget/identify", Some(json!({"user": user}))).await.ok();
    let (sign_in, customer) = sign_in_by_link(&app, &smtp, "dee@example.com").await;
    assert_eq!(identified["id"], customer);
    let item = &admin.get("/api/v1/items").await.ok()["entries"][0];
    assert_eq!((item["requester_id"].as_i64(), &item["unverified_email"]), (Some(customer), &json!(false)));
    let tickets = portal(&app, &sign_in, Method::GET, "/api/v1/portal/tickets", None).await.ok();
    assert_eq!(tickets[0]["title"], "Where is my order?");
    // The default rule answered as the bot: the ticket's conversation is in the widget too.
    let conversation = tickets[0]["conversation_id"].as_i64().expect("the auto-reply started the conversation");
    let in_widget = as_visitor(&app, &widget, Method::GET, "/api/v1/widget/conversations", None).await.ok();
    assert!(in_widget.as_array().unwrap().iter().any(|c| c["id"] == conversation), "{in_widget}");
}

#[tokio::test]
async fn a_form_submission_becomes_a_ticket_that_runs_the_notification_flow_and_spam_is_refused() {
    let smtp = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(mail_config(dir.path(), &smtp)).await;
    let admin = app.admin().await;
    let project = admin.project("Sales").await;
    admin
        .post(
            "/api/v1/forms",
            json!({"name": "x", "project_id": project, "item_kind": "ticket",
                                      "fields": [{"label": "Size", "kind": "choice"}]}),
        )
        .await
        .expect(422, "invalid_form");
    let form = admin
        .post(
            "/api/v1/forms",
            json!({"name": "Quote request", "project_id": project, "item_kind": "ticket",
                   "intro": "Tell us what you need.",
                   "fields": [{"label": "Company size", "kind": "choice", "required": true, "options": ["1-10", "11-50"]},
                              {"label": "Call me back", "kind": "checkbox"}]}),
        )
        .await
        .expect(201, "");
    let key = form["key"].as_str().unwrap().to_owned();
    assert!(form["snippet"].as_str().unwrap().contains(&format!("data-rapport-form=\"{key}\"")));
    let public = app.client().get(&format!("/api/v1/forms/{key}/public")).await.ok();
    assert_eq!(public["fields"][0]["options"], json!(["1-10", "11-50"]));
    let submit = |body: Value| {
        let (client, path) = (app.client(), format!("/api/v1/forms/{key}/submissions"));
        async move { client.post(&path, body).await }
    };
    let filled = |started: &Value| {
        json!({"name": "Eve", "email": "eve@example.com", "subject": "Quote for 12 seats",
               "message": "We need a quote.", "values": ["11-50", "true"], "website": "", "started": started})
    };
    let started = public["started"].clone();
    submit(filled(&started)).await.expect(422, "submitted_too_fast");
    app.clock.advance_ms(4_000);
    let mut spam = filled(&started);
    spam["website"] = json!("http://cheap-pills.example");
    assert!(submit(spam).await.expect(422, "spam_detected")["error"]["message"]
        .as_str()
        .unwrap()
        .contains("automated"));
    submit(filled(&json!("1800000000000.0000"))).await.expect(422, "form_expired");
    assert_eq!(app.count("items").await, 0, "nothing refused was filed");

    let done = submit(filled(&started)).await.expect(201, "");
    assert_eq!(done["thank_you"], form["thank_you"]);
    let item = &admin.get("/api/v1/items").await.ok()["entries"][0];
    assert_eq!(item["channel"], "form");
    assert_eq!(item["title"], "Quote for 12 seats");
    assert_eq!(item["description"], "We need a quote.\n\nCompany size: 11-50\n\nCall me back: yes");
    // Nobody verified the address: the requester is a contact with it, and the team is told.
    let requester = admin.get(&format!("/api/v1/customers/{}", item["requester_id"])).await.ok();
    let contact = (requester["name"].as_str(), requester["email"].as_str(), requester["contact_email"].as_str());
    assert_eq!(contact, (Some("Eve"), None, Some("eve@example.com")));
    assert_eq!(item["unverified_email"], true);
    // The team is told by email once the notification delay passed with nobody opening the item,
    // and the bot's answer started the customer's conversation.
    crate::notifications::advance(&app, 61).await;
    let sent: Vec<_> = smtp.wait_for(1).iter().map(|m| read(m)).collect();
    let to_team = sent.iter().find(|m| m.to == "admin@example.com").expect("the team is told");
    assert!(to_team.text.contains("Quote for 12 seats") && to_team.text.contains("Company size: 11-50"));
    let threads = admin.get(&format!("/api/v1/items/{}/conversations", item["id"])).await.ok();
    assert_eq!(threads[0]["kind"], "public");
    assert_eq!(threads[0]["channel"], "form");
    assert!(admin.get("/api/v1/items?view=unanswered").await.ok()["entries"].as_array().unwrap().is_empty());

    // With the ticket auto-reply off, the next submission waits in Unanswered items.
    admin.change_rule("ticket_auto_reply", json!({"enabled": false})).await;
    let mut second = filled(&started);
    second["values"] = json!(["1-10"]);
    second["subject"] = json!("Second quote");
    submit(second).await.expect(201, "");
    let waiting = admin.get("/api/v1/items?view=unanswered").await.ok();
    assert_eq!(waiting["entries"][0]["title"], "Second quote");
    assert_eq!(waiting["entries"][0]["requester_id"], item["requester_id"], "one customer per address");
    // Six tries from one address in ten minutes is too many.
    submit(filled(&started)).await.expect(429, "too_many_requests");
    admin
        .send(
            Method::PUT,
            &format!("/api/v1/forms/{}", form["id"]),
            Some(json!({
        "name": "Quote request", "project_id": project, "item_kind": "ticket", "enabled": false})),
        )
        .await
        .ok();
    app.client().get(&format!("/api/v1/forms/{key}/public")).await.expect(404, "form_not_found");
}

#[tokio::test]
async fn form_fields_are_checked() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let project = admin.project("P").await;
    let form = admin
        .post(
            "/api/v1/forms",
            json!({"name": "F", "project_id": project, "item_kind": "task",
               "fields": [{"label": "Plan", "kind": "choice", "required": true, "options": ["a", "b"]}]}),
        )
        .await
        .expect(201, "");
    let key = form["key"].as_str().unwrap();
    let started = app.client().get(&format!("/api/v1/forms/{key}/public")).await.ok()["started"].clone();
    app.clock.advance_ms(5_000);
    let path = format!("/api/v1/forms/{key}/submissions");
    let base = json!({"email": "f@example.com", "subject": "s", "message": "m", "started": started});
    let with = |change: Value| {
        let mut body = base.clone();
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let client = app.client();
    client.post(&path, with(json!({"values": []}))).await.expect(422, "missing_field");
    client.post(&path, with(json!({"values": ["c"]}))).await.expect(422, "invalid_field");
    client.post(&path, with(json!({"values": ["a"], "email": "nope"}))).await.expect(422, "invalid_email");
    client.post(&path, with(json!({"values": ["a"], "subject": " "}))).await.expect(422, "missing_field");
    assert_eq!(app.count("items").await, 0);
    assert_eq!(app.count("customers").await, 0, "a refused submission leaves no customer behind");
    client
        .post("/api/v1/forms/unknown/submissions", with(json!({"values": ["a"]})))
        .await
        .expect(404, "form_not_found");
}

#[tokio::test]
async fn a_ticket_an_agent_opened_shows_its_requester_no_description_and_links_need_email() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let project = admin.project("Support").await;
    app.client()
        .post("/api/v1/portal/link", json!({"email": "gus@example.com"}))
        .await
        .expect(409, "email_not_configured");
    let gus = admin.customer("gus@example.com").await;
    admin
        .post(
            "/api/v1/items",
            json!({"project_id": project, "kind": "ticket", "title": "Replace router", "requester_id": gus,
                   "description": "Gus is a difficult customer"}),
        )
        .await
        .expect(201, "");
    // Gus signs in through the team's site (a signed identity), which makes a portal session too.
    let secret = admin.get("/api/v1/settings/widget").await.ok()["identity_secret"].as_str().unwrap().to_owned();
    let (token, _) = visitor(&app).await;
    let user = crate::widget::signed(&secret, "gus-1", "gus@example.com", app.clock.now_secs() + 600);
    as_visitor(&app, &token, Method::POST, "/api/v1/widget/identify", Some(json!({"user": user}))).await.ok();
    let tickets = portal(&app, &token, Method::GET, "/api/v1/portal/tickets", None).await.ok();
    assert_eq!(tickets[0]["title"], "Replace router");
    assert_eq!(tickets[0]["description"], "", "the team's own words stay inside: {tickets}");
}

/// A client that meets `portal_disabled` finds it in the OpenAPI document, and the document
/// promises it only where the server gives it: every operation of the portal is called, with a
/// good request, while an admin has the portal turned off.
#[tokio::test]
async fn portal_disabled_is_documented_for_every_portal_endpoint() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let customer = admin.customer("cus@example.com").await;
    let token = "rpv_portal-disabled-test";
    app.portal_session(customer, token).await;
    let opened =
        portal(&app, token, Method::POST, "/api/v1/portal/tickets", Some(json!({"title": "T", "description": "D"})))
            .await
            .ok();
    let ticket = opened["id"].as_i64().unwrap();
    let off = json!({"enabled": false, "project_id": null});
    admin.put("/api/v1/settings/portal", Some(off.clone())).await.ok();

    // (method, path template, body); the customer's session ends last.
    let admin_only = ["/api/v1/settings/portal"];
    let calls: Vec<(Method, &str, Option<Value>)> = vec![
        (Method::POST, "/api/v1/portal/login", Some(json!({"email": "cus@example.com", "password": PASSWORD}))),
        (Method::POST, "/api/v1/portal/link", Some(json!({"email": "cus@example.com"}))),
        (Method::POST, "/api/v1/portal/link/redeem", Some(json!({"token": "some-link-token"}))),
        (Method::GET, "/api/v1/portal/me", None),
        (Method::PUT, "/api/v1/portal/password", Some(json!({"password": PASSWORD}))),
        (Method::GET, "/api/v1/portal/tickets", None),
        (Method::POST, "/api/v1/portal/tickets", Some(json!({"title": "Another", "description": "D"}))),
        (Method::GET, "/api/v1/portal/tickets/{id}", None),
        (Method::POST, "/api/v1/portal/tickets/{id}/messages", Some(json!({"body": "Still there?"}))),
        (Method::GET, "/api/v1/settings/portal", None),
        (Method::PUT, "/api/v1/settings/portal", Some(off)),
        (Method::POST, "/api/v1/portal/logout", None),
    ];

    let doc = app.client().get("/api/openapi.json").await.ok();
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            if op["tags"].as_array().is_some_and(|tags| tags.contains(&json!("portal"))) {
                documented.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    let mut called: Vec<(String, String)> = calls.iter().map(|(m, p, _)| (m.to_string(), p.to_string())).collect();
    documented.sort();
    called.sort();
    assert_eq!(called, documented, "every portal operation is called here");

    let mut answered = Vec::new();
    for (method, template, body) in calls {
        let path = template.replace("{id}", &ticket.to_string());
        let got = if admin_only.contains(&template) {
            admin.send(method.clone(), &path, body).await
        } else {
            portal(&app, token, method.clone(), &path, body).await
        };
        let op = &doc["paths"][template][method.as_str().to_lowercase()];
        let promised = op["responses"]["404"]["description"].as_str().is_some_and(|d| d.contains("`portal_disabled`"));
        if got.code() == "portal_disabled" {
            assert_eq!(got.status.as_u16(), 404, "{method} {template}: {:?}", got.body);
            assert!(promised, "{method} {template} answers portal_disabled, undocumented: {}", op["responses"]);
            answered.push(format!("{method} {template}"));
        } else {
            assert!(!promised, "{method} {template} documents portal_disabled but answered {:?}", got);
        }
    }
    // Signing in and opening tickets are what turning the portal off stops.
    assert_eq!(
        answered,
        [
            "POST /api/v1/portal/login",
            "POST /api/v1/portal/link",
            "POST /api/v1/portal/link/redeem",
            "POST /api/v1/portal/tickets"
        ]
    );
}
