//! Who takes part in a conversation (users who wrote or were added, its customer) and how far
//! each party has seen it: the `participants` and `seen_marks` tables, written only here.

use super::db::Connection;
use super::{Millis, Result};
use crate::domain::Party;
use rusqlite::params;

/// A party takes part in a conversation (once).
pub(super) fn join(conn: &Connection, conversation_id: i64, party: Party, now: Millis) -> Result<()> {
    if let Some(id) = party.id() {
        conn.prepare_cached(
            "INSERT INTO participants (conversation_id, party_kind, party_id, joined_at)
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
        )?
        .execute(params![conversation_id, party.kind(), id, now])?;
    }
    Ok(())
}

/// A party's places in conversations and their seen marks become another's (two customers
/// found to be one person); where the other already has one, theirs stays.
pub(super) fn move_party(conn: &Connection, from: Party, to: Party) -> Result<()> {
    for table in ["participants", "seen_marks"] {
        conn.execute(
            &format!(
                "UPDATE {table} SET party_kind = ?3, party_id = ?4
                 WHERE party_kind = ?1 AND party_id = ?2 AND NOT EXISTS (
                     SELECT 1 FROM {table} o
                     WHERE o.conversation_id = {table}.conversation_id AND o.party_kind = ?3 AND o.party_id = ?4)"
            ),
            params![from.kind(), from.id(), to.kind(), to.id()],
        )?;
    }
    forget_party(conn, from)
}

/// Forgets where a party takes part and what they saw (the party is gone or merged away).
pub(super) fn forget_party(conn: &Connection, party: Party) -> Result<()> {
    for table in ["participants", "seen_marks"] {
        conn.execute(
            &format!("DELETE FROM {table} WHERE party_kind = ?1 AND party_id = ?2"),
            params![party.kind(), party.id()],
        )?;
    }
    Ok(())
}

/// A party no longer takes part in a conversation.
pub(super) fn leave(conn: &Connection, conversation_id: i64, party: Party) -> Result<()> {
    conn.prepare_cached("DELETE FROM participants WHERE conversation_id = ?1 AND party_kind = ?2 AND party_id = ?3")?
        .execute(params![conversation_id, party.kind(), party.id()])?;
    Ok(())
}

/// Moves a reader's seen mark forward (never back), clamped to the last message.
pub fn mark_seen(conn: &Connection, conversation_id: i64, party: Party, seq: i64, now: Millis) -> Result<i64> {
    let Some(id) = party.id() else { return Ok(seq) };
    conn.prepare_cached(
        "INSERT INTO seen_marks (conversation_id, party_kind, party_id, seq, updated_at)
         SELECT ?1, ?2, ?3, MIN(?4, c.last_seq), ?5 FROM conversations c WHERE c.id = ?1
         ON CONFLICT (conversation_id, party_kind, party_id) DO UPDATE
             SET seq = MAX(seen_marks.seq, excluded.seq), updated_at = excluded.updated_at",
    )?
    .execute(params![conversation_id, party.kind(), id, seq, now])?;
    let seen = conn.query_row(
        "SELECT seq FROM seen_marks WHERE conversation_id = ?1 AND party_kind = ?2 AND party_id = ?3",
        params![conversation_id, party.kind(), id],
        |r| r.get(0),
    )?;
    super::notify::seen(conn, conversation_id, party, seen)?;
    Ok(seen)
}

/// Users who follow the conversation's item or take part in it.
pub fn watchers(conn: &Connection, conversation_id: i64) -> Result<Vec<i64>> {
    let mut stmt = conn.prepare_cached(
        "SELECT f.user_id FROM conversations c JOIN item_followers f ON f.item_id = c.item_id WHERE c.id = ?1
         UNION SELECT party_id FROM participants WHERE conversation_id = ?1 AND party_kind = 'user'",
    )?;
    let rows = stmt.query_map([conversation_id], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// Users who take part in a conversation.
pub fn members(conn: &Connection, conversation_id: i64) -> Result<Vec<i64>> {
    let mut stmt =
        conn.prepare_cached("SELECT party_id FROM participants WHERE conversation_id = ?1 AND party_kind = 'user'")?;
    let rows = stmt.query_map([conversation_id], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}
