//! Moving an installation between the two databases: a SQLite data dir onto PostgreSQL, and
//! back. Every table the program writes is copied row by row in batches, into an empty target
//! with this binary's schema; what triggers derive from those rows (the views' tallies, the
//! followed conversations, search) is rebuilt by the target's own triggers as the rows arrive,
//! as it was built in the source. At the end each table's rows are counted and checksummed on
//! both sides (a sum of per-row hashes, so that the two databases' orders do not matter), and
//! PostgreSQL's sequences are set past the copied ids.

use super::db::{self, Connection, Location};
use super::{migrate, Result, StoreError};
use rusqlite::types::{ToSql, Value};
use sha2::{Digest, Sha256};

/// The tables that hold what the program wrote, parents before children. Everything else is
/// derived from them by triggers (tallies, followed conversations, search indexes, the rules'
/// version) and rebuilt in the target.
const TABLES: &[&str] = &[
    "users",
    "user_preferences",
    "user_photos",
    "sessions",
    "api_tokens",
    "customers",
    "visitor_tokens",
    "portal_links",
    "projects",
    "project_members",
    "items",
    "item_followers",
    "conversations",
    "participants",
    "messages",
    "attachments",
    "attachment_chunks",
    "seen_marks",
    "settings",
    "pending_notifications",
    "outbox",
    "inbound_mail",
    "rules",
    "rule_runs",
    "automation_events",
    "notices",
    "forms",
    "retired_ids",
];

/// Columns a trigger keeps, copied as their starting value: the triggers count up from there as
/// the rows that make them arrive (and the checksums check that they arrive where the source is).
const DERIVED: &[(&str, &str, i64)] = &[("items", "public_threads", 0)];

/// Tables with a PostgreSQL sequence behind their id (`BIGSERIAL`): set past the copied ids.
const SEQUENCED: &[&str] = &["api_tokens", "outbox", "inbound_mail", "rule_runs", "automation_events", "notices"];

/// Rows read and written per statement.
const BATCH: usize = 500;

/// What the copy did, table by table.
#[derive(Debug, Default)]
pub struct Report {
    pub tables: Vec<Copied>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    pub table: &'static str,
    pub rows: u64,
    /// Hex of the sum of the rows' hashes, the same on both sides.
    pub checksum: String,
}

/// How far the copy is, for a progress bar.
pub struct Progress<'a> {
    pub table: &'a str,
    pub done: u64,
    pub total: u64,
}

/// A table's columns and its primary key, as the SQLite side's schema has them (PostgreSQL's
/// tables hold the same columns, and generated ones besides).
struct Shape {
    columns: Vec<String>,
    key: Vec<String>,
}

/// Copies everything from `from` into `to`, which must be empty (a SQLite file that does not
/// exist yet, or a PostgreSQL database with no tables), then verifies every table.
pub fn copy(from: &Location, to: &Location, progress: &mut dyn FnMut(Progress)) -> Result<Report> {
    if matches!((from, to), (Location::Sqlite(_), Location::Sqlite(_))) {
        return Err(invalid("one side must be PostgreSQL: to copy a SQLite installation, use `rapport backup`"));
    }
    let (source, _running) = open(from, true)?;
    let (mut target, _held) = open(to, false)?;
    refuse_unless_empty(&target, to)?;
    migrate::run(&mut target)?;
    let lite = match (&source, &target) {
        (Connection::Lite(_), _) => &source,
        _ => &target,
    };
    let shapes: Vec<(&'static str, Shape)> = TABLES.iter().map(|t| Ok((*t, shape(lite, t)?))).collect::<Result<_>>()?;

    target.begin()?;
    let copied = (|| {
        // The target's migrations seeded what a new installation starts with: the source's
        // own takes its place.
        for table in ["rules", "settings"] {
            target.execute(&format!("DELETE FROM {table}"), [])?;
        }
        for (table, shape) in &shapes {
            copy_table(&source, &target, table, shape, progress)?;
        }
        if target.is_postgres() {
            for table in SEQUENCED {
                target.execute_batch(&format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), coalesce(max(id), 0) + 1, false)
                     FROM {table}"
                ))?;
            }
        } else {
            target.execute_batch(
                "INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');
                 INSERT INTO items_fts (items_fts) VALUES ('rebuild');
                 DELETE FROM messages_unindexed;",
            )?;
        }
        Ok::<_, StoreError>(())
    })();
    match copied {
        Ok(()) => target.commit()?,
        Err(e) => {
            let _ = target.rollback();
            return Err(e);
        }
    }
    let mut report = Report::default();
    for (table, shape) in &shapes {
        let there = summarize(&source, table, shape)?;
        let here = summarize(&target, table, shape)?;
        if there != here {
            return Err(StoreError::Internal(format!(
                "{table} differs after the copy: {} rows (checksum {}) in the source, {} rows (checksum {}) in the \
                 target; the target is left as it is for a look, and the source is untouched",
                there.0, there.1, here.0, here.1
            )));
        }
        report.tables.push(Copied { table, rows: there.0, checksum: there.1 });
    }
    Ok(report)
}

fn invalid(message: &'static str) -> StoreError {
    StoreError::Invalid(crate::domain::Invalid::new("copy", message))
}

/// A connection of the copy's own, and on SQLite the lock of the data dir, held until the copy
/// ends. Neither side may be in use: a serving Rapport holds its data dir's lock, or on
/// PostgreSQL a shared advisory lock that the copy asks for exclusively.
fn open(location: &Location, source: bool) -> Result<(Connection, Option<std::fs::File>)> {
    let in_use = || StoreError::Internal(format!("a running Rapport uses {location}; stop it before copying"));
    match location {
        Location::Sqlite(path) => {
            if source && !path.is_file() {
                return Err(StoreError::Internal(format!("there is no database at {}", path.display())));
            }
            let dir = path.parent().unwrap_or(std::path::Path::new("."));
            let lock = super::lock_data_dir(dir)
                .map_err(|e| StoreError::Internal(format!("cannot use {}: {e}", dir.display())))?
                .ok_or_else(in_use)?;
            let conn = Connection::Lite(rusqlite::Connection::open(path)?);
            super::configure(conn.lite().expect("SQLite"))?;
            Ok((conn, Some(lock)))
        }
        Location::Postgres(config) => {
            let conn =
                db::connect_pg(config, false).map_err(|e| StoreError::Unreachable(format!("{location}: {e}")))?;
            let free: bool =
                conn.query_row(&format!("SELECT pg_try_advisory_lock({})", super::RUNNING), [], |r| r.get(0))?;
            if !free {
                return Err(in_use());
            }
            Ok((conn, None))
        }
    }
}

/// How many tables the database at `location` holds (a new one holds none).
pub fn tables_in(location: &Location) -> Result<i64> {
    let (conn, _) = open(location, false)?;
    count_tables(&conn)
}

fn count_tables(target: &Connection) -> Result<i64> {
    Ok(match target {
        Connection::Lite(c) => c.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))?,
        Connection::Pg(_) => target.query_row(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()",
            [],
            |r| r.get(0),
        )?,
    })
}

/// The target must hold nothing: a SQLite database with no tables, a PostgreSQL database with
/// none in its schema.
fn refuse_unless_empty(target: &Connection, location: &Location) -> Result<()> {
    let tables = count_tables(target)?;
    if tables > 0 {
        return Err(StoreError::Internal(format!(
            "{location} is not empty ({tables} tables); copy into a new, empty database"
        )));
    }
    Ok(())
}

fn shape(lite: &Connection, table: &str) -> Result<Shape> {
    let mut columns = Vec::new();
    let mut key: Vec<(i64, String)> = Vec::new();
    let mut stmt = lite.prepare(&format!("SELECT name, pk FROM pragma_table_info('{table}') ORDER BY cid"))?;
    for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
        let (name, pk) = row?;
        if pk > 0 {
            key.push((pk, name.clone()));
        }
        columns.push(name);
    }
    key.sort();
    let key = key.into_iter().map(|(_, name)| name).collect();
    Ok(Shape { columns, key })
}

/// The SQL that pages through `table` in key order, `BATCH` rows after the key given.
fn page_sql(table: &str, shape: &Shape, first: bool) -> String {
    let columns = shape.columns.join(", ");
    let key = shape.key.join(", ");
    let after = if first {
        String::new()
    } else {
        let values: Vec<String> = (1..=shape.key.len()).map(|i| format!("?{i}")).collect();
        format!("WHERE ({key}) > ({})", values.join(", "))
    };
    format!("SELECT {columns} FROM {table} {after} ORDER BY {key} LIMIT {BATCH}")
}

/// Pages through `table` in key order, handing each page's rows to `each`.
fn pages(
    conn: &Connection,
    table: &str,
    shape: &Shape,
    mut each: impl FnMut(Vec<Vec<Value>>) -> Result<()>,
) -> Result<()> {
    let key_at: Vec<usize> =
        shape.key.iter().map(|k| shape.columns.iter().position(|c| c == k).expect("a key column")).collect();
    let mut last: Option<Vec<Value>> = None;
    loop {
        let sql = page_sql(table, shape, last.is_none());
        let mut stmt = conn.prepare_cached(&sql)?;
        let read = |r: &db::Row<'_>| (0..shape.columns.len()).map(|i| r.get::<_, Value>(i)).collect();
        let rows: Vec<Vec<Value>> = match &last {
            None => stmt.query_map([], read)?.collect::<rusqlite::Result<_>>()?,
            Some(key) => {
                let params: Vec<&dyn ToSql> = key.iter().map(|v| v as &dyn ToSql).collect();
                stmt.query_map(params.as_slice(), read)?.collect::<rusqlite::Result<_>>()?
            }
        };
        let full = rows.len() == BATCH;
        last = rows.last().map(|row| key_at.iter().map(|&i| row[i].clone()).collect());
        each(rows)?;
        if !full {
            return Ok(());
        }
    }
}

fn copy_table(
    source: &Connection,
    target: &Connection,
    table: &'static str,
    shape: &Shape,
    progress: &mut dyn FnMut(Progress),
) -> Result<()> {
    let total: i64 = source.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?;
    let total = total as u64;
    let derived: Vec<(usize, i64)> = DERIVED
        .iter()
        .filter(|(t, _, _)| *t == table)
        .filter_map(|(_, column, start)| Some((shape.columns.iter().position(|c| c == column)?, *start)))
        .collect();
    let placeholders: Vec<String> = (1..=shape.columns.len()).map(|i| format!("?{i}")).collect();
    let insert = format!("INSERT INTO {table} ({}) VALUES ({})", shape.columns.join(", "), placeholders.join(", "));
    let mut done = 0u64;
    progress(Progress { table, done, total });
    pages(source, table, shape, |rows| {
        let mut stmt = target.prepare_cached(&insert)?;
        for mut row in rows {
            for &(i, start) in &derived {
                row[i] = Value::Integer(start);
            }
            let params: Vec<&dyn ToSql> = row.iter().map(|v| v as &dyn ToSql).collect();
            stmt.execute(params.as_slice())?;
            done += 1;
        }
        progress(Progress { table, done, total });
        Ok(())
    })
}

fn bytes(hash: &mut Sha256, b: &[u8]) {
    hash.update(b"s");
    hash.update((b.len() as u64).to_le_bytes());
    hash.update(b);
}

/// A table's row count and the hex of the wrapping sum of its rows' hashes. Values hash by
/// kind, as SQLite holds them: an integer, a real, bytes or null (PostgreSQL's are read into
/// the same kinds). Columns the triggers keep are summed too: the rebuild must come out as the
/// source has it.
fn summarize(conn: &Connection, table: &str, shape: &Shape) -> Result<(u64, String)> {
    let mut rows = 0u64;
    let mut sum = 0u128;
    pages(conn, table, shape, |page| {
        for row in page {
            let mut hash = Sha256::new();
            for value in &row {
                match value {
                    Value::Null => hash.update(b"n"),
                    Value::Integer(n) => {
                        hash.update(b"i");
                        hash.update(n.to_le_bytes());
                    }
                    Value::Real(f) => {
                        hash.update(b"r");
                        hash.update(f.to_le_bytes());
                    }
                    // Bytes as bytes, whichever kind holds them: a SQLite BLOB column may hold text.
                    Value::Text(t) => bytes(&mut hash, t.as_bytes()),
                    Value::Blob(b) => bytes(&mut hash, b),
                }
            }
            let digest = hash.finalize();
            sum = sum.wrapping_add(u128::from_le_bytes(digest[..16].try_into().expect("16 bytes")));
            rows += 1;
        }
        Ok(())
    })?;
    Ok((rows, format!("{sum:032x}")))
}
