//! `rapport backup`: a consistent copy of the live database, taken in one read transaction
//! (`VACUUM INTO`) while the server keeps writing, verified, then renamed into place so that
//! the destination is never a half-written file.

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
