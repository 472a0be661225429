//! Messages as they are read: who wrote them (a user with their photo, a customer by their
//! display name, the bot by its one name) and their files. Posting is `conversations::post`.

use super::db::{Connection, Row};
use super::{attachments, Millis, Result, Viewer};
use crate::domain::{display_name, PartyKind, BOT_NAME};
use rusqlite::params;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Author {
    pub kind: PartyKind,
    pub id: Option<i64>,
    /// A user's name, a customer's display name, the bot's one name (`BOT_NAME`).
    pub name: Option<String>,
    /// A user's photo (see `User.photo_url`); null for customers, the bot and users without one.
    pub photo_url: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Message {
    pub id: i64,
    pub conversation_id: i64,
    /// 1, 2, 3... within the conversation, without gaps.
    pub seq: i64,
    pub client_id: Option<String>,
    pub author: Author,
    pub body: String,
    pub created_at: Millis,
    pub attachments: Vec<attachments::AttachmentMeta>,
}

pub enum MessagePage {
    After(i64),
    Before(i64),
}

const MESSAGE_COLS: &str = concat!(
    "m.id, m.conversation_id, m.seq, m.client_id, m.author_kind, m.author_id, u.name, m.body, m.created_at,
     cu.id, cu.name, cu.email, cu.contact_email, ",
    super::users::photo_version!("u"),
    " FROM messages m
    LEFT JOIN users u ON m.author_kind = 'user' AND u.id = m.author_id
    LEFT JOIN customers cu ON m.author_kind = 'customer' AND cu.id = m.author_id"
);

fn message_row(r: &Row) -> rusqlite::Result<Message> {
    let (kind, id): (PartyKind, Option<i64>) = (r.get(4)?, r.get(5)?);
    let author = match kind {
        PartyKind::User => {
            let photo = match id {
                Some(id) => super::users::photo_url(id, r.get(13)?),
                None => None,
            };
            Author { kind, id, name: r.get(6)?, photo_url: photo }
        }
        PartyKind::Customer => {
            let customer: Option<i64> = r.get(9)?;
            let (name, email, contact): (Option<String>, Option<String>, Option<String>) =
                (r.get(10)?, r.get(11)?, r.get(12)?);
            let name = customer.map(|c| display_name(c, name.as_deref(), email.as_deref(), contact.as_deref()));
            Author { kind, id, name, photo_url: None }
        }
        PartyKind::Bot => Author { kind, id, name: Some(BOT_NAME.to_owned()), photo_url: None },
    };
    Ok(Message {
        id: r.get(0)?,
        conversation_id: r.get(1)?,
        seq: r.get(2)?,
        client_id: r.get(3)?,
        author,
        body: r.get(7)?,
        created_at: r.get(8)?,
        attachments: Vec::new(),
    })
}

pub(super) fn message(conn: &Connection, id: i64) -> Result<Message> {
    let mut m = conn.prepare_cached(&format!("SELECT {MESSAGE_COLS} WHERE m.id = ?1"))?.query_row([id], message_row)?;
    m.attachments = attachments::of_message(conn, id)?;
    Ok(m)
}

/// Messages of a visible conversation, in sequence order: up to `limit` after a sequence
/// number, or the last `limit` before one (scrolling back).
pub fn messages(
    conn: &Connection,
    viewer: Viewer,
    conversation_id: i64,
    page: MessagePage,
    limit: usize,
) -> Result<Vec<Message>> {
    super::conversations::get(conn, viewer, conversation_id)?;
    let sql = match page {
        MessagePage::After(_) => {
            format!("SELECT {MESSAGE_COLS} WHERE m.conversation_id = ?1 AND m.seq > ?2 ORDER BY m.seq LIMIT ?3")
        }
        MessagePage::Before(_) => format!(
            "SELECT * FROM (SELECT {MESSAGE_COLS} WHERE m.conversation_id = ?1 AND m.seq < ?2
             ORDER BY m.seq DESC LIMIT ?3) page ORDER BY 3"
        ),
    };
    let (MessagePage::After(n) | MessagePage::Before(n)) = page;
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows: Vec<Message> =
        stmt.query_map(params![conversation_id, n, limit as i64], message_row)?.collect::<rusqlite::Result<_>>()?;
    for m in &mut rows {
        m.attachments = attachments::of_message(conn, m.id)?;
    }
    Ok(rows)
}
