//! What a customer may see, as types of their own built from the stored rows: a conversation
//! and a ticket (with the one rule for a ticket's description). The widget, the portal, the
//! export and the texts rules write to customers all use these, so a column added to a table
//! reaches customers only when it is added here.

use super::conversations::{self, Conversation};
use super::{access, Millis, Result, StoreError, Viewer};
use crate::domain::{Channel, ItemKind, Status};
use rusqlite::{Connection, OptionalExtension, Row};
use serde::Serialize;
use utoipa::ToSchema;

/// A conversation as its customer sees it: nothing about who works on it, in which project, or
/// on which ticket.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CustomerConversation {
    pub id: i64,
    pub status: Status,
    /// What it is about, when it has a subject (an email's, a ticket's title); may be empty.
    pub subject: String,
    /// The sequence number of the newest message (0 when there is none).
    pub last_seq: i64,
    pub last_activity_at: Millis,
    pub created_at: Millis,
    /// Messages after the customer's seen mark.
    pub unread: i64,
    /// The start of the newest message on one line (null when there is none). Every message
    /// of the customer's own public conversation is theirs to read.
    pub preview: Option<String>,
}

/// What a customer's socket is told when their conversation changes (reopened, closed, a new
/// message): a part of `CustomerConversation` that needs no read as the customer.
#[derive(Debug, Clone, Serialize)]
pub struct ConversationUpdate {
    pub id: i64,
    pub status: Status,
    pub last_seq: i64,
}

impl ConversationUpdate {
    pub fn of(c: &Conversation) -> ConversationUpdate {
        ConversationUpdate { id: c.id, status: c.status, last_seq: c.last_seq }
    }
}

impl CustomerConversation {
    /// The customer's view of `c`, which must have been read as that customer
    /// (`Viewer::Customer`): its `unread` is then theirs.
    pub fn of(c: &Conversation) -> CustomerConversation {
        CustomerConversation {
            id: c.id,
            status: c.status,
            subject: c.subject.clone(),
            last_seq: c.last_seq,
            last_activity_at: c.last_activity_at,
            created_at: c.created_at,
            unread: c.unread,
            preview: c.preview.clone(),
        }
    }
}

/// The customer's conversations, most recently active first.
pub fn conversations(conn: &Connection, customer_id: i64, limit: usize) -> Result<Vec<CustomerConversation>> {
    let viewer = Viewer::Customer { customer_id };
    Ok(conversations::of_customer(conn, viewer, customer_id, limit)?.iter().map(CustomerConversation::of).collect())
}

/// A ticket as its requester sees it: nothing about who works on it inside the team.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Ticket {
    pub id: i64,
    pub kind: ItemKind,
    pub title: String,
    /// Empty for a ticket an agent opened (see `DESCRIPTION`).
    pub description: String,
    pub status: Status,
    pub channel: Channel,
    pub created_at: Millis,
    pub updated_at: Millis,
    /// Its conversation with the customer, once there is one.
    pub conversation_id: Option<i64>,
    pub last_activity_at: Millis,
    /// Messages in that conversation the customer has not seen.
    pub unread: i64,
}

/// The description of item `i` as its requester may read it: only of tickets a customer made
/// (portal, form, email); one an agent opened may describe it in the team's own words.
const DESCRIPTION: &str = "CASE WHEN i.created_by IS NULL THEN i.description ELSE '' END";

fn ticket_sql() -> String {
    format!(
        "SELECT i.id, i.kind, i.title, {DESCRIPTION}, i.status, i.channel, i.created_at, i.updated_at,
            c.id, COALESCE(c.last_activity_at, i.updated_at),
            COALESCE(c.last_seq - COALESCE((SELECT s.seq FROM seen_marks s WHERE s.conversation_id = c.id
                AND s.party_kind = 'customer' AND s.party_id = i.requester_id), 0), 0)
         FROM items i
         LEFT JOIN conversations c ON c.id = (SELECT min(id) FROM conversations
                                              WHERE item_id = i.id AND kind = 'public' AND customer_id = i.requester_id)"
    )
}

fn ticket_row(r: &Row) -> rusqlite::Result<Ticket> {
    Ok(Ticket {
        id: r.get(0)?,
        kind: r.get(1)?,
        title: r.get(2)?,
        description: r.get(3)?,
        status: r.get(4)?,
        channel: r.get(5)?,
        created_at: r.get(6)?,
        updated_at: r.get(7)?,
        conversation_id: r.get(8)?,
        last_activity_at: r.get(9)?,
        unread: r.get(10)?,
    })
}

/// The customer's tickets, most recently active first; all of them without a `limit`.
pub fn tickets(conn: &Connection, customer_id: i64, limit: Option<usize>) -> Result<Vec<Ticket>> {
    let vis = access::item(Viewer::Customer { customer_id });
    let limit = limit.map_or(-1, |l| l as i64);
    let mut stmt = conn.prepare(&format!("{} WHERE {vis} ORDER BY 10 DESC, i.id DESC LIMIT ?1", ticket_sql()))?;
    let rows = stmt.query_map([limit], ticket_row)?.collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// One of the customer's tickets; anybody else's is not found.
pub fn ticket(conn: &Connection, customer_id: i64, id: i64) -> Result<Ticket> {
    let vis = access::item(Viewer::Customer { customer_id });
    conn.query_row(&format!("{} WHERE i.id = ?1 AND {vis}", ticket_sql()), [id], ticket_row)
        .optional()?
        .ok_or(StoreError::NotFound("ticket_not_found"))
}

/// An item's description as its requester may read it (empty for none, or no such item).
pub fn description(conn: &Connection, item_id: i64) -> Result<String> {
    Ok(conn
        .prepare_cached(&format!("SELECT {DESCRIPTION} FROM items i WHERE i.id = ?1"))?
        .query_row([item_id], |r| r.get(0))
        .optional()?
        .unwrap_or_default())
}
