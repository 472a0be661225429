//! The record of every email that came in: what became of it, and, for mail held for review,
//! its raw text until an admin releases or discards it.

use super::db::Connection;
use super::{Millis, Result, StoreError};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use utoipa::ToSchema;

/// What became of an inbound email.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Posted into an existing conversation (a reply).
    Posted,
    /// Opened a new ticket.
    Ticket,
    /// Kept for an admin to release or discard (e.g. the sender did not match the token).
    Held,
    /// Not posted: automatic mail, a bounce, nothing in it.
    Dropped,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Posted => "posted",
            Outcome::Ticket => "ticket",
            Outcome::Held => "held",
            Outcome::Dropped => "dropped",
        }
    }
}

/// What is written about one inbound email.
#[derive(Debug, Clone)]
pub struct Record {
    /// The Message-ID header (or a hash of the mail when it has none).
    pub message_id: String,
    pub from: String,
    pub subject: String,
    pub outcome: Outcome,
    pub reason: String,
    pub conversation_id: Option<i64>,
    /// Kept only for held mail.
    pub raw: Option<Vec<u8>>,
    /// Set when an admin releases held mail: that row is updated instead of a new one written.
    pub release_of: Option<i64>,
    /// The mail's References chain, bare Message-IDs, oldest first.
    pub references: Vec<String>,
}

/// The customer's own email thread a conversation continues: what the team's emails to them
/// answer, so they land in that thread in the customer's mail client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailThread {
    pub subject: String,
    /// Bare, without angle brackets.
    pub message_id: String,
    /// What that email referenced, bare, oldest first.
    pub references: Vec<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InboundEntry {
    pub id: i64,
    pub from: String,
    pub subject: String,
    pub outcome: String,
    /// A stable code saying why, e.g. `sender_mismatch`, `automatic`.
    pub reason: String,
    pub conversation_id: Option<i64>,
    pub received_at: Millis,
}

/// Whether this mail was handled before (fetched twice, or delivered again after a timeout).
pub fn seen_before(conn: &Connection, message_id: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM inbound_mail WHERE message_id = ?1")?
        .query_row([message_id], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Erasing a customer: the mail that came in about their conversations or from one of their
/// lower-case `addresses`. Returns how many went.
pub(super) fn forget(conn: &Connection, conversations: &[i64], addresses: &[String]) -> Result<usize> {
    Ok(conn.execute(
        "DELETE FROM inbound_mail WHERE conversation_id IN (SELECT CAST(value AS BIGINT) FROM json_each(?1))
         OR lower(from_address) IN (SELECT value FROM json_each(?2))",
        params![super::json_list(conversations), super::json_list(addresses)],
    )?)
}

pub fn record(conn: &Connection, r: &Record, now: Millis) -> Result<i64> {
    if let Some(id) = r.release_of {
        let changed = conn.execute(
            "UPDATE inbound_mail SET outcome = ?2, reason = ?3, conversation_id = ?4, raw = ?5
             WHERE id = ?1 AND outcome = 'held'",
            params![id, r.outcome.as_str(), r.reason, r.conversation_id, r.raw],
        )?;
        if changed == 0 {
            return Err(StoreError::NotFound("held_mail_not_found"));
        }
        return Ok(id);
    }
    Ok(conn.prepare_cached(
        "INSERT INTO inbound_mail (message_id, from_address, subject, outcome, reason, conversation_id, raw, received_at,
                                   refs)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) RETURNING id",
    )?
    .query_row(params![
        r.message_id,
        r.from,
        r.subject,
        r.outcome.as_str(),
        r.reason,
        r.conversation_id,
        r.raw,
        now,
        r.references.join(" ")
    ],
    |row| row.get(0),
    )?)
}

/// The conversation an earlier email among `message_ids` opened or was posted to, when that
/// conversation's customer has the address `from`: a customer answering their own first email
/// lands in the same ticket.
pub fn thread_of(conn: &Connection, message_ids: &[String], from: &str) -> Result<Option<(i64, i64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT c.id, cu.id FROM inbound_mail m
         JOIN conversations c ON c.id = m.conversation_id
         JOIN customers cu ON cu.id = c.customer_id
         WHERE m.message_id = ?1 AND cu.email = ?2 AND c.kind = 'public'",
    )?;
    for id in message_ids {
        if let Some(found) = stmt.query_row(params![id, from], |r| Ok((r.get(0)?, r.get(1)?))).optional()? {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

/// The latest email `address` sent into the conversation, when it had a Message-ID of its own
/// (a hash names mail without one, and nothing can answer that).
pub fn customer_thread(conn: &Connection, conversation_id: i64, address: &str) -> Result<Option<MailThread>> {
    Ok(conn
        .prepare_cached(
            "SELECT subject, message_id, refs FROM inbound_mail
             WHERE conversation_id = ?1 AND from_address = lower(?2) AND outcome IN ('posted', 'ticket')
               AND message_id NOT LIKE 'sha256:%'
             ORDER BY id DESC LIMIT 1",
        )?
        .query_row(params![conversation_id, address.trim()], |r| {
            let refs: String = r.get(2)?;
            Ok(MailThread {
                subject: r.get(0)?,
                message_id: r.get(1)?,
                references: refs.split_whitespace().map(str::to_owned).collect(),
            })
        })
        .optional()?)
}

pub fn list(conn: &Connection, outcome: Option<&str>, limit: usize) -> Result<Vec<InboundEntry>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, from_address, subject, outcome, reason, conversation_id, received_at FROM inbound_mail
         WHERE CAST(?1 AS TEXT) IS NULL OR outcome = ?1 ORDER BY id DESC LIMIT ?2",
    )?;
    let rows = stmt
        .query_map(params![outcome, limit as i64], |r| {
            Ok(InboundEntry {
                id: r.get(0)?,
                from: r.get(1)?,
                subject: r.get(2)?,
                outcome: r.get(3)?,
                reason: r.get(4)?,
                conversation_id: r.get(5)?,
                received_at: r.get(6)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// The raw text of held mail.
pub fn held(conn: &Connection, id: i64) -> Result<Vec<u8>> {
    conn.query_row("SELECT raw FROM inbound_mail WHERE id = ?1 AND outcome = 'held' AND raw IS NOT NULL", [id], |r| {
        r.get(0)
    })
    .optional()?
    .ok_or(StoreError::NotFound("held_mail_not_found"))
}

/// An admin decided held mail is not to be posted.
pub fn discard(conn: &Connection, id: i64) -> Result<()> {
    let changed = conn.execute(
        "UPDATE inbound_mail SET outcome = 'dropped', reason = 'discarded', raw = NULL WHERE id = ?1 AND outcome = 'held'",
        [id],
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound("held_mail_not_found"));
    }
    Ok(())
}
