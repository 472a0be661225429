//! The tables of the one-minute rule: `pending_notifications` and `notices` (and only this
//! module writes them). Posting a message records, in the same transaction, who is
//! owed an email about it (`owe`); a seen mark cancels what was seen (`seen`); a rule queues its
//! own text (`queue_notice`). The scheduler reads what fell due (`due`), decides and renders
//! away from the database (the top-level `notify` policy and `mail::render`), then settles it
//! in one transaction that removes each row still as it was read and queues its email
//! (`settle`), so a restart neither loses nor repeats one; `outbox` holds the emails queued.

use super::contacts::{NOTICE_ID_PREFIX, NOTICE_WINDOW_MS};
use super::conversations::{self, Conversation, Message, MessagePage};
use super::db::Connection;
use super::inbound::MailThread;
use super::outbox::{self, NewEmail};
use super::{found, json_list, users, Millis, Result, Viewer};
use crate::domain::{Party, PartyKind};
use rusqlite::{params, OptionalExtension};

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
                             UNION ALL SELECT min(owed_since) FROM notices) earliest",
        [],
        |r| r.get(0),
    )?)
}

/// A pending notification as the scheduler read it. The write that settles it removes it only
/// if it is still exactly this: no message added to it, nothing of it seen since.
#[derive(Debug, Clone, Copy)]
pub struct OwedKey {
    pub conversation_id: i64,
    pub party_kind: PartyKind,
    pub party_id: i64,
    pub first_seq: i64,
    pub last_seq: i64,
    pub since: Millis,
}

/// A notice as the scheduler read it: its id and whom it is for (merging customers moves it).
#[derive(Debug, Clone, Copy)]
pub struct NoticeKey {
    pub id: i64,
    pub party_kind: PartyKind,
    pub party_id: i64,
}

/// A pending notification that fell due, with all that deciding and writing its email needs,
/// read as its recipient may see it.
#[derive(Debug, Clone)]
pub struct Owed {
    pub key: OwedKey,
    /// `None` when the party cannot be emailed (no address, no access left, erased).
    pub recipient: Option<Recipient>,
    /// `None` when the recipient may no longer see it, or has seen all that was owed.
    pub conversation: Option<Conversation>,
    /// The first owed message the recipient has not seen.
    pub from_seq: i64,
    /// The messages of `from_seq..` the recipient may see, oldest first, from the seq that
    /// leaves at most `quote` of them up to `last_seq` (see `due`); some may be newer than that.
    pub messages: Vec<Message>,
    /// The customer's own email thread it continues, for a verified customer.
    pub thread: Option<MailThread>,
    /// What names the conversation, for a verified recipient: its ticket's title, else its own
    /// subject, else its first message.
    pub topic: Option<String>,
    /// Neutral notices sent to an unverified address within the hour.
    pub neutral_sent: i64,
}

/// A notice that fell due, with all that deciding and writing its email needs.
#[derive(Debug, Clone)]
pub struct DueNotice {
    pub key: NoticeKey,
    /// `None` when the party cannot be emailed.
    pub recipient: Option<Recipient>,
    pub item_id: Option<i64>,
    pub subject: String,
    pub body: String,
    /// It waited for the party to look first (a new item's notice to an agent).
    pub delayed: bool,
    /// The party marked something of its conversation seen (an agent opening it does).
    pub looked: bool,
    /// Its conversation as the recipient may see it; for a new item, the item's first one.
    pub conversation: Option<Conversation>,
    pub thread: Option<MailThread>,
    pub neutral_sent: i64,
}

/// Reads, in one snapshot, up to `limit` notices and up to `limit` notifications owed since
/// `cutoff` or earlier, each with what its email needs (at most the newest `quote` messages of
/// a notification). Nothing is written: the scheduler decides outside any transaction and
/// settles with `settle`.
pub fn due(
    conn: &Connection,
    cutoff: Millis,
    limit: usize,
    quote: usize,
    now: Millis,
) -> Result<(Vec<DueNotice>, Vec<Owed>)> {
    conn.snapshot(|| {
        let notices = due_notices(conn, cutoff, limit, now)?;
        let keys: Vec<OwedKey> = conn
            .prepare_cached(
                "SELECT conversation_id, party_kind, party_id, first_seq, last_seq, since FROM pending_notifications
                 WHERE since <= ?1 ORDER BY since LIMIT ?2",
            )?
            .query_map(params![cutoff, limit as i64], |r| {
                Ok(OwedKey {
                    conversation_id: r.get(0)?,
                    party_kind: r.get(1)?,
                    party_id: r.get(2)?,
                    first_seq: r.get(3)?,
                    last_seq: r.get(4)?,
                    since: r.get(5)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        let owed = keys.into_iter().map(|key| unseen(conn, key, quote, now)).collect::<Result<_>>()?;
        Ok((notices, owed))
    })
}

/// The notices rules left that are due, each with its recipient and conversation.
fn due_notices(conn: &Connection, cutoff: Millis, limit: usize, now: Millis) -> Result<Vec<DueNotice>> {
    type Row = (NoticeKey, Option<i64>, Option<i64>, String, String, bool);
    let rows: Vec<Row> = conn
        .prepare_cached(
            "SELECT id, party_kind, party_id, conversation_id, item_id, subject, body, owed_since IS NOT NULL
             FROM notices WHERE owed_since IS NULL OR owed_since <= ?1 ORDER BY id LIMIT ?2",
        )?
        .query_map(params![cutoff, limit as i64], |r| {
            let key = NoticeKey { id: r.get(0)?, party_kind: r.get(1)?, party_id: r.get(2)? };
            Ok((key, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut notices = Vec::with_capacity(rows.len());
    for (key, conversation_id, item_id, subject, body, delayed) in rows {
        let recipient = reachable(conn, key.party_kind, key.party_id)?;
        let mut notice = DueNotice {
            key,
            recipient: None,
            item_id,
            subject,
            body,
            delayed,
            looked: false,
            conversation: None,
            thread: None,
            neutral_sent: 0,
        };
        let Some(recipient) = recipient else {
            notices.push(notice);
            continue;
        };
        // A new item's conversation is opened after the item (and its rules): found now, it
        // gives the email a reply address; and an agent who opened it has seen what it says.
        let conversation_id = match (conversation_id, item_id) {
            (None, Some(item)) => first_conversation(conn, item)?,
            (known, _) => known,
        };
        notice.looked = seen_any(conn, conversation_id, recipient.party)?;
        // Read as the recipient: a reply address is only given for a conversation they may see.
        notice.conversation = match conversation_id {
            Some(c) => visible(conn, recipient.viewer, c)?,
            None => None,
        };
        if recipient.verified {
            notice.thread = match &notice.conversation {
                Some(c) => mail_thread(conn, &recipient, c.id)?,
                None => None,
            };
        } else {
            notice.neutral_sent = neutral_sent(conn, &recipient.address, now)?;
        }
        notice.recipient = Some(recipient);
        notices.push(notice);
    }
    Ok(notices)
}

/// What of one pending notification its recipient has not seen, read as them.
fn unseen(conn: &Connection, key: OwedKey, quote: usize, now: Millis) -> Result<Owed> {
    let mut owed = Owed {
        key,
        recipient: reachable(conn, key.party_kind, key.party_id)?,
        conversation: None,
        from_seq: key.first_seq,
        messages: Vec::new(),
        thread: None,
        topic: None,
        neutral_sent: 0,
    };
    let Some(recipient) = &owed.recipient else { return Ok(owed) };
    let seen: i64 = conn
        .prepare_cached("SELECT seq FROM seen_marks WHERE conversation_id = ?1 AND party_kind = ?2 AND party_id = ?3")?
        .query_row(params![key.conversation_id, key.party_kind, key.party_id], |r| r.get(0))
        .optional()?
        .unwrap_or(0);
    owed.from_seq = key.first_seq.max(seen + 1);
    if owed.from_seq > key.last_seq {
        return Ok(owed);
    }
    // Read as the recipient, by the access authority: a customer is never shown an internal
    // conversation, and an agent who lost access to a project is not emailed its messages.
    let Some(conversation) = visible(conn, recipient.viewer, key.conversation_id)? else { return Ok(owed) };
    let start = owed.from_seq.max(key.last_seq - quote as i64 + 1);
    owed.messages =
        conversations::messages(conn, recipient.viewer, key.conversation_id, MessagePage::After(start - 1), quote)?;
    if recipient.verified {
        owed.thread = mail_thread(conn, recipient, key.conversation_id)?;
        owed.topic = topic(conn, recipient.viewer, &conversation)?;
    } else {
        owed.neutral_sent = neutral_sent(conn, &recipient.address, now)?;
    }
    owed.conversation = Some(conversation);
    Ok(owed)
}

/// Which row a decision settles, as the scheduler read it.
#[derive(Debug, Clone, Copy)]
pub enum Claim {
    Owed(OwedKey),
    Notice(NoticeKey),
}

/// What the scheduler decided about one row that fell due: the email it owes, or none (the row
/// is dropped).
#[derive(Debug, Clone)]
pub struct Settle {
    pub claim: Claim,
    pub email: Option<NewEmail>,
}

/// Writes what the scheduler decided, in one transaction: each row still as it was read is
/// removed and its email queued with it, so a restart neither loses nor repeats one. A row that
/// changed since the read (a message added, something seen, the notice withdrawn or moved)
/// stays, to be read and decided again next round. Returns how many emails were queued.
pub fn settle(conn: &Connection, decided: &[Settle], now: Millis) -> Result<usize> {
    let mut queued = 0;
    for Settle { claim, email } in decided {
        let removed = match claim {
            Claim::Owed(k) => conn
                .prepare_cached(
                    "DELETE FROM pending_notifications
                     WHERE conversation_id = ?1 AND party_kind = ?2 AND party_id = ?3
                       AND first_seq = ?4 AND last_seq = ?5 AND since = ?6",
                )?
                .execute(params![k.conversation_id, k.party_kind, k.party_id, k.first_seq, k.last_seq, k.since])?,
            Claim::Notice(k) => conn
                .prepare_cached("DELETE FROM notices WHERE id = ?1 AND party_kind = ?2 AND party_id = ?3")?
                .execute(params![k.id, k.party_kind, k.party_id])?,
        };
        if let (1.., Some(email)) = (removed, email) {
            outbox::enqueue(conn, email, now)?;
            queued += 1;
        }
    }
    Ok(queued)
}

/// Drops what fell due by `cutoff` without sending it (there is no SMTP server: mail queued
/// now would go out stale once one is configured); returns how many.
pub fn drop_due(conn: &Connection, cutoff: Millis) -> Result<usize> {
    let owed = conn.execute("DELETE FROM pending_notifications WHERE since <= ?1", [cutoff])?;
    let notices = conn.execute("DELETE FROM notices WHERE owed_since IS NULL OR owed_since <= ?1", [cutoff])?;
    Ok(owed + notices)
}

/// An agent opened an item: the new-item notice waiting for them (see `notices`) is dropped.
pub fn item_opened(conn: &Connection, item_id: i64, user_id: i64) -> Result<()> {
    conn.prepare_cached(
        "DELETE FROM notices WHERE item_id = ?1 AND party_kind = 'user' AND party_id = ?2 AND owed_since IS NOT NULL",
    )?
    .execute(params![item_id, user_id])?;
    Ok(())
}

/// The customer of a conversation changed (its ticket's requester did): the old one is no
/// longer owed email about it.
pub(super) fn forget_owed(conn: &Connection, conversation_id: i64, customer_id: i64) -> Result<()> {
    conn.execute(
        "DELETE FROM pending_notifications WHERE conversation_id = ?1 AND party_kind = 'customer' AND party_id = ?2",
        params![conversation_id, customer_id],
    )?;
    Ok(())
}

/// Erasing a customer: the email sent to them (by conversation or by one of their lower-case
/// `addresses`), the notices about their conversations and items or to them, and what they
/// were owed. Returns how many emails went.
pub(super) fn forget_customer(
    conn: &Connection,
    customer_id: i64,
    conversations: &[i64],
    items: &[i64],
    addresses: &[String],
) -> Result<usize> {
    let emails = outbox::forget(conn, conversations, addresses)?;
    let (conversations, items) = (json_list(conversations), json_list(items));
    conn.execute(
        "DELETE FROM notices WHERE conversation_id IN (SELECT CAST(value AS BIGINT) FROM json_each(?1))
         OR item_id IN (SELECT CAST(value AS BIGINT) FROM json_each(?2))",
        params![conversations, items],
    )?;
    conn.execute("DELETE FROM notices WHERE party_kind = 'customer' AND party_id = ?1", [customer_id])?;
    conn.execute("DELETE FROM pending_notifications WHERE party_kind = 'customer' AND party_id = ?1", [customer_id])?;
    Ok(emails)
}

/// Merging customer `from` into `to`: what `from` is owed becomes `to`'s (where `to` is not
/// owed the same already), and so do their notices.
pub(super) fn merge_customer(conn: &Connection, from: i64, to: i64) -> Result<()> {
    conn.execute(
        "UPDATE pending_notifications SET party_id = ?2
         WHERE party_kind = 'customer' AND party_id = ?1 AND NOT EXISTS (
             SELECT 1 FROM pending_notifications o WHERE o.conversation_id = pending_notifications.conversation_id
                 AND o.party_kind = 'customer' AND o.party_id = ?2)",
        params![from, to],
    )?;
    conn.execute("DELETE FROM pending_notifications WHERE party_kind = 'customer' AND party_id = ?1", [from])?;
    conn.execute(
        "UPDATE notices SET party_id = ?2 WHERE party_kind = 'customer' AND party_id = ?1",
        params![from, to],
    )?;
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

/// The conversation as `viewer` may see it; `None` when they may not.
fn visible(conn: &Connection, viewer: Viewer, conversation_id: i64) -> Result<Option<Conversation>> {
    found(conversations::get(conn, viewer, conversation_id))
}

/// What names a conversation in a subject, as `viewer` may read it: its ticket's title, else
/// its own subject, else its first message (of which the subject takes the first words).
fn topic(conn: &Connection, viewer: Viewer, conversation: &Conversation) -> Result<Option<String>> {
    if let Some(id) = conversation.item_id {
        if let Some(item) = found(super::items::get(conn, viewer, id))? {
            return Ok(Some(item.title));
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

/// How many neutral notices went to `address` within the last `contacts::NOTICE_WINDOW_MS`.
fn neutral_sent(conn: &Connection, address: &str, now: Millis) -> Result<i64> {
    Ok(conn
        .prepare_cached(
            "SELECT count(*) FROM outbox WHERE lower(to_address) = lower(?1) AND created_at > ?2
             AND message_id LIKE ?3 || '%'",
        )?
        .query_row(params![address, now - NOTICE_WINDOW_MS, NOTICE_ID_PREFIX], |r| r.get(0))?)
}

/// The recipient a pending row or notice names, if they can be emailed.
fn reachable(conn: &Connection, kind: PartyKind, id: i64) -> Result<Option<Recipient>> {
    match Party::from_parts(kind, Some(id)) {
        Some(party) => recipient(conn, party),
        None => Ok(None),
    }
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
            let Some(customer) = found(super::customers::get(conn, id))? else { return Ok(None) };
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
