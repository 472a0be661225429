//! The store owns every line of SQL. Writes go through one writer thread that group-commits;
//! reads go through pools of read-only connections: one for the cheap reads every screen makes,
//! one for the expensive ones (search, exports), so that neither can starve the other. Nothing
//! here blocks the async executor.

mod access;
mod api;
pub mod attachments;
pub mod contacts;
pub mod conversations;
pub mod copy;
pub mod counts;
pub mod customer_view;
pub mod customers;
pub mod db;
mod events;
pub mod forms;
pub mod inbound;
pub mod items;
mod live;
mod messages;
mod migrate;
pub mod notify;
pub mod outbox;
mod participants;
pub mod people;
pub mod portal;
pub mod privacy;
pub mod projects;
pub mod rules;
pub mod search;
pub mod settings;
pub mod stats;
pub mod users;
mod words;
mod writer;
pub use writer::WriteStats;
pub use writer::MAX_BATCH as MAX_WRITE_BATCH;
pub use writer::{MailBell, Tx};

/// Times are the domain's milliseconds since the epoch, stored in every `*_at` column.
pub use crate::domain::Millis;
pub use access::{standing, Acting, AgentScope, Credential, Principal, Standing, Viewer};
pub use api::{Conversations, Customers, Due, Items, Live, Mail, Rules, Settings, Signing, Told, Users, Vouched};
pub use events::{Event, RightsChange};
pub use live::{EmailReply, EmailTicket, Started};
pub use migrate::{POSTGRES_SCHEMA_VERSION, SCHEMA_VERSION};

use db::Connection;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub type Pool = r2d2::Pool<db::Manager>;
pub use db::Location;

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
    /// The database server could not be reached or refused the connection; where and why.
    #[error("cannot connect to the PostgreSQL server of database_url ({0})")]
    Unreachable(String),
    /// A long-lived connection's principal may no longer act: signed out, revoked, deactivated,
    /// erased, or merged into another customer.
    #[error("access revoked")]
    Revoked,
    /// The disk (or the file system holding the data dir) is full: nothing was written.
    #[error("the disk is full")]
    Full,
    #[error("sqlite: {0}")]
    Sqlite(rusqlite::Error),
    /// Every connection of a read budget stayed busy for as long as a caller may wait.
    #[error("the server is busy")]
    Busy,
    /// An expensive read ran out of its time budget and was stopped.
    #[error("the query took too long")]
    TooSlow,
    #[error("{0}")]
    Internal(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl StoreError {
    /// What a conflict's stable code means, in a sentence people are shown (by the API and the
    /// sockets alike); a code not named here gets the general one.
    pub fn conflict_sentence(code: &str) -> &'static str {
        match code {
            "email_taken" => "a user with this email already exists",
            "customer_email_taken" => "a customer with this email already exists",
            "project_name_taken" => "a project with this name already exists",
            "last_admin" => "the last active admin cannot be demoted or deactivated",
            "client_id_conflict" => "this client_id was already used by someone else in this conversation",
            "conversation_has_item" => "this conversation already belongs to an item",
            _ => "the request conflicts with the current state",
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DiskFull) => StoreError::Full,
            Some(rusqlite::ErrorCode::OperationInterrupted) => StoreError::TooSlow,
            _ => StoreError::Sqlite(e),
        }
    }
}

/// Key of the PostgreSQL advisory lock that a serving Rapport holds shared (on its writer's
/// connection) and that `rapport store copy` asks for exclusively: no copy of a database in use.
pub(crate) const RUNNING: i64 = 0x0072_6170_7275_6e73;

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

/// Every SQLite connection gets these, the writer's and the readers'.
pub(crate) fn configure(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_secs(10))?;
    // Visibility predicates make per-viewer SQL: keep many prepared statements.
    conn.set_prepared_statement_cache_capacity(256);
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;",
    )
}

/// Connections for the reads every screen makes (lists, a conversation, counts, sign-in checks)
/// and how long one waits for a free one before the request is answered 503.
const CHEAP_READERS: u32 = 6;
const CHEAP_WAIT: Duration = Duration::from_secs(3);
/// Connections for expensive reads (search, exports): a few, so that however many run, the cheap
/// reads keep theirs.
const HEAVY_READERS: u32 = 2;
const HEAVY_WAIT: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct Store {
    writer: writer::Writer,
    cheap: Pool,
    heavy: Pool,
    location: Arc<Location>,
}

/// A read in flight on a connection of its own. Dropped before the read is over (its request
/// went away, or its time ran out), it stops the statement: the connection goes back to its
/// pool instead of running on for nobody. A flag that SQLite's progress handler reads, not
/// `sqlite3_interrupt`: an interrupt that comes before the statement starts is lost, the flag
/// is not.
struct Running(Arc<AtomicBool>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// How many SQLite virtual-machine steps run between two looks at a read's flag (microseconds).
const PROGRESS_STEPS: std::ffi::c_int = 1000;

/// Held by the blocking side while it uses the connection: the flag's handler is removed before
/// the connection returns to its pool, so it never stops another request's read.
struct Lent<'a>(&'a rusqlite::Connection);

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        let _ = self.0.progress_handler(0, None::<fn() -> bool>);
    }
}

impl Store {
    /// Opens (creating if needed) the SQLite database in `data_dir`, applies migrations and
    /// starts the writer thread.
    pub fn open(data_dir: &Path) -> Result<Store> {
        Store::open_at(&Location::Sqlite(db_path(data_dir)), None, None)
    }

    /// Opens the database at `location` (creating a SQLite file if needed), applies migrations
    /// and starts the writer thread. Committed changes are announced on `events`, and `mail` is
    /// rung when a commit queued email to send at once.
    pub fn open_at(
        location: &Location,
        events: Option<tokio::sync::mpsc::Sender<Event>>,
        mail: Option<MailBell>,
    ) -> Result<Store> {
        let conn = match location {
            Location::Sqlite(path) => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| StoreError::Internal(format!("cannot create {}: {e}", dir.display())))?;
                }
                let mut conn = Connection::Lite(rusqlite::Connection::open(path)?);
                configure(conn.lite().expect("SQLite"))?;
                migrate::run(&mut conn)?;
                // Statistics for the planner, for the tables that need them, with a bounded effort.
                conn.execute_batch("PRAGMA analysis_limit = 1000; PRAGMA optimize = 0x10002;")?;
                conn
            }
            Location::Postgres(config) => {
                let mut conn =
                    db::connect_pg(config, false).map_err(|e| StoreError::Unreachable(format!("{location}: {e}")))?;
                migrate::run(&mut conn)?;
                conn.execute_batch(&format!("SELECT pg_advisory_lock_shared({RUNNING})"))?;
                conn
            }
        };
        let readers = |size, wait| {
            r2d2::Pool::builder()
                .max_size(size)
                .min_idle(Some(1))
                .connection_timeout(wait)
                // A check on every checkout costs PostgreSQL a round trip; a broken connection
                // is noticed by `has_broken` instead (and SQLite's never break).
                .test_on_check_out(false)
                .build(db::Manager { location: location.clone(), read_only: true })
                .map_err(|e| StoreError::Internal(format!("cannot open read connections: {e}")))
        };
        let cheap = readers(CHEAP_READERS, CHEAP_WAIT)?;
        let heavy = readers(HEAVY_READERS, HEAVY_WAIT)?;
        Ok(Store {
            writer: writer::Writer::start(conn, events, mail, search::merge_step),
            cheap,
            heavy,
            location: Arc::new(location.clone()),
        })
    }

    /// Where the data lives.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// Commits at most `n` writes together (group commit); 1 commits each on its own.
    pub fn limit_write_batch(&self, n: usize) {
        self.writer.limit_batch(n);
    }

    pub fn write_stats(&self) -> &WriteStats {
        self.writer.stats()
    }

    /// Writes waiting for the writer thread.
    pub fn write_queue(&self) -> usize {
        self.writer.queued()
    }

    /// Runs `f` in the writer's transaction on the database itself, for tools that load or
    /// inspect it (the benchmark's seeder, tests that arrange what no API makes), never for the
    /// program's own paths: those use the aggregates (`store.users()`, ...).
    /// `tests/api/layers.rs` holds this.
    #[doc(hidden)]
    pub async fn raw_write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Tx) -> Result<T> + Send + 'static,
    {
        self.write(f).await
    }

    /// Like `raw_write`, on a read connection.
    #[doc(hidden)]
    pub async fn raw_read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        self.read(f).await
    }

    /// Runs `f` inside the writer's current transaction. Resolves only after the transaction
    /// that holds `f`'s changes has committed; if `f` fails, its changes alone are rolled back.
    async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Tx) -> Result<T> + Send + 'static,
    {
        self.writer.write(f, |_| Vec::new()).await
    }

    /// Like `write`, and once committed, announces the events `announce` derives from the
    /// result, in commit order.
    async fn write_announcing<T, F, A>(&self, f: F, announce: A) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Tx) -> Result<T> + Send + 'static,
        A: FnOnce(&T) -> Vec<Event> + Send + 'static,
    {
        self.writer.write(f, announce).await
    }

    /// Runs `f` on a read-only connection of the cheap budget, off the async executor. `Busy`
    /// when none frees up in time.
    async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        Store::read_on(self.cheap.clone(), None, f).await
    }

    /// Runs an expensive read (search, an export) on the heavy budget's connections, for at
    /// most `budget`: then, or as soon as the caller stops waiting (its request went away), the
    /// statement is interrupted. `TooSlow` when the budget ran out, `Busy` when no connection
    /// freed up in time.
    async fn read_heavy<T, F>(&self, budget: Duration, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        match tokio::time::timeout(budget, Store::read_on(self.heavy.clone(), Some(budget), f)).await {
            Ok(result) => result,
            Err(_) => Err(StoreError::TooSlow),
        }
    }

    /// Runs `f` on a connection of `pool`; on PostgreSQL, the server stops a statement that
    /// outlives `budget`.
    async fn read_on<T, F>(pool: Pool, budget: Option<Duration>, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let gone = Arc::new(AtomicBool::new(false));
        let running = Running(gone.clone());
        let task = tokio::task::spawn_blocking(move || {
            let conn = pool.get().map_err(|_| StoreError::Busy)?;
            match conn.lite() {
                Some(lite) => {
                    lite.progress_handler(PROGRESS_STEPS, Some(move || gone.load(Ordering::Relaxed)))?;
                    let _lent = Lent(lite);
                    f(&conn)
                }
                None if gone.load(Ordering::Relaxed) => Err(StoreError::TooSlow),
                None => match budget {
                    Some(budget) => {
                        conn.execute_batch(&format!("SET statement_timeout = {}", budget.as_millis().max(1)))?;
                        let result = f(&conn);
                        conn.execute_batch("SET statement_timeout = 0")?;
                        result
                    }
                    None => f(&conn),
                },
            }
        });
        let result = task.await.map_err(|e| StoreError::Internal(format!("read task failed: {e}")))?;
        drop(running);
        result
    }

    /// The size of a PostgreSQL database, as the server counts it.
    pub async fn database_bytes(&self) -> Result<u64> {
        let bytes: i64 =
            self.read(|c| Ok(c.query_row("SELECT pg_database_size(current_database())", [], |r| r.get(0))?)).await?;
        Ok(bytes.max(0) as u64)
    }

    /// Answers once a read connection does: the database is there and readable.
    pub async fn ping(&self) -> Result<()> {
        self.read(|c| Ok(c.query_row("SELECT 1", [], |_| Ok(()))?)).await
    }

    /// Refreshes the query planner's statistics where the data changed enough to need it.
    pub async fn optimize(&self) -> Result<()> {
        self.write(|c| Ok(c.execute_batch(if c.is_postgres() { "ANALYZE" } else { "PRAGMA optimize;" })?)).await
    }

    /// The number one query gives (a count, an id), read as any read is: for the tests that
    /// check what was, or was not, written, whichever database is underneath. Not for the product.
    #[doc(hidden)]
    pub async fn probe(&self, sql: String) -> Result<Option<i64>> {
        self.read(move |c| Ok(c.query_row(&sql, [], |r| r.get(0))?)).await
    }

    /// Stops the writer after the work already queued; on SQLite, checkpoints the WAL into the
    /// main file and truncates it, so that after a clean stop the `.db` file alone is the whole
    /// state.
    pub async fn close(&self) -> Result<()> {
        self.writer.close().await
    }
}

/// What a read finds, or `None` when the row is not there (or not there for the viewer).
fn found<T>(read: Result<T>) -> Result<Option<T>> {
    match read {
        Ok(value) => Ok(Some(value)),
        Err(StoreError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A JSON array of `values`, for `IN (SELECT value FROM json_each(?))`.
fn json_list<T: serde::Serialize>(values: &[T]) -> String {
    serde_json::to_string(values).unwrap_or_else(|_| "[]".into())
}

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
mod tests;
