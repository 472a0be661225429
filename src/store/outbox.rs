//! The outbox: emails on their way to the SMTP server, and the record of each attempt (only
//! this module writes the table). The scheduler (`notify`), portal sign-in links and the
//! admins' test email queue into it; the sender drains it, retrying with backoff.

use super::db::Connection;
use super::{json_list, Millis, Result};
use rusqlite::params;
use serde::Serialize;
use utoipa::ToSchema;

/// An email for the outbox.
#[derive(Debug, Clone)]
pub struct NewEmail {
    pub message_id: String,
    pub to: String,
    pub reply_to: Option<String>,
    /// The thread this email continues: Message-IDs in angle brackets, space-separated, oldest
    /// first. The last is the In-Reply-To; all of them are the References.
    pub in_reply_to: Option<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub conversation_id: Option<i64>,
}

/// Forgets the email about these conversations or to these (lower-case) addresses: a customer
/// is being erased. Returns how many emails went.
pub(super) fn forget(conn: &Connection, conversations: &[i64], addresses: &[String]) -> Result<usize> {
    Ok(conn.execute(
        "DELETE FROM outbox WHERE conversation_id IN (SELECT CAST(value AS BIGINT) FROM json_each(?1))
         OR lower(to_address) IN (SELECT value FROM json_each(?2))",
        params![json_list(conversations), json_list(addresses)],
    )?)
}

pub fn enqueue(conn: &Connection, email: &NewEmail, now: Millis) -> Result<i64> {
    Ok(conn
        .prepare_cached(
            "INSERT INTO outbox (message_id, to_address, reply_to, in_reply_to, subject, text_body, html_body,
                             conversation_id, next_attempt_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9) RETURNING id",
        )?
        .query_row(
            params![
                email.message_id,
                email.to,
                email.reply_to,
                email.in_reply_to,
                email.subject,
                email.text,
                email.html,
                email.conversation_id,
                now
            ],
            |r| r.get(0),
        )?)
}

/// An outbox row on its way to the SMTP server.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub id: i64,
    pub email: NewEmail,
    pub attempts: i64,
    pub created_at: Millis,
}

/// Emails whose next attempt is due, oldest first.
pub fn due_emails(conn: &Connection, now: Millis, limit: usize) -> Result<Vec<Outgoing>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, message_id, to_address, reply_to, in_reply_to, subject, text_body, html_body, conversation_id,
                attempts, created_at
         FROM outbox WHERE status = 'pending' AND next_attempt_at <= ?1 ORDER BY next_attempt_at, id LIMIT ?2",
    )?;
    let rows = stmt
        .query_map(params![now, limit as i64], |r| {
            Ok(Outgoing {
                id: r.get(0)?,
                email: NewEmail {
                    message_id: r.get(1)?,
                    to: r.get(2)?,
                    reply_to: r.get(3)?,
                    in_reply_to: r.get(4)?,
                    subject: r.get(5)?,
                    text: r.get(6)?,
                    html: r.get(7)?,
                    conversation_id: r.get(8)?,
                },
                attempts: r.get(9)?,
                created_at: r.get(10)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// When the next pending email should be tried.
pub fn next_attempt(conn: &Connection) -> Result<Option<Millis>> {
    Ok(conn.query_row("SELECT min(next_attempt_at) FROM outbox WHERE status = 'pending'", [], |r| r.get(0))?)
}

/// What became of one attempt.
#[derive(Debug, Clone)]
pub enum Attempt {
    Sent,
    /// A temporary failure: try again at the given time.
    Retry {
        at: Millis,
        error: String,
    },
    /// A permanent failure (or too many temporary ones): recorded for the admins.
    Failed {
        error: String,
    },
}

pub fn record(conn: &Connection, id: i64, attempt: &Attempt, now: Millis) -> Result<()> {
    match attempt {
        Attempt::Sent => conn
            .prepare_cached("UPDATE outbox SET status = 'sent', attempts = attempts + 1, sent_at = ?2, last_error = NULL WHERE id = ?1")?
            .execute(params![id, now])?,
        Attempt::Retry { at, error } => conn
            .prepare_cached("UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?2, last_error = ?3 WHERE id = ?1")?
            .execute(params![id, at, error])?,
        Attempt::Failed { error } => conn
            .prepare_cached("UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = ?2 WHERE id = ?1")?
            .execute(params![id, error])?,
    };
    Ok(())
}

/// An outbox row as admins see it (without the bodies).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OutboxEntry {
    pub id: i64,
    pub to: String,
    pub subject: String,
    /// `pending`, `sent` or `failed`.
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub conversation_id: Option<i64>,
    pub created_at: Millis,
    pub sent_at: Option<Millis>,
    pub next_attempt_at: Millis,
}

#[derive(Debug, Clone, Copy, Default, Serialize, ToSchema)]
pub struct OutboxCounts {
    pub pending: i64,
    pub sent: i64,
    pub failed: i64,
    /// Notifications waiting for their delay to run out.
    pub scheduled: i64,
}

/// The newest outbox rows, optionally of one status.
pub fn list(conn: &Connection, status: Option<&str>, limit: usize) -> Result<Vec<OutboxEntry>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, to_address, subject, status, attempts, last_error, conversation_id, created_at, sent_at,
                next_attempt_at
         FROM outbox WHERE CAST(?1 AS TEXT) IS NULL OR status = ?1 ORDER BY id DESC LIMIT ?2",
    )?;
    let rows = stmt
        .query_map(params![status, limit as i64], |r| {
            Ok(OutboxEntry {
                id: r.get(0)?,
                to: r.get(1)?,
                subject: r.get(2)?,
                status: r.get(3)?,
                attempts: r.get(4)?,
                last_error: r.get(5)?,
                conversation_id: r.get(6)?,
                created_at: r.get(7)?,
                sent_at: r.get(8)?,
                next_attempt_at: r.get(9)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

pub fn outbox_counts(conn: &Connection) -> Result<OutboxCounts> {
    let mut counts = OutboxCounts {
        scheduled: conn.query_row("SELECT count(*) FROM pending_notifications", [], |r| r.get(0))?,
        ..OutboxCounts::default()
    };
    let mut stmt = conn.prepare_cached("SELECT status, count(*) FROM outbox GROUP BY status")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    for row in rows {
        let (status, n) = row?;
        match status.as_str() {
            "pending" => counts.pending = n,
            "sent" => counts.sent = n,
            _ => counts.failed = n,
        }
    }
    Ok(counts)
}

/// Sends a failed email again (after an admin fixed the address or the server).
pub fn retry(conn: &Connection, id: i64, now: Millis) -> Result<()> {
    let changed = conn.execute(
        "UPDATE outbox SET status = 'pending', next_attempt_at = ?2 WHERE id = ?1 AND status = 'failed'",
        params![id, now],
    )?;
    if changed == 0 {
        return Err(super::StoreError::NotFound("email_not_found"));
    }
    Ok(())
}
