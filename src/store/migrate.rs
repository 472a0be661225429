//! Numbered migrations, embedded in the binary and applied at start, one transaction each:
//! SQLite's from `sql/` (the version lives in `PRAGMA user_version`), PostgreSQL's from
//! `sql/postgres/` (in the table `rapport_schema`). A database of a newer binary is refused
//! untouched.

use super::db::Connection;
use super::{Result, StoreError};

#[derive(rust_embed::Embed)]
#[folder = "sql/"]
#[exclude = "postgres/*"]
struct SqliteMigrations;

#[derive(rust_embed::Embed)]
#[folder = "sql/postgres/"]
struct PostgresMigrations;

/// (version, sql) in order; the version is the file name's numeric prefix (`0001_init.sql`).
fn numbered<E: rust_embed::RustEmbed>() -> Vec<(i64, String)> {
    let mut all: Vec<(i64, String)> = E::iter()
        .filter_map(|name| {
            let version = name.split('_').next()?.parse().ok()?;
            let file = E::get(&name)?;
            Some((version, String::from_utf8_lossy(&file.data).into_owned()))
        })
        .collect();
    all.sort_by_key(|(v, _)| *v);
    all
}

/// SQLite's migrations.
pub(super) fn migrations() -> Vec<(i64, String)> {
    numbered::<SqliteMigrations>()
}

/// The schema version this binary writes on SQLite.
pub static SCHEMA_VERSION: std::sync::LazyLock<i64> =
    std::sync::LazyLock::new(|| migrations().last().map_or(0, |(v, _)| *v));

/// The schema version this binary writes on PostgreSQL.
pub static POSTGRES_SCHEMA_VERSION: std::sync::LazyLock<i64> =
    std::sync::LazyLock::new(|| numbered::<PostgresMigrations>().last().map_or(0, |(v, _)| *v));

pub(super) fn run(conn: &mut Connection) -> Result<()> {
    match conn {
        Connection::Lite(conn) => run_sqlite(conn),
        Connection::Pg(_) => run_postgres(conn),
    }
}

fn run_sqlite(conn: &mut rusqlite::Connection) -> Result<()> {
    let known = *SCHEMA_VERSION;
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > known {
        return Err(StoreError::TooNew { found, known });
    }
    for (version, sql) in migrations().into_iter().filter(|(v, _)| *v > found) {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // Another process may have migrated while we waited for the lock.
        let now: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if now >= version {
            continue;
        }
        tx.execute_batch(&sql)?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
        tracing::info!(version, "applied migration");
    }
    Ok(())
}

/// Key of the advisory lock that lets one process at a time migrate a PostgreSQL database.
const MIGRATION_LOCK: i64 = 0x0072_6170_706f_7274;

fn run_postgres(conn: &Connection) -> Result<()> {
    let known = *POSTGRES_SCHEMA_VERSION;
    for (version, sql) in numbered::<PostgresMigrations>() {
        conn.begin()?;
        let applied = (|| {
            conn.execute_batch(&format!(
                "SELECT pg_advisory_xact_lock({MIGRATION_LOCK});
                 CREATE TABLE IF NOT EXISTS rapport_schema (version BIGINT NOT NULL)"
            ))?;
            let found: i64 =
                conn.query_row("SELECT coalesce(max(version), 0) FROM rapport_schema", [], |r| r.get(0))?;
            if found > known {
                return Err(StoreError::TooNew { found, known });
            }
            if found >= version {
                return Ok(false);
            }
            conn.execute_batch(&sql)?;
            conn.execute("DELETE FROM rapport_schema", [])?;
            conn.execute("INSERT INTO rapport_schema (version) VALUES (?1)", [version])?;
            Ok(true)
        })();
        match applied {
            Ok(applied) => {
                conn.commit()?;
                if applied {
                    tracing::info!(version, "applied migration");
                }
            }
            Err(e) => {
                let _ = conn.rollback();
                return Err(e);
            }
        }
    }
    Ok(())
}
