//! Where the data lives, reaching a PostgreSQL server, and telling its errors in SQLite's codes.

use super::{Connection, Error, Pg};
use std::path::PathBuf;

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
    let tls = super::tls::connector()?;
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

pub(super) fn failure(code: std::ffi::c_int, message: String) -> Error {
    Error::SqliteFailure(rusqlite::ffi::Error::new(code), Some(message))
}

/// A PostgreSQL error told by the SQLite code that means the same, so that the store treats
/// both alike (a unique violation is a constraint violation, ...).
pub(super) fn pg_error(e: postgres::Error) -> Error {
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
