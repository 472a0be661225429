//! The machine's own limits, measured on the same disk in the same run as the benchmark.

use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// 4 KiB overwrites of an allocated file, each followed by fdatasync, per second (what a
    /// WAL commit costs once the WAL file has grown).
    pub fsync_per_s: f64,
    /// Rows per second into SQLite (WAL, synchronous=FULL), committed in batches of 1,000.
    pub raw_insert_per_s: f64,
    /// When the server under test runs on PostgreSQL: that cluster's own rate.
    pub pgbench: Option<Pgbench>,
}

/// `pgbench -N` (the simple-update script without the contended branch and teller updates:
/// three writes and a read per transaction, each transaction committed) on the cluster of the
/// database under test, transactions per second with 1 client and with 16.
#[derive(Debug, Clone, Copy)]
pub struct Pgbench {
    pub one: f64,
    pub sixteen: f64,
}

impl Limits {
    pub fn measure(dir: &Path, each: Duration, database_url: Option<&str>) -> Result<Limits, String> {
        let pgbench = database_url.map(|url| pgbench(url, each)).transpose()?;
        Ok(Limits { fsync_per_s: fsync_rate(dir, each)?, raw_insert_per_s: insert_rate(dir, each)?, pgbench })
    }

    /// The store's fields of a line: which store, and PostgreSQL's own rates when it is that.
    pub fn store_fields(&self) -> serde_json::Value {
        match self.pgbench {
            Some(p) => {
                serde_json::json!({"store": "postgres", "pgbench_tps_1": p.one.round(), "pgbench_tps_16": p.sixteen.round()})
            }
            None => serde_json::json!({"store": "sqlite"}),
        }
    }
}

/// Measures `pgbench -N` in the database at `url` (its tables made for the run and dropped after).
fn pgbench(url: &str, each: Duration) -> Result<Pgbench, String> {
    let run = |args: &[&str]| -> Result<String, String> {
        let out = std::process::Command::new("pgbench")
            .args(args)
            .arg(url)
            .output()
            .map_err(|e| format!("cannot run pgbench (Debian: apt install postgresql-contrib): {e}"))?;
        if !out.status.success() {
            return Err(format!("pgbench {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let seconds = each.as_secs().max(1).to_string();
    run(&["--initialize", "--scale=1", "--quiet"])?;
    let tps = |clients: &str| -> Result<f64, String> {
        let out = run(&["--skip-some-updates", "--client", clients, "--jobs", "2", "--time", &seconds])?;
        out.lines()
            .find_map(|l| l.strip_prefix("tps = ")?.split_whitespace().next()?.parse().ok())
            .ok_or_else(|| format!("no tps in pgbench's output: {out}"))
    };
    let measured = tps("1").and_then(|one| Ok(Pgbench { one, sixteen: tps("16")? }));
    run(&["--initialize", "--init-steps=d"])?;
    measured
}

fn fsync_rate(dir: &Path, each: Duration) -> Result<f64, String> {
    let path = dir.join("fsync-probe");
    let mut file = std::fs::File::create(&path).map_err(|e| e.to_string())?;
    let block = [7u8; 4096];
    const BLOCKS: u64 = 1024;
    for _ in 0..BLOCKS {
        file.write_all(&block).map_err(|e| e.to_string())?;
    }
    file.sync_all().map_err(|e| e.to_string())?;
    let (start, mut n) = (Instant::now(), 0u64);
    while start.elapsed() < each {
        file.seek(SeekFrom::Start((n % BLOCKS) * 4096)).map_err(|e| e.to_string())?;
        file.write_all(&block).map_err(|e| e.to_string())?;
        file.sync_data().map_err(|e| e.to_string())?;
        n += 1;
    }
    let _ = std::fs::remove_file(path);
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

fn insert_rate(dir: &Path, each: Duration) -> Result<f64, String> {
    let path = dir.join("insert-probe.db");
    let conn = rusqlite::Connection::open(&path).map_err(|e| e.to_string())?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
         CREATE TABLE m (id INTEGER PRIMARY KEY, conversation INTEGER, seq INTEGER, body TEXT, at INTEGER);",
    )
    .map_err(|e| e.to_string())?;
    let (start, mut n) = (Instant::now(), 0i64);
    while start.elapsed() < each {
        conn.execute_batch("BEGIN").map_err(|e| e.to_string())?;
        {
            let mut stmt = conn
                .prepare_cached("INSERT INTO m (conversation, seq, body, at) VALUES (?1, ?2, ?3, ?4)")
                .map_err(|e| e.to_string())?;
            for _ in 0..1000 {
                n += 1;
                stmt.execute(rusqlite::params![n % 100, n, "a benchmark message of about this length", n])
                    .map_err(|e| e.to_string())?;
            }
        }
        conn.execute_batch("COMMIT").map_err(|e| e.to_string())?;
    }
    drop(conn);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

/// Raises the open-file limit as far as the system allows; returns the new soft limit.
pub fn raise_open_files() -> u64 {
    let want = 400_000;
    let (_, hard) = rlimit::Resource::NOFILE.get().unwrap_or((1024, 1024));
    // As root the hard limit can go up too; otherwise settle for it.
    if rlimit::Resource::NOFILE.set(want, want.max(hard)).is_err() {
        let _ = rlimit::Resource::NOFILE.set(hard, hard);
    }
    rlimit::Resource::NOFILE.get().map_or(0, |(soft, _)| soft)
}

/// Median and 99th percentile of latencies in milliseconds.
pub fn percentiles(mut samples: Vec<f64>) -> (f64, f64) {
    if samples.is_empty() {
        return (0.0, 0.0);
    }
    samples.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    (at(0.5), at(0.99))
}

/// Rounded to three decimals, for the JSON lines.
pub fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The server's resident memory in KiB (Linux).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()
}

/// CPU time the process has used, user and system, in seconds (Linux; /proc counts in ticks
/// of USER_HZ, which is 100 on every Linux ABI).
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.get(stat.rfind(')')? + 2..)?.split(' ').collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}
