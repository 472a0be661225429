//! Full-text search (SQLite FTS5, or PostgreSQL's tsvector) that only ever returns what the
//! viewer may see.

use super::conversations::{self, Message};
use super::db::Connection;
use super::items::{self, Item};
use super::{access, Result, Viewer};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageHit {
    pub conversation: conversations::Conversation,
    pub message: Message,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResults {
    pub messages: Vec<MessageHit>,
    pub items: Vec<Item>,
}

/// Words this short match whole words only: as prefixes they would match most of the index
/// ("a", "th") and say little about what the person looks for.
const MIN_PREFIX: usize = 3;
/// How many of the newest visible matches are ranked: enough that the best answer among recent
/// ones comes first, few enough that a word in every message costs no more than a rare one.
const CANDIDATES: i64 = 200;

/// Pages a merge step writes at most, per index: a few milliseconds of work, so that a write
/// arriving meanwhile hardly waits, and many times what a post adds, so that merging keeps up.
const MERGE_PAGES: i64 = 100;

/// One step of merging the search indexes' segments (their automatic merging is off, see
/// sql/0015): the writer runs it when nobody waits. It does nothing, cheaply, when no level of
/// an index has enough segments to merge, and then says so: FTS5 counts a merge that wrote
/// pages as two changes or more, one that found nothing to merge as fewer.
pub(super) fn merge_step(conn: &Connection) -> rusqlite::Result<bool> {
    let Some(conn) = conn.lite() else { return Ok(false) };
    let mut worked = false;
    for sql in [
        "INSERT INTO messages_fts (messages_fts, rank) VALUES ('merge', ?1)",
        "INSERT INTO items_fts (items_fts, rank) VALUES ('merge', ?1)",
    ] {
        let before = conn.total_changes();
        conn.prepare_cached(sql)?.execute([MERGE_PAGES])?;
        worked |= conn.total_changes() - before >= 2;
    }
    Ok(worked)
}

/// Indexes the messages noted since the last call (sql/0016): the writer runs it once per
/// transaction, just before COMMIT, so that a batch makes one segment of the index, not one a
/// message. Whatever commits is searchable.
pub(super) fn index_pending(conn: &Connection) -> rusqlite::Result<()> {
    if conn.is_postgres() {
        return Ok(()); // PostgreSQL's index is kept by its trigger, row by row.
    }
    let noted = conn
        .prepare_cached(
            "INSERT INTO messages_fts (rowid, body)
             SELECT m.id, m.body FROM messages_unindexed u JOIN messages m ON m.id = u.id",
        )?
        .execute([])?;
    if noted > 0 {
        conn.prepare_cached("DELETE FROM messages_unindexed")?.execute([])?;
    }
    Ok(())
}

/// Turns what a person typed into an FTS5 query: every word must appear; words of three letters
/// or more as a prefix ("print" finds "printer"), shorter ones as whole words. Quoting each word
/// keeps FTS5's operators and punctuation from meaning anything.
pub fn fts_query(text: &str) -> Option<String> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(12)
        .map(|w| if w.chars().count() >= MIN_PREFIX { format!("\"{w}\"*") } else { format!("\"{w}\"") })
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

/// The ids of the best `limit` matches among the newest `CANDIDATES` visible ones, best first.
/// The index is walked newest first and stops at the candidates: the cost is that of the rows
/// returned, never of every row that matches.
fn ranked(conn: &Connection, sql: &str, query: &str, limit: usize) -> Result<Vec<(i64, i64)>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut found: Vec<(f64, i64, i64)> = stmt
        .query_map(rusqlite::params![query, CANDIDATES], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    // The rank is lower for better matches (bm25, or the negated ts_rank); among equals, the newer first.
    found.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)));
    Ok(found.into_iter().take(limit).map(|(_, id, parent)| (id, parent)).collect())
}

/// The SQL of the newest `CANDIDATES` visible matches of a query, each with its rank (lower is
/// better), id and parent: on SQLite from the FTS5 tables, on PostgreSQL from the tsvector
/// columns and their GIN indexes.
fn message_matches(conn: &Connection, vis: &str) -> String {
    if conn.is_postgres() {
        format!(
            "SELECT -ts_rank(m.search, q), m.id, m.conversation_id
             FROM messages m JOIN conversations c ON c.id = m.conversation_id, rapport_query(?1) q
             WHERE m.search @@ q AND {vis}
             ORDER BY m.id DESC LIMIT ?2"
        )
    } else {
        format!(
            "SELECT bm25(messages_fts), f.rowid, m.conversation_id FROM messages_fts f
             JOIN messages m ON m.id = f.rowid JOIN conversations c ON c.id = m.conversation_id
             WHERE messages_fts MATCH ?1 AND {vis}
             ORDER BY f.rowid DESC LIMIT ?2"
        )
    }
}

fn item_matches(conn: &Connection, vis: &str) -> String {
    if conn.is_postgres() {
        // Title words weigh four times what description words do, as with bm25's weights.
        format!(
            "SELECT -ts_rank('{{0.25, 0, 0, 1}}', i.search, q), i.id, 0
             FROM items i, rapport_query(?1) q
             WHERE i.search @@ q AND {vis} ORDER BY i.id DESC LIMIT ?2"
        )
    } else {
        format!(
            "SELECT bm25(items_fts, 4.0, 1.0), f.rowid, 0 FROM items_fts f JOIN items i ON i.id = f.rowid
             WHERE items_fts MATCH ?1 AND {vis} ORDER BY f.rowid DESC LIMIT ?2"
        )
    }
}

pub fn search(conn: &Connection, viewer: Viewer, text: &str, limit: usize) -> Result<SearchResults> {
    // PostgreSQL makes its query of the text itself (`rapport_query`, sql/postgres), splitting it
    // as it splits what it indexes.
    let query = fts_query(text).map(|fts| if conn.is_postgres() { text.to_owned() } else { fts });
    let Some(query) = query else { return Ok(SearchResults { messages: Vec::new(), items: Vec::new() }) };
    let found = ranked(conn, &message_matches(conn, &access::conversation(viewer)), &query, limit)?;
    let mut messages = Vec::with_capacity(found.len());
    for (message, conversation) in found {
        messages.push(MessageHit {
            conversation: conversations::get(conn, viewer, conversation)?,
            message: conversations::message(conn, message)?,
        });
    }
    let found = ranked(conn, &item_matches(conn, &access::item(viewer)), &query, limit)?;
    let items = found.into_iter().map(|(id, _)| items::get(conn, viewer, id)).collect::<Result<_>>()?;
    Ok(SearchResults { messages, items })
}

#[cfg(test)]
mod tests {
    #[test]
    fn typed_text_becomes_a_safe_prefix_query() {
        assert_eq!(super::fts_query("printer on FIRE!").unwrap(), "\"printer\"* \"on\" \"FIRE\"*");
        assert_eq!(super::fts_query("\" OR NEAR(a b) *").unwrap(), "\"OR\" \"NEAR\"* \"a\" \"b\"");
        assert!(super::fts_query(" -- ").is_none());
    }
}
