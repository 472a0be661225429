//! Numbered migrations from `sql/`, embedded in the binary, applied at start in one
//! transaction each; the version lives in `PRAGMA user_version`.

use super::{Result, StoreError};
use rusqlite::Connection;

#[derive(rust_embed::Embed)]
#[folder = "sql/"]
struct Migrations;

/// (version, sql) in order; the version is the file name's numeric prefix (`0001_init.sql`).
pub(super) fn migrations() -> Vec<(i64, String)> {
    let mut all: Vec<(i64, String)> = Migrations::iter()
        .filter_map(|name| {
            let version = name.split('_').next()?.parse().ok()?;
            let file = Migrations::get(&name)?;
            Some((version, String::from_utf8_lossy(&file.data).into_owned()))
        })
        .collect();
    all.sort_by_key(|(v, _)| *v);
    all
}

/// The schema version this binary writes.
pub static SCHEMA_VERSION: std::sync::LazyLock<i64> =
    std::sync::LazyLock::new(|| migrations().last().map_or(0, |(v, _)| *v));

pub(super) fn run(conn: &mut Connection) -> Result<()> {
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
