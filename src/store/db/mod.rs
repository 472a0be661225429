//! One face for the two databases the store runs on: SQLite (the default, one file) and
//! PostgreSQL. The store's modules write their SQL once, against this face, in the dialect both
//! understand: `?N` parameters, `RETURNING`, `ON CONFLICT`, `json_each(?N)` for a list. On
//! PostgreSQL each statement is translated once (`translate`) and kept prepared.
//!
//! Values and errors keep rusqlite's vocabulary (`ToSql`, `FromSql`, `rusqlite::Error`) so that
//! the domain's types convert in one place for both: PostgreSQL's values are read into
//! SQLite's five kinds, and its errors are told by the same codes (a unique violation is a
//! constraint violation, a cancelled statement an interrupt).

mod server;
mod tls;
mod translate;
mod values;

pub use server::{connect_pg, describe_pg, Location};
use server::{failure, pg_error};
pub use translate::translate;

use postgres::types::ToSql as PgToSql;
use rusqlite::types::{FromSql, FromSqlError, ToSql, ValueRef};
pub use rusqlite::{Error, Result};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use values::{read_pg, PgValue};

/// A connection to either database.
pub enum Connection {
    Lite(rusqlite::Connection),
    Pg(Pg),
}

/// A PostgreSQL connection with its prepared statements, by the SQL the store wrote.
pub struct Pg {
    client: RefCell<Option<postgres::Client>>,
    statements: RefCell<HashMap<String, postgres::Statement>>,
    in_tx: Cell<bool>,
}

/// Prepared statements kept per PostgreSQL connection; past this the cache starts over (the
/// visibility predicates make per-viewer SQL, so the set of texts is open).
const PG_STATEMENTS: usize = 512;

impl Pg {
    fn new(client: postgres::Client) -> Pg {
        Pg { client: RefCell::new(Some(client)), statements: RefCell::default(), in_tx: Cell::new(false) }
    }

    fn with<T>(&self, f: impl FnOnce(&mut postgres::Client) -> Result<T, postgres::Error>) -> Result<T> {
        let mut client = self.client.borrow_mut();
        f(client.as_mut().expect("a PostgreSQL connection is used after it was closed")).map_err(pg_error)
    }

    fn statement(&self, sql: &str, cache: bool) -> Result<postgres::Statement> {
        if let Some(stmt) = self.statements.borrow().get(sql) {
            return Ok(stmt.clone());
        }
        let translated = translate(sql);
        let stmt = self.with(|c| c.prepare(&translated)).map_err(|e| match e {
            Error::SqliteFailure(code, Some(message)) => Error::SqliteFailure(
                code,
                Some(format!("{message}, in: {}", translated.split_whitespace().collect::<Vec<_>>().join(" "))),
            ),
            other => other,
        })?;
        if cache {
            let mut statements = self.statements.borrow_mut();
            if statements.len() >= PG_STATEMENTS {
                statements.clear();
            }
            statements.insert(sql.to_owned(), stmt.clone());
        }
        Ok(stmt)
    }

    /// Runs `f` on the client with `params` as PostgreSQL takes them.
    fn with_params<T>(
        &self,
        params: &[&dyn ToSql],
        f: impl FnOnce(&mut postgres::Client, &[&(dyn PgToSql + Sync)]) -> Result<T, postgres::Error>,
    ) -> Result<T> {
        let outputs = params.iter().map(|p| p.to_sql()).collect::<Result<Vec<_>>>()?;
        let values = outputs.iter().map(PgValue::of).collect::<Result<Vec<_>>>()?;
        let refs: Vec<&(dyn PgToSql + Sync)> = values.iter().map(|v| v as &(dyn PgToSql + Sync)).collect();
        self.with(|c| f(c, &refs))
    }

    fn query(&self, stmt: &postgres::Statement, params: &[&dyn ToSql]) -> Result<Vec<postgres::Row>> {
        self.with_params(params, |c, p| c.query(stmt, p))
    }

    fn execute(&self, stmt: &postgres::Statement, params: &[&dyn ToSql]) -> Result<usize> {
        self.with_params(params, |c, p| c.execute(stmt, p)).map(|n| n as usize)
    }
}

impl Drop for Pg {
    /// The client owns a small runtime of its own, which may not be dropped on an async
    /// executor's thread: there, it is dropped on a thread of its own.
    fn drop(&mut self) {
        self.statements.get_mut().clear();
        if let Some(client) = self.client.get_mut().take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                let _ = std::thread::Builder::new().name("rapport-pg-close".into()).spawn(move || drop(client));
            } else {
                drop(client);
            }
        }
    }
}

impl Connection {
    /// A SQLite file, opened as rusqlite opens it (tests and tools that look at the file).
    pub fn open(path: impl AsRef<std::path::Path>) -> Result<Connection> {
        rusqlite::Connection::open(path).map(Connection::Lite)
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Connection::Pg(_))
    }

    /// The SQLite connection underneath, for what only SQLite has (its pragmas, hooks, backup).
    pub fn lite(&self) -> Option<&rusqlite::Connection> {
        match self {
            Connection::Lite(c) => Some(c),
            Connection::Pg(_) => None,
        }
    }

    pub fn execute<P: Params>(&self, sql: &str, params: P) -> Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }

    /// Runs statements without parameters, as written: only for SQL both databases read alike.
    pub fn execute_batch(&self, sql: &str) -> Result<()> {
        match self {
            Connection::Lite(c) => c.execute_batch(sql),
            Connection::Pg(pg) => pg.with(|c| c.batch_execute(sql)),
        }
    }

    pub fn query_row<T, P: Params, F: FnOnce(&Row<'_>) -> Result<T>>(&self, sql: &str, params: P, f: F) -> Result<T> {
        self.prepare_cached(sql)?.query_row(params, f)
    }

    pub fn prepare_cached(&self, sql: &str) -> Result<Statement<'_>> {
        match self {
            Connection::Lite(c) => c.prepare_cached(sql).map(Statement::LiteCached),
            Connection::Pg(pg) => Ok(Statement::Pg { pg, stmt: pg.statement(sql, true)? }),
        }
    }

    /// Like `prepare_cached`, for a statement run once.
    pub fn prepare(&self, sql: &str) -> Result<Statement<'_>> {
        match self {
            Connection::Lite(c) => c.prepare(sql).map(Statement::Lite),
            Connection::Pg(pg) => Ok(Statement::Pg { pg, stmt: pg.statement(sql, false)? }),
        }
    }

    /// Runs `f`'s reads in one snapshot of the database: what it reads is as of one moment.
    pub fn snapshot<T, E: From<Error>>(&self, f: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
        self.execute_batch(match self {
            Connection::Lite(_) => "BEGIN DEFERRED",
            Connection::Pg(_) => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        })?;
        let result = f();
        self.execute_batch(if result.is_ok() { "COMMIT" } else { "ROLLBACK" })?;
        result
    }

    /// Starts a transaction that takes the write lock at once (SQLite's `BEGIN IMMEDIATE`).
    pub fn begin(&self) -> Result<()> {
        match self {
            Connection::Lite(c) => c.execute_batch("BEGIN IMMEDIATE"),
            Connection::Pg(pg) => {
                pg.with(|c| c.batch_execute("BEGIN"))?;
                pg.in_tx.set(true);
                Ok(())
            }
        }
    }

    pub fn commit(&self) -> Result<()> {
        match self {
            Connection::Lite(c) => c.execute_batch("COMMIT"),
            Connection::Pg(pg) => {
                let done = pg.with(|c| c.batch_execute("COMMIT"));
                pg.in_tx.set(false);
                done
            }
        }
    }

    pub fn rollback(&self) -> Result<()> {
        match self {
            Connection::Lite(c) => c.execute_batch("ROLLBACK"),
            Connection::Pg(pg) => {
                let done = pg.with(|c| c.batch_execute("ROLLBACK"));
                pg.in_tx.set(false);
                done
            }
        }
    }

    /// Whether a transaction is open: SQLite ends one by itself when a statement fails on a
    /// full disk or an I/O error.
    pub fn in_transaction(&self) -> bool {
        match self {
            Connection::Lite(c) => !c.is_autocommit(),
            Connection::Pg(pg) => pg.in_tx.get(),
        }
    }

    /// Whether the connection still works, for the pools.
    fn is_broken(&self) -> bool {
        match self {
            Connection::Lite(_) => false,
            Connection::Pg(pg) => pg.client.borrow().as_ref().is_none_or(|c| c.is_closed()),
        }
    }
}

/// A prepared statement of either database.
pub enum Statement<'c> {
    Lite(rusqlite::Statement<'c>),
    LiteCached(rusqlite::CachedStatement<'c>),
    Pg { pg: &'c Pg, stmt: postgres::Statement },
}

impl<'c> Statement<'c> {
    fn lite(&mut self) -> Option<&mut rusqlite::Statement<'c>> {
        match self {
            Statement::Lite(s) => Some(s),
            Statement::LiteCached(s) => Some(s),
            Statement::Pg { .. } => None,
        }
    }

    pub fn execute<P: Params>(&mut self, params: P) -> Result<usize> {
        params.with(|values| match self {
            Statement::Pg { pg, stmt } => pg.execute(stmt, values),
            lite => lite.lite().expect("a SQLite statement").execute(values),
        })
    }

    pub fn query_row<T, P: Params, F: FnOnce(&Row<'_>) -> Result<T>>(&mut self, params: P, f: F) -> Result<T> {
        params.with(|values| match self {
            Statement::Pg { pg, stmt } => {
                let rows = pg.query(stmt, values)?;
                let row = rows.first().ok_or(Error::QueryReturnedNoRows)?;
                f(&Row::Pg(row))
            }
            lite => lite.lite().expect("a SQLite statement").query_row(values, |r| f(&Row::Lite(r))),
        })
    }

    /// The rows `params` select, each made a `T` by `f`.
    pub fn query_map<'s, T: 's, P: Params, F: FnMut(&Row<'_>) -> Result<T> + 's>(
        &'s mut self,
        params: P,
        mut f: F,
    ) -> Result<MappedRows<'s, T>> {
        params.with(|values| match self {
            Statement::Pg { pg, stmt } => {
                let rows = pg.query(stmt, values)?;
                let mapped: Vec<Result<T>> = rows.iter().map(|r| f(&Row::Pg(r))).collect();
                Ok(MappedRows(Box::new(mapped.into_iter())))
            }
            lite => {
                let rows = lite.lite().expect("a SQLite statement").query_map(values, move |r| f(&Row::Lite(r)))?;
                Ok(MappedRows(Box::new(rows)))
            }
        })
    }

    /// The rows `params` select, to step through.
    pub fn query<P: Params>(&mut self, params: P) -> Result<Rows<'_>> {
        params.with(|values| match self {
            Statement::Pg { pg, stmt } => Ok(Rows::Pg(pg.query(stmt, values)?.into_iter(), None)),
            lite => Ok(Rows::Lite(lite.lite().expect("a SQLite statement").query(values)?)),
        })
    }

    pub fn exists<P: Params>(&mut self, params: P) -> Result<bool> {
        let mut rows = self.query(params)?;
        Ok(rows.next()?.is_some())
    }
}

/// What `query_map` gives: each row as the caller made it.
pub struct MappedRows<'s, T>(Box<dyn Iterator<Item = Result<T>> + 's>);

impl<T> Iterator for MappedRows<'_, T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        self.0.next()
    }
}

/// What `query` gives: rows to step through with `next`.
pub enum Rows<'s> {
    Lite(rusqlite::Rows<'s>),
    Pg(std::vec::IntoIter<postgres::Row>, Option<postgres::Row>),
}

impl Rows<'_> {
    /// The next row, as rusqlite's `Rows::next` (a lending iterator, so not `Iterator`).
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<Row<'_>>> {
        match self {
            Rows::Lite(rows) => Ok(rows.next()?.map(Row::Lite)),
            Rows::Pg(rows, current) => {
                *current = rows.next();
                Ok(current.as_ref().map(Row::Pg))
            }
        }
    }
}

/// One row of a result, read by column index into any type rusqlite reads.
pub enum Row<'r> {
    Lite(&'r rusqlite::Row<'r>),
    Pg(&'r postgres::Row),
}

/// A column's index, as rusqlite's `Row::get` takes it.
pub trait RowIndex {
    fn index(self) -> usize;
}

impl RowIndex for usize {
    fn index(self) -> usize {
        self
    }
}

impl Row<'_> {
    pub fn get<I: RowIndex, T: FromSql>(&self, idx: I) -> Result<T> {
        let idx = idx.index();
        match self {
            Row::Lite(r) => r.get(idx),
            Row::Pg(r) => {
                let value = read_pg(r, idx)?;
                T::column_result(ValueRef::from(&value)).map_err(|e| match e {
                    FromSqlError::InvalidType => {
                        Error::InvalidColumnType(idx, r.columns()[idx].name().to_owned(), value.data_type())
                    }
                    FromSqlError::OutOfRange(i) => Error::IntegralValueOutOfRange(idx, i),
                    other => Error::FromSqlConversionFailure(idx, value.data_type(), Box::new(other)),
                })
            }
        }
    }
}

/// Parameters, as rusqlite takes them: `params![...]`, `[a, b]`, `[]`.
pub trait Params {
    fn with<R>(self, f: impl FnOnce(&[&dyn ToSql]) -> R) -> R;
}

impl Params for [&(dyn ToSql + Send + Sync); 0] {
    fn with<R>(self, f: impl FnOnce(&[&dyn ToSql]) -> R) -> R {
        f(&[])
    }
}

impl Params for &[&dyn ToSql] {
    fn with<R>(self, f: impl FnOnce(&[&dyn ToSql]) -> R) -> R {
        f(self)
    }
}

macro_rules! array_params {
    ($($n:literal)+) => {$(
        impl<T: ToSql> Params for [T; $n] {
            fn with<R>(self, f: impl FnOnce(&[&dyn ToSql]) -> R) -> R {
                f(&self.each_ref().map(|v| v as &dyn ToSql))
            }
        }
    )+};
}

array_params!(1 2 3 4 5 6 7 8);

impl<A: ToSql, B: ToSql> Params for (A, B) {
    fn with<R>(self, f: impl FnOnce(&[&dyn ToSql]) -> R) -> R {
        f(&[&self.0, &self.1])
    }
}

/// Makes the connections of a pool, for either database.
pub struct Manager {
    pub location: Location,
    pub read_only: bool,
}

impl r2d2::ManageConnection for Manager {
    type Connection = Connection;
    type Error = Error;

    fn connect(&self) -> Result<Connection> {
        match &self.location {
            Location::Sqlite(path) => {
                let conn = rusqlite::Connection::open(path)?;
                super::configure(&conn)?;
                if self.read_only {
                    conn.execute_batch("PRAGMA query_only = ON;")?;
                }
                Ok(Connection::Lite(conn))
            }
            Location::Postgres(config) => {
                connect_pg(config, self.read_only).map_err(|e| failure(rusqlite::ffi::SQLITE_CANTOPEN, e))
            }
        }
    }

    fn is_valid(&self, conn: &mut Connection) -> Result<()> {
        conn.execute_batch("SELECT 1")
    }

    fn has_broken(&self, conn: &mut Connection) -> bool {
        conn.is_broken()
    }
}
