use super::*;

#[tokio::test]
async fn every_connection_is_durable_wal_with_foreign_keys() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let pragmas = |c: &Connection| -> Result<(i64, String, i64)> {
        Ok((
            c.query_row("PRAGMA synchronous", [], |r| r.get(0))?,
            c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?,
            c.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?,
        ))
    };
    let full = (2, "wal".to_owned(), 1);
    assert_eq!(store.write(move |c| pragmas(c)).await.unwrap(), full);
    assert_eq!(store.read(pragmas).await.unwrap(), full);
    store.close().await.unwrap();
}

#[tokio::test]
async fn the_write_ahead_log_is_copied_back_as_it_grows() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.write(|c| Ok(c.execute_batch("CREATE TABLE scratch (b BLOB)")?)).await.unwrap();
    // 400 commits of ten pages each: four times what makes a checkpoint due.
    for _ in 0..400 {
        store.write(|c| Ok(c.execute("INSERT INTO scratch VALUES (zeroblob(40000))", [])?)).await.unwrap();
    }
    let len = |suffix: &str| std::fs::metadata(dir.path().join(format!("rapport.db{suffix}"))).unwrap().len();
    let frame = 4096 + 24;
    assert!(len("-wal") <= 1100 * frame, "the log grew to {} bytes", len("-wal"));
    assert!(len("") >= 12_000_000, "the database file holds what was checkpointed: {} bytes", len(""));
    store.close().await.unwrap();
}

#[tokio::test]
async fn search_merges_its_index_when_the_writer_is_idle() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let segments = |c: &Connection| -> Result<i64> {
        Ok(c.query_row("SELECT count(DISTINCT segid) FROM messages_fts_idx", [], |r| r.get(0))?)
    };
    // Each commit writes a segment: left to FTS5's crisis merge, 300 commits leave 15.
    for n in 0..300 {
        let body = format!("a message numbered {n} about an order");
        store
            .write(move |c| Ok(c.execute("INSERT INTO messages_fts (rowid, body) VALUES (?1, ?2)", (n + 1, body))?))
            .await
            .unwrap();
    }
    // The writer merges once its queue has stayed empty a moment; the test waits for that, not for time.
    store.writer.settle().await;
    let left = store.read(segments).await.unwrap();
    assert!(left <= 6, "{left} segments left unmerged");
    let found: i64 = store
        .read(|c| {
            Ok(c.query_row("SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'order'", [], |r| r.get(0))?)
        })
        .await
        .unwrap();
    assert_eq!(found, 300);
    store.close().await.unwrap();
}

/// Messages enter the search index once per transaction (sql/0016): a batch of posts makes
/// one segment, not one a message, and a message deleted or edited in the transaction that
/// wrote it is indexed as it is at the commit, or not at all. FTS5's integrity check compares
/// the index with the messages themselves.
#[tokio::test]
async fn a_batch_of_messages_is_indexed_once_and_as_it_committed() {
    use super::conversations::{self, NewConversation, NewMessage};
    use crate::domain::{Channel, ConversationKind, Party};
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let new = NewConversation {
        project_id: None,
        item_id: None,
        kind: ConversationKind::Internal,
        subject: "Search".into(),
        customer_id: None,
        channel: Channel::Chat,
        page_url: None,
        creator: Party::Bot,
    };
    let id = store.write(move |c| conversations::insert(c, Viewer::SYSTEM, new, 1)).await.unwrap().id;
    let post = move |c: &Tx, body: &str| {
        let new = NewMessage { client_id: None, author: Party::Bot, body: body.into(), attachment_ids: vec![] };
        conversations::post(c, Viewer::SYSTEM, id, new, 2).map(|p| p.message.id)
    };
    let segments = |c: &Connection| -> Result<i64> {
        Ok(c.query_row("SELECT count(DISTINCT segid) FROM messages_fts_idx", [], |r| r.get(0))?)
    };
    let before = store.read(segments).await.unwrap();
    // One transaction: a hundred posts, one of them deleted and one edited before the commit.
    store
        .write(move |c| {
            let ids = (0..100).map(|n| post(c, &format!("parcel {n} arrived"))).collect::<Result<Vec<_>>>()?;
            c.execute("DELETE FROM messages WHERE id = ?1", [ids[0]])?;
            c.execute("UPDATE messages SET body = 'refund issued' WHERE id = ?1", [ids[1]])?;
            Ok(())
        })
        .await
        .unwrap();
    let after = store.read(segments).await.unwrap();
    assert!(after - before <= 1, "{} segments for one transaction", after - before);
    let count = |word: &'static str| {
        move |c: &Connection| -> Result<i64> {
            let sql = "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH ?1";
            Ok(c.query_row(sql, [word], |r| r.get(0))?)
        }
    };
    assert_eq!(store.read(count("parcel")).await.unwrap(), 98);
    assert_eq!(store.read(count("refund")).await.unwrap(), 1);
    // Edited and deleted again once indexed: the index follows.
    store
        .write(move |c| {
            c.execute("UPDATE messages SET body = 'parcel lost' WHERE body = 'refund issued'", [])?;
            c.execute("DELETE FROM messages WHERE body = 'parcel 2 arrived'", [])?;
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(store.read(count("refund")).await.unwrap(), 0);
    assert_eq!(store.read(count("parcel")).await.unwrap(), 98);
    store
        .write(|c| Ok(c.execute_batch("INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)")?))
        .await
        .unwrap();
    store.close().await.unwrap();
}

#[test]
fn a_database_from_a_newer_rapport_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let conn = Connection::open(db_path(dir.path())).unwrap();
    conn.lite().unwrap().pragma_update(None, "user_version", 9_999).unwrap();
    drop(conn);
    let err = Store::open(dir.path()).err().expect("refused");
    assert!(err.to_string().contains("newer than this binary"), "{err}");
    let conn = Connection::open(db_path(dir.path())).unwrap();
    let tables: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0)).unwrap();
    assert_eq!(tables, 0, "nothing was migrated");
}

/// A statement that runs until it is interrupted.
fn endless(c: &Connection) -> Result<i64> {
    let sql = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n";
    Ok(c.query_row(sql, [], |r| r.get(0))?)
}

/// Both heavy connections answer at once (each within its wait), so neither is still busy.
async fn heavy_connections_are_free(store: &Store) {
    let one = |c: &Connection| -> Result<i64> { Ok(c.query_row("SELECT 1", [], |r| r.get(0))?) };
    let (a, b) =
        tokio::join!(store.read_heavy(Duration::from_secs(5), one), store.read_heavy(Duration::from_secs(5), one));
    assert_eq!((a.unwrap(), b.unwrap()), (1, 1));
}

#[tokio::test]
async fn a_heavy_read_past_its_budget_is_stopped_and_gives_its_connection_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    for _ in 0..3 {
        let slow = store.read_heavy(Duration::from_millis(20), endless).await;
        assert!(matches!(slow, Err(StoreError::TooSlow)), "{slow:?}");
    }
    heavy_connections_are_free(&store).await;
}

/// `n` expensive reads that never end on their own, each running once this returns.
async fn endless_heavy_reads(store: &Store, n: u32) -> Vec<tokio::task::JoinHandle<Result<i64>>> {
    let mut reads = Vec::new();
    for _ in 0..n {
        let (started, running) = tokio::sync::oneshot::channel();
        let store = store.clone();
        reads.push(tokio::spawn(async move {
            store
                .read_heavy(Duration::from_secs(3600), move |c| {
                    let _ = started.send(());
                    endless(c)
                })
                .await
        }));
        running.await.unwrap();
    }
    reads
}

#[tokio::test]
async fn a_read_whose_caller_went_away_is_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    for task in endless_heavy_reads(&store, 2).await {
        task.abort();
    }
    heavy_connections_are_free(&store).await;
}

#[tokio::test]
async fn a_read_whose_caller_went_away_before_its_statement_began_is_stopped_too() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let (started, running) = tokio::sync::oneshot::channel();
    let (go, ready) = std::sync::mpsc::channel::<()>();
    let read = tokio::spawn({
        let store = store.clone();
        async move {
            store
                .read_heavy(Duration::from_secs(3600), move |c| {
                    let _ = started.send(());
                    let _ = ready.recv();
                    endless(c)
                })
                .await
        }
    });
    running.await.unwrap();
    read.abort();
    let _ = read.await;
    go.send(()).unwrap();
    heavy_connections_are_free(&store).await;
}

#[tokio::test]
async fn expensive_reads_never_take_the_cheap_reads_connections() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let busy = endless_heavy_reads(&store, HEAVY_READERS).await;
    // Another expensive read finds its budget taken and is told so; a cheap one is served.
    let third = store.read_heavy(Duration::from_secs(3600), endless).await;
    assert!(matches!(third, Err(StoreError::Busy)), "{third:?}");
    let cheap = store.read(|c| Ok(c.query_row("SELECT 2", [], |r| r.get::<_, i64>(0))?)).await;
    assert_eq!(cheap.unwrap(), 2);
    for task in busy {
        task.abort();
    }
    heavy_connections_are_free(&store).await;
}
