//! Conversations and the messages posted in them (who takes part and what they saw is
//! `participants`).

use super::db::{Connection, Row};
pub(super) use super::messages::message;
pub use super::messages::{messages, Author, Message, MessagePage};
pub(super) use super::participants::{forget_party, join, leave};
pub use super::participants::{mark_seen, members, watchers};
use super::people::{self, CustomerSummary};
use super::{access, attachments, participants, Millis, Page, Result, StoreError, Viewer};
use crate::domain::{Body, Channel, ClientId, ConversationKind, Invalid, ItemKind, Party, PartyKind, Priority, Status};
use crate::domain::{MAX_ATTACHMENTS, MAX_BODY_CHARS};
use crate::store::Tx;
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Conversation {
    pub id: i64,
    pub project_id: Option<i64>,
    pub item_id: Option<i64>,
    pub kind: ConversationKind,
    pub status: Status,
    pub subject: String,
    pub customer_id: Option<i64>,
    pub channel: Channel,
    /// The page the customer wrote from, when the widget reported it.
    pub page_url: Option<String>,
    /// The user it is assigned to.
    pub assignee_id: Option<i64>,
    /// The sequence number of the newest message (0 when there is none).
    pub last_seq: i64,
    pub last_activity_at: Millis,
    pub created_at: Millis,
    /// Messages after the caller's seen mark.
    pub unread: i64,
    /// The customer's only email address was typed in (the widget, a form) and never verified:
    /// it may not be theirs, and what is emailed to it is kept neutral.
    pub unverified_email: bool,
    /// The start of the newest message on one line (the newest a person wrote, when there is
    /// one besides the bot's); null when there is no message.
    pub preview: Option<String>,
    /// Who the customer is, for the list row; null when there is none.
    pub customer: Option<CustomerSummary>,
    /// The item it hangs off, for the list row; null when there is none or the caller may not
    /// see it.
    pub item: Option<ItemSummary>,
}

/// An item as a conversation's list row shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ItemSummary {
    pub id: i64,
    pub kind: ItemKind,
    pub title: String,
    pub priority: Priority,
}

/// The views of the agents' messenger (PRODUCT.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConversationView {
    /// From customers → Open conversations.
    Open,
    /// From customers → Closed conversations.
    Closed,
    /// My conversations → Customer replies: open public conversations on followed items.
    CustomerReplies,
    /// My conversations → Internal messages: open internal conversations on followed items.
    Internal,
    /// My conversations → All closed.
    AllClosed,
}

pub struct ConversationFilter {
    pub view: ConversationView,
    /// Keyset: rows strictly after this (last_activity_at, id) in most-recent-first order.
    pub after: Option<(Millis, i64)>,
    pub limit: usize,
}

pub struct NewConversation {
    pub project_id: Option<i64>,
    pub item_id: Option<i64>,
    pub kind: ConversationKind,
    pub subject: String,
    pub customer_id: Option<i64>,
    pub channel: Channel,
    pub page_url: Option<String>,
    pub creator: Party,
}

pub struct NewMessage {
    pub client_id: Option<String>,
    pub author: Party,
    pub body: String,
    pub attachment_ids: Vec<i64>,
}

/// The outcome of a post: a new message, or (`replayed`) the one an earlier send with the same
/// client id made.
pub struct Posted {
    pub message: Message,
    pub conversation: Conversation,
    pub replayed: bool,
}

fn reader(viewer: Viewer) -> (PartyKind, i64) {
    match viewer {
        Viewer::Agent { user_id, .. } => (PartyKind::User, user_id),
        Viewer::Customer { customer_id } => (PartyKind::Customer, customer_id),
    }
}

/// What `cols` reads beside conversation `c`: its customer `cust` and its item `i` when the
/// viewer may see it.
fn joined(viewer: Viewer) -> String {
    format!(
        "LEFT JOIN customers cust ON cust.id = c.customer_id LEFT JOIN items i ON i.id = c.item_id AND {}",
        access::item(viewer)
    )
}

/// Conversations `c`, for `cols`.
fn from(viewer: Viewer) -> String {
    format!("conversations c {}", joined(viewer))
}

/// The same from an agent's followed conversations `fc` (whose order it keeps: CROSS JOIN).
fn followed(viewer: Viewer) -> String {
    format!("followed_conversations fc CROSS JOIN conversations c ON c.id = fc.conversation_id {}", joined(viewer))
}

/// The preview of conversation `c`: its newest message, preferring a person's (a bot's reply
/// would hide what the customer said); a file's name when the message is only files. Every
/// message of a conversation is visible to whoever may see the conversation. Each lookup walks
/// the (conversation_id, seq) index back from the newest message, so a post stays cheap however
/// long the conversation.
macro_rules! preview_of_newest {
    ($filter:literal) => {
        concat!(
            "(SELECT CASE WHEN m.body <> '' THEN substr(m.body, 1, 400)
                ELSE (SELECT '📎 ' || a.filename FROM attachments a WHERE a.message_id = m.id ORDER BY a.id LIMIT 1) END
              FROM messages m WHERE m.conversation_id = c.id ",
            $filter,
            " ORDER BY m.seq DESC LIMIT 1)"
        )
    };
}
const PREVIEW: &str =
    concat!("COALESCE(", preview_of_newest!("AND m.author_kind <> 'bot'"), ", ", preview_of_newest!(""), ")");

/// The columns `row` reads, from `FROM`.
fn cols(viewer: Viewer) -> String {
    let (kind, id) = reader(viewer);
    format!(
        "c.id, c.project_id, c.item_id, c.kind, c.status, c.subject, c.customer_id, c.channel, c.page_url,
         c.last_seq, c.last_activity_at, c.created_at, c.assignee_id,
         c.last_seq - COALESCE((SELECT s.seq FROM seen_marks s WHERE s.conversation_id = c.id
             AND s.party_kind = '{}' AND s.party_id = {id}), 0),
         {}, {PREVIEW}, {}, i.id, i.kind, i.title, i.priority",
        kind.as_str(),
        super::contacts::unverified_email("c.customer_id"),
        people::summary_cols("cust")
    )
}

/// The longest preview, in characters.
const PREVIEW_CHARS: usize = 140;

/// `text` on one line, cut at `PREVIEW_CHARS` with an ellipsis.
pub fn one_line(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= PREVIEW_CHARS {
        return line;
    }
    let cut: String = line.chars().take(PREVIEW_CHARS - 1).collect();
    format!("{}…", cut.trim_end())
}

fn row(r: &Row) -> rusqlite::Result<Conversation> {
    Ok(Conversation {
        id: r.get(0)?,
        project_id: r.get(1)?,
        item_id: r.get(2)?,
        kind: r.get(3)?,
        status: r.get(4)?,
        subject: r.get(5)?,
        customer_id: r.get(6)?,
        channel: r.get(7)?,
        page_url: r.get(8)?,
        last_seq: r.get(9)?,
        last_activity_at: r.get(10)?,
        created_at: r.get(11)?,
        assignee_id: r.get(12)?,
        unread: r.get(13)?,
        unverified_email: r.get(14)?,
        preview: r.get::<_, Option<String>>(15)?.map(|p| one_line(&p)),
        customer: people::summary(r, 16)?,
        item: match r.get::<_, Option<i64>>(21)? {
            Some(id) => Some(ItemSummary { id, kind: r.get(22)?, title: r.get(23)?, priority: r.get(24)? }),
            None => None,
        },
    })
}

pub fn get(conn: &Connection, viewer: Viewer, id: i64) -> Result<Conversation> {
    let vis = access::conversation(viewer);
    conn.prepare_cached(&format!("SELECT {} FROM {} WHERE c.id = ?1 AND {vis}", cols(viewer), from(viewer)))?
        .query_row([id], row)
        .optional()?
        .ok_or(StoreError::NotFound("conversation_not_found"))
}

/// A page of a view, most recently active first. From customers is a walk down the listing
/// index; My conversations a walk down the agent's own followed conversations, so that neither
/// costs more with the team's history than the page it shows.
pub fn list(conn: &Connection, viewer: Viewer, f: &ConversationFilter) -> Result<Page<Conversation>> {
    let vis = access::conversation(viewer);
    let from_customers =
        |status| (from(viewer), "c.last_activity_at", "c.id", format!("c.kind = 'public' AND c.status = '{status}'"));
    let (source, at, id, filter) = match (f.view, viewer) {
        (ConversationView::Open, _) => from_customers("open"),
        (ConversationView::Closed, _) => from_customers("closed"),
        (mine, Viewer::Agent { user_id, .. }) => {
            let filter = match mine {
                ConversationView::CustomerReplies => "fc.status = 'open' AND fc.kind = 'public'",
                ConversationView::Internal => "fc.status = 'open' AND fc.kind = 'internal'",
                _ => "fc.status = 'closed'",
            };
            (
                followed(viewer),
                "fc.last_activity_at",
                "fc.conversation_id",
                format!("fc.user_id = {user_id} AND {filter}"),
            )
        }
        // Customers follow nothing.
        (_, Viewer::Customer { .. }) => return Ok(Page::from_overfetch(Vec::new(), f.limit)),
    };
    let (after_at, after_id) = f.after.unwrap_or((i64::MAX, i64::MAX));
    let mut stmt = conn.prepare(&format!(
        "SELECT {} FROM {source}
         WHERE {filter} AND {vis} AND ({at} < ?1 OR ({at} = ?1 AND {id} < ?2))
         ORDER BY {at} DESC, {id} DESC LIMIT ?3",
        cols(viewer)
    ))?;
    // One query for the page: each row carries its preview and customer.
    let rows: Vec<Conversation> =
        stmt.query_map(params![after_at, after_id, f.limit as i64 + 1], row)?.collect::<rusqlite::Result<_>>()?;
    Ok(Page::from_overfetch(rows, f.limit))
}

/// Creates a conversation. On an item it takes the item's project; internal conversations
/// never have a customer; the creator and the customer become participants.
pub fn insert(conn: &Connection, viewer: Viewer, new: NewConversation, now: Millis) -> Result<Conversation> {
    let mut channel = new.channel;
    let project_id = match (new.item_id, new.project_id) {
        (Some(item), _) => {
            let item = super::items::get(conn, viewer, item)?;
            // The customer's thread of a ticket goes on where they wrote in (a form, the portal, email).
            if new.kind == ConversationKind::Public {
                channel = item.channel;
            }
            Some(item.project_id)
        }
        (None, Some(project)) => Some(super::projects::get(conn, viewer, project)?.id),
        (None, None) => None,
    };
    if new.kind == ConversationKind::Internal && new.customer_id.is_some() {
        return Err(Invalid::new(
            "internal_conversation_has_no_customer",
            "an internal conversation cannot have a customer",
        )
        .into());
    }
    if let Some(customer) = new.customer_id {
        super::customers::get(conn, customer)?;
    }
    let id: i64 = conn.query_row(
        concat!(
            "INSERT INTO conversations (id, project_id, item_id, kind, subject, customer_id, channel, page_url,
                                        last_activity_at, created_at)
             VALUES (",
            super::next_id!("conversations"),
            ", ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8) RETURNING id"
        ),
        params![project_id, new.item_id, new.kind, new.subject, new.customer_id, channel, new.page_url, now],
        |r| r.get(0),
    )?;
    join(conn, id, new.creator, now)?;
    if let Some(customer) = new.customer_id {
        join(conn, id, Party::Customer(customer), now)?;
    }
    get(conn, viewer, id)
}

/// The parties who take part in a conversation, what they have seen, the messages they wrote:
/// moved from one customer to another (two customers found to be one person).
pub(super) fn move_customer(conn: &Connection, from: i64, to: i64) -> Result<()> {
    conn.prepare_cached("UPDATE conversations SET customer_id = ?2 WHERE customer_id = ?1")?
        .execute(params![from, to])?;
    conn.prepare_cached("UPDATE messages SET author_id = ?2 WHERE author_kind = 'customer' AND author_id = ?1")?
        .execute(params![from, to])?;
    participants::move_party(conn, Party::Customer(from), Party::Customer(to))
}

/// Hands an item's public conversations with one customer to another (the item's requester
/// changed); the ones moved.
pub(super) fn hand_over(conn: &Connection, item_id: i64, from: i64, to: Option<i64>) -> Result<Vec<i64>> {
    Ok(conn
        .prepare_cached(
            "UPDATE conversations SET customer_id = ?1
             WHERE item_id = ?2 AND kind = 'public' AND customer_id = ?3 RETURNING id",
        )?
        .query_map(params![to, item_id, from], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?)
}

/// Conversations on an item live in its project: moved with it.
pub(super) fn follow_item_project(conn: &Connection, item_id: i64, project_id: i64) -> Result<()> {
    conn.prepare_cached("UPDATE conversations SET project_id = ?1 WHERE item_id = ?2")?
        .execute(params![project_id, item_id])?;
    Ok(())
}

/// Deletes conversations with all that hangs off them (messages, files, marks), and unties
/// other conversations from the items given, which are about to go.
pub(super) fn erase(conn: &Connection, ids: &[i64], detach_from_items: &[i64]) -> Result<()> {
    conn.prepare_cached("DELETE FROM conversations WHERE id IN (SELECT CAST(value AS BIGINT) FROM json_each(?1))")?
        .execute([super::json_list(ids)])?;
    conn.prepare_cached(
        "UPDATE conversations SET item_id = NULL WHERE item_id IN (SELECT CAST(value AS BIGINT) FROM json_each(?1))",
    )?
    .execute([super::json_list(detach_from_items)])?;
    Ok(())
}

pub fn set_status(conn: &Connection, viewer: Viewer, id: i64, status: Status) -> Result<Conversation> {
    get(conn, viewer, id)?;
    conn.execute("UPDATE conversations SET status = ?1 WHERE id = ?2", params![status, id])?;
    get(conn, viewer, id)
}

/// Assigns a conversation (one without an item: an item's assignment is the item's) to a user,
/// who takes part in it; announced once committed.
pub fn assign(conn: &Tx, viewer: Viewer, id: i64, user_id: i64, now: Millis) -> Result<Conversation> {
    get(conn, viewer, id)?;
    super::users::get(conn, user_id)?;
    conn.execute("UPDATE conversations SET assignee_id = ?1 WHERE id = ?2", params![user_id, id])?;
    join(conn, id, Party::User(user_id), now)?;
    let c = get(conn, viewer, id)?;
    conn.raise(super::Event::Conversation(c.clone()));
    Ok(c)
}

/// Posts a message in a conversation the viewer can see. The sequence number is taken in the
/// same transaction as the insert, so numbers never skip or repeat. A resend with a client id
/// already used in this conversation by the same author returns the original message.
/// The automations of a new message run in the same transaction.
pub fn post(conn: &Tx, viewer: Viewer, conversation_id: i64, new: NewMessage, now: Millis) -> Result<Posted> {
    post_caused(conn, viewer, conversation_id, new, now, &[])
}

/// `post`, for a message that the rules in `cause` made (see `rules::triggers`).
pub(super) fn post_caused(
    conn: &Tx,
    viewer: Viewer,
    conversation_id: i64,
    new: NewMessage,
    now: Millis,
    cause: &[i64],
) -> Result<Posted> {
    let new = checked(new)?;
    let mut conversation = get(conn, viewer, conversation_id)?;
    if let Some(client_id) = &new.client_id {
        let existing: Option<(i64, PartyKind, Option<i64>)> = conn
            .prepare_cached(
                "SELECT id, author_kind, author_id FROM messages WHERE conversation_id = ?1 AND client_id = ?2",
            )?
            .query_row(params![conversation_id, client_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        if let Some((id, kind, author)) = existing {
            if kind != new.author.kind() || author != new.author.id() {
                return Err(StoreError::Conflict("client_id_conflict"));
            }
            return Ok(Posted { message: message(conn, id)?, conversation, replayed: true });
        }
    }
    // A customer writing again reopens their conversation; agents reopen explicitly.
    let reopen = matches!(new.author, Party::Customer(_));
    let seq: i64 = conn
        .prepare_cached(
            "UPDATE conversations SET last_seq = last_seq + 1, last_activity_at = ?1,
             status = CASE WHEN ?2 = 1 THEN 'open' ELSE status END
         WHERE id = ?3 RETURNING last_seq",
        )?
        .query_row(params![now, reopen, conversation_id], |r| r.get(0))?;
    let id: i64 = conn
        .prepare_cached(concat!(
            "INSERT INTO messages (id, conversation_id, seq, client_id, author_kind, author_id, body, created_at)
             VALUES (",
            super::next_id!("messages"),
            ", ?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id"
        ))?
        .query_row(
            params![conversation_id, seq, new.client_id, new.author.kind(), new.author.id(), new.body, now],
            |r| r.get(0),
        )?;
    for attachment in &new.attachment_ids {
        attachments::attach(conn, *attachment, new.author, id)?;
    }
    join(conn, conversation_id, new.author, now)?;
    if let (Party::User(user), Some(item)) = (new.author, conversation.item_id) {
        // Answering an item follows it, so it is in the agent's My conversations from then on.
        super::items::follow_on_reply(conn, item, user)?;
    }
    // The author has seen their own message; the mark only moves forward, so no read-back.
    if let Some(author) = new.author.id() {
        conn.prepare_cached(
            "INSERT INTO seen_marks (conversation_id, party_kind, party_id, seq, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (conversation_id, party_kind, party_id) DO UPDATE
                 SET seq = MAX(seen_marks.seq, excluded.seq), updated_at = excluded.updated_at",
        )?
        .execute(params![conversation_id, new.author.kind(), author, seq, now])?;
        super::notify::seen(conn, conversation_id, new.author, seq)?;
    }
    // What the UPDATE above did, without reading the row again.
    conversation.last_seq = seq;
    conversation.last_activity_at = now;
    conversation.unread = 0;
    if reopen {
        conversation.status = Status::Open;
    }
    let message = message(conn, id)?;
    if new.author != Party::Bot || conversation.preview.is_none() {
        conversation.preview = preview_of(&message);
    }
    super::rules::triggers::message_posted(conn, &conversation, &message, cause, now)?;
    Ok(Posted { message, conversation, replayed: false })
}

/// `PREVIEW` of one message.
fn preview_of(m: &Message) -> Option<String> {
    match m.attachments.first() {
        Some(file) if m.body.is_empty() => Some(format!("📎 {}", file.filename)),
        _ => Some(one_line(&m.body)),
    }
}

/// What every path (HTTP, socket, email, rules) must respect in a message, checked here so
/// that each refuses alike: at most `MAX_ATTACHMENTS` files (`too_many_attachments`), a body a
/// person wrote within bounds (`invalid_body`), a valid client id. What the bot writes is a rule's
/// text: clipped, never refused, so that a rule cannot make the customer's own message fail.
fn checked(mut new: NewMessage) -> Result<NewMessage> {
    new.attachment_ids.sort_unstable();
    new.attachment_ids.dedup();
    if new.attachment_ids.len() > MAX_ATTACHMENTS {
        let message = format!("at most {MAX_ATTACHMENTS} attachments per message");
        return Err(Invalid::new("too_many_attachments", message).into());
    }
    if let Some(id) = &new.client_id {
        ClientId::parse(id)?;
    }
    new.body = match new.author {
        Party::Bot => new.body.chars().take(MAX_BODY_CHARS).collect(),
        _ => Body::parse(&new.body, !new.attachment_ids.is_empty())?.into_string(),
    };
    Ok(new)
}

/// Turns a standalone customer conversation into a ticket in a project: the conversation then
/// hangs off the new item, which can also hold internal messages.
pub fn make_ticket(
    conn: &Tx,
    viewer: Viewer,
    id: i64,
    project_id: i64,
    title: &str,
    creator: i64,
    now: Millis,
) -> Result<(Conversation, super::items::Item)> {
    let conversation = get(conn, viewer, id)?;
    if conversation.item_id.is_some() {
        return Err(StoreError::Conflict("conversation_has_item"));
    }
    let item = super::items::insert(
        conn,
        viewer,
        super::items::NewItem {
            project_id,
            kind: crate::domain::ItemKind::Ticket,
            title: title.to_owned(),
            description: String::new(),
            priority: crate::domain::Priority::Normal,
            assignee_id: None,
            requester_id: conversation.customer_id,
            channel: conversation.channel,
            created_by: Some(creator),
        },
        now,
    )?;
    conn.execute(
        "UPDATE conversations SET item_id = ?1, project_id = ?2 WHERE id = ?3",
        params![item.id, project_id, id],
    )?;
    Ok((get(conn, viewer, id)?, item))
}

/// The item's first internal conversation, where notes about it go, if it has one.
pub fn notes_of(conn: &Connection, item_id: i64) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached("SELECT id FROM conversations WHERE item_id = ?1 AND kind = 'internal' ORDER BY id LIMIT 1")?
        .query_row([item_id], |r| r.get(0))
        .optional()?)
}

/// The conversations on an item that the viewer may see, oldest first.
pub fn of_item(conn: &Connection, viewer: Viewer, item_id: i64) -> Result<Vec<Conversation>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {} FROM {} WHERE {} AND c.item_id = ?1 ORDER BY c.id",
        cols(viewer),
        from(viewer),
        access::conversation(viewer)
    ))?;
    let rows = stmt.query_map([item_id], row)?.collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// A customer's conversations that the viewer may see, most recently active first.
pub fn of_customer(conn: &Connection, viewer: Viewer, customer_id: i64, limit: usize) -> Result<Vec<Conversation>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {} FROM {} WHERE {} AND c.customer_id = ?1
         ORDER BY c.last_activity_at DESC, c.id DESC LIMIT ?2",
        cols(viewer),
        from(viewer),
        access::conversation(viewer)
    ))?;
    let rows = stmt.query_map(params![customer_id, limit as i64], row)?.collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}
