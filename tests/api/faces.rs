//! Faces and names: agents' photos (stored, checked by their bytes, public and cacheable), on
//! every user and message author, the team's faces in the widget; the bot's one name; the
//! names customers are shown by.

use crate::helpers::*;
use reqwest::Method;
use serde_json::json;

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR-not-really-but-enough";
const GIF: &[u8] = b"GIF89a\x01\0\x01\0";

async fn put_photo(client: &Client, content_type: &str, bytes: Vec<u8>) -> Answer {
    let req = client.request(Method::PUT, "/api/v1/me/photo").header("content-type", content_type).body(bytes);
    answer(req.send().await.unwrap()).await
}

#[tokio::test]
async fn an_agents_photo_is_public_and_cached_for_good_at_its_versioned_url() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let me = put_photo(&admin, "image/png", PNG.to_vec()).await.ok();
    let url = me["photo_url"].as_str().unwrap().to_owned();
    let id = me["id"].as_i64().unwrap();
    assert!(url.starts_with(&format!("/api/v1/users/{id}/photo?v=")), "{url}");
    assert_eq!(admin.get("/api/v1/me").await.ok()["user"]["photo_url"], url.as_str());
    let users = admin.get("/api/v1/users").await.ok();
    assert_eq!(users[0]["photo_url"], url.as_str());

    // Anyone may fetch it: customers see the team's faces.
    let anonymous = app.client();
    let res = anonymous.request(Method::GET, &url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let h = res.headers().clone();
    assert_eq!(h["content-type"], "image/png");
    assert!(h["cache-control"].to_str().unwrap().contains("max-age=31536000"));
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(h["content-security-policy"].to_str().unwrap().starts_with("default-src 'none'"));
    assert_eq!(res.bytes().await.unwrap().to_vec(), PNG);
    let etag = h["etag"].to_str().unwrap();
    let again = anonymous.request(Method::GET, &url).header("if-none-match", etag).send().await.unwrap();
    assert_eq!(again.status(), 304);
    let unversioned = anonymous.request(Method::GET, &format!("/api/v1/users/{id}/photo")).send().await.unwrap();
    assert_eq!(unversioned.headers()["cache-control"], "no-cache");

    // A new photo, even within the same millisecond, has a new URL.
    let newer = put_photo(&admin, "image/gif", GIF.to_vec()).await.ok();
    assert_ne!(newer["photo_url"], url.as_str());
    let res = anonymous.request(Method::GET, newer["photo_url"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(res.headers()["content-type"], "image/gif");
}

#[tokio::test]
async fn a_photo_is_checked_by_its_bytes_and_its_size_and_a_refusal_says_why() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let svg = b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>".to_vec();
    let refused = put_photo(&admin, "image/png", svg.clone()).await;
    refused.expect(415, "photo_type_unsupported");
    put_photo(&admin, "image/svg+xml", svg).await.expect(415, "photo_type_unsupported");
    put_photo(&admin, "image/jpeg", PNG.to_vec()).await.expect(415, "photo_type_unsupported");
    let mut big = PNG.to_vec();
    big.resize(2 * 1024 * 1024 + 1, 0);
    let too_large = put_photo(&admin, "image/png", big).await;
    assert!(too_large.body["error"]["message"].as_str().unwrap().contains("at most 2 MB"), "{:?}", too_large.body);
    too_large.expect(413, "photo_too_large");
    assert_eq!(app.count("user_photos").await, 0);
    assert!(admin.get("/api/v1/me").await.ok()["user"]["photo_url"].is_null());
    app.client().get("/api/v1/users/1/photo").await.expect(404, "photo_not_found");
}

#[tokio::test]
async fn a_removed_photo_or_a_deactivated_agents_photo_is_gone() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (agent, agent_id) = app.agent(&admin, "bo@example.com").await;
    let url = put_photo(&agent, "image/png", PNG.to_vec()).await.ok()["photo_url"].as_str().unwrap().to_owned();
    admin.send(Method::PATCH, &format!("/api/v1/users/{agent_id}"), Some(json!({"active": false}))).await.ok();
    app.client().get(&url).await.expect(404, "photo_not_found");
    let users = admin.get("/api/v1/users").await.ok();
    let bo = users.as_array().unwrap().iter().find(|u| u["id"] == agent_id).unwrap();
    assert!(bo["photo_url"].is_null(), "a deactivated agent shows no face");

    let url = put_photo(&admin, "image/png", PNG.to_vec()).await.ok()["photo_url"].as_str().unwrap().to_owned();
    assert!(admin.delete("/api/v1/me/photo").await.ok()["photo_url"].is_null());
    app.client().get(&url).await.expect(404, "photo_not_found");
}

#[tokio::test]
async fn replies_carry_the_agents_face_and_the_bot_its_one_name_for_agents_and_customers() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let url = put_photo(&admin, "image/png", PNG.to_vec()).await.ok()["photo_url"].as_str().unwrap().to_owned();
    let (token, customer) = visitor(&app).await;
    let started = as_visitor(
        &app,
        &token,
        Method::POST,
        "/api/v1/widget/conversations",
        Some(json!({"message": {"body": "hello?"}})),
    )
    .await
    .ok();
    assert_eq!(started["auto_reply"]["author"]["name"], rapport::domain::BOT_NAME);
    assert!(started["auto_reply"]["author"]["photo_url"].is_null());
    let id = started["conversation"]["id"].as_i64().unwrap();
    let reply = admin.say(id, "Hi, Ada here").await.ok();
    assert_eq!(reply["author"]["photo_url"], url.as_str());

    let path = format!("/api/v1/widget/conversations/{id}/messages");
    let seen_by_customer = as_visitor(&app, &token, Method::GET, &path, None).await.ok();
    let seen_by_agent = admin.get(&format!("/api/v1/conversations/{id}/messages")).await.ok();
    for messages in [&seen_by_customer, &seen_by_agent] {
        let authors: Vec<_> = messages.as_array().unwrap().iter().map(|m| m["author"].clone()).collect();
        assert_eq!(authors[0]["kind"], "customer");
        let name = authors[0]["name"].as_str().unwrap();
        assert_eq!(name, rapport::domain::friendly_name(customer), "an anonymous customer has a friendly name");
        assert!(authors[0]["photo_url"].is_null());
        assert_eq!(authors[1]["name"], rapport::domain::BOT_NAME);
        assert_eq!(authors[2]["name"], "Ada Admin");
        assert_eq!(authors[2]["photo_url"], url.as_str());
    }
}

#[tokio::test]
async fn the_widget_shows_up_to_three_faces_those_with_photos_first() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mut agents = Vec::new();
    for email in ["a@example.com", "b@example.com", "c@example.com", "d@example.com"] {
        agents.push(app.agent(&admin, email).await.0);
    }
    put_photo(&agents[3], "image/png", PNG.to_vec()).await.ok();
    let config = app.client().get("/api/v1/widget/config").await.ok();
    let team = config["team"].as_array().unwrap();
    assert_eq!(team.len(), 3);
    assert_eq!(team[0]["name"], "d");
    assert!(team[0]["photo_url"].as_str().unwrap().contains("/photo?v="));
    assert!(team[1]["photo_url"].is_null());
    assert!(team.iter().all(|f| f.as_object().unwrap().len() == 2), "a name and a face, nothing else: {team:?}");
}

#[tokio::test]
async fn every_customer_has_a_display_name_and_none_is_visitor_number_n() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (_, anonymous) = visitor(&app).await;
    let named = admin.customer("cus@example.com").await;
    let only_email = admin.post("/api/v1/customers", json!({"email": "only@example.com"})).await.ok();
    assert_eq!(only_email["display_name"], "only@example.com");
    let c = admin.get(&format!("/api/v1/customers/{named}")).await.ok();
    assert_eq!(c["display_name"], "Cus Tomer");
    assert_eq!(c["email"], "cus@example.com", "every field of the customer is still there");
    let a = admin.get(&format!("/api/v1/customers/{anonymous}")).await.ok();
    let friendly = a["display_name"].as_str().unwrap();
    assert_eq!(friendly.split(' ').count(), 2, "{friendly}");
    assert!(!friendly.contains('#') && !friendly.contains("Visitor"), "{friendly}");
    let list = admin.get("/api/v1/customers").await.ok();
    assert!(list["entries"].as_array().unwrap().iter().all(|c| c["display_name"].is_string()));
    let activity = admin.get(&format!("/api/v1/customers/{anonymous}/activity")).await.ok();
    assert_eq!(activity["customer"]["display_name"], friendly);
}

#[tokio::test]
async fn a_live_reply_carries_the_agents_face_to_the_customer_and_the_customers_name_to_the_agent() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    admin.change_rule("auto_reply", json!({"enabled": false})).await;
    let url = put_photo(&admin, "image/png", PNG.to_vec()).await.ok()["photo_url"].as_str().unwrap().to_owned();
    let (token, customer_id) = visitor(&app).await;
    let started = Client::visitor(&app.base, &token)
        .post("/api/v1/widget/conversations", json!({"message": {"body": "Hello?"}}))
        .await
        .ok();
    let id = started["conversation"]["id"].as_i64().unwrap();
    let mut customer = crate::live::connect_customer(&app, &token).await;
    let mut agent = crate::live::connect_agent(&app, &admin.api_token().await).await;
    customer.subscribe(id, 1).await;
    let backlog = agent.subscribe(id, 0).await;
    let friendly = rapport::domain::friendly_name(customer_id);
    assert_eq!(backlog[0]["message"]["author"]["name"], friendly.as_str());

    admin.say(id, "Hi, Ada here").await.ok();
    let heard = customer.expect("message").await;
    assert_eq!(heard["message"]["author"]["photo_url"], url.as_str());
    customer.send(json!({"type": "typing", "conversation_id": id})).await;
    let typing = agent.expect("typing").await;
    assert_eq!(typing["author"]["name"], friendly.as_str(), "the agent sees who is typing by the same name");
}
