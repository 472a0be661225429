//! Full-text search (SQLite FTS5) that only ever returns what the viewer may see.

use super::conversations::{self, Message};
use super::items::{self, Item};
use super::{access, Result, Viewer};
use rusqlite::Connection;
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

/// Turns what a person typed into an FTS5 query: every word must appear, as a prefix.
/// Quoting each word keeps FTS5's operators and punctuation from meaning anything.
pub fn fts_query(text: &str) -> Option<String> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(12)
        .map(|w| format!("\"{w}\"*"))
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

pub fn search(conn: &Connection, viewer: Viewer, text: &str, limit: usize) -> Result<SearchResults> {
    let Some(query) = fts_query(text) else { return Ok(SearchResults { messages: Vec::new(), items: Vec::new() }) };
    let vis = access::conversation(viewer);
    let mut stmt = conn.prepare(&format!(
        "SELECT m.id, m.conversation_id FROM messages_fts f
         JOIN messages m ON m.id = f.rowid JOIN conversations c ON c.id = m.conversation_id
         WHERE messages_fts MATCH ?1 AND {vis}
         ORDER BY m.created_at DESC LIMIT ?2"
    ))?;
    let found: Vec<(i64, i64)> = stmt
        .query_map(rusqlite::params![query, limit as i64], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut messages = Vec::with_capacity(found.len());
    for (message, conversation) in found {
        messages.push(MessageHit {
            conversation: conversations::get(conn, viewer, conversation)?,
            message: conversations::message(conn, message)?,
        });
    }
    let vis = access::item(viewer);
    let mut stmt = conn.prepare(&format!(
        "SELECT i.id FROM items_fts f JOIN items i ON i.id = f.rowid
         WHERE items_fts MATCH ?1 AND {vis} ORDER BY i.created_at DESC LIMIT ?2"
    ))?;
    let ids: Vec<i64> =
        stmt.query_map(rusqlite::params![query, limit as i64], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    let items = ids.into_iter().map(|id| items::get(conn, viewer, id)).collect::<Result<_>>()?;
    Ok(SearchResults { messages, items })
}

#[cfg(test)]
mod tests {
    #[test]
    fn typed_text_becomes_a_safe_prefix_query() {
        assert_eq!(super::fts_query("printer on FIRE!").unwrap(), "\"printer\"* \"on\"* \"FIRE\"*");
        assert_eq!(super::fts_query("\" OR NEAR(a b) *").unwrap(), "\"OR\"* \"NEAR\"* \"a\"* \"b\"*");
        assert!(super::fts_query(" -- ").is_none());
    }
}
