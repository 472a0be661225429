//! Conversations and messages: the messenger's views, sequence numbers, idempotent sends.

use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn an_agent_starts_a_conversation_on_an_item_and_the_customer_thread_grows() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let project = admin.project("Support").await;
    let customer = admin.customer("cus@example.com").await;
    let item = admin.item(project, "Printer on fire", Some(customer)).await;
    let created = admin
        .post(
            "/api/v1/conversations",
            json!({"kind": "public", "item_id": item, "customer_id": customer,
            "message": {"body": "Hello, we are on it", "client_id": "first"}}),
        )
        .await
        .ok();
    let id = created["conversation"]["id"].as_i64().unwrap();
    assert_eq!(created["conversation"]["project_id"], project);
    assert_eq!(created["message"]["seq"], 1);
    assert_eq!(created["message"]["author"]["name"], "Ada Admin");
    admin.say(id, "Second").await.ok();
    let messages = admin.get(&format!("/api/v1/conversations/{id}/messages")).await.ok();
    let bodies: Vec<_> = messages.as_array().unwrap().iter().map(|m| m["body"].as_str().unwrap().to_owned()).collect();
    assert_eq!(bodies, ["Hello, we are on it", "Second"]);
    let after = admin.get(&format!("/api/v1/conversations/{id}/messages?after=1")).await.ok();
    assert_eq!(after.as_array().unwrap().len(), 1);
    assert_eq!(after[0]["seq"], 2);
}

#[tokio::test]
async fn a_resend_with_the_same_client_id_returns_the_first_message_and_creates_nothing() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let id = admin.conversation(json!({"kind": "internal"})).await;
    let path = format!("/api/v1/conversations/{id}/messages");
    let first = admin.post(&path, json!({"body": "once", "client_id": "c-1"})).await;
    assert_eq!(first.status, 201);
    let again = admin.post(&path, json!({"body": "once", "client_id": "c-1"})).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body["id"], first.body["id"]);
    assert_eq!(again.body["seq"], 1);
    assert_eq!(app.count("messages").await, 1);
    // Someone else reusing the id is a conflict, not a silent merge.
    let (other, _) = app.agent(&admin, "other@example.com").await;
    other.post(&path, json!({"body": "mine", "client_id": "c-1"})).await.expect(409, "client_id_conflict");
    assert_eq!(app.count("messages").await, 1);
}

#[tokio::test]
async fn the_messenger_views_sort_by_activity_and_page_by_cursor() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let customer = admin.customer("c@example.com").await;
    let mut ids = Vec::new();
    for n in 0..5 {
        app.clock.advance_ms(1000);
        ids.push(
            admin
                .conversation(json!({"kind": "public", "customer_id": customer, "message": {"body": format!("m{n}")}}))
                .await,
        );
    }
    // Activity on the oldest brings it to the top.
    app.clock.advance_ms(1000);
    admin.say(ids[0], "bump").await.ok();
    let page1 = admin.get("/api/v1/conversations?view=open&limit=3").await.ok();
    let got: Vec<i64> = page1["entries"].as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect();
    assert_eq!(got, [ids[0], ids[4], ids[3]]);
    let cursor = page1["next_cursor"].as_str().unwrap();
    let page2 = admin.get(&format!("/api/v1/conversations?view=open&limit=3&cursor={cursor}")).await.ok();
    let got: Vec<i64> = page2["entries"].as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect();
    assert_eq!(got, [ids[2], ids[1]]);
    assert!(page2["next_cursor"].is_null());
}

#[tokio::test]
async fn closing_moves_a_conversation_to_closed_and_reopening_brings_it_back() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let project = admin.project("P").await;
    let customer = admin.customer("c@example.com").await;
    let item = admin.item(project, "T", Some(customer)).await;
    let id = admin.conversation(json!({"kind": "public", "item_id": item, "customer_id": customer})).await;
    let ids = |v: &serde_json::Value| -> Vec<i64> {
        v["entries"].as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect()
    };
    assert_eq!(ids(&admin.get("/api/v1/conversations?view=open").await.ok()), [id]);
    assert_eq!(ids(&admin.get("/api/v1/conversations?view=customer_replies").await.ok()), [id]);
    let closed = admin.post(&format!("/api/v1/conversations/{id}/close"), json!({})).await.ok();
    assert_eq!(closed["status"], "closed");
    assert!(ids(&admin.get("/api/v1/conversations?view=open").await.ok()).is_empty());
    assert_eq!(ids(&admin.get("/api/v1/conversations?view=closed").await.ok()), [id]);
    assert_eq!(ids(&admin.get("/api/v1/conversations?view=all_closed").await.ok()), [id]);
    admin.post(&format!("/api/v1/conversations/{id}/reopen"), json!({})).await.ok();
    assert_eq!(ids(&admin.get("/api/v1/conversations?view=open").await.ok()), [id]);
    assert!(ids(&admin.get("/api/v1/conversations?view=closed").await.ok()).is_empty());
}

#[tokio::test]
async fn internal_messages_show_under_my_conversations_for_followers_only() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let project = admin.project("P").await;
    let (agent, agent_id) = app.agent(&admin, "b@example.com").await;
    admin.put(&format!("/api/v1/projects/{project}/members/{agent_id}"), None).await.ok();
    let item = admin.item(project, "Internal work", None).await;
    let id = admin.conversation(json!({"kind": "internal", "item_id": item, "message": {"body": "team only"}})).await;
    let ids = |v: serde_json::Value| -> Vec<i64> {
        v["entries"].as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect()
    };
    assert_eq!(ids(admin.get("/api/v1/conversations?view=internal").await.ok()), [id]);
    // Internal conversations are not "From customers".
    assert!(ids(admin.get("/api/v1/conversations?view=open").await.ok()).is_empty());
    assert!(ids(agent.get("/api/v1/conversations?view=internal").await.ok()).is_empty());
    agent.put(&format!("/api/v1/items/{item}/follow"), None).await.ok();
    let listed = agent.get("/api/v1/conversations?view=internal").await.ok();
    assert_eq!(listed["entries"][0]["unread"], 1);
    assert_eq!(ids(listed), [id]);
    agent.delete(&format!("/api/v1/items/{item}/follow")).await.ok();
    assert!(ids(agent.get("/api/v1/conversations?view=internal").await.ok()).is_empty());
}

#[tokio::test]
async fn seen_marks_move_forward_only_and_clear_the_unread_count() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (agent, _) = app.agent(&admin, "b@example.com").await;
    let id = admin.conversation(json!({"kind": "public", "message": {"body": "1"}})).await;
    admin.say(id, "2").await.ok();
    admin.say(id, "3").await.ok();
    let conv = agent.get(&format!("/api/v1/conversations/{id}")).await.ok();
    assert_eq!(conv["unread"], 3);
    let seen = agent.post(&format!("/api/v1/conversations/{id}/seen"), json!({"seq": 2})).await.ok();
    assert_eq!(seen["seq"], 2);
    assert_eq!(agent.get(&format!("/api/v1/conversations/{id}")).await.ok()["unread"], 1);
    let back = agent.post(&format!("/api/v1/conversations/{id}/seen"), json!({"seq": 1})).await.ok();
    assert_eq!(back["seq"], 2, "a seen mark never moves back");
    let beyond = agent.post(&format!("/api/v1/conversations/{id}/seen"), json!({"seq": 99})).await.ok();
    assert_eq!(beyond["seq"], 3, "a seen mark stops at the last message");
}

#[tokio::test]
async fn scrolling_back_returns_the_messages_before_a_sequence_number_in_order() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let id = admin.conversation(json!({"kind": "internal"})).await;
    for n in 1..=10 {
        admin.say(id, &format!("m{n}")).await.ok();
    }
    let page = admin.get(&format!("/api/v1/conversations/{id}/messages?before=8&limit=3")).await.ok();
    let seqs: Vec<i64> = page.as_array().unwrap().iter().map(|m| m["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, [5, 6, 7]);
}

#[tokio::test]
async fn a_list_row_carries_its_customer_and_a_one_line_preview() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let named = admin.customer("cus@example.com").await;
    let (token, anonymous) = visitor(&app).await;
    app.clock.advance_ms(1000);
    let first = admin
        .conversation(json!({"kind": "public", "customer_id": named, "message": {"body": "Line one\n\nline   two"}}))
        .await;
    app.clock.advance_ms(1000);
    let started = as_visitor(
        &app,
        &token,
        reqwest::Method::POST,
        "/api/v1/widget/conversations",
        Some(json!({"message": {"body": "x".repeat(300)}})),
    )
    .await
    .ok();
    let second = started["conversation"]["id"].as_i64().unwrap();
    app.clock.advance_ms(1000);
    let internal = admin.conversation(json!({"kind": "internal", "message": {"body": "team only"}})).await;

    let open = admin.get("/api/v1/conversations?view=open").await.ok();
    let rows = open["entries"].as_array().unwrap();
    assert_eq!(rows.iter().map(|c| c["id"].as_i64().unwrap()).collect::<Vec<_>>(), [second, first]);
    let (visitor_row, named_row) = (&rows[0], &rows[1]);
    assert_eq!(named_row["preview"], "Line one line two");
    assert_eq!(
        named_row["customer"],
        json!({"id": named, "display_name": "Cus Tomer", "name": "Cus Tomer", "email": "cus@example.com",
               "contact_email": null, "known": true})
    );
    // The customer's words, not the bot's auto-reply; cut to one short line.
    let preview = visitor_row["preview"].as_str().unwrap();
    assert!(preview.starts_with("xxx") && preview.ends_with('…') && preview.chars().count() <= 140, "{preview}");
    assert_eq!(visitor_row["customer"]["id"], anonymous);
    assert_eq!(visitor_row["customer"]["known"], false);
    assert_eq!(visitor_row["customer"]["display_name"], rapport::domain::friendly_name(anonymous).as_str());
    let team = admin.get("/api/v1/conversations?view=internal").await.ok();
    assert!(team["entries"].as_array().unwrap().is_empty(), "not followed: {team}");
    let one = admin.get(&format!("/api/v1/conversations/{internal}")).await.ok();
    assert!(one["customer"].is_null());
    assert_eq!(one["preview"], "team only");

    // An agent's reply is the newest preview, in the list and in what the post announces.
    admin.say(second, "We are on it").await.ok();
    let open = admin.get("/api/v1/conversations?view=open&limit=1").await.ok();
    assert_eq!(open["entries"][0]["preview"], "We are on it");
    // The customer's own list shows their conversation's preview, and nothing of the team's.
    let theirs = as_visitor(&app, &token, reqwest::Method::GET, "/api/v1/widget/conversations", None).await.ok();
    assert_eq!(theirs.as_array().unwrap().len(), 1);
    assert_eq!(theirs[0]["preview"]["body"], "We are on it");
    assert!(theirs[0].get("customer").is_none(), "a customer's view has no team fields: {theirs}");
}
