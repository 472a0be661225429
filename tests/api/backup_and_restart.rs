//! Durability: a restart keeps everything, `rapport backup` takes a consistent copy while the
//! server keeps writing, and concurrent posts get gap-free sequence numbers.

use crate::helpers::*;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Every message of a conversation, following `after` page by page.
async fn all_messages(client: &Client, conversation: i64) -> Vec<Value> {
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let page =
            client.get(&format!("/api/v1/conversations/{conversation}/messages?after={after}&limit=200")).await.ok();
        let page = page.as_array().unwrap().clone();
        let Some(last) = page.last() else { break };
        after = last["seq"].as_i64().unwrap();
        all.extend(page);
    }
    all
}

fn ids(messages: &[Value]) -> BTreeSet<i64> {
    messages.iter().map(|m| m["id"].as_i64().unwrap()).collect()
}

/// Files in a directory, by name.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

/// `rapport backup --data-dir DIR FILE` with no inherited `RAPPORT_*` setting.
fn backup_binary(data_dir: &Path, dest: &Path) -> std::process::Output {
    let mut cmd = clean_command(env!("CARGO_BIN_EXE_rapport"));
    cmd.arg("backup").arg("--data-dir").arg(data_dir).arg(dest);
    cmd.output().expect("rapport backup runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_at(dir.path()).await;
    let admin = app.admin().await;
    let project = admin.project("Durable").await;
    let customer = admin.customer("keep@example.com").await;
    let item = admin.item(project, "Keep me", Some(customer)).await;
    let conversation = admin
        .conversation(json!({"kind": "public", "item_id": item, "customer_id": customer, "subject": "Still here?",
            "message": {"body": "one", "client_id": "c-1"}}))
        .await;
    admin.say(conversation, "two").await.ok();

    let png: Vec<u8> =
        b"\x89PNG\r\n\x1a\n".iter().copied().chain((0..200_000u32).map(|i| (i * 7 % 251) as u8)).collect();
    let uploaded = admin
        .request(Method::POST, "/api/v1/attachments?filename=a.png")
        .header("content-type", "image/png")
        .body(png.clone())
        .send()
        .await
        .unwrap();
    let uploaded = answer(uploaded).await.ok();
    let attachment = uploaded["id"].as_i64().unwrap();
    let with_file = admin
        .post(
            &format!("/api/v1/conversations/{conversation}/messages"),
            json!({"body": "three, with a picture", "attachment_ids": [attachment]}),
        )
        .await
        .ok();
    assert_eq!(with_file["seq"], 3);
    assert_eq!(with_file["attachments"][0]["id"], attachment);

    let paths = [
        format!("/api/v1/projects/{project}"),
        format!("/api/v1/customers/{customer}"),
        format!("/api/v1/items/{item}"),
        format!("/api/v1/conversations/{conversation}"),
        format!("/api/v1/conversations/{conversation}/messages"),
    ];
    let mut before = Vec::new();
    for path in &paths {
        before.push(admin.get(path).await.ok());
    }
    let users_before = admin.get("/api/v1/users").await.ok();

    app.stop().await;
    let wal = std::fs::metadata(dir.path().join("rapport.db-wal")).map(|m| m.len()).unwrap_or(0);
    assert_eq!(wal, 0, "the WAL is not empty after a clean stop");

    let app = spawn_app_at(dir.path()).await;
    let admin = app.admin().await;
    for (path, was) in paths.iter().zip(&before) {
        let now = admin.get(path).await.ok();
        assert_eq!(&now, was, "{path} changed across the restart");
    }
    assert_eq!(admin.get("/api/v1/users").await.ok(), users_before);
    let seqs: Vec<i64> = before[4].as_array().unwrap().iter().map(|m| m["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, [1, 2, 3]);

    let download = admin.request(Method::GET, &format!("/api/v1/attachments/{attachment}")).send().await.unwrap();
    assert_eq!(download.status().as_u16(), 200);
    assert_eq!(download.headers()["content-type"], "image/png");
    assert_eq!(download.bytes().await.unwrap().as_ref(), png.as_slice(), "the attachment changed across the restart");

    // Numbering and idempotency carry on where they left off.
    let next = admin.say(conversation, "four").await.ok();
    assert_eq!(next["seq"], 4);
    let replay = admin
        .post(&format!("/api/v1/conversations/{conversation}/messages"), json!({"body": "one", "client_id": "c-1"}))
        .await;
    assert_eq!(replay.status.as_u16(), 200, "{}", replay.body);
    assert_eq!(replay.body["seq"], 1);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn backup_during_a_write_load_holds_every_acknowledged_message() {
    if crate::helpers::sqlite_only("`rapport backup` copies the SQLite file") {
        return;
    }
    let app = spawn_app().await;
    let admin = Arc::new(app.admin().await);
    let project = admin.project("Load").await;
    let mut conversations = Vec::new();
    for subject in ["left", "right"] {
        conversations.push(
            admin.conversation(json!({"kind": "internal", "project_id": project, "subject": subject, "message": {"body": "start"}})).await,
        );
    }
    let mut initial = BTreeSet::new();
    for &c in &conversations {
        initial.extend(ids(&all_messages(&admin, c).await));
    }

    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Vec::<i64>::new()));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut load = Vec::new();
    for task in 0..8 {
        let (admin, stop, acked, failures) = (admin.clone(), stop.clone(), acked.clone(), failures.clone());
        let conversation = conversations[task % 2];
        load.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let answer = admin.say(conversation, &format!("task {task} message {i}")).await;
                if answer.status.is_success() {
                    acked.lock().unwrap().push(answer.body["id"].as_i64().unwrap());
                } else {
                    failures.lock().unwrap().push(format!("{} {}", answer.status, answer.body));
                }
            }
        }));
    }

    let start = Instant::now();
    while acked.lock().unwrap().len() < 100 {
        assert!(start.elapsed() < Duration::from_secs(10), "the load is too slow");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let before_backup: BTreeSet<i64> = acked.lock().unwrap().iter().copied().collect();

    // Both ways in: the library (as `rapport backup` calls it) and the real binary, at once.
    let out = tempfile::tempdir().unwrap();
    let (lib_dest, bin_dest) = (out.path().join("library.db"), out.path().join("binary.db"));
    let library = {
        let (data_dir, dest) = (app.data_dir.clone(), lib_dest.clone());
        tokio::task::spawn_blocking(move || {
            rapport::cli::backup::run(&data_dir, &dest, &mut |_| {}).map(|r| (r.path, r.bytes))
        })
    };
    let binary = {
        let (data_dir, dest) = (app.data_dir.clone(), bin_dest.clone());
        tokio::task::spawn_blocking(move || backup_binary(&data_dir, &dest))
    };
    let (library, binary) = (library.await.unwrap(), binary.await.unwrap());
    let acked_during_backup = acked.lock().unwrap().len() - before_backup.len();

    stop.store(true, Ordering::Relaxed);
    for task in load {
        task.await.unwrap();
    }
    let failures = failures.lock().unwrap().clone();
    assert!(failures.is_empty(), "posts failed during the backup: {:?}", &failures[..failures.len().min(5)]);
    assert!(acked_during_backup > 0, "the load did not keep going during the backup");

    let (path, bytes) = library.expect("library backup");
    assert_eq!(path, lib_dest);
    assert_eq!(bytes, std::fs::metadata(&lib_dest).unwrap().len());
    assert!(binary.status.success(), "rapport backup failed: {}", String::from_utf8_lossy(&binary.stderr));
    assert!(
        String::from_utf8_lossy(&binary.stdout).contains("binary.db"),
        "{}",
        String::from_utf8_lossy(&binary.stdout)
    );
    assert_eq!(
        listing(out.path()),
        ["binary.db", "library.db"],
        "something else (a .partial?) was left beside the backups"
    );

    let all_acked: BTreeSet<i64> = acked.lock().unwrap().iter().copied().chain(initial.iter().copied()).collect();
    for dest in [&lib_dest, &bin_dest] {
        check_backup(dest, &before_backup, &initial, &all_acked);
    }

    // A fresh server on the copy serves the messages.
    let restored = tempfile::tempdir().unwrap();
    std::fs::copy(&lib_dest, restored.path().join("rapport.db")).unwrap();
    app.stop().await;
    let copy = spawn_app_at(restored.path()).await;
    let admin = copy.admin().await;
    let mut served = BTreeSet::new();
    for &c in &conversations {
        let messages = all_messages(&admin, c).await;
        let seqs: Vec<i64> = messages.iter().map(|m| m["seq"].as_i64().unwrap()).collect();
        assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>(), "gaps in the restored conversation {c}");
        served.extend(ids(&messages));
    }
    let missing: Vec<_> = before_backup.difference(&served).collect();
    assert!(missing.is_empty(), "acknowledged before the backup, not served from it: {missing:?}");
    assert!(initial.is_subset(&served));
    copy.stop().await;
}

/// The copy is sound, holds everything acknowledged before the backup began, and nothing that
/// was never acknowledged; each conversation's messages are a gap-free 1..=last_seq.
fn check_backup(dest: &PathBuf, before_backup: &BTreeSet<i64>, initial: &BTreeSet<i64>, all_acked: &BTreeSet<i64>) {
    let db = rusqlite::Connection::open_with_flags(dest, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let integrity: String = db.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(integrity, "ok", "{}", dest.display());
    let in_backup: BTreeSet<i64> = db
        .prepare("SELECT id FROM messages")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let missing: Vec<_> = before_backup.union(initial).filter(|id| !in_backup.contains(id)).collect();
    assert!(missing.is_empty(), "{}: acknowledged before the backup but missing: {missing:?}", dest.display());
    let unknown: Vec<_> = in_backup.difference(all_acked).collect();
    assert!(unknown.is_empty(), "{}: messages nobody was told about: {unknown:?}", dest.display());
    let conversations: Vec<(i64, i64, i64, i64)> = db
        .prepare(
            "SELECT c.id, c.last_seq, count(m.id), coalesce(max(m.seq), 0)
             FROM conversations c LEFT JOIN messages m ON m.conversation_id = c.id GROUP BY c.id",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(conversations.len(), 2);
    for (id, last_seq, count, max_seq) in conversations {
        assert_eq!((count, max_seq), (last_seq, last_seq), "{}: conversation {id} is not consistent", dest.display());
    }
}

/// A clear error names the directory the user gave and says that it does not exist; it does
/// not talk about the temporary `.partial` file the user never named.
#[track_caller]
fn assert_clear_missing_dir_error(err: &str, dest: &Path) {
    let dir = dest.parent().unwrap().display().to_string();
    let lower = err.to_lowercase();
    assert!(
        err.contains(&dir) && (lower.contains("exist") || lower.contains("no such")) && !err.contains(".partial"),
        "not a clear error for a missing directory {dir}: {err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_into_a_missing_directory_fails_and_leaves_nothing() {
    if crate::helpers::sqlite_only("`rapport backup` copies the SQLite file") {
        return;
    }
    let app = spawn_app().await;
    let admin = app.admin().await;
    admin.project("Something").await;
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("no-such-dir").join("backup.db");
    let data_before = listing(&app.data_dir);

    let data_dir = app.data_dir.clone();
    let target = dest.clone();
    let err_missing_dir = tokio::task::spawn_blocking(move || {
        rapport::cli::backup::run(&data_dir, &target, &mut |_| {}).map(|r| r.bytes)
    })
    .await
    .unwrap()
    .expect_err("a backup into a missing directory must fail");

    let data_dir = app.data_dir.clone();
    let target = dest.clone();
    let binary = tokio::task::spawn_blocking(move || backup_binary(&data_dir, &target)).await.unwrap();
    assert!(!binary.status.success());
    let stderr = String::from_utf8_lossy(&binary.stderr);
    let last = stderr.lines().last().unwrap_or("").to_owned();
    assert!(last.starts_with("rapport: "), "stderr: {stderr}");

    assert!(listing(out.path()).is_empty(), "left behind: {:?}", listing(out.path()));
    assert_eq!(listing(&app.data_dir), data_before, "the data dir changed");

    // A missing database is refused too, and creates nothing.
    let empty = tempfile::tempdir().unwrap();
    let err = rapport::cli::backup::run(empty.path(), &out.path().join("b.db"), &mut |_| {})
        .map(|r| r.bytes)
        .expect_err("no database to back up");
    assert!(err.contains("no database"), "{err}");
    assert!(listing(out.path()).is_empty());
    assert!(listing(empty.path()).is_empty());
    app.stop().await;

    // Last, because this is about wording: both errors say what is wrong.
    assert_clear_missing_dir_error(&err_missing_dir, &dest);
    assert_clear_missing_dir_error(&last, &dest);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_posts_get_gap_free_sequence_numbers() {
    let app = spawn_app().await;
    let admin = Arc::new(app.admin().await);
    let conversation = admin.conversation(json!({"kind": "internal", "subject": "Race"})).await;
    let answered = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for task in 0..20 {
        let (admin, answered) = (admin.clone(), answered.clone());
        tasks.push(tokio::spawn(async move {
            let mut seqs = Vec::new();
            for i in 0..10 {
                let m = admin.say(conversation, &format!("{task}/{i}")).await.ok();
                answered.fetch_add(1, Ordering::Relaxed);
                seqs.push((m["seq"].as_i64().unwrap(), m["id"].as_i64().unwrap()));
            }
            seqs
        }));
    }
    let mut acknowledged = Vec::new();
    for task in tasks {
        acknowledged.extend(task.await.unwrap());
    }
    assert_eq!(answered.load(Ordering::Relaxed), 200);
    acknowledged.sort_unstable();
    let seqs: Vec<i64> = acknowledged.iter().map(|(s, _)| *s).collect();
    assert_eq!(seqs, (1..=200).collect::<Vec<_>>(), "the acknowledged sequence numbers have gaps or duplicates");

    let listed = admin.get(&format!("/api/v1/conversations/{conversation}/messages?limit=200")).await.ok();
    let listed: Vec<(i64, i64)> =
        listed.as_array().unwrap().iter().map(|m| (m["seq"].as_i64().unwrap(), m["id"].as_i64().unwrap())).collect();
    assert_eq!(listed, acknowledged, "the listing differs from what the posts were told");
    app.stop().await;
}

/// `rapport backup` onto the live database itself must be refused: renaming the copy over
/// `rapport.db` while the server runs detaches the server from the file, and everything it
/// acknowledges afterwards is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_onto_the_live_database_is_refused() {
    if crate::helpers::sqlite_only("`rapport backup` copies the SQLite file") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_at(dir.path()).await;
    let admin = app.admin().await;
    let conversation =
        admin.conversation(json!({"kind": "internal", "subject": "Precious", "message": {"body": "1"}})).await;

    let live = rapport::store::db_path(dir.path());
    let roundabout = dir.path().join(".").join("rapport.db");
    for dest in [live.clone(), roundabout] {
        let data_dir = dir.path().to_path_buf();
        let result = tokio::task::spawn_blocking(move || {
            rapport::cli::backup::run(&data_dir, &dest, &mut |_| {}).map(|r| r.bytes)
        })
        .await
        .unwrap();
        assert!(result.is_err(), "a backup over the live database was written ({result:?})");
    }

    // Whatever happened, what the server acknowledges from now on must survive a restart.
    for i in 2..=5 {
        admin.say(conversation, &i.to_string()).await.ok();
    }
    app.stop().await;
    let app = spawn_app_at(dir.path()).await;
    let admin = app.admin().await;
    let bodies: Vec<String> =
        all_messages(&admin, conversation).await.iter().map(|m| m["body"].as_str().unwrap().to_owned()).collect();
    assert_eq!(bodies, ["1", "2", "3", "4", "5"], "acknowledged messages were lost");
    app.stop().await;
}
