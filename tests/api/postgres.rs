//! What only PostgreSQL has to hold: start-up against a server that is not there or holds a
//! newer Rapport's data. The rest of the suite runs on PostgreSQL as it does on SQLite
//! (tests/run.sh runs it twice); these tests need `RAPPORT_TEST_POSTGRES` and say so without it.

use crate::helpers::{config_for, postgres_database, spawn_app_at, test_postgres};
use std::sync::Arc;

fn on_postgres() -> bool {
    let here = test_postgres().is_some();
    if !here {
        eprintln!("RAPPORT_TEST_POSTGRES names no server: nothing to check");
    }
    here
}

#[tokio::test]
async fn an_unreachable_postgres_server_stops_start_up_naming_the_setting_and_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = rapport::config::Config::for_tests(dir.path().to_path_buf());
    // A port nothing listens on: the connection is refused at once.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    config.database_url =
        Some(rapport::domain::Secret::new(format!("postgres://rapport:secret@127.0.0.1:{closed}/rapport")));
    let refused = rapport::app::Application::build(config, Arc::new(rapport::clock::SystemClock)).await;
    let message = refused.err().expect("start-up stops").to_string();
    assert!(message.contains("database_url"), "{message}");
    assert!(message.contains(&format!("127.0.0.1:{closed}")), "{message}");
    assert!(message.to_lowercase().contains("refused"), "{message}");
    assert!(!message.contains("secret"), "the password is never shown: {message}");
    assert!(!dir.path().join("rapport.db").exists(), "no SQLite file was made instead");
}

#[test]
fn a_database_url_that_is_not_postgres_is_refused_naming_the_setting() {
    let flags = rapport::config::Flags { database_url: Some("mysql://db/rapport".into()), ..Default::default() };
    let message = rapport::config::Config::load_from(&flags, |_| None).expect_err("refused").to_string();
    assert!(message.contains("database_url") && message.contains("--database-url"), "{message}");
    assert!(message.contains("PostgreSQL URL"), "{message}");
}

#[tokio::test]
async fn a_postgres_database_of_a_newer_rapport_is_refused_untouched() {
    if !on_postgres() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_at(dir.path()).await;
    app.admin().await;
    app.stop().await;
    let url = postgres_database(dir.path()).unwrap();
    let newer = std::thread::spawn(move || {
        let mut db = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        db.batch_execute("UPDATE rapport_schema SET version = version + 1").unwrap();
        let version: i64 = db.query_one("SELECT version FROM rapport_schema", &[]).unwrap().get(0);
        let users: i64 = db.query_one("SELECT count(*) FROM users", &[]).unwrap().get(0);
        (version, users, url)
    })
    .join()
    .unwrap();
    let refused = rapport::app::Application::build(config_for(dir.path()), Arc::new(rapport::clock::SystemClock)).await;
    let message = refused.err().expect("a newer database is refused").to_string();
    assert!(message.contains("newer than this binary"), "{message}");
    let (version, users, url) = newer;
    let after = std::thread::spawn(move || {
        let mut db = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        let version: i64 = db.query_one("SELECT version FROM rapport_schema", &[]).unwrap().get(0);
        let users: i64 = db.query_one("SELECT count(*) FROM users", &[]).unwrap().get(0);
        (version, users)
    })
    .join()
    .unwrap();
    assert_eq!(after, (version, users), "the refused database was changed");
}

/// `rapport backup` / `restore` as an operator runs them, with the database in the environment.
fn rapport(url: &str, args: &[&std::ffi::OsStr]) -> std::process::Output {
    crate::helpers::clean_command(env!("CARGO_BIN_EXE_rapport"))
        .env("RAPPORT_DATABASE_URL", url)
        .args(args)
        .output()
        .expect("the binary runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_backup_taken_while_serving_restores_into_a_new_database_and_never_over_data() {
    if !on_postgres() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_at(dir.path()).await;
    let admin = app.admin().await;
    let kept =
        admin.conversation(serde_json::json!({"kind": "internal", "message": {"body": "kept in the backup"}})).await;
    let url = postgres_database(dir.path()).unwrap();
    let file = dir.path().join("rapport.backup");
    let backup = rapport(&url, &["backup".as_ref(), file.as_os_str()]);
    assert!(backup.status.success(), "{}", String::from_utf8_lossy(&backup.stderr));
    assert!(!String::from_utf8_lossy(&backup.stderr).contains("secret"));
    app.stop().await;

    let over = rapport(&url, &["restore".as_ref(), file.as_os_str()]);
    let said = String::from_utf8_lossy(&over.stderr);
    assert!(!over.status.success() && said.contains("is not empty"), "{said}");

    let fresh = tempfile::tempdir().unwrap();
    let new_url = postgres_database(fresh.path()).unwrap();
    let restore = rapport(&new_url, &["restore".as_ref(), file.as_os_str()]);
    assert!(restore.status.success(), "{}", String::from_utf8_lossy(&restore.stderr));
    let app = spawn_app_at(fresh.path()).await;
    let admin = app.admin().await;
    let messages = admin.get(&format!("/api/v1/conversations/{kept}/messages")).await.ok();
    assert_eq!(messages[0]["body"], "kept in the backup");
}
