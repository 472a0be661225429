//! The store owns every line of SQL. Writes go through one writer thread that group-commits;
//! reads go through a pool of read-only connections. Nothing here blocks the async executor.

mod access;
pub mod attachments;
pub mod automations;
pub mod contacts;
pub mod conversations;
pub mod customer_view;
pub mod customers;
mod events;
pub mod forms;
pub mod inbound;
pub mod items;
mod live;
mod messages;
mod migrate;
pub mod notify;
pub mod people;
pub mod portal;
pub mod privacy;
pub mod projects;
pub mod search;
pub mod settings;
pub mod stats;
pub mod users;
mod writer;
pub(crate) use writer::raise;
pub use writer::WriteStats;

pub use access::{standing, Acting, AgentScope, Credential, Principal, Standing, Viewer};
pub use events::{Event, RightsChange};
pub use live::{EmailReply, EmailTicket, Started};
pub use migrate::SCHEMA_VERSION;

use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub type Pool = r2d2::Pool<r2d2_sqlite::SqliteConnectionManager>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The thing does not exist or the caller may not see it; the code names the thing.
    #[error("{0}")]
    NotFound(&'static str),
    /// A rule of the data was broken; the code is stable and shown to clients.
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// Input that cannot be stored as it is (a rule that makes no sense, ...).
    #[error("{0}")]
    Invalid(#[from] crate::domain::Invalid),
    #[error("database is newer than this binary (schema {found}, this binary knows {known})")]
    TooNew { found: i64, known: i64 },
    #[error("the store is shut down")]
    Closed,
    /// A long-lived connection's principal may no longer act: signed out, revoked, deactivated,
    /// erased, or merged into another customer.
    #[error("access revoked")]
    Revoked,
    /// The disk (or the file system holding the data dir) is full: nothing was written.
    #[error("the disk is full")]
    Full,
    #[error("sqlite: {0}")]
    Sqlite(rusqlite::Error),
    #[error("pool: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("{0}")]
    Internal(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DiskFull) => StoreError::Full,
            _ => StoreError::Sqlite(e),
        }
    }
}

/// The database file inside a data dir.
pub fn db_path(data_dir: &Path) -> PathBuf {
    data_dir.join("rapport.db")
}

/// Holds the data dir for one serving process: `rapport restore` refuses while it is held. Admin
/// commands and backups do not take it; they work beside a running server.
pub fn lock_data_dir(data_dir: &Path) -> std::io::Result<Option<std::fs::File>> {
    std::fs::create_dir_all(data_dir)?;
    let file =
        std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(data_dir.join("rapport.lock"))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}

/// Every connection gets these, the writer's and the readers'.
fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_secs(10))?;
    // Visibility predicates make per-viewer SQL: keep many prepared statements.
    conn.set_prepared_statement_cache_capacity(256);
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;",
    )
}

#[derive(Clone)]
pub struct Store {
    writer: writer::Writer,
    pool: Pool,
    path: Arc<PathBuf>,
}

impl Store {
    /// Opens (creating if needed) the database in `data_dir`, applies migrations and starts
    /// the writer thread. Committed changes are announced on `events`, if given.
    pub fn open(data_dir: &Path) -> Result<Store> {
        Store::open_with_events(data_dir, None)
    }

    pub fn open_with_events(data_dir: &Path, events: Option<tokio::sync::mpsc::Sender<Event>>) -> Result<Store> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| StoreError::Internal(format!("cannot create {}: {e}", data_dir.display())))?;
        let path = db_path(data_dir);
        let mut conn = Connection::open(&path)?;
        configure(&conn)?;
        migrate::run(&mut conn)?;
        let manager = r2d2_sqlite::SqliteConnectionManager::file(&path).with_init(|c| {
            configure(c)?;
            c.execute_batch("PRAGMA query_only = ON;")
        });
        let pool = r2d2::Pool::builder().max_size(8).connection_timeout(Duration::from_secs(10)).build(manager)?;
        Ok(Store { writer: writer::Writer::start(conn, events), pool, path: Arc::new(path) })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn write_stats(&self) -> &WriteStats {
        self.writer.stats()
    }

    /// Writes waiting for the writer thread.
    pub fn write_queue(&self) -> usize {
        self.writer.queued()
    }

    /// Runs `f` inside the writer's current transaction. Resolves only after the transaction
    /// that holds `f`'s changes has committed; if `f` fails, its changes alone are rolled back.
    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        self.writer.write(f, |_| Vec::new()).await
    }

    /// Like `write`, and once committed, announces the events `announce` derives from the
    /// result, in commit order.
    pub async fn write_announcing<T, F, A>(&self, f: F, announce: A) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
        A: FnOnce(&T) -> Vec<Event> + Send + 'static,
    {
        self.writer.write(f, announce).await
    }

    /// Runs `f` on a pooled read-only connection, off the async executor.
    pub async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let conn = pool.get()?;
            f(&conn)
        })
        .await
        .map_err(|e| StoreError::Internal(format!("read task failed: {e}")))?
    }

    /// Stops the writer after the work already queued, checkpoints the WAL into the main file
    /// and truncates it, so that after a clean stop the `.db` file alone is the whole state.
    pub async fn close(&self) -> Result<()> {
        self.writer.close().await
    }
}

/// Milliseconds since the epoch as stored in every `*_at` column.
pub type Millis = i64;

/// SQL for the id a new row of `$table` gets: above every row there is and every one ever
/// deleted (`retired_ids`, kept by triggers), so an id is never handed out twice.
macro_rules! next_id {
    ($table:literal) => {
        concat!(
            "(SELECT max(coalesce((SELECT max(id) FROM ",
            $table,
            "), 0), coalesce((SELECT id FROM retired_ids WHERE tbl = '",
            $table,
            "'), 0)) + 1)"
        )
    };
}
pub(crate) use next_id;

pub(crate) fn is_constraint(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation)
}

/// One page of a keyset-paginated list: `more` says whether another page follows the last row.
#[derive(Debug)]
pub struct Page<T> {
    pub rows: Vec<T>,
    pub more: bool,
}

impl<T> Page<T> {
    /// Builds a page from a query that fetched `limit + 1` rows.
    fn from_overfetch(mut rows: Vec<T>, limit: usize) -> Page<T> {
        let more = rows.len() > limit;
        rows.truncate(limit);
        Page { rows, more }
    }
}

#[cfg(test)]
mod tests {
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
        assert_eq!(store.write(pragmas).await.unwrap(), full);
        assert_eq!(store.read(pragmas).await.unwrap(), full);
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
}
