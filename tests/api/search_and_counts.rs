//! What the agents' messenger needs beside the lists: search, view counts, customer details.

use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn search_finds_a_message_by_a_word_and_never_shows_what_the_caller_may_not_see() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let secret_project = admin.project("Secret").await;
    let (agent, _) = app.agent(&admin, "b@example.com").await;
    let customer = admin.customer("c@example.com").await;
    let visible = admin
        .conversation(json!({"kind": "public", "customer_id": customer, "message": {"body": "The printer is on fire"}}))
        .await;
    let item = admin.item(secret_project, "Printers budget", None).await;
    admin
        .conversation(json!({"kind": "internal", "item_id": item, "message": {"body": "printer canary-7f3 internal"}}))
        .await;

    let found = agent.get("/api/v1/search?q=print").await.ok();
    let hits: Vec<&str> =
        found["messages"].as_array().unwrap().iter().map(|h| h["message"]["body"].as_str().unwrap()).collect();
    assert_eq!(hits, ["The printer is on fire"]);
    assert_eq!(found["messages"][0]["conversation"]["id"], visible);
    assert!(found["items"].as_array().unwrap().is_empty(), "the item is in a project the agent is not in");
    assert!(!found.to_string().contains("canary-7f3"));

    let all = admin.get("/api/v1/search?q=printer").await.ok();
    assert_eq!(all["messages"].as_array().unwrap().len(), 2);
    assert_eq!(all["items"][0]["id"], item);
    // Operators and punctuation are just text.
    admin.get("/api/v1/search?q=%22%20OR%20NEAR(").await.ok();
}

#[tokio::test]
async fn counts_follow_the_views_and_unread_marks() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (agent, agent_id) = app.agent(&admin, "b@example.com").await;
    let project = admin.project("P").await;
    admin.put(&format!("/api/v1/projects/{project}/members/{agent_id}"), None).await.ok();
    let customer = admin.customer("c@example.com").await;
    let item = admin.item(project, "waiting", Some(customer)).await;
    admin.item(project, "also waiting", Some(customer)).await;
    let conv = admin
        .conversation(json!({"kind": "public", "item_id": item, "customer_id": customer, "message": {"body": "hi"}}))
        .await;
    agent.put(&format!("/api/v1/items/{item}/follow"), None).await.ok();
    let counts = agent.get("/api/v1/conversations/counts").await.ok();
    assert_eq!(counts["open"], json!({"total": 1, "unread": 1}));
    assert_eq!(counts["customer_replies"], json!({"total": 1, "unread": 1}));
    assert_eq!(counts["unanswered_items"], 1);
    agent.post(&format!("/api/v1/conversations/{conv}/seen"), json!({"seq": 1})).await.ok();
    assert_eq!(agent.get("/api/v1/conversations/counts").await.ok()["open"], json!({"total": 1, "unread": 0}));
    admin.post(&format!("/api/v1/conversations/{conv}/close"), json!({})).await.ok();
    let counts = agent.get("/api/v1/conversations/counts").await.ok();
    assert_eq!(counts["open"]["total"], 0);
    assert_eq!(counts["closed"]["total"], 1);
    assert_eq!(counts["all_closed"]["total"], 1);
}

#[tokio::test]
async fn the_customer_details_show_their_visible_conversations_and_items() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (agent, _) = app.agent(&admin, "b@example.com").await;
    let hidden_project = admin.project("Hidden").await;
    let customer = admin.customer("c@example.com").await;
    let item = admin.item(hidden_project, "hidden ticket", Some(customer)).await;
    let standalone = admin.conversation(json!({"kind": "public", "customer_id": customer})).await;
    admin.conversation(json!({"kind": "public", "item_id": item, "customer_id": customer})).await;
    let mine = agent.get(&format!("/api/v1/customers/{customer}/activity")).await.ok();
    assert_eq!(mine["customer"]["email"], "c@example.com");
    let ids: Vec<i64> = mine["conversations"].as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [standalone]);
    assert!(mine["items"].as_array().unwrap().is_empty());
    let all = admin.get(&format!("/api/v1/customers/{customer}/activity")).await.ok();
    assert_eq!(all["conversations"].as_array().unwrap().len(), 2);
    assert_eq!(all["items"][0]["id"], item);
    agent.get("/api/v1/customers/999/activity").await.expect(404, "customer_not_found");
}

#[tokio::test]
async fn a_list_row_names_its_item_only_to_those_who_may_see_the_item() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let lab = admin.project("Lab").await;
    let (bea, bea_id) = app.agent(&admin, "bea@example.com").await;
    admin.put(&format!("/api/v1/projects/{lab}/members/{bea_id}"), None).await.ok();
    let customer = admin.customer("c@example.com").await;
    let item = admin.item(lab, "Prototype canary-91 recall", Some(customer)).await;
    let conversation = admin
        .conversation(json!({"kind": "public", "item_id": item, "customer_id": customer, "message": {"body": "Hi"}}))
        .await;
    // Bea answers (so she takes part and follows the item), then stops following and leaves
    // the project: she still sees the conversation she took part in, not the item.
    bea.say(conversation, "On it").await.ok();
    bea.delete(&format!("/api/v1/items/{item}/follow")).await.ok();
    admin.delete(&format!("/api/v1/projects/{lab}/members/{bea_id}")).await.ok();
    bea.get(&format!("/api/v1/items/{item}")).await.expect(404, "item_not_found");

    let row = bea.get(&format!("/api/v1/conversations/{conversation}")).await.ok();
    assert_eq!(row["item"], serde_json::Value::Null);
    let open = bea.get("/api/v1/conversations?view=open").await.ok();
    assert_eq!(open["entries"][0]["id"], conversation);
    assert!(!open.to_string().contains("canary-91"), "{open}");
    let seen_by_admin = admin.get(&format!("/api/v1/conversations/{conversation}")).await.ok();
    assert_eq!(seen_by_admin["item"]["title"], "Prototype canary-91 recall");
}
