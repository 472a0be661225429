//! The one-minute rule, in the store. Posting a message decides, in the same transaction, who
//! is owed an email about it; a seen mark cancels what was seen; the scheduler turns what fell
//! due into outbox rows (again in one transaction with removing the pending row, so a restart
//! neither loses nor repeats one); the sender drains the outbox. What an email says is the
//! mail path's business: the flow asks `Letters` (which `mail::render` provides) to write it.

use super::conversations::{self, Message, MessagePage};
use super::inbound::MailThread;
use super::{users, Millis, Result, Viewer};
use crate::domain::{Party, PartyKind};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use utoipa::ToSchema;

/// At most this many messages are quoted in one notification email; older ones are counted.
const MESSAGES_PER_EMAIL: i64 = 20;

/// Who a notification email goes to.
#[derive(Debug, Clone)]
pub struct Recipient {
    pub party: Party,
    pub address: String,
    pub name: Option<String>,
    pub viewer: Viewer,
    /// The address is theirs for sure: an agent's, or a customer's verified one (not a contact
    /// email someone typed, see `contacts`).
    pub verified: bool,
}

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

/// What a notification email tells: the unseen messages (oldest first), how many earlier ones
/// are left out, and what names the conversation (its ticket's title, its subject or its first
/// message, whose first words are taken).
pub struct Unseen<'a> {
    pub messages: &'a [Message],
    pub earlier: i64,
    pub topic: Option<&'a str>,
}

/// Writes the emails the flow queues, in the same transaction as the decision to send them.
pub trait Letters {
    /// The messages of a conversation the recipient has not seen.
    fn notification(
        &self,
        conversation: &conversations::Conversation,
        recipient: &Recipient,
        thread: Option<&MailThread>,
        unseen: Unseen,
        now: Millis,
    ) -> NewEmail;
    /// A rule's own text, about a conversation (threaded with it) or an item, or neither.
    fn notice(
        &self,
        recipient: &Recipient,
        about: (Option<&conversations::Conversation>, Option<&MailThread>),
        item_id: Option<i64>,
        subject: &str,
        body: &str,
        now: Millis,
    ) -> NewEmail;
    /// To an address nobody verified: that there is news, with none of the text.
    fn unverified_notice(
        &self,
        recipient: &Recipient,
        conversation: Option<&conversations::Conversation>,
        now: Millis,
    ) -> NewEmail;
}

/// Records that `party` is owed an email about message `seq` of a conversation unless they see
/// it in time; several messages of one conversation add up to one email. The rules of the
/// notification flow call this (see `crate::automation`, through `rules::world`).
pub(super) fn owe(conn: &Connection, conversation_id: i64, party: Party, seq: i64, since: Millis) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO pending_notifications (conversation_id, party_kind, party_id, first_seq, last_seq, since)
         VALUES (?1, ?2, ?3, ?4, ?4, ?5)
         ON CONFLICT (conversation_id, party_kind, party_id) DO UPDATE SET last_seq = excluded.last_seq",
    )?
    .execute(params![conversation_id, party.kind(), party.id(), seq, since])?;
    Ok(())
}

/// `party` has seen the conversation up to `seq`: what they saw is no longer owed. When only
/// part was seen, the rest falls due a delay after its own first message.
pub(super) fn seen(conn: &Connection, conversation_id: i64, party: Party, seq: i64) -> Result<()> {
    let Some(id) = party.id() else { return Ok(()) };
    conn.prepare_cached(
        "DELETE FROM pending_notifications
         WHERE conversation_id = ?1 AND party_kind = ?2 AND party_id = ?3 AND last_seq <= ?4",
    )?
    .execute(params![conversation_id, party.kind(), id, seq])?;
    conn.prepare_cached(
        "UPDATE pending_notifications SET first_seq = ?4 + 1,
             since = COALESCE((SELECT created_at FROM messages WHERE conversation_id = ?1 AND seq = ?4 + 1), since)
         WHERE conversation_id = ?1 AND party_kind = ?2 AND party_id = ?3 AND first_seq <= ?4",
    )?
    .execute(params![conversation_id, party.kind(), id, seq])?;
    Ok(())
}

/// Queues a notice: an email with a rule's own text, about a conversation and/or an item. It
/// falls due at once, or a delay after `owed_since` (and is dropped if the party looks first).
pub(super) fn queue_notice(
    conn: &Connection,
    party: Party,
    (conversation_id, item_id): (Option<i64>, Option<i64>),
    subject: &str,
    body: &str,
    now: Millis,
    owed_since: Option<Millis>,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO notices (party_kind, party_id, conversation_id, item_id, subject, body, created_at, owed_since)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![party.kind(), party.id(), conversation_id, item_id, subject, body, now, owed_since])?;
    Ok(())
}

/// When the earliest waiting notification was first owed, if any is waiting.
pub fn earliest_pending(conn: &Connection) -> Result<Option<Millis>> {
    Ok(conn.query_row(
        "SELECT min(s) FROM (SELECT min(since) AS s FROM pending_notifications
                             UNION ALL SELECT min(owed_since) FROM notices)",
        [],
        |r| r.get(0),
    )?)
}

/// Turns up to `limit` notifications owed since `cutoff` or earlier into outbox rows, dropping
/// those whose recipient has since seen everything, cannot be reached or may no longer see the
/// conversation. Returns (rows looked at, emails queued).
pub fn queue_due(
    conn: &Connection,
    cutoff: Millis,
    limit: usize,
    letters: &dyn Letters,
    now: Millis,
) -> Result<(usize, usize)> {
    let due: Vec<(i64, PartyKind, i64, i64, i64)> = conn
        .prepare_cached(
            "SELECT conversation_id, party_kind, party_id, first_seq, last_seq FROM pending_notifications
             WHERE since <= ?1 ORDER BY since LIMIT ?2",
        )?
        .query_map(params![cutoff, limit as i64], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut queued = notices(conn, cutoff, limit, letters, now)?;
    for (conversation_id, kind, id, first, last) in &due {
        conn.prepare_cached(
            "DELETE FROM pending_notifications WHERE conversation_id = ?1 AND party_kind = ?2 AND party_id = ?3",
        )?
        .execute(params![conversation_id, kind, id])?;
        let Some(party) = Party::from_parts(*kind, Some(*id)) else { continue };
        if let Some(email) = notification(conn, *conversation_id, party, *first, *last, letters, now)? {
            enqueue(conn, &email, now)?;
            queued += 1;
        }
    }
    Ok((due.len(), queued))
}

/// Drops what fell due by `cutoff` without sending it (there is no SMTP server: mail queued
/// now would go out stale once one is configured); returns how many.
pub fn drop_due(conn: &Connection, cutoff: Millis) -> Result<usize> {
    let owed = conn.execute("DELETE FROM pending_notifications WHERE since <= ?1", [cutoff])?;
    let notices = conn.execute("DELETE FROM notices WHERE owed_since IS NULL OR owed_since <= ?1", [cutoff])?;
    Ok(owed + notices)
}

/// Turns the notices rules left (each due at once) into outbox rows; returns how many.
fn notices(conn: &Connection, cutoff: Millis, limit: usize, letters: &dyn Letters, now: Millis) -> Result<usize> {
    type Notice = (i64, PartyKind, i64, Option<i64>, Option<i64>, String, String, bool);
    let waiting: Vec<Notice> = conn
        .prepare_cached(
            "SELECT id, party_kind, party_id, conversation_id, item_id, subject, body, owed_since IS NOT NULL
             FROM notices WHERE owed_since IS NULL OR owed_since <= ?1 ORDER BY id LIMIT ?2",
        )?
        .query_map(params![cutoff, limit as i64], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut queued = 0;
    for (id, kind, party_id, conversation_id, item_id, subject, body, delayed) in waiting {
        conn.prepare_cached("DELETE FROM notices WHERE id = ?1")?.execute([id])?;
        let Some(party) = Party::from_parts(kind, Some(party_id)) else { continue };
        let Some(recipient) = recipient(conn, party)? else { continue };
        // A new item's conversation is opened after the item (and its rules): found now, it
        // gives the email a reply address; and an agent who opened it has seen what it says.
        let conversation_id = match (conversation_id, item_id) {
            (None, Some(item)) => first_conversation(conn, item)?,
            (known, _) => known,
        };
        if delayed && seen_any(conn, conversation_id, party)? {
            continue;
        }
        // Read as the recipient: a reply address is only given for a conversation they may see.
        let conversation = match conversation_id.map(|c| conversations::get(conn, recipient.viewer, c)) {
            Some(Ok(c)) => Some(c),
            None | Some(Err(super::StoreError::NotFound(_))) => None,
            Some(Err(e)) => return Err(e),
        };
        let email = if recipient.verified {
            let thread = match &conversation {
                Some(c) => mail_thread(conn, &recipient, c.id)?,
                None => None,
            };
            letters.notice(&recipient, (conversation.as_ref(), thread.as_ref()), item_id, &subject, &body, now)
        } else {
            // A rule's text may quote what a stranger typed: an unverified address gets a
            // neutral notice instead, a few an hour at most.
            match neutral(conn, letters, &recipient, conversation.as_ref(), now)? {
                Some(email) => email,
                None => continue,
            }
        };
        enqueue(conn, &email, now)?;
        queued += 1;
    }
    Ok(queued)
}

/// An agent opened an item: the new-item notice waiting for them (see `notices`) is dropped.
pub fn item_opened(conn: &Connection, item_id: i64, user_id: i64) -> Result<()> {
    conn.prepare_cached(
        "DELETE FROM notices WHERE item_id = ?1 AND party_kind = 'user' AND party_id = ?2 AND owed_since IS NOT NULL",
    )?
    .execute(params![item_id, user_id])?;
    Ok(())
}

/// The first conversation of an item, if it has one.
fn first_conversation(conn: &Connection, item_id: i64) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached("SELECT min(id) FROM conversations WHERE item_id = ?1")?
        .query_row([item_id], |r| r.get(0))?)
}

/// Whether `party` marked anything of the conversation seen (an agent opening it does).
fn seen_any(conn: &Connection, conversation_id: Option<i64>, party: Party) -> Result<bool> {
    let Some(c) = conversation_id else { return Ok(false) };
    Ok(conn
        .prepare_cached(
            "SELECT 1 FROM seen_marks WHERE conversation_id = ?1 AND party_kind = ?2 AND party_id = ?3 AND seq > 0",
        )?
        .query_row(params![c, party.kind(), party.id()], |_| Ok(()))
        .optional()?
        .is_some())
}

/// The email for messages `first..=last` of a conversation, minus what the recipient saw or
/// wrote; `None` when nothing is left or the recipient cannot be emailed.
fn notification(
    conn: &Connection,
    conversation_id: i64,
    party: Party,
    first: i64,
    last: i64,
    letters: &dyn Letters,
    now: Millis,
) -> Result<Option<NewEmail>> {
    let Some(recipient) = recipient(conn, party)? else { return Ok(None) };
    let seen: i64 = conn
        .prepare_cached("SELECT seq FROM seen_marks WHERE conversation_id = ?1 AND party_kind = ?2 AND party_id = ?3")?
        .query_row(params![conversation_id, party.kind(), party.id()], |r| r.get(0))
        .optional()?
        .unwrap_or(0);
    let from = first.max(seen + 1);
    if from > last {
        return Ok(None);
    }
    // Read as the recipient, by the access authority: a customer is never shown an internal
    // conversation, and an agent who lost access to a project is not emailed its messages.
    let conversation = match conversations::get(conn, recipient.viewer, conversation_id) {
        Ok(c) => c,
        Err(super::StoreError::NotFound(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    let start = from.max(last - MESSAGES_PER_EMAIL + 1);
    let messages: Vec<Message> = conversations::messages(
        conn,
        recipient.viewer,
        conversation_id,
        MessagePage::After(start - 1),
        MESSAGES_PER_EMAIL as usize,
    )?
    .into_iter()
    .filter(|m| m.seq <= last && !(m.author.kind == party.kind() && m.author.id == party.id()))
    .collect();
    if messages.is_empty() {
        return Ok(None);
    }
    let earlier = start - from;
    if recipient.verified {
        let thread = mail_thread(conn, &recipient, conversation_id)?;
        let topic = topic(conn, recipient.viewer, &conversation)?;
        let unseen = Unseen { messages: &messages, earlier, topic: topic.as_deref() };
        let email = letters.notification(&conversation, &recipient, thread.as_ref(), unseen, now);
        return Ok(Some(email));
    }
    // To an address nobody verified goes only what the team wrote (the bot's texts may quote
    // the stranger who typed it); with nothing of the team's, a neutral notice.
    let team: Vec<Message> = messages.into_iter().filter(|m| m.author.kind == PartyKind::User).collect();
    if team.is_empty() {
        return neutral(conn, letters, &recipient, Some(&conversation), now);
    }
    let unseen = Unseen { messages: &team, earlier, topic: None };
    Ok(Some(letters.notification(&conversation, &recipient, None, unseen, now)))
}

/// What names a conversation in a subject, as `viewer` may read it: its ticket's title, else
/// its own subject, else its first message (of which the subject takes the first words).
fn topic(conn: &Connection, viewer: Viewer, conversation: &conversations::Conversation) -> Result<Option<String>> {
    if let Some(item) = conversation.item_id {
        match super::items::get(conn, viewer, item) {
            Ok(item) => return Ok(Some(item.title)),
            Err(super::StoreError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    if !conversation.subject.trim().is_empty() {
        return Ok(Some(conversation.subject.clone()));
    }
    let first = conversations::messages(conn, viewer, conversation.id, MessagePage::After(0), 1)?;
    Ok(first.into_iter().next().map(|m| m.body).filter(|b| !b.trim().is_empty()))
}

/// The customer's own email thread the conversation continues, for a customer recipient.
fn mail_thread(conn: &Connection, recipient: &Recipient, conversation_id: i64) -> Result<Option<MailThread>> {
    match recipient.party {
        Party::Customer(_) => super::inbound::customer_thread(conn, conversation_id, &recipient.address),
        _ => Ok(None),
    }
}

/// The neutral notice for an unverified address, unless it had its share this hour.
fn neutral(
    conn: &Connection,
    letters: &dyn Letters,
    recipient: &Recipient,
    conversation: Option<&conversations::Conversation>,
    now: Millis,
) -> Result<Option<NewEmail>> {
    if !super::contacts::may_notify(conn, &recipient.address, now)? {
        tracing::info!(to = %recipient.address, "an unverified address had its notices this hour: one dropped");
        return Ok(None);
    }
    Ok(Some(letters.unverified_notice(recipient, conversation, now)))
}

/// The address and view of a notification's recipient, if they can be emailed.
pub fn recipient(conn: &Connection, party: Party) -> Result<Option<Recipient>> {
    match party {
        Party::User(id) => {
            let Some(viewer) = super::access::agent_viewer(conn, id)? else { return Ok(None) };
            let user = users::get(conn, id)?;
            Ok(Some(Recipient { party, address: user.email, name: Some(user.name), viewer, verified: true }))
        }
        Party::Customer(id) => {
            let customer = match super::customers::get(conn, id) {
                Ok(c) => c,
                Err(super::StoreError::NotFound(_)) => return Ok(None),
                Err(e) => return Err(e),
            };
            let verified = customer.email.is_some();
            let address = customer.email.or(customer.contact_email);
            Ok(address.map(|address| Recipient {
                party,
                address,
                name: customer.name,
                viewer: Viewer::Customer { customer_id: id },
                verified,
            }))
        }
        Party::Bot => Ok(None),
    }
}

pub fn enqueue(conn: &Connection, email: &NewEmail, now: Millis) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO outbox (message_id, to_address, reply_to, in_reply_to, subject, text_body, html_body,
                             conversation_id, next_attempt_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
    )?
    .execute(params![
        email.message_id,
        email.to,
        email.reply_to,
        email.in_reply_to,
        email.subject,
        email.text,
        email.html,
        email.conversation_id,
        now
    ])?;
    Ok(conn.last_insert_rowid())
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
pub fn outbox(conn: &Connection, status: Option<&str>, limit: usize) -> Result<Vec<OutboxEntry>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, to_address, subject, status, attempts, last_error, conversation_id, created_at, sent_at,
                next_attempt_at
         FROM outbox WHERE ?1 IS NULL OR status = ?1 ORDER BY id DESC LIMIT ?2",
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
