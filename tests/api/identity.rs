//! One person, one customer: an address someone typed (widget contact details) joins the
//! customer who proves it, the first time it is proven; typing an address never shows anything.

use crate::helpers::*;
use crate::notifications::{customer_chat, mail_config};
use crate::portal_and_forms::{portal, sign_in_by_link};
use crate::smtp::SmtpServer;
use reqwest::Method;
use serde_json::{json, Value};

fn ids(list: &Value) -> Vec<i64> {
    let mut ids: Vec<i64> = list.as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn proving_an_address_someone_left_in_the_widget_joins_their_tickets_and_chats_in_the_portal() {
    let smtp = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(mail_config(dir.path(), &smtp)).await;
    let admin = app.admin().await;
    let project = admin.project("Support").await;

    // Ann leaves her details in the widget on two devices; the team makes a ticket of one chat.
    let (phone, refund) = customer_chat(&app, Some("ann@example.com"), "Where is my refund for order 1042?").await;
    let (laptop, later) = customer_chat(&app, Some("ANN@example.com"), "Also, can I change my address?").await;
    admin.say(refund, "We are on it.").await.ok();
    let ticket = json!({"project_id": project, "title": "Refund for order 1042"});
    admin.post(&format!("/api/v1/conversations/{refund}/ticket"), ticket).await.expect(201, "");

    // She asks for a sign-in link and uses it: one customer, with both chats and the ticket.
    let (session, customer) = sign_in_by_link(&app, &smtp, "ann@example.com").await;
    let tickets = portal(&app, &session, Method::GET, "/api/v1/portal/tickets", None).await.ok();
    assert_eq!(tickets.as_array().unwrap().len(), 1, "{tickets}");
    assert_eq!(
        (&tickets[0]["title"], tickets[0]["conversation_id"].as_i64()),
        (&json!("Refund for order 1042"), Some(refund))
    );
    let chats = as_visitor(&app, &session, Method::GET, "/api/v1/widget/conversations", None).await.ok();
    assert_eq!(ids(&chats), [refund, later]);
    let messages =
        portal(&app, &session, Method::GET, &format!("/api/v1/widget/conversations/{refund}/messages"), None)
            .await
            .ok();
    assert!(messages.to_string().contains("We are on it."), "{messages}");
    let me = admin.get(&format!("/api/v1/customers/{customer}")).await.ok();
    assert_eq!((&me["email"], &me["name"]), (&json!("ann@example.com"), &json!("Ann Customer")));
    let owners = app.probe("SELECT count(DISTINCT customer_id) FROM conversations WHERE customer_id IS NOT NULL").await;
    let owners = owners.unwrap();
    assert_eq!(owners, 1, "one customer holds everything written from that address");
    let item = &admin.get("/api/v1/items").await.ok()["entries"][0];
    assert_eq!((item["requester_id"].as_i64(), &item["unverified_email"]), (Some(customer), &json!(false)));

    // The browsers that only typed the address are not signed in as her: they keep nothing of hers.
    for token in [&phone, &laptop] {
        let theirs = as_visitor(&app, token, Method::GET, "/api/v1/widget/conversations", None).await.ok();
        assert_eq!(theirs, json!([]), "a typed address grants nothing");
        as_visitor(&app, token, Method::GET, &format!("/api/v1/widget/conversations/{refund}/messages"), None)
            .await
            .expect(404, "conversation_not_found");
    }
}

#[tokio::test]
async fn typing_the_address_of_a_customer_who_proved_it_never_shows_their_tickets_nor_joins_them() {
    let smtp = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(mail_config(dir.path(), &smtp)).await;
    let admin = app.admin().await;
    admin.project("Support").await;
    admin.change_rule("ticket_auto_reply", json!({"enabled": false})).await;

    let (bea, _) = sign_in_by_link(&app, &smtp, "bea@example.com").await;
    let private = json!({"title": "My medical records", "description": "Please delete them."});
    portal(&app, &bea, Method::POST, "/api/v1/portal/tickets", Some(private)).await.expect(201, "");

    // A stranger types Bea's address into the widget and chats.
    let (stranger, chat) = customer_chat(&app, Some("bea@example.com"), "I am Bea, show me my tickets").await;
    let theirs = as_visitor(&app, &stranger, Method::GET, "/api/v1/widget/conversations", None).await.ok();
    assert_eq!(ids(&theirs), [chat]);
    let tickets = as_visitor(&app, &stranger, Method::GET, "/api/v1/portal/tickets", None).await;
    assert!(!tickets.body.to_string().contains("medical"), "{}", tickets.body);

    // Bea proving her address again does not take in what a stranger typed under it.
    let (again, _) = sign_in_by_link(&app, &smtp, "bea@example.com").await;
    let chats = as_visitor(&app, &again, Method::GET, "/api/v1/widget/conversations", None).await.ok();
    assert!(!ids(&chats).contains(&chat), "{chats}");
    let theirs = as_visitor(&app, &stranger, Method::GET, "/api/v1/widget/conversations", None).await.ok();
    assert_eq!(ids(&theirs), [chat], "the stranger keeps their own chat");
}
