//! The code's layers depend on each other in one direction only: the store knows nothing of
//! the notification policy, mail, HTTP or sockets; the policy knows nothing of mail; mail knows
//! nothing of HTTP; nothing a layer uses leads back to it.
//! Read from the source: every `crate::module` a top-level module names is an edge. And only the
//! store (and the backup tools, which are about the SQLite file) runs SQL or names SQLite.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top-level module → the other top-level modules its files name.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let modules: BTreeSet<String> =
        lib.lines().filter_map(|l| l.trim().strip_prefix("pub mod ")?.strip_suffix(';').map(str::to_owned)).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = modules.iter().map(|m| (m.clone(), BTreeSet::new())).collect();
    for module in &modules {
        let (file, dir) = (src.join(format!("{module}.rs")), src.join(module));
        let mut files = vec![file];
        let mut dirs = vec![dir];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    files.push(path);
                }
            }
        }
        for file in files.iter().filter(|f| f.exists()) {
            let text = std::fs::read_to_string(file).unwrap();
            for (at, _) in text.match_indices("crate::") {
                let name: String =
                    text[at + 7..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                if name != *module && modules.contains(&name) {
                    graph.get_mut(module).unwrap().insert(name);
                }
            }
        }
    }
    graph
}

/// A path from `from` back to `to` through the graph, if there is one.
fn path_back(graph: &BTreeMap<String, BTreeSet<String>>, from: &str, to: &str) -> Option<Vec<String>> {
    let mut stack = vec![vec![from.to_owned()]];
    let mut seen = BTreeSet::new();
    while let Some(path) = stack.pop() {
        let last = path.last().unwrap();
        if last == to {
            return Some(path);
        }
        if !seen.insert(last.clone()) {
            continue;
        }
        for next in &graph[last] {
            let mut longer = path.clone();
            longer.push(next.clone());
            stack.push(longer);
        }
    }
    None
}

#[test]
fn no_module_depends_on_itself_through_others() {
    let graph = imports();
    assert!(graph["store"].contains("domain"), "the scan finds imports: {graph:?}");
    for (module, uses) in &graph {
        for used in uses {
            if let Some(back) = path_back(&graph, used, module) {
                panic!("{module} uses {used}, which leads back to it: {module} -> {}", back.join(" -> "));
            }
        }
    }
}

#[test]
fn the_store_knows_nothing_of_mail_http_or_sockets() {
    let graph = imports();
    for outer in ["notify", "mail", "http", "realtime", "app"] {
        assert!(path_back(&graph, "store", outer).is_none(), "the store reaches {outer}: {graph:?}");
    }
    assert!(path_back(&graph, "mail", "http").is_none(), "mail reaches http: {graph:?}");
}

/// The rules engine decides; the store, mail, HTTP and sockets are what it acts on, through
/// its `World`, never by name.
#[test]
fn the_rules_engine_knows_no_store_mail_http_or_sockets() {
    let graph = imports();
    assert!(graph["automation"].contains("domain"), "the scan finds imports: {graph:?}");
    for outer in ["store", "http", "mail", "realtime"] {
        assert!(!graph["automation"].contains(outer), "automation imports {outer}: {graph:?}");
    }
}

/// The notification policy sits between the store and mail: it decides on what the store read,
/// with the store's public domain types, and has its port (`Letters`) write the emails. It never
/// reaches mail, HTTP or sockets, names no SQLite type, and does no I/O: no store handle, nothing
/// to wait on.
#[test]
fn notify_decides_without_io() {
    let graph = imports();
    assert!(graph["notify"].contains("store"), "the scan finds notify's imports: {graph:?}");
    for outer in ["mail", "http", "realtime", "app"] {
        assert!(path_back(&graph, "notify", outer).is_none(), "notify reaches {outer}: {graph:?}");
    }
    let mut found = Vec::new();
    for (inside, text) in outside_the_store().into_iter().filter(|(inside, _)| inside.starts_with("notify")) {
        for name in ["rusqlite", "Store", "async ", ".await"] {
            if text.contains(name) {
                found.push(format!("{inside}: {name}"));
            }
        }
    }
    assert!(found.is_empty(), "I/O in notify: {found:?}");
}

/// Each source file outside the store and the tools that are about the SQLite file itself
/// (backup and restore, the benchmark's seeder): its path under `src/` and its text.
fn outside_the_store() -> Vec<(String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut dirs = vec![src.clone()];
    let mut files = Vec::new();
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            let inside = path.strip_prefix(&src).unwrap().to_string_lossy().into_owned();
            if ["store", "cli", "bin"].iter().any(|own| inside == *own) {
                continue;
            }
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push((inside, std::fs::read_to_string(&path).unwrap_or_default()));
            }
        }
    }
    files
}

#[test]
fn only_the_store_runs_sql() {
    let mut found = Vec::new();
    for (inside, text) in outside_the_store() {
        for call in [".execute(", "query_row(", ".prepare(", "prepare_cached(", "execute_batch("] {
            if text.contains(call) {
                found.push(format!("{inside}: {call}"));
            }
        }
    }
    assert!(found.is_empty(), "SQL outside the store: {found:?}");
}

/// The store is an interface (`store.users()`, `store.conversations()`, ...): the rest of the
/// program names no SQLite or PostgreSQL type and never reaches the connection underneath.
#[test]
fn nothing_outside_the_store_touches_sqlite() {
    let mut found = Vec::new();
    for (inside, text) in outside_the_store() {
        for name in ["rusqlite", "postgres::", "raw_read", "raw_write", "db::"] {
            if text.contains(name) {
                found.push(format!("{inside}: {name}"));
            }
        }
    }
    assert!(found.is_empty(), "SQLite outside the store: {found:?}");
}
