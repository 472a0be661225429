//! Running rules. Every event is turned into facts (a flat map of the fields conditions test)
//! inside the transaction that caused it; each enabled rule of that trigger whose conditions
//! hold acts in the same transaction, so what a rule does commits (or not) with its cause.
//! What an action does can be an event in turn (a bot reply is a message posted); each event
//! carries the chain of rules that led to it, and a rule never acts on an event its own
//! actions caused, so rules cannot loop.

use super::model::{Action, Recipients, Rule, Target};
use super::notifying::{names, notify_people, reached};
use super::{enabled_rules, record_run, remember, Outcome};
use crate::domain::{Channel, ConversationKind, Party, PartyKind, Status};
use crate::store::conversations::{self, Conversation, Message, NewConversation, NewMessage};
use crate::store::{
    customer_view, customers, items, settings, users, writer, Event, Millis, Result, StoreError, Viewer,
};
use rusqlite::{Connection, OptionalExtension};
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
pub fn dispatch(conn: &Connection, mut facts: Facts, now: Millis) -> Result<()> {
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
pub(super) fn act(
    conn: &Connection,
    rule: &Rule,
    facts: &Facts,
    key: &str,
    why: Vec<String>,
    now: Millis,
) -> Result<()> {
    let mut detail = why;
    let mut acted = false;
    for action in &rule.actions {
        let (line, did) = perform(conn, rule, action, facts, now)?;
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

pub fn message_posted(conn: &Connection, c: &Conversation, m: &Message, cause: &[i64], now: Millis) -> Result<()> {
    let mut f = facts(conn, "message_posted", Some(c.id), None, Some(m), now)?;
    f.cause = cause.to_vec();
    dispatch(conn, f, now)
}

pub fn conversation_started(
    conn: &Connection,
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

pub fn item_created(conn: &Connection, item_id: i64, now: Millis) -> Result<()> {
    dispatch(conn, facts(conn, "item_created", None, Some(item_id), None, now)?, now)
}

/// Sets a conversation's status; when it changed, announces it and runs `status_changed`.
pub fn set_conversation_status(
    conn: &Connection,
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
    conn: &Connection,
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
    conn: &Connection,
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

// ---- actions -------------------------------------------------------------------------------

/// `{{name}}` replaced by what the facts know (empty when they know nothing).
pub fn fill(conn: &Connection, text: &str, facts: &Facts) -> Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start..].find("}}") else { break };
        out.push_str(&rest[..start]);
        let value = match rest[start + 2..start + len].trim() {
            "team.name" => settings::widget(conn)?.team_name,
            "team.back_at" => settings::business_hours(conn)?.back_at(facts.at).unwrap_or_else(|| "soon".into()),
            "item.id" => facts.item_id.map(|i| i.to_string()).unwrap_or_default(),
            "conversation.id" => facts.conversation_id.map(|i| i.to_string()).unwrap_or_default(),
            name => facts.field(name).to_owned(),
        };
        out.push_str(&value);
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Whether the event happened in an internal conversation. Nothing of such an event reaches the
/// customer: not its text, not its subject, not that it happened at all.
pub(super) fn internal(facts: &Facts) -> bool {
    facts.field("conversation.kind") == ConversationKind::Internal.as_str()
}

/// The facts a text for the customer is filled from: without what only the team may read. The
/// item's description is the one its requester may read (`customer_view`: the portal's rule).
pub(super) fn for_customer(conn: &Connection, facts: &Facts) -> Result<Facts> {
    let mut f = facts.clone();
    if let Some(item) = facts.item_id {
        f.fields.insert("item.description".into(), customer_view::description(conn, item)?);
    }
    Ok(f)
}

/// The conversation a bot reply goes to: the event's, or the item's with its requester (never
/// another customer's conversation on the item).
pub(super) fn customer_conversation(conn: &Connection, facts: &Facts) -> Result<Option<i64>> {
    if facts.field("conversation.kind") == "public" {
        return Ok(facts.conversation_id);
    }
    match facts.item_id {
        Some(item) => items::requester_thread(conn, item),
        None => Ok(None),
    }
}

/// Posts as the bot, announces it, and runs the rules the new message sets off.
fn bot_post(
    conn: &Connection,
    rule: &Rule,
    facts: &Facts,
    conversation_id: i64,
    body: String,
    now: Millis,
) -> Result<Message> {
    let new = NewMessage { client_id: None, author: Party::Bot, body, attachment_ids: Vec::new() };
    let posted = conversations::post_caused(conn, Viewer::SYSTEM, conversation_id, new, now, &chain(rule, facts))?;
    writer::raise(Event::Message { conversation: posted.conversation, message: posted.message.clone() });
    Ok(posted.message)
}

fn perform(conn: &Connection, rule: &Rule, action: &Action, facts: &Facts, now: Millis) -> Result<Done> {
    Ok(match action {
        Action::BotReply { .. } if internal(facts) => idle("an internal conversation: the customer is not told"),
        Action::BotReply { text } => {
            // A ticket that arrived without a conversation (portal, web form) gets one.
            let thread = match (customer_conversation(conn, facts)?, facts.item_id) {
                (Some(id), _) => Some(id),
                (None, Some(item)) => items::customer_thread(conn, item, Party::Bot, now)?.map(|c| c.id),
                (None, None) => None,
            };
            match thread {
                Some(id) => {
                    let body = fill(conn, text, &for_customer(conn, facts)?)?;
                    let m = bot_post(conn, rule, facts, id, body, now)?;
                    did(format!("replied to the customer in conversation #{id} (message {})", m.seq))
                }
                None => idle("no customer to reply to"),
            }
        }
        Action::InternalNote { text } => {
            let Some(item) = facts.item_id else { return Ok(idle("no item to note on")) };
            let existing: Option<i64> = conn
                .query_row(
                    "SELECT id FROM conversations WHERE item_id = ?1 AND kind = 'internal' ORDER BY id LIMIT 1",
                    [item],
                    |r| r.get(0),
                )
                .optional()?;
            let id = match existing {
                Some(id) => id,
                None => {
                    let new = NewConversation {
                        project_id: None,
                        item_id: Some(item),
                        kind: ConversationKind::Internal,
                        subject: "Notes".into(),
                        customer_id: None,
                        channel: Channel::App,
                        page_url: None,
                        creator: Party::Bot,
                    };
                    let c = conversations::insert(conn, Viewer::SYSTEM, new, now)?;
                    writer::raise(Event::Conversation(c.clone()));
                    c.id
                }
            };
            let body = fill(conn, text, facts)?;
            bot_post(conn, rule, facts, id, body, now)?;
            did(format!("added an internal note to item #{item}"))
        }
        Action::Notify { to, user_ids, app, email, text } => {
            notify_people(conn, rule, facts, *to, user_ids, *app, *email, text.as_deref(), now)?
        }
        Action::SetStatus { of, status } => match (of, facts.conversation_id, facts.item_id) {
            (Target::Conversation, Some(id), _) => {
                let (changed, c) =
                    set_conversation_status(conn, Viewer::SYSTEM, id, *status, &chain(rule, facts), now)?;
                if changed {
                    writer::raise(Event::Conversation(c));
                }
                (format!("conversation #{id} is {}", status.as_str()), changed)
            }
            (Target::Item, _, Some(id)) => {
                let changes = facts.field("item.status") != status.as_str();
                set_item_status(conn, Viewer::SYSTEM, id, *status, &chain(rule, facts), now)?;
                (format!("item #{id} is {}", status.as_str()), changes)
            }
            (Target::Conversation, None, _) => idle("no conversation to change"),
            (Target::Item, _, None) => idle("no item to change"),
        },
        Action::Assign { user_id } => {
            match users::get(conn, *user_id) {
                Err(StoreError::NotFound(_)) => return Ok(idle("the user to assign no longer exists")),
                other => other?,
            };
            let name = user_name(conn, *user_id)?;
            // Through the owners of the rows, so that the assignee follows and the app hears.
            match (facts.item_id, facts.conversation_id) {
                (Some(item), _) => {
                    let change = items::ItemChange { assignee_id: Some(Some(*user_id)), ..Default::default() };
                    items::update(conn, Viewer::SYSTEM, item, change, now)?;
                    did(format!("assigned item #{item} to {name}"))
                }
                (None, Some(c)) => {
                    conversations::assign(conn, Viewer::SYSTEM, c, *user_id, now)?;
                    did(format!("assigned conversation #{c} to {name}"))
                }
                (None, None) => idle("nothing to assign"),
            }
        }
        Action::AddFollower { user_id } => {
            let name = user_name(conn, *user_id)?;
            match (facts.item_id, facts.conversation_id) {
                (Some(item), _) => {
                    items::set_following(conn, Viewer::SYSTEM, item, *user_id, true)?;
                    did(format!("{name} follows item #{item}"))
                }
                (None, Some(c)) => {
                    conversations::join(conn, c, Party::User(*user_id), now)?;
                    did(format!("{name} takes part in conversation #{c}"))
                }
                (None, None) => idle("nothing to follow"),
            }
        }
    })
}

fn chain(rule: &Rule, facts: &Facts) -> Vec<i64> {
    let mut cause = facts.cause.clone();
    cause.push(rule.id);
    cause
}

pub(super) fn user_name(conn: &Connection, id: i64) -> Result<String> {
    match users::get(conn, id) {
        Ok(u) => Ok(u.name),
        Err(StoreError::NotFound(_)) => Ok(format!("user {id}")),
        Err(e) => Err(e),
    }
}

/// What an action would do, in words, without doing it (dry runs).
pub fn describe(conn: &Connection, action: &Action, facts: &Facts) -> Result<String> {
    Ok(match action {
        Action::BotReply { .. } if internal(facts) => "would not reply: the conversation is internal".into(),
        Action::BotReply { text } => match customer_conversation(conn, facts)? {
            Some(id) => format!(
                "would reply in conversation #{id}: {}",
                clip(&fill(conn, text, &for_customer(conn, facts)?)?, 120)
            ),
            None if facts.item_id.is_some() && facts.customer_id.is_some() => format!(
                "would start the conversation with the customer and reply: {}",
                clip(&fill(conn, text, &for_customer(conn, facts)?)?, 120)
            ),
            None => "would not reply: no customer to reply to".into(),
        },
        Action::InternalNote { text } => match facts.item_id {
            Some(item) => format!("would note on item #{item}: {}", clip(&fill(conn, text, facts)?, 120)),
            None => "would not note: no item".into(),
        },
        Action::Notify { to: Recipients::Customer, .. } if internal(facts) => {
            "would not notify the customer: the conversation is internal".into()
        }
        Action::Notify { to: Recipients::Customer, email, text, .. } => match (facts.customer_id, email) {
            (Some(_), true) if text.is_none() => "would email the customer if they do not see it in time".into(),
            (Some(_), true) if facts.field("customer.email").is_empty() => {
                "would not email the customer: address unknown".into()
            }
            (Some(_), true) => format!("would email the customer at {}", facts.field("customer.email")),
            _ => "would not notify: no customer".into(),
        },
        Action::Notify { to, user_ids, app, email, text } => {
            let about_message = text.is_none() && facts.message_seq.is_some();
            let (in_app, by_email) = reached(conn, *to, user_ids, facts, about_message)?;
            let mut parts = Vec::new();
            if *app {
                parts.push(format!("alert {} in the app", names(&in_app)));
            }
            if *email {
                parts.push(format!("email {}", names(&by_email)));
            }
            format!("would {}", parts.join(" and "))
        }
        Action::SetStatus { of, status } => format!("would set the {:?} to {}", of, status.as_str()).to_lowercase(),
        Action::Assign { user_id } => format!("would assign to {}", user_name(conn, *user_id)?),
        Action::AddFollower { user_id } => format!("would add {} as a follower", user_name(conn, *user_id)?),
    })
}
