//! The events the rest of the store reports to the rules: each is turned into facts (what
//! conditions test) inside the transaction that caused it, and the engine runs the rules of
//! its trigger in that same transaction.

use super::world::StoreWorld;
use crate::automation::facts::age;
use crate::automation::{dispatch, Facts};
use crate::domain::{Channel, Party, Status};
use crate::store::conversations::{self, Conversation, Message};
use crate::store::db::Connection;
use crate::store::{customers, items, Millis, Result, Tx, Viewer};

/// Reads what rules may test about a conversation and/or item (and a message) at `at`.
pub(super) fn facts(
    conn: &Connection,
    event: &str,
    conversation_id: Option<i64>,
    item_id: Option<i64>,
    message: Option<&Message>,
    at: Millis,
) -> Result<Facts> {
    let mut f = Facts { event: event.to_owned(), at, conversation_id, ..Facts::default() };
    let mut item_id = item_id;
    let mut project = None;
    let mut channel = None;
    let mut customer_id = None;
    if let Some(id) = conversation_id {
        let c = conversations::get(conn, Viewer::SYSTEM, id)?;
        f.set("conversation.kind", c.kind.as_str().into());
        f.set("conversation.status", c.status.as_str().into());
        f.set("conversation.subject", c.subject.clone());
        f.set("conversation.page_url", c.page_url.clone().unwrap_or_default());
        f.set("conversation.assignee", c.assignee_id.map(|a| a.to_string()).unwrap_or_default());
        item_id = item_id.or(c.item_id);
        (project, channel, customer_id) = (c.project_id, Some(c.channel), c.customer_id);
    }
    if let Some(id) = item_id {
        let i = items::get(conn, Viewer::SYSTEM, id)?;
        f.set("item.kind", i.kind.as_str().into());
        f.set("item.status", i.status.as_str().into());
        f.set("item.title", i.title.clone());
        f.set("item.description", i.description.clone());
        f.set("item.assignee", i.assignee_id.map(|a| a.to_string()).unwrap_or_default());
        f.set("item.age", age(at - i.created_at));
        project = project.or(Some(i.project_id));
        channel = channel.or(Some(i.channel));
        customer_id = customer_id.or(i.requester_id);
    }
    f.item_id = item_id;
    f.set("project", project.map(|p| p.to_string()).unwrap_or_default());
    f.set("channel", channel.map(Channel::as_str).unwrap_or_default().into());
    if let Some(m) = message {
        f.message_id = Some(m.id);
        f.message_seq = Some(m.seq);
        f.author_id = m.author.id;
        f.set("message.author", m.author.kind.as_str().into());
        f.set("message.author_name", m.author.name.clone().unwrap_or_default());
        f.body = Some(m.body.clone());
    }
    let customer = match customer_id {
        Some(id) => Some(customers::get(conn, id)?),
        None => None,
    };
    f.customer_id = customer_id;
    let known = match &customer {
        Some(c) if c.known => "known",
        Some(_) => "anonymous",
        None => "none",
    };
    f.set("customer", known.into());
    if let Some(c) = customer {
        f.set("customer.name", c.name.unwrap_or_default());
        f.set("customer.email", c.email.or(c.contact_email).unwrap_or_default());
    }
    Ok(f)
}

pub fn message_posted(conn: &Tx, c: &Conversation, m: &Message, cause: &[i64], now: Millis) -> Result<()> {
    let mut f = facts(conn, "message_posted", Some(c.id), None, Some(m), now)?;
    f.cause = cause.to_vec();
    dispatch(&StoreWorld(conn), f, now)
}

pub fn conversation_started(
    conn: &Tx,
    c: &Conversation,
    first: Option<&Message>,
    creator: Party,
    now: Millis,
) -> Result<()> {
    let mut f = facts(conn, "conversation_started", Some(c.id), None, first, now)?;
    f.set("message.author", creator.kind().as_str().into());
    f.author_id = creator.id();
    dispatch(&StoreWorld(conn), f, now)
}

pub fn item_created(conn: &Tx, item_id: i64, now: Millis) -> Result<()> {
    dispatch(&StoreWorld(conn), facts(conn, "item_created", None, Some(item_id), None, now)?, now)
}

/// Sets a conversation's status; when it changed, runs `status_changed`. Says whether it
/// changed, for the caller to announce.
pub fn set_conversation_status(
    conn: &Tx,
    viewer: Viewer,
    id: i64,
    status: Status,
    cause: &[i64],
    now: Millis,
) -> Result<(bool, Conversation)> {
    let before = conversations::get(conn, viewer, id)?;
    if before.status == status {
        return Ok((false, before));
    }
    let after = conversations::set_status(conn, viewer, id, status)?;
    status_changed(conn, "status_changed", Some(id), None, cause, now)?;
    Ok((true, after))
}

/// Runs the rules of a status change, which say whether a conversation's or an item's changed.
fn status_changed(
    conn: &Tx,
    event: &str,
    conversation_id: Option<i64>,
    item_id: Option<i64>,
    cause: &[i64],
    now: Millis,
) -> Result<()> {
    let mut f = facts(conn, event, conversation_id, item_id, None, now)?;
    let changed = if conversation_id.is_some() { "conversation" } else { "item" };
    f.set("changed", changed.into());
    f.cause = cause.to_vec();
    dispatch(&StoreWorld(conn), f, now)
}

/// Sets an item's status; when it changed, runs `status_changed` (and `item_closed`).
pub fn set_item_status(
    conn: &Tx,
    viewer: Viewer,
    id: i64,
    status: Status,
    cause: &[i64],
    now: Millis,
) -> Result<items::Item> {
    let before = items::get(conn, viewer, id)?;
    let after = items::set_status(conn, viewer, id, status, now)?;
    if before.status != after.status {
        status_changed(conn, "status_changed", None, Some(id), cause, now)?;
        if status == Status::Closed {
            status_changed(conn, "item_closed", None, Some(id), cause, now)?;
        }
    }
    Ok(after)
}
