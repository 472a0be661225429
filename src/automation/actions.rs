//! What rules do: the actions (a bot reply, an internal note, a notification, a status, an
//! assignment, a follower), each through the [`World`], which acts through the functions that
//! own the rows; and the same actions described in words, for dry runs.

use super::engine::{chain, did, idle, Done};
use super::facts::{clip, Facts};
use super::model::{Action, Recipients, Rule, Target};
use super::notifying::{names, notify_people, reached};
use super::{Reads, Subject, World};
use crate::domain::{ConversationKind, Millis};

/// `{{name}}` replaced by what the facts know: empty when they know nothing, or the fallback
/// the text gives (`{{customer.name | "there"}}`).
pub fn fill<R: Reads>(world: &R, text: &str, facts: &Facts) -> Result<String, R::Error> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start..].find("}}") else { break };
        out.push_str(&rest[..start]);
        let (name, fallback) = super::model::variable(&rest[start + 2..start + len]).unwrap_or(("", None));
        let value = match name {
            "team.name" => world.team_name()?,
            "team.back_at" => world.business_hours()?.back_at(facts.at).unwrap_or_else(|| "soon".into()),
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
/// item's description is the one its requester may read (the portal's rule).
pub(super) fn for_customer<R: Reads>(world: &R, facts: &Facts) -> Result<Facts, R::Error> {
    let mut f = facts.clone();
    if let Some(item) = facts.item_id {
        f.set("item.description", world.description_for_customer(item)?);
    }
    Ok(f)
}

/// The conversation a bot reply goes to: the event's, or the item's with its requester (never
/// another customer's conversation on the item).
pub(super) fn customer_conversation<R: Reads>(world: &R, facts: &Facts) -> Result<Option<i64>, R::Error> {
    if facts.field("conversation.kind") == "public" {
        return Ok(facts.conversation_id);
    }
    match facts.item_id {
        Some(item) => world.requester_thread(item),
        None => Ok(None),
    }
}

/// What the event is about: its item when it has one, else its conversation.
pub(super) fn subject(facts: &Facts) -> Option<Subject> {
    match (facts.item_id, facts.conversation_id) {
        (Some(item), _) => Some(Subject::Item(item)),
        (None, Some(c)) => Some(Subject::Conversation(c)),
        (None, None) => None,
    }
}

pub(super) fn perform<W: World>(
    world: &W,
    rule: &Rule,
    action: &Action,
    facts: &Facts,
    now: Millis,
) -> Result<Done, W::Error> {
    Ok(match action {
        Action::BotReply { .. } if internal(facts) => idle("an internal conversation: the customer is not told"),
        Action::BotReply { text } => {
            // A ticket that arrived without a conversation (portal, web form) gets one.
            let thread = match (customer_conversation(world, facts)?, facts.item_id) {
                (Some(id), _) => Some(id),
                (None, Some(item)) => world.customer_thread(item, now)?,
                (None, None) => None,
            };
            match thread {
                Some(id) => {
                    let body = fill(world, text, &for_customer(world, facts)?)?;
                    let seq = world.post_as_bot(id, body, &chain(rule, facts), now)?;
                    did(format!("replied to the customer in conversation #{id} (message {seq})"))
                }
                None => idle("no customer to reply to"),
            }
        }
        Action::InternalNote { text } => match facts.item_id {
            Some(item) => {
                let id = world.notes_conversation(item, now)?;
                let body = fill(world, text, facts)?;
                world.post_as_bot(id, body, &chain(rule, facts), now)?;
                did(format!("added an internal note to item #{item}"))
            }
            None => idle("no item to note on"),
        },
        Action::Notify { to, user_ids, app, email, text } => {
            notify_people(world, rule, facts, *to, user_ids, *app, *email, text.as_deref(), now)?
        }
        Action::SetStatus { of, status } => match (of, facts.conversation_id, facts.item_id) {
            (Target::Conversation, Some(id), _) => {
                let changed = world.set_conversation_status(id, *status, &chain(rule, facts), now)?;
                (format!("conversation #{id} is {}", status.as_str()), changed)
            }
            (Target::Item, _, Some(id)) => {
                let changes = facts.field("item.status") != status.as_str();
                world.set_item_status(id, *status, &chain(rule, facts), now)?;
                (format!("item #{id} is {}", status.as_str()), changes)
            }
            (Target::Conversation, None, _) => idle("no conversation to change"),
            (Target::Item, _, None) => idle("no item to change"),
        },
        Action::Assign { user_id } => {
            // A user the rule names who no longer exists: the rule does nothing rather than
            // fail the write that set it off.
            let Some(name) = world.user_name(*user_id)? else { return Ok(idle("the user no longer exists")) };
            match subject(facts) {
                Some(what) => {
                    world.assign(what, *user_id, now)?;
                    did(format!("assigned {} to {name}", words(what)))
                }
                None => idle("nothing to assign"),
            }
        }
        Action::AddFollower { user_id } => {
            let Some(name) = world.user_name(*user_id)? else { return Ok(idle("the user no longer exists")) };
            match subject(facts) {
                Some(to) => {
                    world.add_follower(to, *user_id, now)?;
                    did(match to {
                        Subject::Item(item) => format!("{name} follows item #{item}"),
                        Subject::Conversation(c) => format!("{name} takes part in conversation #{c}"),
                    })
                }
                None => idle("nothing to follow"),
            }
        }
    })
}

fn words(subject: Subject) -> String {
    match subject {
        Subject::Item(item) => format!("item #{item}"),
        Subject::Conversation(c) => format!("conversation #{c}"),
    }
}

/// A user's name, or words for one who no longer exists.
pub(super) fn user_name<R: Reads>(world: &R, id: i64) -> Result<String, R::Error> {
    Ok(world.user_name(id)?.unwrap_or_else(|| format!("user {id}")))
}

/// What an action would do, in words, without doing it (dry runs).
pub fn describe<R: Reads>(world: &R, action: &Action, facts: &Facts) -> Result<String, R::Error> {
    Ok(match action {
        Action::BotReply { .. } if internal(facts) => "would not reply: the conversation is internal".into(),
        Action::BotReply { text } => match customer_conversation(world, facts)? {
            Some(id) => format!(
                "would reply in conversation #{id}: {}",
                clip(&fill(world, text, &for_customer(world, facts)?)?, 120)
            ),
            None if facts.item_id.is_some() && facts.customer_id.is_some() => format!(
                "would start the conversation with the customer and reply: {}",
                clip(&fill(world, text, &for_customer(world, facts)?)?, 120)
            ),
            None => "would not reply: no customer to reply to".into(),
        },
        Action::InternalNote { text } => match facts.item_id {
            Some(item) => format!("would note on item #{item}: {}", clip(&fill(world, text, facts)?, 120)),
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
            let (in_app, by_email) = reached(world, *to, user_ids, facts, about_message)?;
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
        Action::Assign { user_id } => format!("would assign to {}", user_name(world, *user_id)?),
        Action::AddFollower { user_id } => format!("would add {} as a follower", user_name(world, *user_id)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::automation::engine::tests::{message, Scene};

    #[test]
    fn variables_are_filled_from_the_facts_and_the_team() {
        let mut f = message("Hi", Vec::new());
        f.set("customer.name", "Ada".into());
        f.item_id = Some(12);
        let text = "Hello {{customer.name}}, {{team.name}} has ticket #{{item.id}} ({{conversation.id}}).";
        assert_eq!(fill(&Scene::default(), text, &f).unwrap(), "Hello Ada, Acme has ticket #12 (1).");
    }

    #[test]
    fn a_variable_without_a_value_takes_its_fallback_or_nothing() {
        let mut f = message("Hi", Vec::new());
        f.set("customer.name", "  ".into());
        let scene = Scene::default();
        assert_eq!(fill(&scene, r#"Hi {{customer.name | "there"}}!"#, &f).unwrap(), "Hi there!");
        assert_eq!(fill(&scene, "Hi {{customer.name}}!", &f).unwrap(), "Hi !");
        assert_eq!(fill(&scene, "Hi {{item.title|\"you\"}} {{", &f).unwrap(), "Hi you {{", "an open {{ stays");
    }

    #[test]
    fn nothing_of_an_internal_conversation_reaches_the_customer() {
        let mut f = message("secret", Vec::new());
        f.set("conversation.kind", "internal".into());
        let scene = Scene::default();
        let reply = Action::BotReply { text: "Thanks".into() };
        assert_eq!(describe(&scene, &reply, &f).unwrap(), "would not reply: the conversation is internal");
        let rule = crate::automation::engine::tests::rule(1, crate::automation::model::Trigger::MessagePosted, vec![]);
        assert!(!perform(&scene, &rule, &reply, &f, 0).unwrap().1);
        assert!(scene.posted.borrow().is_empty());
    }
}
