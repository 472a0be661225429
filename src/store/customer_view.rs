//! What a customer may see, as types of their own built from the stored rows: a conversation
//! and a ticket (with the one rule for a ticket's description). The widget, the portal, the
//! export and the texts rules write to customers all use these, so a column added to a table
//! reaches customers only when it is added here.

use super::conversations::Conversation;
use super::db::{Connection, Row};
use super::{access, users, Millis, Result, StoreError, Viewer};
use crate::domain::{Channel, ItemKind, PartyKind, Status};
use rusqlite::OptionalExtension;
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
    /// Of those, the ones the team or the bot wrote: what the widget's unread marks count.
    pub replies_unread: i64,
    /// The newest message, shortened, for the list row; none in a conversation without one.
    pub preview: Option<Preview>,
    /// The newest of the team's authors (an agent or the bot), whose face the row shows.
    pub face: Option<Face>,
}

/// The start of a conversation's newest message, as a list row shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Preview {
    /// The first 140 characters of the body (may be empty when only files were sent).
    pub body: String,
    pub author_kind: PartyKind,
    pub attachments: i64,
    pub created_at: Millis,
}

/// Someone of the team as a customer's list shows them: their name (none for the bot, which has
/// one name everywhere) and id, nothing else.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Face {
    pub kind: PartyKind,
    pub id: Option<i64>,
    pub name: Option<String>,
    /// An agent's photo (see `User.photo_url`); null for the bot and agents without one.
    pub photo_url: Option<String>,
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
            replies_unread: 0,
            preview: None,
            face: None,
        }
    }
}

/// The customer's conversations, most recently active first, each with what its list row shows
/// (preview, face, unread replies), in one query. Only conversations the customer may see are
/// read (`access::conversation`), so their previews never come from an internal conversation.
pub fn conversations(conn: &Connection, customer_id: i64, limit: usize) -> Result<Vec<CustomerConversation>> {
    let vis = access::conversation(Viewer::Customer { customer_id });
    let photo = users::photo_version!("fu");
    let sql = format!(
        "WITH mark AS (SELECT c.id AS cid, COALESCE((SELECT s.seq FROM seen_marks s WHERE s.conversation_id = c.id
                 AND s.party_kind = 'customer' AND s.party_id = ?1), 0) AS seq
             FROM conversations c WHERE {vis} AND c.customer_id = ?1)
         SELECT c.id, c.status, c.subject, c.last_seq, c.last_activity_at, c.created_at,
             c.last_seq - mark.seq,
             (SELECT count(*) FROM messages r WHERE r.conversation_id = c.id AND r.seq > mark.seq
                 AND r.author_kind <> 'customer'),
             substr(lm.body, 1, 140), lm.author_kind, lm.created_at,
             (SELECT count(*) FROM attachments a WHERE a.message_id = lm.id),
             fm.author_kind, fm.author_id, CASE fm.author_kind WHEN 'user' THEN fu.name END,
             {photo}
         FROM conversations c JOIN mark ON mark.cid = c.id
         LEFT JOIN messages lm ON lm.conversation_id = c.id AND lm.seq = c.last_seq
         LEFT JOIN messages fm ON fm.id = (SELECT f.id FROM messages f WHERE f.conversation_id = c.id
             AND f.author_kind <> 'customer' ORDER BY f.seq DESC LIMIT 1)
         LEFT JOIN users fu ON fm.author_kind = 'user' AND fu.id = fm.author_id
         ORDER BY c.last_activity_at DESC, c.id DESC LIMIT ?2"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(rusqlite::params![customer_id, limit as i64], |r| {
        let preview = match r.get::<_, Option<PartyKind>>(9)? {
            Some(author_kind) => {
                Some(Preview { body: r.get(8)?, author_kind, created_at: r.get(10)?, attachments: r.get(11)? })
            }
            None => None,
        };
        let face = match r.get::<_, Option<PartyKind>>(12)? {
            Some(kind) => {
                let id: Option<i64> = r.get(13)?;
                let photo_url = id.and_then(|id| users::photo_url(id, r.get(15).ok().flatten()));
                Some(Face { kind, id, name: r.get(14)?, photo_url })
            }
            None => None,
        };
        Ok(CustomerConversation {
            id: r.get(0)?,
            status: r.get(1)?,
            subject: r.get(2)?,
            last_seq: r.get(3)?,
            last_activity_at: r.get(4)?,
            created_at: r.get(5)?,
            unread: r.get(6)?,
            replies_unread: r.get(7)?,
            preview,
            face,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
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
    let limit = limit.map_or(i64::MAX, |l| l as i64);
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
