//! A fresh install: its first admin brings a project, and health says plainly what is not set
//! up yet (without calling it a problem).

use crate::helpers::*;
use serde_json::{json, Value};

fn names(projects: &Value) -> Vec<&str> {
    projects.as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn the_first_admin_of_a_fresh_install_brings_a_support_project() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    assert_eq!(names(&admin.get("/api/v1/projects").await.ok()), ["Support"]);

    // A ticket can be made at once.
    let project = admin.get("/api/v1/projects").await.ok()[0]["id"].as_i64().unwrap();
    let (_, customer) = visitor(&app).await;
    admin.item(project, "First", Some(customer)).await;

    // Later admins do not add projects.
    let password = rapport::domain::Password::parse(rapport::domain::Secret::new(PASSWORD)).unwrap();
    rapport::cli::admin::create(&app.database(), "second@example.com", "Sam Second", password).await.unwrap();
    assert_eq!(names(&admin.get("/api/v1/projects").await.ok()), ["Support"]);
}

#[tokio::test]
async fn health_lists_what_is_not_set_up_apart_from_problems() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (agent, _) = app.agent(&admin, "agent@example.com").await;

    let health = admin.get("/api/v1/admin/health").await.ok();
    assert_eq!(health["status"], "ok", "not set up is not a problem: {health}");
    assert_eq!(health["problems"], json!([]));
    let setup = health["setup"].as_array().unwrap();
    assert_eq!(setup.len(), 1, "{health}");
    let email = setup[0].as_str().unwrap();
    assert!(email.starts_with("Email is not set up"), "{email}");
    assert!(email.contains("smtp_url (RAPPORT_SMTP_URL)"), "says how to set it: {email}");
    assert!(email.contains("sign-in link"), "says what waits on it: {email}");

    // The app's notice asks only for this list, which any admin may read and no agent.
    assert_eq!(admin.get("/api/v1/admin/setup").await.ok()["setup"], health["setup"]);
    agent.get("/api/v1/admin/setup").await.expect(403, "forbidden");
}

fn steps(setup: &Value) -> Vec<(String, bool)> {
    let list = setup["checklist"].as_array().unwrap();
    for step in list {
        assert!(!step["title"].as_str().unwrap().is_empty() && !step["hint"].as_str().unwrap().is_empty(), "{step}");
    }
    list.iter().map(|s| (s["key"].as_str().unwrap().to_owned(), s["done"].as_bool().unwrap())).collect()
}

fn done(pairs: &[(&str, bool)]) -> Vec<(String, bool)> {
    pairs.iter().map(|(k, d)| ((*k).to_owned(), *d)).collect()
}

#[tokio::test]
async fn the_first_run_checklist_follows_what_has_happened() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let fresh = admin.get("/api/v1/admin/setup").await.ok();
    assert_eq!(
        steps(&fresh),
        done(&[("project", true), ("email", false), ("widget", false), ("teammate", false), ("test_message", false)])
    );

    app.agent(&admin, "mate@example.com").await;
    let (token, _) = visitor(&app).await;
    as_visitor(
        &app,
        &token,
        reqwest::Method::POST,
        "/api/v1/widget/conversations",
        Some(json!({"message": {"body": "testing"}})),
    )
    .await
    .ok();
    assert_eq!(
        steps(&admin.get("/api/v1/admin/setup").await.ok()),
        done(&[("project", true), ("email", false), ("widget", true), ("teammate", true), ("test_message", true)])
    );
}

#[tokio::test]
async fn the_checklist_counts_email_as_connected_once_smtp_is_configured() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = crate::helpers::config_for(dir.path());
    config.smtp_url = Some(rapport::domain::Secret::new("smtp://127.0.0.1:9"));
    config.smtp_from = Some("Support <support@example.com>".into());
    let app = spawn_with(config).await;
    let setup = app.admin().await.get("/api/v1/admin/setup").await.ok();
    assert_eq!(steps(&setup)[1], ("email".to_owned(), true), "{setup}");
    assert_eq!(setup["setup"], json!([]), "{setup}");
}

#[tokio::test]
async fn a_visitors_new_name_is_announced_to_watching_agents() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (token, customer) = visitor(&app).await;
    let made = as_visitor(
        &app,
        &token,
        reqwest::Method::POST,
        "/api/v1/widget/conversations",
        Some(json!({"message": {"body": "hello"}})),
    )
    .await
    .ok();
    let conversation = made["conversation"]["id"].as_i64().unwrap();

    let mut watching = crate::live::connect_agent(&app, &admin.api_token().await).await;
    watching.send(json!({"type": "watch_inbox"})).await;
    watching.settle().await;
    as_visitor(&app, &token, reqwest::Method::POST, "/api/v1/widget/identify", Some(json!({"name": "Dora Named"})))
        .await
        .ok();
    let inbox = watching.expect("inbox").await;
    assert_eq!(inbox["conversation"]["id"], conversation, "{inbox}");
    assert_eq!(inbox["conversation"]["customer_id"], customer, "{inbox}");
}
