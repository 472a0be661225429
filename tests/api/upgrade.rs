//! Upgrades: a database written by the previous schema version (a fixture made by that
//! version's binary, see fixtures/upgrade/make.py) migrates forward with nothing lost; a
//! database from a newer Rapport is refused and left untouched.

use crate::helpers::*;
use reqwest::Method;

/// The fixture's visitor token and its ids (printed by make.py when it was made).
const VISITOR: &str = "rpv_QfQgkF8Nsvc3S0lYwp-U51PTVRoWEcn1WJTQgO6WDHw";
const PROJECT: i64 = 1;
const CUSTOMER: i64 = 1;
const ITEM: i64 = 1;
const CONVERSATION: i64 = 1;
const ATTACHMENT: i64 = 1;
const INTERNAL: i64 = 2;
const CHAT: i64 = 3;

fn fixture_into(dir: &std::path::Path) {
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/api/fixtures/upgrade/schema-6.db");
    std::fs::copy(fixture, dir.join("rapport.db")).unwrap();
}

#[tokio::test]
async fn a_schema_6_database_migrates_forward_with_everything_in_it() {
    if crate::helpers::sqlite_only("the fixture is a SQLite file of schema 6") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    fixture_into(dir.path());
    let app = spawn_app_at(dir.path()).await;
    let version: i64 = app.db().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version, *rapport::store::SCHEMA_VERSION);

    // The old admin signs in with the old password.
    let admin = app.logged_in("owner@example.com").await;
    assert_eq!(admin.get(&format!("/api/v1/projects/{PROJECT}")).await.ok()["name"], "Fixture");
    assert_eq!(admin.get(&format!("/api/v1/customers/{CUSTOMER}")).await.ok()["email"], "fay@example.com");
    let item = admin.get(&format!("/api/v1/items/{ITEM}")).await.ok();
    assert_eq!(item["title"], "Broken kettle");
    assert_eq!(item["priority"], "normal", "the column added by 0007 has its default");

    let messages = admin.get(&format!("/api/v1/conversations/{CONVERSATION}/messages")).await.ok();
    let bodies: Vec<&str> = messages.as_array().unwrap().iter().map(|m| m["body"].as_str().unwrap()).collect();
    assert_eq!(bodies, ["We are sorry about the kettle.", "A photo of the new one"]);
    assert_eq!(messages[1]["attachments"][0]["id"], ATTACHMENT);
    let file = admin.request(Method::GET, &format!("/api/v1/attachments/{ATTACHMENT}")).send().await.unwrap();
    assert_eq!(file.status().as_u16(), 200);
    let expected: Vec<u8> =
        b"\x89PNG\r\n\x1a\n".iter().copied().chain((0..70000u32).map(|i| (i * 7 % 251) as u8)).collect();
    assert_eq!(file.bytes().await.unwrap().as_ref(), expected.as_slice());
    let internal = admin.get(&format!("/api/v1/conversations/{INTERNAL}/messages")).await.ok();
    assert_eq!(internal[0]["body"], "Refund or replace?");

    // Search still finds old messages: the index came along.
    let found = admin.get("/api/v1/search?q=kettle").await.ok();
    assert!(!found["messages"].as_array().unwrap().is_empty(), "{found}");

    // The old widget visitor is still signed in and sees their chat, and writing goes on.
    let theirs = as_visitor(&app, VISITOR, Method::GET, "/api/v1/widget/conversations", None).await.ok();
    assert_eq!(theirs[0]["id"], CHAT, "{theirs}");
    let next = admin.say(CHAT, "after the upgrade").await.ok();
    assert_eq!(next["seq"], 4, "the widget's chat had its message, the auto-reply and the agent's answer");

    // The rules 0007 adds are there, beside the old ones.
    let rules = admin.get("/api/v1/rules").await.ok();
    let templates: Vec<&str> = rules.as_array().unwrap().iter().filter_map(|r| r["template"].as_str()).collect();
    assert!(templates.contains(&"ticket_auto_reply") && templates.contains(&"auto_reply"), "{templates:?}");
    app.stop().await;

    let db = rusqlite::Connection::open(dir.path().join("rapport.db")).unwrap();
    let integrity: String = db.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(integrity, "ok");
    let orphans: i64 = db.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| r.get(0)).unwrap();
    assert_eq!(orphans, 0);
}

#[tokio::test]
async fn a_database_from_a_newer_rapport_is_refused_at_start() {
    if crate::helpers::sqlite_only("the fixture is a SQLite file (tests/api/postgres.rs checks PostgreSQL)") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    fixture_into(dir.path());
    let newer = *rapport::store::SCHEMA_VERSION + 1;
    rusqlite::Connection::open(dir.path().join("rapport.db"))
        .unwrap()
        .pragma_update(None, "user_version", newer)
        .unwrap();
    let before = std::fs::read(dir.path().join("rapport.db")).unwrap();
    let config = rapport::config::Config::for_tests(dir.path().to_path_buf());
    let refused = rapport::app::Application::build(config, std::sync::Arc::new(rapport::clock::SystemClock)).await;
    let message = refused.err().expect("a newer database is refused").to_string();
    assert!(message.contains("newer than this binary"), "{message}");
    assert_eq!(std::fs::read(dir.path().join("rapport.db")).unwrap(), before, "the refused database was changed");
}
