//! What rules do: the actions (a bot reply, an internal note, a notification, a status, an
//! assignment, a follower), each through the store functions that own the rows, so that their
//! side effects (followers, live frames, the rules of the message a bot posts) always happen;
//! and the same actions described in words, for dry runs.

use super::engine::{clip, did, idle, set_conversation_status, set_item_status, Done, Facts};
use super::model::{Action, Recipients, Rule, Target};
use super::notifying::{names, notify_people, reached};
use crate::domain::{Channel, ConversationKind, Party};
use crate::store::conversations::{self, Message, NewConversation, NewMessage};
use crate::store::Tx;
use crate::store::{customer_view, items, settings, users, Event, Millis, Result, StoreError, Viewer};
use rusqlite::{Connection, OptionalExtension};

/// `{{name}}` replaced by what the facts know: empty when they know nothing, or the fallback
/// the text gives (`{{customer.name | "there"}}`).
pub fn fill(conn: &Connection, text: &str, facts: &Facts) -> Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start..].find("}}") else { break };
        out.push_str(&rest[..start]);
        let (name, fallback) = super::model::variable(&rest[start + 2..start + len]).unwrap_or(("", None));
        let value = match name {
            "team.name" => settings::widget(conn)?.team_name,
            "team.back_at" => settings::business_hours(conn)?.back_at(facts.at).unwrap_or_else(|| "soon".into()),
            "item.id" => facts.item_id.map(|i| i.to_string()).unwrap_or_default(),
            "conversation.id" => facts.conversation_id.map(|i| i.to_string()).unwrap_or_default(),
            name => facts.field(name).to_owned(),
        };
        out.push_str(if value.trim().is_empty() { fallback.unwrap_or("") } else { &value });
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
fn bot_post(conn: &Tx, rule: &Rule, facts: &Facts, conversation_id: i64, body: String, now: Millis) -> Result<Message> {
    let new = NewMessage { client_id: None, author: Party::Bot, body, attachment_ids: Vec::new() };
    let posted = conversations::post_caused(conn, Viewer::SYSTEM, conversation_id, new, now, &chain(rule, facts))?;
    conn.raise(Event::Message { conversation: posted.conversation, message: posted.message.clone() });
    Ok(posted.message)
}

pub(super) fn perform(conn: &Tx, rule: &Rule, action: &Action, facts: &Facts, now: Millis) -> Result<Done> {
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
        Action::InternalNote { text } => internal_note(conn, rule, facts, text, now)?,
        Action::Notify { to, user_ids, app, email, text } => {
            notify_people(conn, rule, facts, *to, user_ids, *app, *email, text.as_deref(), now)?
        }
        Action::SetStatus { of, status } => match (of, facts.conversation_id, facts.item_id) {
            (Target::Conversation, Some(id), _) => {
                let (changed, c) =
                    set_conversation_status(conn, Viewer::SYSTEM, id, *status, &chain(rule, facts), now)?;
                if changed {
                    conn.raise(Event::Conversation(c));
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
        Action::Assign { user_id } => assign(conn, *user_id, facts, now)?,
        Action::AddFollower { user_id } => add_follower(conn, *user_id, facts, now)?,
    })
}

/// The bot writes in the item's internal conversation, started if there is none.
fn internal_note(conn: &Tx, rule: &Rule, facts: &Facts, text: &str, now: Millis) -> Result<Done> {
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
            conn.raise(Event::Conversation(c.clone()));
            c.id
        }
    };
    let body = fill(conn, text, facts)?;
    bot_post(conn, rule, facts, id, body, now)?;
    Ok(did(format!("added an internal note to item #{item}")))
}

/// The name of a user a rule names, or `None` when the user no longer exists (the rule then
/// does nothing rather than fail the write that set it off).
fn still_there(conn: &Connection, user_id: i64) -> Result<Option<String>> {
    match users::get(conn, user_id) {
        Ok(user) => Ok(Some(user.name)),
        Err(StoreError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Assigns through the owners of the rows, so that the assignee follows and the app hears.
fn assign(conn: &Tx, user_id: i64, facts: &Facts, now: Millis) -> Result<Done> {
    let Some(name) = still_there(conn, user_id)? else { return Ok(idle("the user no longer exists")) };
    Ok(match (facts.item_id, facts.conversation_id) {
        (Some(item), _) => {
            let change = items::ItemChange { assignee_id: Some(Some(user_id)), ..Default::default() };
            items::update(conn, Viewer::SYSTEM, item, change, now)?;
            did(format!("assigned item #{item} to {name}"))
        }
        (None, Some(c)) => {
            conversations::assign(conn, Viewer::SYSTEM, c, user_id, now)?;
            did(format!("assigned conversation #{c} to {name}"))
        }
        (None, None) => idle("nothing to assign"),
    })
}

fn add_follower(conn: &Tx, user_id: i64, facts: &Facts, now: Millis) -> Result<Done> {
    let Some(name) = still_there(conn, user_id)? else { return Ok(idle("the user no longer exists")) };
    Ok(match (facts.item_id, facts.conversation_id) {
        (Some(item), _) => {
            items::set_following(conn, Viewer::SYSTEM, item, user_id, true)?;
            did(format!("{name} follows item #{item}"))
        }
        (None, Some(c)) => {
            conversations::join(conn, c, Party::User(user_id), now)?;
            did(format!("{name} takes part in conversation #{c}"))
        }
        (None, None) => idle("nothing to follow"),
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
