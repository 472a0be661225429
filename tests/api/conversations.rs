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
        .post("/api/v1/conversations", json!({"kind": "public", "item_id": item, "customer_id": customer,
            "message": {"body": "Hello, we are on it", "client_id": "first"}}))
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
