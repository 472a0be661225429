//! `rapport store copy`: moves an installation between SQLite and PostgreSQL (store::copy), with
//! a progress line per table and, at the end, each table's rows and checksum on both sides.

use crate::domain::thousands;
use crate::store::copy::{self, Progress};
use crate::store::{db_path, Location};
use std::io::{IsTerminal, Write};

/// A side of the copy as given on the command line: a PostgreSQL URL, or a data dir.
pub fn location(given: &str) -> Result<Location, String> {
    if given.starts_with("postgres://") || given.starts_with("postgresql://") {
        Location::postgres(given).map_err(|reason| format!("{given:?} {reason}"))
    } else {
        Ok(Location::Sqlite(db_path(std::path::Path::new(given))))
    }
}

/// Copies and verifies; what to print when done.
pub fn run(from: &str, to: &str) -> Result<String, String> {
    let (from, to) = (location(from)?, location(to)?);
    eprintln!("copying {from} into {to}");
    let bar = std::io::stderr().is_terminal();
    let mut last = String::new();
    let mut show = |p: Progress| {
        let line = format!("{:<22} {:>12} / {:<12}", p.table, thousands(p.done), thousands(p.total));
        if bar {
            eprint!("\r{line}");
            if p.done == p.total {
                eprintln!();
            }
            let _ = std::io::stderr().flush();
        } else if p.done == p.total && line != last {
            eprintln!("{line}");
            last = line;
        }
    };
    let report = copy::copy(&from, &to, &mut show).map_err(|e| e.to_string())?;
    let rows: u64 = report.tables.iter().map(|t| t.rows).sum();
    let mut out = format!(
        "copied {} rows in {} tables into {to}; every table's rows and checksum are the same on both sides:\n",
        thousands(rows),
        report.tables.len()
    );
    for t in &report.tables {
        out.push_str(&format!("  {:<22} {:>12}  {}\n", t.table, thousands(t.rows), t.checksum));
    }
    out.push_str("start Rapport on the new database to serve it; the old one is left as it was");
    Ok(out)
}
