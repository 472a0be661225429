//! The `notify` action: who it names (the team watching, followers, the assignee, named users,
//! the customer), who of them it reaches (access and each user's choices), and how (an alert
//! in the app; an email owed until a message goes unseen, or sent at once with a text).

use super::actions::{customer_conversation, fill, for_customer, internal, subject, user_name};
use super::engine::{did, idle, Done};
use super::facts::{clip, Facts};
use super::model::{Recipients, Rule};
use super::{Alert, Choices, Notice, Reads, Subject, World};
use crate::domain::{Millis, NotifyReplies, Party, PartyKind};

/// The users a `notify` names for an event, before anyone is filtered out.
fn named_users<R: Reads>(world: &R, to: Recipients, user_ids: &[i64], facts: &Facts) -> Result<Vec<i64>, R::Error> {
    // The team is who watches the event's conversation, or follows its item; everyone who
    // may see it when nobody does.
    let or_everyone = |people: Vec<i64>| {
        if people.is_empty() {
            world.everyone_who_sees(facts.field("project").parse().ok())
        } else {
            Ok(people)
        }
    };
    let and_assignee = |of: Subject| -> Result<Vec<i64>, R::Error> {
        let mut people = world.followers(of)?;
        people.extend(world.assignee(of)?);
        Ok(people)
    };
    let mut ids = match (to, facts.item_id, facts.conversation_id) {
        (Recipients::Users, _, _) => user_ids.to_vec(),
        (Recipients::Customer, _, _) => Vec::new(),
        (Recipients::Team, _, Some(c)) => or_everyone(world.watchers(c)?)?,
        (Recipients::Team, Some(item), None) => or_everyone(world.followers(Subject::Item(item))?)?,
        (Recipients::Team, None, None) => Vec::new(),
        (Recipients::Followers, _, _) => subject(facts).map(and_assignee).transpose()?.unwrap_or_default(),
        (Recipients::Assignee, _, _) => match subject(facts) {
            Some(of) => world.assignee(of)?.into_iter().collect(),
            None => Vec::new(),
        },
    };
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// A user's own choice of which new messages notify them (Settings).
fn wants_message(choices: &Choices, facts: &Facts) -> bool {
    if facts.field("conversation.kind") == "internal" {
        return choices.notify_internal;
    }
    let from_customer = facts.field("message.author") == "customer";
    match choices.notify_customer_replies {
        NotifyReplies::Both => true,
        NotifyReplies::Customers => from_customer,
        NotifyReplies::Users => !from_customer,
        NotifyReplies::None => false,
    }
}

/// Users by id and name.
pub type People = Vec<(i64, String)>;

/// Who a notify reaches, after access and each user's choices: (in the app, by email).
pub(super) fn reached<R: Reads>(
    world: &R,
    to: Recipients,
    user_ids: &[i64],
    facts: &Facts,
    about_message: bool,
) -> Result<(People, People), R::Error> {
    let (mut app, mut email) = (Vec::new(), Vec::new());
    let author = facts.author().and_then(|a| if a.kind() == PartyKind::User { a.id() } else { None });
    // Seeing a conversation is what the content goes by, even when it is on an item.
    let about = match (facts.conversation_id, facts.item_id) {
        (Some(c), _) => Some(Subject::Conversation(c)),
        (None, Some(i)) => Some(Subject::Item(i)),
        (None, None) => None,
    };
    for id in named_users(world, to, user_ids, facts)? {
        if Some(id) == author {
            continue;
        }
        let Some(choices) = world.may_see(id, about)? else { continue };
        if about_message && !wants_message(&choices, facts) {
            continue;
        }
        let name = user_name(world, id)?;
        app.push((id, name.clone()));
        if !about_message || choices.email_fallback {
            email.push((id, name));
        }
    }
    Ok((app, email))
}

pub(super) fn names(people: &[(i64, String)]) -> String {
    if people.is_empty() {
        "nobody".into()
    } else {
        people.iter().map(|(_, n)| n.as_str()).collect::<Vec<_>>().join(", ")
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn notify_people<W: World>(
    world: &W,
    rule: &Rule,
    facts: &Facts,
    to: Recipients,
    user_ids: &[i64],
    app: bool,
    email: bool,
    text: Option<&str>,
    now: Millis,
) -> Result<Done, W::Error> {
    let about_message = text.is_none() && facts.message_seq.is_some();
    let text = match text {
        Some(t) if to == Recipients::Customer => fill(world, t, &for_customer(world, facts)?)?,
        Some(t) => fill(world, t, facts)?,
        None => facts.field("message.body").to_owned(),
    };
    if to == Recipients::Customer {
        return notify_customer(world, facts, email, about_message, &text, now);
    }
    let (in_app, by_email) = reached(world, to, user_ids, facts, about_message)?;
    let mut done = Vec::new();
    if app && !in_app.is_empty() {
        let title = match facts.field("message.author_name") {
            name if about_message && !name.is_empty() => name.to_owned(),
            _ if about_message => "New message".to_owned(),
            _ => heading(facts, &rule.name),
        };
        world.alert(Alert {
            users: in_app.iter().map(|(id, _)| *id).collect(),
            conversation_id: facts.conversation_id,
            item_id: facts.item_id,
            title,
            body: clip(&text, 200),
        });
        done.push(format!("alerted {} in the app", names(&in_app)));
    }
    if email && !by_email.is_empty() {
        for (id, _) in &by_email {
            match (about_message, facts.conversation_id, facts.message_seq) {
                (true, Some(c), Some(seq)) => world.owe_email(c, Party::User(*id), seq, facts.at)?,
                _ => notice(world, Party::User(*id), facts, &heading(facts, &rule.name), &text, now)?,
            }
        }
        let when = if about_message { " if unseen for the notification delay" } else { "" };
        done.push(format!("emailing {}{when}", names(&by_email)));
    }
    if done.is_empty() {
        return Ok(idle("nobody to notify"));
    }
    Ok(did(done.join("; ")))
}

fn notify_customer<W: World>(
    world: &W,
    facts: &Facts,
    email: bool,
    about_message: bool,
    text: &str,
    now: Millis,
) -> Result<Done, W::Error> {
    let Some(customer) = facts.customer_id else { return Ok(idle("no customer to notify")) };
    if internal(facts) {
        return Ok(idle("an internal conversation: the customer is not told"));
    }
    if !email {
        return Ok(idle("nothing to do"));
    }
    if about_message {
        let public = facts.field("conversation.kind") == "public";
        let (Some(c), Some(seq), true) = (facts.conversation_id, facts.message_seq, public) else {
            return Ok(idle("not a conversation with the customer"));
        };
        if facts.author() == Some(Party::Customer(customer)) {
            return Ok(idle("the customer wrote it"));
        }
        world.owe_email(c, Party::Customer(customer), seq, facts.at)?;
        return Ok(did("emailing the customer if unseen for the notification delay".into()));
    }
    if facts.field("customer.email").is_empty() {
        return Ok(idle("the customer's email address is not known"));
    }
    let subject = match facts.field("item.title") {
        "" => heading(facts, "A message from the team"),
        title => title.to_owned(),
    };
    let conversation = customer_conversation(world, facts)?;
    notice(
        world,
        Party::Customer(customer),
        &Facts { conversation_id: conversation, ..facts.clone() },
        &subject,
        text,
        now,
    )?;
    Ok(did(format!("emailing the customer at {}", facts.field("customer.email"))))
}

fn heading(facts: &Facts, fallback: &str) -> String {
    match (facts.field("item.title"), facts.field("conversation.subject")) {
        ("", "") => fallback.to_owned(),
        ("", subject) => subject.to_owned(),
        (title, _) => title.to_owned(),
    }
}

/// Queues an email with its own text, sent by the email scheduler: at once, except that a new
/// item waits for an agent, like a message, the notification delay and is dropped if they open it.
fn notice<W: World>(
    world: &W,
    to: Party,
    facts: &Facts,
    subject: &str,
    body: &str,
    now: Millis,
) -> Result<(), W::Error> {
    let unseen_delay = facts.event == "item_created" && facts.item_id.is_some() && to.kind() == PartyKind::User;
    let notice = Notice {
        to,
        conversation_id: facts.conversation_id,
        item_id: facts.item_id,
        subject,
        body,
        unseen_since: unseen_delay.then_some(now),
    };
    world.queue_notice(notice, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_hears_of_the_messages_they_chose() {
        let choices = |replies, internal| Choices {
            notify_customer_replies: replies,
            notify_internal: internal,
            email_fallback: false,
        };
        let message = |kind: &str, author: &str| {
            let mut f = Facts::default();
            f.set("conversation.kind", kind.into());
            f.set("message.author", author.into());
            f
        };
        let from_customer = message("public", "customer");
        let from_colleague = message("public", "user");
        assert!(wants_message(&choices(NotifyReplies::Customers, false), &from_customer));
        assert!(!wants_message(&choices(NotifyReplies::Customers, false), &from_colleague));
        assert!(wants_message(&choices(NotifyReplies::Users, false), &from_colleague));
        assert!(!wants_message(&choices(NotifyReplies::None, true), &from_customer));
        // Internal messages follow their own choice, whatever the one about replies says.
        assert!(wants_message(&choices(NotifyReplies::None, true), &message("internal", "user")));
        assert!(!wants_message(&choices(NotifyReplies::Both, false), &message("internal", "user")));
    }
}
