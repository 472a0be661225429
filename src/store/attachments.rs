//! Attachment metadata and content. Content is stored in fixed-size chunks, written in the
//! same transaction as the metadata, so an attachment is either whole or absent.

use super::db::{Connection, Row};
use super::{access, Millis, Result, StoreError, Viewer};
use crate::domain::Party;
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use utoipa::ToSchema;

/// Bytes per stored chunk: large enough to keep row counts low, small enough to stream.
pub const CHUNK_SIZE: usize = 256 * 1024;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttachmentMeta {
    pub id: i64,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub created_at: Millis,
}

pub struct NewAttachment {
    pub uploader: Party,
    pub filename: String,
    pub content_type: String,
    pub data: Vec<u8>,
    pub sha256: Vec<u8>,
}

const COLS: &str = "a.id, a.filename, a.content_type, a.size, a.created_at";

fn row(r: &Row) -> rusqlite::Result<AttachmentMeta> {
    Ok(AttachmentMeta {
        id: r.get(0)?,
        filename: r.get(1)?,
        content_type: r.get(2)?,
        size: r.get(3)?,
        created_at: r.get(4)?,
    })
}

pub fn insert(conn: &Connection, new: &NewAttachment, now: Millis) -> Result<AttachmentMeta> {
    let uploader = new.uploader.id().ok_or(StoreError::Internal("the bot uploads nothing".into()))?;
    let id: i64 = conn.query_row(
        concat!(
            "INSERT INTO attachments (id, uploader_kind, uploader_id, filename, content_type, size, sha256,
                                      created_at)
             VALUES (",
            super::next_id!("attachments"),
            ", ?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id"
        ),
        params![new.uploader.kind(), uploader, new.filename, new.content_type, new.data.len() as i64, new.sha256, now],
        |r| r.get(0),
    )?;
    let mut stmt =
        conn.prepare_cached("INSERT INTO attachment_chunks (attachment_id, idx, data) VALUES (?1, ?2, ?3)")?;
    for (idx, chunk) in new.data.chunks(CHUNK_SIZE).enumerate() {
        stmt.execute(params![id, idx as i64, chunk])?;
    }
    Ok(AttachmentMeta {
        id,
        filename: new.filename.clone(),
        content_type: new.content_type.clone(),
        size: new.data.len() as i64,
        created_at: now,
    })
}

/// Gives one party's uploads to another (two customers found to be one person).
pub(super) fn move_uploader(conn: &Connection, from: Party, to: Party) -> Result<()> {
    conn.prepare_cached(
        "UPDATE attachments SET uploader_kind = ?3, uploader_id = ?4 WHERE uploader_kind = ?1 AND uploader_id = ?2",
    )?
    .execute(params![from.kind(), from.id(), to.kind(), to.id()])?;
    Ok(())
}

/// Deletes what a party uploaded and never posted (what they posted goes with its messages).
pub(super) fn forget_uploader(conn: &Connection, party: Party) -> Result<()> {
    conn.prepare_cached("DELETE FROM attachments WHERE uploader_kind = ?1 AND uploader_id = ?2")?
        .execute(params![party.kind(), party.id()])?;
    Ok(())
}

/// Binds an uploaded, not yet sent attachment of `uploader` to a message.
pub(super) fn attach(conn: &Connection, id: i64, uploader: Party, message_id: i64) -> Result<()> {
    let n = conn
        .prepare_cached(
            "UPDATE attachments SET message_id = ?1
         WHERE id = ?2 AND uploader_kind = ?3 AND uploader_id = ?4 AND message_id IS NULL",
        )?
        .execute(params![message_id, id, uploader.kind(), uploader.id()])?;
    if n == 0 {
        return Err(StoreError::NotFound("attachment_not_found"));
    }
    Ok(())
}

pub(super) fn of_message(conn: &Connection, message_id: i64) -> Result<Vec<AttachmentMeta>> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {COLS} FROM attachments a WHERE a.message_id = ?1 ORDER BY a.id"))?;
    let rows = stmt.query_map([message_id], row)?.collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// An attachment the viewer may download: their own upload not yet sent, or one on a message
/// of a conversation they can see.
pub fn get(conn: &Connection, viewer: Viewer, id: i64) -> Result<AttachmentMeta> {
    let (kind, who) = match viewer {
        Viewer::Agent { user_id, .. } => ("user", user_id),
        Viewer::Customer { customer_id } => ("customer", customer_id),
    };
    let vis = access::conversation(viewer);
    conn.query_row(
        &format!(
            "SELECT {COLS} FROM attachments a
             LEFT JOIN messages m ON m.id = a.message_id
             LEFT JOIN conversations c ON c.id = m.conversation_id
             WHERE a.id = ?1 AND (
                 (a.message_id IS NULL AND a.uploader_kind = '{kind}' AND a.uploader_id = {who})
                 OR (a.message_id IS NOT NULL AND {vis}))"
        ),
        [id],
        row,
    )
    .optional()?
    .ok_or(StoreError::NotFound("attachment_not_found"))
}

/// One chunk of content, `None` past the end.
pub fn chunk(conn: &Connection, id: i64, idx: i64) -> Result<Option<Vec<u8>>> {
    Ok(conn
        .prepare_cached("SELECT data FROM attachment_chunks WHERE attachment_id = ?1 AND idx = ?2")?
        .query_row(params![id, idx], |r| r.get(0))
        .optional()?)
}
