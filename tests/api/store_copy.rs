//! Moving an installation onto PostgreSQL and back (`rapport store copy`): everything arrives,
//! the app serves it there (messages, files byte for byte, search, the views' counts), and the
//! way back gives a SQLite file whose every row and byte is the original's. Needs
//! `RAPPORT_TEST_POSTGRES` (tests/run.sh names its cluster) and says so without it.

use crate::helpers::{as_visitor, spawn_with, test_postgres, visitor, TestApp};
use rapport::config::Config;
use reqwest::Method;
use serde_json::{json, Value};
use std::path::Path;

/// A SQLite installation, whichever store the rest of the suite runs on.
async fn on_sqlite(dir: &Path) -> TestApp {
    spawn_with(Config::for_tests(dir.to_path_buf())).await
}

async fn on_postgres(dir: &Path, url: &str) -> TestApp {
    let mut config = Config::for_tests(dir.to_path_buf());
    config.database_url = Some(rapport::domain::Secret::new(url));
    spawn_with(config).await
}

/// A new empty database on the suite's server: its URL.
fn new_database(server: &str) -> String {
    let name = format!("rapport_copy_{}", rand::random::<u64>());
    let admin = format!("{server}/postgres");
    let create = format!("CREATE DATABASE {name}");
    std::thread::spawn(move || {
        postgres::Client::connect(&admin, postgres::NoTls).unwrap().batch_execute(&create).unwrap();
    })
    .join()
    .unwrap();
    format!("{server}/{name}")
}

async fn admin_on(app: &TestApp) -> crate::helpers::Client {
    app.logged_in(crate::helpers::ADMIN_EMAIL).await
}

async fn copy(from: String, to: String) -> Result<String, String> {
    tokio::task::spawn_blocking(move || rapport::cli::copy::run(&from, &to)).await.unwrap()
}

/// Every row of every table of a SQLite file but the search index's own and SQLite's planner
/// statistics, in a stable order.
fn every_row(db: &Path) -> Vec<(String, Vec<Vec<rusqlite::types::Value>>)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE '%fts%' AND name NOT LIKE 'sqlite%' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    tables
        .into_iter()
        .map(|table| {
            let mut stmt = conn.prepare(&format!("SELECT * FROM {table}")).unwrap();
            let n = stmt.column_count();
            let mut rows: Vec<Vec<rusqlite::types::Value>> =
                stmt.query_map([], |r| (0..n).map(|i| r.get(i)).collect()).unwrap().collect::<Result<_, _>>().unwrap();
            rows.sort_by_key(|row| format!("{row:?}"));
            (table, rows)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_installation_moves_to_postgres_and_back_with_every_row_and_byte() {
    let Some(server) = test_postgres() else {
        eprintln!("RAPPORT_TEST_POSTGRES names no server: nothing to check");
        return;
    };
    // A populated SQLite installation: a team, a customer's chat with a file, a ticket, an
    // internal note, a rule changed, a customer erased.
    let first = tempfile::tempdir().unwrap();
    let app = on_sqlite(first.path()).await;
    let admin = app.admin().await;
    let (agent, _) = app.agent(&admin, "bea@example.com").await;
    let (token, _) = visitor(&app).await;
    let chat = as_visitor(
        &app,
        &token,
        Method::POST,
        "/api/v1/widget/conversations",
        Some(json!({"message": {"body": "Ma commande est arrivée cassée: zéro étoile"}})),
    )
    .await
    .ok()["conversation"]["id"]
        .as_i64()
        .unwrap();
    let bytes: Vec<u8> = (0..600_000u32).map(|i| (i * 7 % 256) as u8).collect();
    let file = agent
        .request(Method::POST, "/api/v1/attachments?filename=label.pdf")
        .header("content-type", "application/pdf")
        .body(bytes.clone())
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    agent
        .post(
            &format!("/api/v1/conversations/{chat}/messages"),
            json!({"body": "Sorry! Label attached", "attachment_ids": [file]}),
        )
        .await
        .ok();
    let gone = admin.customer("gone@example.com").await;
    admin.delete(&format!("/api/v1/customers/{gone}")).await.ok();
    let project = admin.project("Support").await;
    admin.item(project, "Broken parcel", None).await;
    let note = admin.conversation(json!({"kind": "internal", "message": {"body": "courier to call back"}})).await;
    admin.say(note, "done").await.ok();
    admin.change_rule("close_notice", json!({"enabled": true})).await;
    let counts = agent.get("/api/v1/conversations/counts").await.ok();
    app.stop().await;
    let original = rapport::store::db_path(first.path());
    let before = every_row(&original);

    // Onto PostgreSQL: the copy verifies itself, and the app serves what was copied.
    let url = new_database(&server);
    let report = copy(first.path().display().to_string(), url.clone()).await.expect("the copy");
    assert!(report.contains("every table's rows and checksum are the same"), "{report}");
    let there = tempfile::tempdir().unwrap();
    let app = on_postgres(there.path(), &url).await;
    let agent = app.logged_in("bea@example.com").await;
    let messages = agent.get(&format!("/api/v1/conversations/{chat}/messages")).await.ok();
    let bodies: Vec<&str> = messages.as_array().unwrap().iter().map(|m| m["body"].as_str().unwrap()).collect();
    assert!(bodies.contains(&"Sorry! Label attached"), "{bodies:?}");
    let download = agent.request(Method::GET, &format!("/api/v1/attachments/{file}")).send().await.unwrap();
    assert_eq!(download.bytes().await.unwrap().to_vec(), bytes, "the file, byte for byte");
    let found = agent.get("/api/v1/search?q=etoile").await.ok();
    assert_eq!(found["messages"][0]["conversation"]["id"], chat, "search was rebuilt, diacritics and all: {found}");
    assert_eq!(
        agent.get("/api/v1/conversations/counts").await.ok(),
        counts,
        "the views' counts were rebuilt as they were"
    );
    // A new conversation gets an id past every copied one.
    let (token, _) = visitor(&app).await;
    let newer = as_visitor(
        &app,
        &token,
        Method::POST,
        "/api/v1/widget/conversations",
        Some(json!({"message": {"body": "hello"}})),
    )
    .await
    .ok()["conversation"]["id"]
        .as_i64()
        .unwrap();
    assert!(newer > note, "{newer} after {note}");
    let customer = admin_on(&app).await.customer("new@example.com").await;
    assert!(customer > gone, "an erased customer's id is not handed out again: {customer} after {gone}");

    // While it serves, neither side can be copied over or from.
    let busy = copy(url.clone(), tempfile::tempdir().unwrap().path().join("back").display().to_string()).await;
    assert!(busy.unwrap_err().contains("a running Rapport uses"), "the source is in use");
    app.stop().await;
    let full = copy(first.path().display().to_string(), url.clone()).await.unwrap_err();
    assert!(full.contains("is not empty"), "{full}");

    // There and back, with nothing served between: the same rows as before, byte for byte,
    // the views' tallies rebuilt twice included.
    let url = new_database(&server);
    copy(first.path().display().to_string(), url.clone()).await.expect("the copy there");
    let back = tempfile::tempdir().unwrap();
    let report = copy(url, back.path().display().to_string()).await.expect("the copy back");
    assert!(report.contains("every table's rows and checksum are the same"), "{report}");
    let after = every_row(&rapport::store::db_path(back.path()));
    for ((table, rows), (_, again)) in before.iter().zip(&after) {
        if table == "rules_version" {
            continue; // a random number, new in each database
        }
        assert_eq!(rows, again, "{table} differs after the way there and back");
    }
    assert_eq!(before.iter().map(|(t, _)| t).collect::<Vec<_>>(), after.iter().map(|(t, _)| t).collect::<Vec<_>>());
}
