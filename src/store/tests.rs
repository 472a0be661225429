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
    // The writer merges whenever its queue is empty; the test waits for that, not for time.
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

#[test]
fn a_database_from_a_newer_rapport_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let conn = Connection::open(db_path(dir.path())).unwrap();
    conn.pragma_update(None, "user_version", 9_999).unwrap();
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
