//! One face for the two databases the store runs on: SQLite (the default, one file) and
//! PostgreSQL. The store's modules write their SQL once, against this face, in the dialect both
//! understand: `?N` parameters, `RETURNING`, `ON CONFLICT`, `json_each(?N)` for a list. On
//! PostgreSQL each statement is translated once (`translate`) and kept prepared.
//!
//! Values and errors keep rusqlite's vocabulary (`ToSql`, `FromSql`, `rusqlite::Error`) so that
//! the domain's types convert in one place for both: PostgreSQL's values are read into
//! SQLite's five kinds, and its errors are told by the same codes (a unique violation is a
//! constraint violation, a cancelled statement an interrupt).

use postgres::types::{FromSql as PgFromSql, IsNull, ToSql as PgToSql, Type};
use rusqlite::types::{FromSql, FromSqlError, ToSql, ToSqlOutput, Value, ValueRef};
pub use rusqlite::{Error, Result};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::path::PathBuf;

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

/// Which database, and how to reach it.
#[derive(Clone, Debug)]
pub enum Location {
    Sqlite(PathBuf),
    Postgres(Box<postgres::Config>),
}

impl Location {
    pub fn is_postgres(&self) -> bool {
        matches!(self, Location::Postgres(_))
    }

    /// A PostgreSQL server, by its URL (`postgres://user:pass@host:port/db?sslmode=require`);
    /// why the URL is not one, for people.
    pub fn postgres(url: &str) -> Result<Location, String> {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err("must be a PostgreSQL URL such as postgres://user:password@host/database".into());
        }
        let mut config: postgres::Config = url.parse().map_err(|e| format!("is not a valid PostgreSQL URL: {e}"))?;
        if config.get_dbname().is_none() {
            return Err("names no database (postgres://user:password@host/DATABASE)".into());
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(std::time::Duration::from_secs(10));
        }
        Ok(Location::Postgres(Box::new(config)))
    }
}

/// For people and logs: the file, or the server and database without the password.
impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Sqlite(path) => write!(f, "{}", path.display()),
            Location::Postgres(config) => {
                let host = match config.get_hosts().first() {
                    Some(postgres::config::Host::Tcp(name)) => name.clone(),
                    Some(postgres::config::Host::Unix(path)) => path.display().to_string(),
                    None => "localhost".into(),
                };
                let port = config.get_ports().first().copied().unwrap_or(5432);
                let user = config.get_user().unwrap_or_default();
                let db = config.get_dbname().unwrap_or_default();
                write!(f, "postgres://{user}@{host}:{port}/{db}")
            }
        }
    }
}

/// Opens a PostgreSQL connection, on a thread of its own: the client's runtime may not start
/// on an async executor's thread. A `read_only` connection refuses to write.
///
/// The URL's `sslmode` says whether the connection is encrypted, as libpq reads it: `disable`
/// never, `prefer` (the default) when the server offers TLS, `require` always or not at all.
/// A unix socket is never encrypted, whatever the mode (libpq does not ask for TLS there).
pub fn connect_pg(config: &postgres::Config, read_only: bool) -> Result<Connection, String> {
    let mut config = config.clone();
    if pg_unix_socket_only(&config) {
        config.ssl_mode(postgres::config::SslMode::Disable);
    }
    let tls = pg_tls::connector()?;
    let connected = std::thread::scope(|s| s.spawn(move || config.connect(tls)).join())
        .map_err(|_| "the connecting thread panicked".to_string())?;
    let mut client = connected.map_err(|e| describe_pg(&e))?;
    client
        .batch_execute("SET synchronous_commit = on; SET client_min_messages = warning; SET TIME ZONE 'UTC'")
        .map_err(|e| describe_pg(&e))?;
    if read_only {
        client.batch_execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY").map_err(|e| describe_pg(&e))?;
    }
    Ok(Connection::Pg(Pg::new(client)))
}

/// Whether every server the configuration names is reached by a unix socket, where TLS does
/// not apply.
fn pg_unix_socket_only(config: &postgres::Config) -> bool {
    let hosts = config.get_hosts();
    !hosts.is_empty()
        && config.get_hostaddrs().is_empty()
        && hosts.iter().all(|host| matches!(host, postgres::config::Host::Unix(_)))
}

/// TLS for PostgreSQL connections: rustls with the ring provider.
mod pg_tls {
    use std::sync::{Arc, LazyLock};
    use tokio_postgres_rustls::MakeRustlsConnect;
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use tokio_rustls::rustls::crypto::WebPkiSupportedAlgorithms;
    use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use tokio_rustls::rustls::{DigitallySignedStruct, SignatureScheme};

    static CONNECTOR: LazyLock<Result<MakeRustlsConnect, String>> = LazyLock::new(|| {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = Arc::new(AnyCertificate { algorithms: provider.signature_verification_algorithms });
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS setup failed: {e}"))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        // What libpq sends and PostgreSQL 17 checks when a client sends one; older servers ignore it.
        config.alpn_protocols = vec![b"postgresql".to_vec()];
        Ok(MakeRustlsConnect::new(config))
    });

    /// The connector of every PostgreSQL connection, made once.
    pub(super) fn connector() -> Result<MakeRustlsConnect, String> {
        CONNECTOR.clone()
    }

    /// Takes the server's certificate as it comes, as libpq does for `sslmode=prefer` and
    /// `require`: those modes encrypt the connection without checking who is at the other end
    /// (libpq checks the certificate only for `verify-ca` and `verify-full`, which the URL cannot
    /// ask for here). The handshake's signatures are still checked, with the ring provider's
    /// algorithms, so the server does hold the key of the certificate it sent.
    #[derive(Debug)]
    struct AnyCertificate {
        algorithms: WebPkiSupportedAlgorithms,
    }

    impl ServerCertVerifier for AnyCertificate {
        fn verify_server_cert(
            &self,
            _end_entity: &CertificateDer<'_>,
            _intermediates: &[CertificateDer<'_>],
            _server_name: &ServerName<'_>,
            _ocsp_response: &[u8],
            _now: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.algorithms.supported_schemes()
        }
    }
}

/// A PostgreSQL error as a sentence: the server's own message when it sent one.
pub fn describe_pg(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                text = format!("{text}: {s}");
                source = s.source();
            }
            text
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

fn failure(code: std::ffi::c_int, message: String) -> Error {
    Error::SqliteFailure(rusqlite::ffi::Error::new(code), Some(message))
}

/// A PostgreSQL error told by the SQLite code that means the same, so that the store treats
/// both alike (a unique violation is a constraint violation, ...).
fn pg_error(e: postgres::Error) -> Error {
    use postgres::error::SqlState;
    use rusqlite::ffi;
    let code = match e.code() {
        Some(s) if *s == SqlState::UNIQUE_VIOLATION => ffi::SQLITE_CONSTRAINT_UNIQUE,
        Some(s) if *s == SqlState::FOREIGN_KEY_VIOLATION => ffi::SQLITE_CONSTRAINT_FOREIGNKEY,
        Some(s) if *s == SqlState::NOT_NULL_VIOLATION => ffi::SQLITE_CONSTRAINT_NOTNULL,
        Some(s) if *s == SqlState::CHECK_VIOLATION => ffi::SQLITE_CONSTRAINT_CHECK,
        Some(s) if *s == SqlState::RAISE_EXCEPTION => ffi::SQLITE_CONSTRAINT_TRIGGER,
        Some(s) if *s == SqlState::QUERY_CANCELED => ffi::SQLITE_INTERRUPT,
        Some(s) if *s == SqlState::DISK_FULL => ffi::SQLITE_FULL,
        Some(s) if *s == SqlState::T_R_SERIALIZATION_FAILURE || *s == SqlState::T_R_DEADLOCK_DETECTED => {
            ffi::SQLITE_BUSY
        }
        _ if e.is_closed() => ffi::SQLITE_IOERR,
        _ => ffi::SQLITE_ERROR,
    };
    failure(code, format!("postgres: {}", describe_pg(&e)))
}

/// A parameter on its way to PostgreSQL: encoded as the type the server expects there, as
/// SQLite would have converted it (an integer into a boolean, a number into text, ...).
#[derive(Debug)]
struct PgValue<'a>(ValueRef<'a>);

impl<'a> PgValue<'a> {
    fn of(out: &'a ToSqlOutput<'a>) -> Result<PgValue<'a>> {
        match out {
            ToSqlOutput::Borrowed(v) => Ok(PgValue(*v)),
            ToSqlOutput::Owned(v) => Ok(PgValue(ValueRef::from(v))),
            _ => Err(Error::ToSqlConversionFailure("a value PostgreSQL cannot take".into())),
        }
    }
}

type BoxError = Box<dyn std::error::Error + Sync + Send>;

impl PgToSql for PgValue<'_> {
    fn to_sql(&self, ty: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, BoxError> {
        let text = |b: &[u8]| std::str::from_utf8(b).map(str::to_owned);
        match (self.0, ty) {
            (ValueRef::Null, _) => Ok(IsNull::Yes),
            (ValueRef::Integer(i), &Type::INT8) => PgToSql::to_sql(&i, ty, out),
            (ValueRef::Integer(i), &Type::INT4) => PgToSql::to_sql(&i32::try_from(i)?, ty, out),
            (ValueRef::Integer(i), &Type::INT2) => PgToSql::to_sql(&i16::try_from(i)?, ty, out),
            (ValueRef::Integer(i), &Type::BOOL) => PgToSql::to_sql(&(i != 0), ty, out),
            (ValueRef::Integer(i), &Type::FLOAT8) => PgToSql::to_sql(&(i as f64), ty, out),
            (ValueRef::Integer(i), &Type::FLOAT4) => PgToSql::to_sql(&(i as f32), ty, out),
            (ValueRef::Integer(i), &Type::NUMERIC) => {
                encode_numeric(i, out);
                Ok(IsNull::No)
            }
            (ValueRef::Integer(i), _) => PgToSql::to_sql(&i.to_string(), ty, out),
            (ValueRef::Real(f), &Type::FLOAT8) => PgToSql::to_sql(&f, ty, out),
            (ValueRef::Real(f), &Type::FLOAT4) => PgToSql::to_sql(&(f as f32), ty, out),
            (ValueRef::Real(f), _) => PgToSql::to_sql(&f.to_string(), ty, out),
            (ValueRef::Text(t), &Type::INT8) => PgToSql::to_sql(&text(t)?.parse::<i64>()?, ty, out),
            (ValueRef::Text(t), &Type::BYTEA) | (ValueRef::Blob(t), &Type::BYTEA) => PgToSql::to_sql(&t, ty, out),
            (ValueRef::Text(t), _) => PgToSql::to_sql(&text(t)?, ty, out),
            (ValueRef::Blob(b), _) => Err(format!("bytes cannot be sent as {ty} ({} bytes)", b.len()).into()),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

/// An integer in PostgreSQL's binary NUMERIC form: base-10000 digits, most significant first.
fn encode_numeric(i: i64, out: &mut bytes::BytesMut) {
    use bytes::BufMut;
    let mut n = i.unsigned_abs();
    let mut digits = Vec::new();
    while n > 0 {
        digits.push((n % 10_000) as i16);
        n /= 10_000;
    }
    digits.reverse();
    out.put_i16(digits.len() as i16);
    out.put_i16(digits.len() as i16 - 1);
    out.put_u16(if i < 0 { 0x4000 } else { 0 });
    out.put_u16(0);
    for d in digits {
        out.put_i16(d);
    }
}

/// The raw bytes of a column of any type.
struct Raw<'a>(Option<&'a [u8]>);

impl<'a> PgFromSql<'a> for Raw<'a> {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        Ok(Raw(Some(raw)))
    }

    fn from_sql_null(_: &Type) -> Result<Self, BoxError> {
        Ok(Raw(None))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// A PostgreSQL column as one of SQLite's kinds of value.
fn read_pg(row: &postgres::Row, idx: usize) -> Result<Value> {
    let ty = row.columns().get(idx).ok_or(Error::InvalidColumnIndex(idx))?.type_().clone();
    let conversion = |e: BoxError| Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Null, e);
    let Raw(raw) = row.try_get::<_, Raw>(idx).map_err(|e| conversion(e.into()))?;
    let Some(raw) = raw else { return Ok(Value::Null) };
    let value = match ty {
        Type::INT8 => Value::Integer(i64::from_sql(&ty, raw).map_err(conversion)?),
        Type::INT4 => Value::Integer(i32::from_sql(&ty, raw).map_err(conversion)?.into()),
        Type::INT2 => Value::Integer(i16::from_sql(&ty, raw).map_err(conversion)?.into()),
        Type::OID => Value::Integer(u32::from_sql(&ty, raw).map_err(conversion)?.into()),
        Type::BOOL => Value::Integer(bool::from_sql(&ty, raw).map_err(conversion)?.into()),
        Type::FLOAT8 => Value::Real(f64::from_sql(&ty, raw).map_err(conversion)?),
        Type::FLOAT4 => Value::Real(f32::from_sql(&ty, raw).map_err(conversion)?.into()),
        Type::NUMERIC => decode_numeric(raw).map_err(conversion)?,
        Type::BYTEA => Value::Blob(raw.to_vec()),
        Type::JSONB => Value::Text(String::from_utf8_lossy(raw.get(1..).unwrap_or_default()).into_owned()),
        _ => Value::Text(String::from_utf8(raw.to_vec()).map_err(|e| conversion(e.into()))?),
    };
    Ok(value)
}

/// PostgreSQL's binary NUMERIC (what `sum` of integers gives): an integer when it has no
/// fraction, else a float.
fn decode_numeric(raw: &[u8]) -> Result<Value, BoxError> {
    let word = |i: usize| -> Result<i16, BoxError> {
        let b = raw.get(i * 2..i * 2 + 2).ok_or("a short NUMERIC")?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    };
    let (ndigits, weight, sign, scale) = (word(0)? as usize, word(1)? as i32, word(2)? as u16, word(3)?);
    if sign == 0xC000 {
        return Ok(Value::Real(f64::NAN));
    }
    let mut value = 0f64;
    for i in 0..ndigits {
        value += f64::from(word(4 + i)?) * 10_000f64.powi(weight - i as i32);
    }
    if sign == 0x4000 {
        value = -value;
    }
    if scale == 0 && value.abs() < 9.0e15 {
        Ok(Value::Integer(value as i64))
    } else {
        Ok(Value::Real(value))
    }
}

/// The store's SQL in PostgreSQL's dialect: `?N` and `?` become `$N`, `LIKE` becomes `ILIKE`
/// (SQLite's LIKE ignores case), and a list passed as a JSON array (`json_each(?N)`) is read
/// by `json_array_elements_text`. Quoted text is left alone.
pub fn translate(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut chars = sql.char_indices().peekable();
    let mut next_anonymous = 0;
    while let Some((i, c)) = chars.next() {
        match c {
            '\'' | '"' => {
                out.push(c);
                for (_, q) in chars.by_ref() {
                    out.push(q);
                    if q == c {
                        break;
                    }
                }
            }
            '?' => {
                let mut digits = String::new();
                while let Some(&(_, d)) = chars.peek().filter(|(_, d)| d.is_ascii_digit()) {
                    digits.push(d);
                    chars.next();
                }
                if digits.is_empty() {
                    next_anonymous += 1;
                    digits = next_anonymous.to_string();
                }
                out.push('$');
                out.push_str(&digits);
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let start = i;
                let mut end = i + c.len_utf8();
                while let Some(&(j, d)) = chars.peek().filter(|(_, d)| d.is_ascii_alphanumeric() || *d == '_') {
                    end = j + d.len_utf8();
                    chars.next();
                }
                let word = &sql[start..end];
                if word.eq_ignore_ascii_case("LIKE") {
                    out.push_str("ILIKE");
                } else if word.eq_ignore_ascii_case("CROSS") {
                    // SQLite's CROSS JOIN keeps the order of the tables; PostgreSQL's takes no ON.
                    while chars.next_if(|(_, d)| d.is_whitespace()).is_some() {}
                } else if word.eq_ignore_ascii_case("COLLATE") || word.eq_ignore_ascii_case("INDEXED") {
                    // `COLLATE NOCASE` (the columns are citext) and `INDEXED BY name`: dropped.
                    let words = if word.eq_ignore_ascii_case("COLLATE") { 1 } else { 2 };
                    for _ in 0..words {
                        while chars.next_if(|(_, d)| d.is_whitespace()).is_some() {}
                        while chars.next_if(|(_, d)| d.is_ascii_alphanumeric() || *d == '_').is_some() {}
                    }
                } else if word.eq_ignore_ascii_case("json_each") {
                    // json_each(?N) -> json_array_elements_text($N::json) AS json_each(value)
                    let rest: String = chars.by_ref().take_while(|&(_, d)| d != ')').map(|(_, d)| d).collect();
                    let argument = translate(rest.trim_start_matches('('));
                    out.push_str(&format!("json_array_elements_text({argument}::json) AS json_each(value)"));
                } else {
                    out.push_str(word);
                }
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::translate;

    #[test]
    fn sql_is_translated_to_postgres_outside_quoted_text() {
        assert_eq!(translate("SELECT a FROM t WHERE b = ?1 AND c LIKE ?2 || '%?'"), {
            "SELECT a FROM t WHERE b = $1 AND c ILIKE $2 || '%?'"
        });
        assert_eq!(translate("UPDATE t SET a = ? WHERE b = ?"), "UPDATE t SET a = $1 WHERE b = $2");
        assert_eq!(
            translate("DELETE FROM t WHERE id IN (SELECT CAST(value AS BIGINT) FROM json_each(?3))"),
            "DELETE FROM t WHERE id IN (SELECT CAST(value AS BIGINT) FROM json_array_elements_text($3::json) AS json_each(value))"
        );
        assert_eq!(translate("SELECT \"like\" FROM unlike"), "SELECT \"like\" FROM unlike");
        assert_eq!(
            translate("SELECT 1 FROM a CROSS JOIN b ON b.x = a.x INDEXED BY b_x WHERE e = ?1 COLLATE NOCASE"),
            "SELECT 1 FROM a JOIN b ON b.x = a.x  WHERE e = $1 "
        );
    }

    #[test]
    fn numeric_integers_round_trip() {
        for i in [0i64, 1, -1, 9_999, 10_000, 123_456_789, -98_765_432_100] {
            let mut out = bytes::BytesMut::new();
            super::encode_numeric(i, &mut out);
            assert_eq!(super::decode_numeric(&out).unwrap(), rusqlite::types::Value::Integer(i), "{i}");
        }
    }
}
