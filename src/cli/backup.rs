//! `rapport backup`: a consistent copy of the live database, taken in one read transaction
//! (`VACUUM INTO`) while the server keeps writing, verified, then renamed into place so that
//! the destination is never a half-written file. `rapport restore` puts such a copy back.

use crate::store::db_path;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};

pub struct Report {
    pub bytes: u64,
    pub path: PathBuf,
}

pub fn run(data_dir: &Path, dest: &Path, progress: &mut dyn FnMut(&str)) -> Result<Report, String> {
    let source = db_path(data_dir);
    if !source.is_file() {
        return Err(format!("no database at {}", source.display()));
    }
    if dest.is_dir() {
        return Err(format!("{} is a directory; name the backup file", dest.display()));
    }
    let dir = match dest.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(format!("directory {} does not exist", dir.display()));
    }
    // Renaming a copy over the live database would cut the running server off its own file.
    let live_dir = std::fs::canonicalize(data_dir).map_err(|e| e.to_string())?;
    let same_dir = std::fs::canonicalize(&dir).is_ok_and(|d| d == live_dir);
    let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    if same_dir && name.starts_with("rapport.db") {
        return Err(format!("{} is the live database (or its journal); choose another file", dest.display()));
    }
    let name = dest.file_name().ok_or("the destination has no file name")?.to_string_lossy();
    let partial = dest.with_file_name(format!(".{name}.partial-{}", std::process::id()));
    let _ = std::fs::remove_file(&partial);

    progress(&format!("copying {} ...", source.display()));
    let copied = copy(&source, &partial).and_then(|()| verify(&partial));
    if let Err(e) = copied {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    progress("verified: integrity_check ok");
    std::fs::File::open(&partial).and_then(|f| f.sync_all()).map_err(|e| e.to_string())?;
    std::fs::rename(&partial, dest).map_err(|e| format!("cannot move the backup into place: {e}"))?;
    let _ = std::fs::File::open(&dir).and_then(|d| d.sync_all());
    let bytes = std::fs::metadata(dest).map(|m| m.len()).unwrap_or(0);
    Ok(Report { bytes, path: dest.to_path_buf() })
}

fn copy(source: &Path, partial: &Path) -> Result<(), String> {
    let conn = Connection::open_with_flags(source, OpenFlags::SQLITE_OPEN_READ_WRITE)
        .map_err(|e| format!("cannot open {}: {e}", source.display()))?;
    conn.busy_timeout(std::time::Duration::from_secs(30)).map_err(|e| e.to_string())?;
    let target = partial.to_str().ok_or("the destination path is not valid UTF-8")?;
    conn.execute("VACUUM INTO ?1", [target]).map_err(|e| format!("copy failed: {e}"))?;
    Ok(())
}

fn verify(path: &Path) -> Result<(), String> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(|e| e.to_string())?;
    let result: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| format!("cannot check the copy: {e}"))?;
    if result != "ok" {
        return Err(format!("the copy failed integrity_check: {result}"));
    }
    Ok(())
}

/// `rapport restore`: puts a backup in place of the data dir's database. Refused while a server
/// serves the data dir. The backup is checked first (a Rapport database, `integrity_check` ok,
/// not newer than this binary), copied beside the live file, synced, and renamed over it; the
/// database it replaces is kept as `rapport.db.before-restore-TIME`, whole (its WAL merged in).
pub fn restore(data_dir: &Path, backup: &Path, progress: &mut dyn FnMut(&str)) -> Result<Report, String> {
    if !backup.is_file() {
        return Err(format!("no backup at {}", backup.display()));
    }
    verify(backup)?;
    let version = schema_version(backup)?;
    let known = *crate::store::SCHEMA_VERSION;
    if version > known {
        return Err(format!(
            "{} is from a newer Rapport (schema {version}; this binary knows {known}): upgrade first",
            backup.display()
        ));
    }
    progress(&format!("{}: integrity_check ok, schema {version}", backup.display()));
    let _lock = crate::store::lock_data_dir(data_dir)
        .map_err(|e| format!("cannot lock {}: {e}", data_dir.display()))?
        .ok_or_else(|| format!("Rapport is serving {}; stop it first", data_dir.display()))?;

    let live = db_path(data_dir);
    let partial = data_dir.join(".rapport.db.restoring");
    let copied = std::fs::copy(backup, &partial)
        .and_then(|_| std::fs::File::open(&partial)?.sync_all())
        .map_err(|e| format!("cannot copy the backup into {}: {e}", data_dir.display()));
    if let Err(e) = copied {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    if live.is_file() {
        // Merge the WAL (a crash leaves one) so the kept file is whole on its own; a database
        // too damaged for that is kept with its WAL beside it.
        let merged = Connection::open(&live).and_then(|c| c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);"));
        if let Err(e) = merged {
            progress(&format!("cannot checkpoint {} ({e}); keeping its WAL too", live.display()));
        }
        let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let kept = format!("rapport.db.before-restore-{stamp}");
        for suffix in ["", "-wal"] {
            let from = data_dir.join(format!("rapport.db{suffix}"));
            if from.is_file() {
                std::fs::rename(&from, data_dir.join(format!("{kept}{suffix}")))
                    .map_err(|e| format!("cannot move {} aside: {e}", from.display()))?;
            }
        }
        progress(&format!("the database it replaces is kept as {}", data_dir.join(kept).display()));
    }
    let _ = std::fs::remove_file(data_dir.join("rapport.db-shm"));
    std::fs::rename(&partial, &live).map_err(|e| format!("cannot move the backup into place: {e}"))?;
    let _ = std::fs::File::open(data_dir).and_then(|d| d.sync_all());
    let bytes = std::fs::metadata(&live).map(|m| m.len()).unwrap_or(0);
    Ok(Report { bytes, path: live })
}

fn schema_version(path: &Path) -> Result<i64, String> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(|e| e.to_string())?;
    let is_rapport: bool = conn
        .query_row("SELECT count(*) = 1 FROM sqlite_schema WHERE type = 'table' AND name = 'messages'", [], |r| {
            r.get(0)
        })
        .map_err(|e| format!("{} is not a Rapport database: {e}", path.display()))?;
    if !is_rapport {
        return Err(format!("{} is not a Rapport database", path.display()));
    }
    conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(|e| e.to_string())
}

/// On PostgreSQL, `rapport backup` is `pg_dump --format=custom` of the database (one consistent
/// snapshot while the server keeps writing), written beside the destination, checked with
/// `pg_restore --list`, then renamed into place.
pub fn run_postgres(config: &postgres::Config, dest: &Path, progress: &mut dyn FnMut(&str)) -> Result<Report, String> {
    let dir = match dest.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if dest.is_dir() {
        return Err(format!("{} is a directory; name the backup file", dest.display()));
    }
    if !dir.is_dir() {
        return Err(format!("directory {} does not exist", dir.display()));
    }
    let name = dest.file_name().ok_or("the destination has no file name")?.to_string_lossy();
    let partial = dest.with_file_name(format!(".{name}.partial-{}", std::process::id()));
    progress("dumping the database with pg_dump ...");
    let dumped = pg_tool(config, "pg_dump", &["--format=custom", "--no-owner", "--file"], &partial)
        .and_then(|()| list(&partial));
    if let Err(e) = dumped {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    progress("verified: pg_restore reads the whole archive");
    std::fs::rename(&partial, dest).map_err(|e| format!("cannot move the backup into place: {e}"))?;
    let bytes = std::fs::metadata(dest).map(|m| m.len()).unwrap_or(0);
    Ok(Report { bytes, path: dest.to_path_buf() })
}

/// On PostgreSQL, `rapport restore` loads a `rapport backup` archive into the database of
/// `database_url`, which must be new and empty (so that nothing is lost if the archive is not
/// what was meant): make one with `CREATE DATABASE`, restore into it, then start Rapport on it.
pub fn restore_postgres(
    config: &postgres::Config,
    backup: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<Report, String> {
    if !backup.is_file() {
        return Err(format!("no backup at {}", backup.display()));
    }
    list(backup)?;
    let location = crate::store::Location::Postgres(Box::new(config.clone()));
    let tables = crate::store::copy::tables_in(&location).map_err(|e| e.to_string())?;
    if tables > 0 {
        return Err(format!(
            "{location} is not empty ({tables} tables): restore into a new, empty database (CREATE DATABASE ...), \
             then point database_url at it"
        ));
    }
    progress(&format!("restoring {} into {location} with pg_restore ...", backup.display()));
    pg_tool(config, "pg_restore", &["--no-owner", "--exit-on-error", "--single-transaction", "--dbname"], backup)?;
    let bytes = std::fs::metadata(backup).map(|m| m.len()).unwrap_or(0);
    Ok(Report { bytes, path: backup.to_path_buf() })
}

/// Runs `pg_dump` (the database, then `--file FILE`) or `pg_restore` (`--dbname` the database,
/// then FILE) against the configured server. The password goes in the environment, never on
/// the command line.
fn pg_tool(config: &postgres::Config, tool: &str, args: &[&str], file: &Path) -> Result<(), String> {
    let mut conninfo = Vec::new();
    for host in config.get_hosts().iter().take(1) {
        conninfo.push(match host {
            postgres::config::Host::Tcp(name) => format!("host={name}"),
            postgres::config::Host::Unix(path) => format!("host={}", path.display()),
        });
    }
    if let Some(port) = config.get_ports().first() {
        conninfo.push(format!("port={port}"));
    }
    if let Some(user) = config.get_user() {
        conninfo.push(format!("user={user}"));
    }
    conninfo.push(format!("dbname={}", config.get_dbname().unwrap_or_default()));
    conninfo.push(
        match config.get_ssl_mode() {
            postgres::config::SslMode::Disable => "sslmode=disable",
            postgres::config::SslMode::Require => "sslmode=require",
            _ => "sslmode=prefer",
        }
        .to_owned(),
    );
    let conninfo = conninfo.join(" ");
    let mut cmd = std::process::Command::new(tool);
    if let Some(password) = config.get_password() {
        cmd.env("PGPASSWORD", String::from_utf8_lossy(password).into_owned());
    }
    match tool {
        "pg_dump" => cmd.args(args).arg(file).arg(&conninfo),
        _ => cmd.args(args).arg(&conninfo).arg(file),
    };
    let out = cmd.output().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!(
            "{tool} is not installed: install PostgreSQL's client tools (Debian: apt install postgresql-client) \
             of the server's version or newer, or back up with your own {tool}"
        ),
        _ => format!("cannot run {tool}: {e}"),
    })?;
    if !out.status.success() {
        return Err(format!("{tool} failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    Ok(())
}

/// Whether `pg_restore` reads the whole archive.
fn list(archive: &Path) -> Result<(), String> {
    let out = std::process::Command::new("pg_restore")
        .arg("--list")
        .arg(archive)
        .output()
        .map_err(|e| format!("cannot run pg_restore: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{} is not a readable backup: {}",
            archive.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}
