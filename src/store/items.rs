//! Items (tickets and tasks) in projects, with their requester and followers.

use super::conversations::{self, Conversation, NewConversation};
use super::db::{Connection, Row};
use super::{access, Event, Millis, Page, Result, RightsChange, StoreError, Viewer};
use crate::domain::{Channel, ConversationKind, ItemKind, Party, Priority, Status};
use crate::store::Tx;
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Item {
    pub id: i64,
    pub project_id: i64,
    pub kind: ItemKind,
    pub title: String,
    pub description: String,
    pub status: Status,
    pub priority: Priority,
    pub requester_id: Option<i64>,
    /// The requester's only email address was typed in (a web form, the widget) and never
    /// verified: it may not be theirs, and what is emailed to it is kept neutral.
    pub unverified_email: bool,
    /// The user it is assigned to.
    pub assignee_id: Option<i64>,
    pub channel: Channel,
    pub created_by: Option<i64>,
    pub created_at: Millis,
    pub updated_at: Millis,
    /// User ids of the followers.
    pub followers: Vec<i64>,
    /// Who asked for it, for the list row; null when nobody did.
    pub requester: Option<super::people::CustomerSummary>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemView {
    /// Every visible item.
    All,
    /// Open items a customer asked for with no conversation with them yet (From customers →
    /// Unanswered items).
    Unanswered,
}

pub struct NewItem {
    pub project_id: i64,
    pub kind: ItemKind,
    pub title: String,
    pub description: String,
    pub priority: Priority,
    pub requester_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub channel: Channel,
    pub created_by: Option<i64>,
}

/// A change to an item: `None` leaves a field alone; `Some(None)` clears an optional one.
#[derive(Default)]
pub struct ItemChange {
    pub title: Option<String>,
    pub description: Option<String>,
    pub priority: Option<Priority>,
    pub assignee_id: Option<Option<i64>>,
    pub requester_id: Option<Option<i64>>,
    pub project_id: Option<i64>,
}

pub struct ItemFilter {
    pub view: ItemView,
    pub status: Option<Status>,
    pub project_id: Option<i64>,
    pub kind: Option<ItemKind>,
    pub assignee_id: Option<i64>,
    /// Keyset: rows strictly after this (created_at, id) in newest-first order.
    pub after: Option<(Millis, i64)>,
    pub limit: usize,
}

/// From customers → Unanswered items: open, asked for by a customer, and no conversation with
/// them yet.
pub(super) const UNANSWERED: &str = "i.status = 'open' AND i.requester_id IS NOT NULL AND i.public_threads = 0";

/// `FROM` over the index of unanswered items only (which holds just those): the planner would
/// otherwise walk every item a customer asked for.
pub(super) fn unanswered_from() -> String {
    FROM.replacen("items i", "items i INDEXED BY items_unanswered", 1)
}

/// Items `i` with their requesters `req`, for `cols`.
const FROM: &str = "items i LEFT JOIN customers req ON req.id = i.requester_id";

/// The columns `row` reads, from `FROM`: a page of items is one query, followers and requester
/// included.
fn cols() -> String {
    format!(
        "i.id, i.project_id, i.kind, i.title, i.description, i.status, i.requester_id,
         i.channel, i.created_by, i.created_at, i.updated_at, i.assignee_id, i.priority, {},
         (SELECT string_agg(CAST(f.user_id AS TEXT), ',') FROM (SELECT user_id FROM item_followers WHERE item_id = i.id
                                              ORDER BY user_id) f),
         {}",
        super::contacts::unverified_email("i.requester_id"),
        super::people::summary_cols("req")
    )
}

fn row(r: &Row) -> rusqlite::Result<Item> {
    Ok(Item {
        id: r.get(0)?,
        project_id: r.get(1)?,
        kind: r.get(2)?,
        title: r.get(3)?,
        description: r.get(4)?,
        status: r.get(5)?,
        requester_id: r.get(6)?,
        channel: r.get(7)?,
        created_by: r.get(8)?,
        created_at: r.get(9)?,
        updated_at: r.get(10)?,
        assignee_id: r.get(11)?,
        priority: r.get(12)?,
        unverified_email: r.get(13)?,
        followers: r
            .get::<_, Option<String>>(14)?
            .unwrap_or_default()
            .split(',')
            .filter_map(|id| id.parse().ok())
            .collect(),
        requester: super::people::summary(r, 15)?,
    })
}

/// Creates an item in a project the viewer can see; its creator and its assignee follow it.
pub fn insert(conn: &Tx, viewer: Viewer, new: NewItem, now: Millis) -> Result<Item> {
    super::projects::get(conn, viewer, new.project_id)?;
    if let Some(customer) = new.requester_id {
        super::customers::get(conn, customer)?;
    }
    if let Some(user) = new.assignee_id {
        super::users::get(conn, user)?;
    }
    let id: i64 = conn.query_row(
        concat!(
            "INSERT INTO items (id, project_id, kind, title, description, priority, requester_id, assignee_id,
                                channel, created_by, created_at, updated_at)
             VALUES (",
            super::next_id!("items"),
            ", ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10) RETURNING id"
        ),
        params![
            new.project_id,
            new.kind,
            new.title,
            new.description,
            new.priority,
            new.requester_id,
            new.assignee_id,
            new.channel,
            new.created_by,
            now
        ],
        |r| r.get(0),
    )?;
    for user in new.created_by.into_iter().chain(new.assignee_id) {
        follow(conn, id, user)?;
    }
    announce(conn, id)?;
    super::rules::triggers::item_created(conn, id, now)?;
    get(conn, viewer, id)
}

/// Tells the live parts of the app about an item as it now is (once the write commits).
pub(super) fn announce(conn: &Tx, id: i64) -> Result<()> {
    conn.raise(Event::Item(get(conn, Viewer::SYSTEM, id)?));
    Ok(())
}

/// Changes what an agent may edit; a new assignee follows the item.
pub fn update(conn: &Tx, viewer: Viewer, id: i64, change: ItemChange, now: Millis) -> Result<Item> {
    let before = get(conn, viewer, id)?;
    if let Some(project) = change.project_id {
        super::projects::get(conn, viewer, project)?;
    }
    if let Some(Some(user)) = change.assignee_id {
        super::users::get(conn, user)?;
    }
    if let Some(Some(customer)) = change.requester_id {
        super::customers::get(conn, customer)?;
    }
    conn.execute(
        "UPDATE items SET title = ?1, description = ?2, priority = ?3, assignee_id = ?4, requester_id = ?5,
                          project_id = ?6, updated_at = ?7
         WHERE id = ?8",
        params![
            change.title.unwrap_or(before.title),
            change.description.unwrap_or(before.description),
            change.priority.unwrap_or(before.priority),
            change.assignee_id.unwrap_or(before.assignee_id),
            change.requester_id.unwrap_or(before.requester_id),
            change.project_id.unwrap_or(before.project_id),
            now,
            id
        ],
    )?;
    if let Some(project) = change.project_id.filter(|p| *p != before.project_id) {
        // Conversations on an item live in its project: who may see them changes with it.
        conversations::follow_item_project(conn, id, project)?;
        rights_changed(conn, "SELECT id FROM conversations WHERE item_id = ?1", [id])?;
    }
    if let Some(requester) = change.requester_id.filter(|r| *r != before.requester_id) {
        move_conversations(conn, id, before.requester_id, requester, now)?;
    }
    if let Some(Some(user)) = change.assignee_id {
        follow(conn, id, user)?;
    }
    announce(conn, id)?;
    get(conn, viewer, id)
}

/// A requester change moves the item's public conversations with the old requester to the new
/// one (as Zendesk and Help Scout do): the thread is the ticket's, and the ticket is now theirs.
/// The old requester loses them at once (open sockets re-check on the rights event); what they
/// were owed by email about them is dropped.
fn move_conversations(conn: &Tx, id: i64, old: Option<i64>, new: Option<i64>, now: Millis) -> Result<()> {
    let Some(old) = old else { return Ok(()) };
    let moved = conversations::hand_over(conn, id, old, new)?;
    for c in &moved {
        super::notify::forget_owed(conn, *c, old)?;
        conversations::leave(conn, *c, Party::Customer(old))?;
        if let Some(new) = new {
            conversations::join(conn, *c, Party::Customer(new), now)?;
        }
    }
    if moved.is_empty() {
        return Ok(());
    }
    // Rights first: a socket re-checks before it is handed the moved conversation.
    conn.raise(Event::Rights(RightsChange::Conversations(moved.clone())));
    for c in moved {
        conn.raise(Event::Conversation(conversations::get(conn, Viewer::SYSTEM, c)?));
    }
    Ok(())
}

/// Announces that who may see the conversations `sql` selects (by `args`) changed.
fn rights_changed(conn: &Tx, sql: &str, args: impl super::db::Params) -> Result<()> {
    let ids: Vec<i64> = conn.prepare_cached(sql)?.query_map(args, |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    if !ids.is_empty() {
        conn.raise(Event::Rights(RightsChange::Conversations(ids)));
    }
    Ok(())
}

/// The id of the item's conversation with its requester (their first public one on it), if any.
pub fn requester_thread(conn: &Connection, item_id: i64) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached(
            "SELECT c.id FROM conversations c JOIN items i ON i.id = c.item_id
             WHERE c.item_id = ?1 AND c.kind = 'public' AND c.customer_id = i.requester_id ORDER BY c.id LIMIT 1",
        )?
        .query_row([item_id], |r| r.get(0))
        .optional()?)
}

/// The item's conversation with its requester: their first public one on it, started (by
/// `creator`, on the item's channel) when there is none yet. `None` for an item without a
/// requester. Another customer's conversation on the item is never it.
pub fn customer_thread(conn: &Tx, item_id: i64, creator: Party, now: Millis) -> Result<Option<Conversation>> {
    let existing = requester_thread(conn, item_id)?;
    if let Some(id) = existing {
        return Ok(Some(conversations::get(conn, Viewer::SYSTEM, id)?));
    }
    let item = get(conn, Viewer::SYSTEM, item_id)?;
    let Some(customer) = item.requester_id else { return Ok(None) };
    let new = NewConversation {
        project_id: None,
        item_id: Some(item_id),
        kind: ConversationKind::Public,
        subject: item.title,
        customer_id: Some(customer),
        channel: item.channel,
        page_url: None,
        creator,
    };
    let c = conversations::insert(conn, Viewer::SYSTEM, new, now)?;
    conn.raise(Event::Conversation(c.clone()));
    // It leaves Unanswered items.
    announce(conn, item_id)?;
    Ok(Some(c))
}

pub fn get(conn: &Connection, viewer: Viewer, id: i64) -> Result<Item> {
    let vis = access::item(viewer);
    conn.query_row(&format!("SELECT {} FROM {FROM} WHERE i.id = ?1 AND {vis}", cols()), [id], row)
        .optional()?
        .ok_or(StoreError::NotFound("item_not_found"))
}

/// A page of items, newest first. Only the filters given go into the SQL, so that the planner
/// walks the index that fits (`items_status_created` for a status, `items_unanswered`), never
/// every item. The values are our own enums and ids, never user text.
pub fn list(conn: &Connection, viewer: Viewer, f: &ItemFilter) -> Result<Page<Item>> {
    let (mut filter, from) = match f.view {
        ItemView::All => (access::item(viewer), FROM.to_owned()),
        ItemView::Unanswered => (format!("{UNANSWERED} AND {}", access::item(viewer)), unanswered_from()),
    };
    if let Some(status) = f.status {
        filter += &format!(" AND i.status = '{}'", status.as_str());
    }
    if let Some(kind) = f.kind {
        filter += &format!(" AND i.kind = '{}'", kind.as_str());
    }
    for (column, id) in [("project_id", f.project_id), ("assignee_id", f.assignee_id)] {
        if let Some(id) = id {
            filter += &format!(" AND i.{column} = {id}");
        }
    }
    let (after_at, after_id) = f.after.unwrap_or((i64::MAX, i64::MAX));
    let mut stmt = conn.prepare(&format!(
        "SELECT {} FROM {from}
         WHERE {filter} AND (i.created_at < ?1 OR (i.created_at = ?1 AND i.id < ?2))
         ORDER BY i.created_at DESC, i.id DESC LIMIT ?3",
        cols()
    ))?;
    let rows: Vec<Item> =
        stmt.query_map(params![after_at, after_id, f.limit as i64 + 1], row)?.collect::<rusqlite::Result<_>>()?;
    Ok(Page::from_overfetch(rows, f.limit))
}

/// Gives one customer's items to another (two customers found to be one person).
pub(super) fn move_requester(conn: &Connection, from: i64, to: i64) -> Result<()> {
    conn.prepare_cached("UPDATE items SET requester_id = ?2 WHERE requester_id = ?1")?.execute(params![from, to])?;
    Ok(())
}

/// Deletes items (their followers go with them).
pub(super) fn erase(conn: &Connection, ids: &[i64]) -> Result<()> {
    conn.prepare_cached("DELETE FROM items WHERE id IN (SELECT CAST(value AS BIGINT) FROM json_each(?1))")?
        .execute([super::json_list(ids)])?;
    Ok(())
}

pub fn set_status(conn: &Tx, viewer: Viewer, id: i64, status: Status, now: Millis) -> Result<Item> {
    get(conn, viewer, id)?;
    conn.execute(
        "UPDATE items SET status = ?1, updated_at = ?2 WHERE id = ?3 AND status <> ?1",
        params![status, now, id],
    )?;
    announce(conn, id)?;
    get(conn, viewer, id)
}

/// Makes `user_id` follow the item; whether they did not already.
pub fn follow(conn: &Connection, item_id: i64, user_id: i64) -> Result<bool> {
    let added = conn
        .prepare_cached("INSERT INTO item_followers (item_id, user_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING")?
        .execute(params![item_id, user_id])?;
    Ok(added > 0)
}

/// An agent who writes on an item follows it (once; the app hears of the new follower).
pub(super) fn follow_on_reply(conn: &Tx, item_id: i64, user_id: i64) -> Result<()> {
    if follow(conn, item_id, user_id)? {
        announce(conn, item_id)?;
    }
    Ok(())
}

/// Makes `user_id` follow (or stop following) an item the viewer can see.
pub fn set_following(conn: &Tx, viewer: Viewer, id: i64, user_id: i64, following: bool) -> Result<Item> {
    get(conn, viewer, id)?;
    if following {
        follow(conn, id, user_id)?;
    } else if conn.execute("DELETE FROM item_followers WHERE item_id = ?1 AND user_id = ?2", params![id, user_id])? > 0
    {
        // Following may have been what let them see its conversations.
        conn.raise(Event::Rights(RightsChange::User(user_id)));
    }
    announce(conn, id)?;
    get(conn, viewer, id)
}

/// Items a customer asked for that the viewer can see, newest first.
pub fn of_requester(conn: &Connection, viewer: Viewer, customer_id: i64, limit: usize) -> Result<Vec<Item>> {
    let vis = access::item(viewer);
    let mut stmt = conn.prepare(&format!(
        "SELECT {} FROM {FROM} WHERE {vis} AND i.requester_id = ?1 ORDER BY i.created_at DESC, i.id DESC LIMIT ?2",
        cols()
    ))?;
    let rows = stmt.query_map(params![customer_id, limit as i64], row)?.collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}
