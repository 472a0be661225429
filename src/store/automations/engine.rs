//! Running rules. Every event is turned into facts (a flat map of the fields conditions test)
//! inside the transaction that caused it; each enabled rule of that trigger whose conditions
//! hold acts in the same transaction, so what a rule does commits (or not) with its cause.
//! What an action does can be an event in turn (a bot reply is a message posted); each event
//! carries the chain of rules that led to it, and a rule never acts on an event its own
//! actions caused, so rules cannot loop. What the actions do is in `actions`.

use super::model::Rule;
use super::{enabled_rules, record_run, remember, Outcome};
use crate::domain::{Channel, Party, PartyKind, Status};
use crate::store::conversations::{self, Conversation, Message};
use crate::store::Tx;
use crate::store::{customers, items, settings, Millis, Result, Viewer};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How many rules deep a chain of events may go, whatever the rules.
const MAX_CHAIN: usize = 8;

/// What happened, as conditions see it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Facts {
    /// The trigger kind of the event (`message_posted`, `no_reply`, ...).
    pub event: String,
    pub at: Millis,
    pub conversation_id: Option<i64>,
    pub item_id: Option<i64>,
    pub message_id: Option<i64>,
    pub message_seq: Option<i64>,
    /// The id of the message's author (or of who started the conversation), when a person.
    pub author_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub fields: BTreeMap<String, String>,
    /// The message's text (the field `message.body`), kept apart: the event log for dry runs
    /// stores the message id, not a second copy of every message.
    #[serde(skip)]
    pub body: Option<String>,
    /// The rules whose actions led to this event, oldest first.
    #[serde(skip)]
    pub cause: Vec<i64>,
}

impl Facts {
    pub fn field(&self, name: &str) -> &str {
        match name {
            "message.body" => self.body.as_deref().unwrap_or(""),
            _ => self.fields.get(name).map_or("", String::as_str),
        }
    }

    /// Who wrote the message (or started the conversation), when the event has one.
    pub fn author(&self) -> Option<Party> {
        Party::from_parts(PartyKind::parse(self.field("message.author"))?, self.author_id)
    }

    /// One line for people: what happened to what.
    pub fn summary(&self) -> String {
        let what = match (self.conversation_id, self.item_id) {
            (Some(c), Some(i)) => format!("conversation #{c} (item #{i})"),
            (Some(c), None) => format!("conversation #{c}"),
            (None, Some(i)) => format!("item #{i}"),
            (None, None) => String::new(),
        };
        let text = [self.field("message.body"), self.field("item.title"), self.field("conversation.subject")]
            .into_iter()
            .find(|t| !t.is_empty())
            .map(|t| format!(": {}", clip(t, 80)))
            .unwrap_or_default();
        format!("{} {what}{text}", self.event.replace('_', " "))
    }
}

pub(super) fn clip(text: &str, chars: usize) -> String {
    let mut out: String = text.chars().take(chars).collect();
    if text.chars().nth(chars).is_some() {
        out.push('…');
    }
    out
}

fn age(ms: Millis) -> String {
    let minutes = ms.max(0) / 60_000;
    let (n, unit) = match minutes {
        m if m >= 24 * 60 => (m / (24 * 60), "day"),
        m if m >= 60 => (m / 60, "hour"),
        m => (m, "minute"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// Reads what rules may test about a conversation and/or item (and a message) at `at`.
pub fn facts(
    conn: &Connection,
    event: &str,
    conversation_id: Option<i64>,
    item_id: Option<i64>,
    message: Option<&Message>,
    at: Millis,
) -> Result<Facts> {
    let mut f = Facts { event: event.to_owned(), at, conversation_id, ..Facts::default() };
    let set = |f: &mut Facts, k: &str, v: String| {
        f.fields.insert(k.to_owned(), v);
    };
    let mut item_id = item_id;
    let mut project = None;
    let mut channel = None;
    let mut customer_id = None;
    if let Some(id) = conversation_id {
        let c = conversations::get(conn, Viewer::SYSTEM, id)?;
        set(&mut f, "conversation.kind", c.kind.as_str().into());
        set(&mut f, "conversation.status", c.status.as_str().into());
        set(&mut f, "conversation.subject", c.subject.clone());
        set(&mut f, "conversation.page_url", c.page_url.clone().unwrap_or_default());
        set(&mut f, "conversation.assignee", c.assignee_id.map(|a| a.to_string()).unwrap_or_default());
        item_id = item_id.or(c.item_id);
        (project, channel, customer_id) = (c.project_id, Some(c.channel), c.customer_id);
    }
    if let Some(id) = item_id {
        let i = items::get(conn, Viewer::SYSTEM, id)?;
        set(&mut f, "item.kind", i.kind.as_str().into());
        set(&mut f, "item.status", i.status.as_str().into());
        set(&mut f, "item.title", i.title.clone());
        set(&mut f, "item.description", i.description.clone());
        set(&mut f, "item.assignee", i.assignee_id.map(|a| a.to_string()).unwrap_or_default());
        set(&mut f, "item.age", age(at - i.created_at));
        project = project.or(Some(i.project_id));
        channel = channel.or(Some(i.channel));
        customer_id = customer_id.or(i.requester_id);
    }
    f.item_id = item_id;
    set(&mut f, "project", project.map(|p| p.to_string()).unwrap_or_default());
    set(&mut f, "channel", channel.map(Channel::as_str).unwrap_or_default().into());
    if let Some(m) = message {
        f.message_id = Some(m.id);
        f.message_seq = Some(m.seq);
        f.author_id = m.author.id;
        set(&mut f, "message.author", m.author.kind.as_str().into());
        set(&mut f, "message.author_name", m.author.name.clone().unwrap_or_default());
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
    set(&mut f, "customer", known.into());
    if let Some(c) = customer {
        set(&mut f, "customer.name", c.name.unwrap_or_default());
        set(&mut f, "customer.email", c.email.or(c.contact_email).unwrap_or_default());
    }
    Ok(f)
}

/// Fills in `business_hours` (inside/outside at the event's time) when a condition asks: most
/// events meet no rule that does, and need not read the settings.
pub fn with_hours(conn: &Connection, facts: &mut Facts, conditions: &[super::model::Condition]) -> Result<()> {
    if facts.fields.contains_key("business_hours") || !conditions.iter().any(|c| c.field == "business_hours") {
        return Ok(());
    }
    let inside = settings::business_hours(conn)?.inside(facts.at);
    facts.fields.insert("business_hours".into(), if inside { "inside" } else { "outside" }.into());
    Ok(())
}

/// Whether a rule's conditions hold: the conditions that did (when all do) or those that did
/// not, in words.
pub fn check(rule_conditions: &[super::model::Condition], facts: &Facts) -> (bool, Vec<String>) {
    let mut held = Vec::new();
    let mut failed = Vec::new();
    for c in rule_conditions {
        let actual = facts.field(&c.field);
        let op =
            format!("{:?}", c.op).to_lowercase().replace("isnot", "is not").replace("notcontains", "does not contain");
        let line = format!("{} {op} {:?} ({})", c.field, c.value, if actual.is_empty() { "none" } else { actual });
        if c.holds(actual) {
            held.push(line);
        } else {
            failed.push(line);
        }
    }
    if failed.is_empty() {
        if held.is_empty() {
            held.push("no conditions".into());
        }
        (true, held)
    } else {
        (false, failed.into_iter().map(|l| format!("not: {l}")).collect())
    }
}

/// Runs the enabled rules of an event's trigger, in the event's transaction.
pub fn dispatch(conn: &Tx, mut facts: Facts, now: Millis) -> Result<()> {
    if facts.cause.len() >= MAX_CHAIN {
        return Ok(());
    }
    let rules = enabled_rules(conn, &facts.event)?;
    for rule in &rules {
        with_hours(conn, &mut facts, &rule.conditions)?;
    }
    let event_id = remember(conn, &facts)?;
    for rule in rules {
        if facts.cause.contains(&rule.id) {
            continue;
        }
        let (holds, why) = check(&rule.conditions, &facts);
        if holds {
            act(conn, &rule, &facts, &format!("event:{event_id}"), why, now)?;
        }
    }
    Ok(())
}

/// Does what a rule says and records that it did, with why and what.
/// A run whose actions all found nothing to do (the author is the only one watching, say) is
/// not logged for an event, only for a timed rule's subject, which must be decided once.
pub(super) fn act(conn: &Tx, rule: &Rule, facts: &Facts, key: &str, why: Vec<String>, now: Millis) -> Result<()> {
    let mut detail = why;
    let mut acted = false;
    for action in &rule.actions {
        let (line, did) = super::actions::perform(conn, rule, action, facts, now)?;
        acted |= did;
        detail.push(line);
    }
    match (acted, rule.trigger.timed()) {
        (true, _) => record_run(conn, rule, key, facts, Outcome::Acted, &detail, now),
        (false, true) => record_run(conn, rule, key, facts, Outcome::Skipped, &detail, now),
        (false, false) => Ok(()),
    }
}

/// What an action did, in words, and whether it did anything.
pub(super) type Done = (String, bool);

pub(super) fn did(line: String) -> Done {
    (line, true)
}

pub(super) fn idle(line: &str) -> Done {
    (line.to_owned(), false)
}

// ---- the events the rest of the store reports ----------------------------------------------

pub fn message_posted(conn: &Tx, c: &Conversation, m: &Message, cause: &[i64], now: Millis) -> Result<()> {
    let mut f = facts(conn, "message_posted", Some(c.id), None, Some(m), now)?;
    f.cause = cause.to_vec();
    dispatch(conn, f, now)
}

pub fn conversation_started(
    conn: &Tx,
    c: &Conversation,
    first: Option<&Message>,
    creator: Party,
    now: Millis,
) -> Result<()> {
    let mut f = facts(conn, "conversation_started", Some(c.id), None, first, now)?;
    f.fields.insert("message.author".into(), creator.kind().as_str().into());
    f.author_id = creator.id();
    dispatch(conn, f, now)
}

pub fn item_created(conn: &Tx, item_id: i64, now: Millis) -> Result<()> {
    dispatch(conn, facts(conn, "item_created", None, Some(item_id), None, now)?, now)
}

/// Sets a conversation's status; when it changed, announces it and runs `status_changed`.
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

/// Runs the rules of a status change; `changed` tells a conversation's from an item's.
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
    f.fields.insert("changed".into(), changed.into());
    f.cause = cause.to_vec();
    dispatch(conn, f, now)
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
