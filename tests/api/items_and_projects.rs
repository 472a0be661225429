//! Projects, membership, customers and items, including the Unanswered items view.

use crate::helpers::*;
use serde_json::json;

fn ids(v: &serde_json::Value) -> Vec<i64> {
    v["entries"].as_array().unwrap().iter().map(|e| e["id"].as_i64().unwrap()).collect()
}

#[tokio::test]
async fn an_item_waits_in_unanswered_until_a_customer_conversation_starts() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let project = admin.project("Support").await;
    let customer = admin.customer("c@example.com").await;
    let item = admin.item(project, "Cannot log in", Some(customer)).await;
    assert_eq!(ids(&admin.get("/api/v1/items?view=unanswered").await.ok()), [item]);
    // An internal discussion does not answer the customer.
    admin.conversation(json!({"kind": "internal", "item_id": item})).await;
    assert_eq!(ids(&admin.get("/api/v1/items?view=unanswered").await.ok()), [item]);
    let conv = admin
        .conversation(json!({"kind": "public", "item_id": item, "customer_id": customer, "message": {"body": "On it"}}))
        .await;
    assert!(ids(&admin.get("/api/v1/items?view=unanswered").await.ok()).is_empty());
    assert_eq!(ids(&admin.get("/api/v1/conversations?view=open").await.ok()), [conv]);
}

#[tokio::test]
async fn items_are_created_followed_closed_and_listed() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let project = admin.project("Ops").await;
    let created = admin
        .post(
            "/api/v1/items",
            json!({"project_id": project, "kind": "task", "title": "  Rotate keys  ", "description": "yearly"}),
        )
        .await;
    assert_eq!(created.status, 201);
    let item = created.body;
    let id = item["id"].as_i64().unwrap();
    assert_eq!(item["title"], "Rotate keys");
    assert_eq!(item["kind"], "task");
    assert_eq!(item["status"], "open");
    assert_eq!(item["followers"], json!([1]), "the creator follows what they create");
    let got = admin.get(&format!("/api/v1/items/{id}")).await.ok();
    assert_eq!(got["description"], "yearly");
    let unfollowed = admin.delete(&format!("/api/v1/items/{id}/follow")).await.ok();
    assert_eq!(unfollowed["followers"], json!([]));
    let followed = admin.put(&format!("/api/v1/items/{id}/follow"), None).await.ok();
    assert_eq!(followed["followers"], json!([1]));
    let closed = admin.post(&format!("/api/v1/items/{id}/status"), json!({"status": "closed"})).await.ok();
    assert_eq!(closed["status"], "closed");
    assert_eq!(ids(&admin.get("/api/v1/items?status=closed").await.ok()), [id]);
    assert!(ids(&admin.get("/api/v1/items?status=open").await.ok()).is_empty());
    assert!(ids(&admin.get("/api/v1/items?view=unanswered").await.ok()).is_empty(), "closed items are not waiting");
    admin.post(&format!("/api/v1/items/{id}/status"), json!({"status": "pending"})).await.expect(422, "invalid_field");
}

#[tokio::test]
async fn agents_see_only_their_projects_unless_they_ask_to_see_all() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mine = admin.project("Mine").await;
    let theirs = admin.project("Theirs").await;
    let (agent, agent_id) = app.agent(&admin, "b@example.com").await;
    admin.put(&format!("/api/v1/projects/{mine}/members/{agent_id}"), None).await.ok();
    let visible = admin.item(mine, "visible", None).await;
    let hidden = admin.item(theirs, "hidden", None).await;
    let projects: Vec<i64> = agent
        .get("/api/v1/projects")
        .await
        .ok()
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    assert_eq!(projects, [mine]);
    assert_eq!(ids(&agent.get("/api/v1/items").await.ok()), [visible]);
    agent.get(&format!("/api/v1/items/{hidden}")).await.expect(404, "item_not_found");
    agent.get(&format!("/api/v1/projects/{theirs}")).await.expect(404, "project_not_found");
    assert_eq!(admin.get(&format!("/api/v1/projects/{mine}/members")).await.ok(), json!([agent_id]));

    let mut prefs = agent.get("/api/v1/me/preferences").await.ok();
    prefs["see_all_projects"] = json!(true);
    agent.put("/api/v1/me/preferences", Some(prefs)).await.ok();
    assert_eq!(ids(&agent.get("/api/v1/items").await.ok()), [hidden, visible]);

    admin.delete(&format!("/api/v1/projects/{mine}/members/{agent_id}")).await.ok();
    assert_eq!(admin.get(&format!("/api/v1/projects/{mine}/members")).await.ok(), json!([]));
}

#[tokio::test]
async fn project_names_are_unique_and_customers_are_searchable() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    admin.project("Support").await;
    admin.post("/api/v1/projects", json!({"name": "support"})).await.expect(409, "project_name_taken");
    let ann = admin.customer("ann@example.com").await;
    admin.customer("bob@example.com").await;
    admin.post("/api/v1/customers", json!({"email": "ANN@example.com"})).await.expect(409, "customer_email_taken");
    admin.post("/api/v1/customers", json!({})).await.expect(422, "invalid_customer");
    let found = admin.get("/api/v1/customers?q=ann").await.ok();
    assert_eq!(ids(&found), [ann]);
    let one = admin.get(&format!("/api/v1/customers/{ann}")).await.ok();
    assert_eq!(one["known"], true);
    let paged = admin.get("/api/v1/customers?limit=1").await.ok();
    assert_eq!(paged["entries"].as_array().unwrap().len(), 1);
    let next =
        admin.get(&format!("/api/v1/customers?limit=1&cursor={}", paged["next_cursor"].as_str().unwrap())).await.ok();
    assert_eq!(ids(&next), [ann]);
}

#[tokio::test]
async fn admins_manage_agents() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (_, id) = app.agent(&admin, "b@example.com").await;
    admin
        .post("/api/v1/users", json!({"email": "b@example.com", "name": "B", "role": "agent", "password": PASSWORD}))
        .await
        .expect(409, "email_taken");
    admin
        .post("/api/v1/users", json!({"email": "c@example.com", "name": "C", "role": "agent", "password": "short"}))
        .await
        .expect(422, "weak_password");
    let promoted = admin
        .send(reqwest::Method::PATCH, &format!("/api/v1/users/{id}"), Some(json!({"role": "admin", "name": "Bea"})))
        .await
        .ok();
    assert_eq!(promoted["role"], "admin");
    assert_eq!(promoted["name"], "Bea");
    let users = admin.get("/api/v1/users").await.ok();
    assert_eq!(users.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn items_are_edited_assigned_and_filtered_and_the_assignee_sees_what_they_are_given() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let ops = admin.project("Ops").await;
    let other = admin.project("Other").await;
    let (bea, bea_id) = app.agent(&admin, "bea@example.com").await;
    let customer = admin.customer("c@example.com").await;
    let created = admin
        .post(
            "/api/v1/items",
            json!({"project_id": ops, "kind": "ticket", "title": "Disk full", "priority": "high", "requester_id": customer}),
        )
        .await
        .expect(201, "");
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["priority"], "high");
    assert_eq!(created["channel"], "app", "made in the agents' app (a cookie session)");
    bea.get(&format!("/api/v1/items/{id}")).await.expect(404, "item_not_found");

    let path = format!("/api/v1/items/{id}");
    let patch = |body: serde_json::Value| admin.send(reqwest::Method::PATCH, &path, Some(body));
    let assigned = patch(json!({"assignee_id": bea_id, "priority": "urgent", "title": " Disk is full "})).await.ok();
    assert_eq!((assigned["assignee_id"].as_i64(), assigned["priority"].as_str()), (Some(bea_id), Some("urgent")));
    assert_eq!(assigned["title"], "Disk is full");
    assert!(assigned["followers"].as_array().unwrap().contains(&json!(bea_id)), "the assignee follows it");
    assert_eq!(bea.get(&path).await.ok()["id"], id, "Bea sees what she is given, outside her projects");
    let mine = bea.get(&format!("/api/v1/items?assignee_id={bea_id}&status=open")).await.ok();
    assert_eq!(ids(&mine), [id]);
    assert!(ids(&admin.get("/api/v1/items?kind=task").await.ok()).is_empty());

    patch(json!({"priority": "someday"})).await.expect(422, "invalid_field");
    patch(json!({"assignee_id": 999})).await.expect(404, "user_not_found");
    patch(json!({"project_id": 999})).await.expect(404, "project_not_found");
    patch(json!({"title": ""})).await.expect(422, "invalid_title");
    let moved = patch(json!({"assignee_id": null, "project_id": other})).await.ok();
    assert_eq!((moved["assignee_id"].clone(), moved["project_id"].as_i64()), (json!(null), Some(other)));
    assert_eq!(moved["priority"], "urgent", "what a change leaves out stays");
    admin
        .send(reqwest::Method::PATCH, "/api/v1/items/999", Some(json!({"title": "x"})))
        .await
        .expect(404, "item_not_found");

    // A task the team made for itself is not waiting for a customer.
    admin.item(ops, "Rotate keys", None).await;
    assert_eq!(ids(&admin.get("/api/v1/items?view=unanswered").await.ok()), [id]);
}

#[tokio::test]
async fn answering_an_item_makes_the_agent_follow_it_so_it_is_in_their_conversations() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let lab = admin.project("Lab").await;
    let (bea, bea_id) = app.agent(&admin, "bea@example.com").await;
    admin.put(&format!("/api/v1/projects/{lab}/members/{bea_id}"), None).await.ok();
    let customer = admin.customer("carl@example.com").await;
    let item = admin.item(lab, "Broken zipper", Some(customer)).await;
    let body = serde_json::json!({"kind": "public", "item_id": item, "customer_id": customer,
        "message": {"body": "We are on it"}});
    let conversation = admin.conversation(body).await;
    async fn mine(client: &Client) -> Vec<i64> {
        let listed = client.get("/api/v1/conversations?view=customer_replies").await.ok();
        listed["entries"].as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect()
    }
    assert!(!mine(&bea).await.contains(&conversation));
    bea.say(conversation, "A new one is on its way").await.ok();
    let followers = admin.get(&format!("/api/v1/items/{item}")).await.ok()["followers"].clone();
    assert!(followers.as_array().unwrap().contains(&serde_json::json!(bea_id)), "{followers}");
    assert!(mine(&bea).await.contains(&conversation));
}

#[tokio::test]
async fn a_thread_started_in_the_app_says_app_and_a_tickets_customer_thread_keeps_the_tickets_channel() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let lab = admin.project("Lab").await;
    let customer = admin.customer("carl@example.com").await;
    let standalone = admin
        .conversation(serde_json::json!({"kind": "public", "customer_id": customer,
        "message": {"body": "Hello from the app"}}))
        .await;
    let channel = |id: i64| format!("/api/v1/conversations/{id}");
    assert_eq!(admin.get(&channel(standalone)).await.ok()["channel"], "app", "the admin signed in with a cookie");
    let token = admin.api_token().await;
    let integration = app.client().with_bearer(&token);
    let by_api =
        integration.conversation(serde_json::json!({"kind": "internal", "message": {"body": "from a script"}})).await;
    assert_eq!(admin.get(&channel(by_api)).await.ok()["channel"], "api");
    // A ticket that came by a form: the team's answer continues on the form's channel.
    let from_form = rapport::store::items::NewItem {
        project_id: lab,
        kind: rapport::domain::ItemKind::Ticket,
        title: "Zipper".into(),
        description: String::new(),
        priority: rapport::domain::Priority::Normal,
        requester_id: Some(customer),
        assignee_id: None,
        channel: rapport::domain::Channel::Form,
        created_by: None,
    };
    let now = rapport::clock::Clock::now_ms(&app.clock);
    let item = app.store.items().insert(rapport::store::Viewer::SYSTEM, from_form, now).await.unwrap().id;
    let thread = admin
        .conversation(serde_json::json!({"kind": "public", "item_id": item, "customer_id": customer,
        "message": {"body": "We are on it"}}))
        .await;
    assert_eq!(admin.get(&channel(thread)).await.ok()["channel"], "form");
}

#[tokio::test]
async fn an_item_row_carries_its_requester_and_followers_in_one_answer() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let project = admin.project("Support").await;
    let customer = admin.customer("cus@example.com").await;
    let asked = admin.item(project, "Printer on fire", Some(customer)).await;
    let task = admin.item(project, "Restock paper", None).await;
    let (_, bea) = app.agent(&admin, "bea@example.com").await;
    admin.send(reqwest::Method::PATCH, &format!("/api/v1/items/{task}"), Some(json!({"assignee_id": bea}))).await.ok();
    let list = admin.get("/api/v1/items?view=all").await.ok();
    let rows = list["entries"].as_array().unwrap();
    let row = |id: i64| rows.iter().find(|i| i["id"] == id).unwrap().clone();
    assert_eq!(row(asked)["requester"]["display_name"], "Cus Tomer");
    assert_eq!(row(asked)["requester"]["email"], "cus@example.com");
    assert!(row(task)["requester"].is_null());
    let followers: Vec<i64> = row(task)["followers"].as_array().unwrap().iter().map(|f| f.as_i64().unwrap()).collect();
    assert!(followers.contains(&bea), "{followers:?}");
    assert_eq!(admin.get(&format!("/api/v1/items/{task}")).await.ok()["followers"], json!(followers));
}
