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

/// A server that answers PostgreSQL's request for TLS as a server without TLS does ('N'), on
/// every connection: its port.
fn a_server_without_tls() -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut request = [0; 8];
            if stream.read_exact(&mut request).is_ok() && request == [0, 0, 0, 8, 4, 210, 22, 47] {
                let _ = stream.write_all(b"N");
            }
            let _ = stream.read_to_end(&mut Vec::new());
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_server_reached_over_tls_with_sslmode_require_serves_the_app() {
    // sslmode=require against a server without TLS stops start-up, as libpq refuses it.
    let dir = tempfile::tempdir().unwrap();
    let mut config = rapport::config::Config::for_tests(dir.path().to_path_buf());
    let plain = a_server_without_tls();
    config.database_url =
        Some(rapport::domain::Secret::new(format!("postgres://rapport@127.0.0.1:{plain}/rapport?sslmode=require")));
    let refused = rapport::app::Application::build(config, Arc::new(rapport::clock::SystemClock)).await;
    let message = refused.err().expect("start-up stops without TLS").to_string();
    assert!(message.contains("database_url"), "{message}");
    assert!(message.contains("TLS"), "{message}");

    let Some(base) = std::env::var("RAPPORT_TEST_POSTGRES_TLS").ok().filter(|v| !v.is_empty()) else {
        eprintln!("RAPPORT_TEST_POSTGRES_TLS names no server: nothing to check");
        return;
    };
    let db = format!("rapport_test_{}", rand::random::<u64>());
    let admin: postgres::Config = format!("{base}/postgres?sslmode=require").parse().unwrap();
    // With no sslmode (libpq's and tokio-postgres's default, prefer), TLS too: the server takes
    // no other connection over TCP.
    let preferred: postgres::Config = format!("{base}/postgres").parse().unwrap();
    let create = format!("CREATE DATABASE {db}");
    std::thread::spawn(move || {
        let conn = rapport::store::db::connect_pg(&admin, false).expect("the TLS test PostgreSQL server");
        conn.execute_batch(&create).expect("a database for the test");
        let conn = rapport::store::db::connect_pg(&preferred, false).expect("sslmode=prefer takes TLS");
        let sql = "SELECT count(*) FROM pg_stat_ssl WHERE ssl AND pid = pg_backend_pid()";
        assert_eq!(conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap(), 1, "sslmode=prefer took TLS");
    })
    .join()
    .expect("connecting over TLS");

    let dir = tempfile::tempdir().unwrap();
    let mut config = rapport::config::Config::for_tests(dir.path().to_path_buf());
    config.database_url = Some(rapport::domain::Secret::new(format!("{base}/{db}?sslmode=require")));
    let app = crate::helpers::spawn_with(config).await;
    let admin = app.admin().await;
    let kept = admin.conversation(serde_json::json!({"kind": "internal", "message": {"body": "sent encrypted"}})).await;
    let messages = admin.get(&format!("/api/v1/conversations/{kept}/messages")).await.ok();
    assert_eq!(messages[0]["body"], "sent encrypted");
    // On one of the app's own connections: the server sees it encrypted.
    let encrypted = app.store.probe("SELECT count(*) FROM pg_stat_ssl WHERE ssl AND pid = pg_backend_pid()".into());
    assert_eq!(encrypted.await.unwrap(), Some(1));
    app.stop().await;
}

/// The PostgreSQL upgrade fixture's visitor token and ids (printed by make.py when it was made).
const FIXTURE_VISITOR: &str = "rpv_07MwZ88DVXVVeArPlNPwFbcIf0ePRLyi-e_EA9EKDSQ";
const FIXTURE_PROJECT: i64 = 2;
const FIXTURE_ITEM: i64 = 1;
const FIXTURE_CONVERSATION: i64 = 1;
const FIXTURE_ATTACHMENT: i64 = 1;
const FIXTURE_CHAT: i64 = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_schema_1_database_migrates_forward_with_everything_in_it() {
    if !on_postgres() {
        return;
    }
    // fixtures/upgrade/postgres-1.sql: a database the first PostgreSQL schema's binary wrote
    // through its API (make.py), dumped with pg_dump --inserts; loaded as a restore would.
    let dir = tempfile::tempdir().unwrap();
    let url = postgres_database(dir.path()).unwrap();
    let dump =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/api/fixtures/upgrade/postgres-1.sql"))
            .unwrap();
    // Without psql's own commands (`\restrict`), which only psql reads.
    let dump: String = dump.lines().filter(|l| !l.starts_with('\\')).map(|l| format!("{l}\n")).collect();
    std::thread::spawn(move || {
        let mut db = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        db.batch_execute(&dump).unwrap();
    })
    .join()
    .unwrap();
    let app = spawn_app_at(dir.path()).await;
    let version = app.probe("SELECT version FROM rapport_schema").await;
    assert_eq!(version, Some(*rapport::store::POSTGRES_SCHEMA_VERSION));

    let admin = app.logged_in("owner@example.com").await;
    assert_eq!(admin.get(&format!("/api/v1/projects/{FIXTURE_PROJECT}")).await.ok()["name"], "Fixture");
    assert_eq!(admin.get(&format!("/api/v1/items/{FIXTURE_ITEM}")).await.ok()["title"], "Broken kettle");
    let messages = admin.get(&format!("/api/v1/conversations/{FIXTURE_CONVERSATION}/messages")).await.ok();
    let bodies: Vec<&str> = messages.as_array().unwrap().iter().map(|m| m["body"].as_str().unwrap()).collect();
    assert_eq!(bodies, ["We are sorry about the kettle.", "A photo of the new one"]);
    let file =
        admin.request(reqwest::Method::GET, &format!("/api/v1/attachments/{FIXTURE_ATTACHMENT}")).send().await.unwrap();
    let expected: Vec<u8> =
        b"\x89PNG\r\n\x1a\n".iter().copied().chain((0..70000u32).map(|i| (i * 7 % 251) as u8)).collect();
    assert_eq!(file.bytes().await.unwrap().as_ref(), expected.as_slice());
    let found = admin.get("/api/v1/search?q=kettle").await.ok();
    assert!(!found["messages"].as_array().unwrap().is_empty(), "{found}");
    let theirs =
        crate::helpers::as_visitor(&app, FIXTURE_VISITOR, reqwest::Method::GET, "/api/v1/widget/conversations", None)
            .await
            .ok();
    assert_eq!(theirs[0]["id"], FIXTURE_CHAT, "{theirs}");
    let next = admin.say(FIXTURE_CHAT, "after the upgrade").await.ok();
    assert!(next["seq"].as_i64().unwrap() > 2, "{next}");
    let (token, _) = crate::helpers::visitor(&app).await;
    let newer = crate::helpers::as_visitor(
        &app,
        &token,
        reqwest::Method::POST,
        "/api/v1/widget/conversations",
        Some(serde_json::json!({"message": {"body": "hello"}})),
    )
    .await
    .ok();
    assert!(newer["conversation"]["id"].as_i64().unwrap() > FIXTURE_CHAT, "{newer}");
}
