//! The `notify` action: who it names (the team watching, followers, the assignee, named users,
//! the customer), who of them it reaches (access and each user's preferences), and how (an
//! alert in the app; an email owed until a message goes unseen, or sent at once with a text).

use super::actions::{customer_conversation, fill, for_customer, internal, user_name};
use super::engine::{clip, did, idle, Done, Facts};
use super::model::{Recipients, Rule};
use crate::domain::{NotifyReplies, Party, PartyKind};
use crate::store::Tx;
use crate::store::{conversations, items, notify, users, Event, Millis, Result, StoreError, Viewer};
use rusqlite::Connection;

/// The users a `notify` names for an event, before anyone is filtered out.
pub fn named_users(conn: &Connection, to: Recipients, user_ids: &[i64], facts: &Facts) -> Result<Vec<i64>> {
    let query = |sql: &str, id: i64| -> Result<Vec<i64>> {
        let mut stmt = conn.prepare_cached(sql)?;
        let rows = stmt.query_map([id], |r| r.get::<_, Option<i64>>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows.into_iter().flatten().collect())
    };
    let mut ids = match (to, facts.item_id, facts.conversation_id) {
        (Recipients::Users, _, _) => user_ids.to_vec(),
        (Recipients::Customer, _, _) => Vec::new(),
        (Recipients::Team, _, Some(c)) => {
            let watching = conversations::watchers(conn, c)?;
            if watching.is_empty() {
                everyone_who_sees(conn, facts)?
            } else {
                watching
            }
        }
        (Recipients::Team, _, None) => match facts.item_id {
            Some(item) => {
                let following = query("SELECT user_id FROM item_followers WHERE item_id = ?1", item)?;
                if following.is_empty() {
                    everyone_who_sees(conn, facts)?
                } else {
                    following
                }
            }
            None => Vec::new(),
        },
        (Recipients::Followers, Some(item), _) => query(
            "SELECT user_id FROM item_followers WHERE item_id = ?1 UNION SELECT assignee_id FROM items WHERE id = ?1",
            item,
        )?,
        (Recipients::Followers, None, Some(c)) => query(
            "SELECT party_id FROM participants WHERE conversation_id = ?1 AND party_kind = 'user'
             UNION SELECT assignee_id FROM conversations WHERE id = ?1",
            c,
        )?,
        (Recipients::Assignee, Some(item), _) => query("SELECT assignee_id FROM items WHERE id = ?1", item)?,
        (Recipients::Assignee, None, Some(c)) => query("SELECT assignee_id FROM conversations WHERE id = ?1", c)?,
        (Recipients::Followers | Recipients::Assignee, None, None) => Vec::new(),
    };
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// Active users who may see the event's project (admins and "see across projects" included).
fn everyone_who_sees(conn: &Connection, facts: &Facts) -> Result<Vec<i64>> {
    let project: Option<i64> = facts.field("project").parse().ok();
    let mut stmt = conn.prepare_cached(
        "SELECT u.id FROM users u LEFT JOIN user_preferences p ON p.user_id = u.id
         WHERE u.active = 1 AND (u.role = 'admin' OR COALESCE(p.see_all_projects, 0) = 1 OR ?1 IS NULL
               OR u.id IN (SELECT user_id FROM project_members WHERE project_id = ?1))",
    )?;
    let rows = stmt.query_map([project], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// Whether a user may see what the event is about (the content goes to them).
fn may_see(conn: &Connection, user_id: i64, facts: &Facts) -> Result<Option<users::Preferences>> {
    let user = match users::get(conn, user_id) {
        Ok(u) if u.active => u,
        Ok(_) | Err(StoreError::NotFound(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    let prefs = users::preferences(conn, user_id)?;
    let viewer = Viewer::agent(user_id, user.role, prefs.see_all_projects);
    let visible = match (facts.conversation_id, facts.item_id) {
        (Some(c), _) => conversations::get(conn, viewer, c).map(drop),
        (None, Some(i)) => items::get(conn, viewer, i).map(drop),
        (None, None) => Ok(()),
    };
    match visible {
        Ok(()) => Ok(Some(prefs)),
        Err(StoreError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A user's own choice of which new messages notify them (Settings).
fn wants_message(prefs: &users::Preferences, facts: &Facts) -> bool {
    if facts.field("conversation.kind") == "internal" {
        return prefs.notify_internal;
    }
    let from_customer = facts.field("message.author") == "customer";
    match prefs.notify_customer_replies {
        NotifyReplies::Both => true,
        NotifyReplies::Customers => from_customer,
        NotifyReplies::Users => !from_customer,
        NotifyReplies::None => false,
    }
}

/// Users by id and name.
pub type People = Vec<(i64, String)>;

/// Who a notify reaches, after access and each user's preferences: (in the app, by email).
pub fn reached(
    conn: &Connection,
    to: Recipients,
    user_ids: &[i64],
    facts: &Facts,
    about_message: bool,
) -> Result<(People, People)> {
    let (mut app, mut email) = (Vec::new(), Vec::new());
    let author = facts.author().and_then(|a| if a.kind() == PartyKind::User { a.id() } else { None });
    for id in named_users(conn, to, user_ids, facts)? {
        if Some(id) == author {
            continue;
        }
        let Some(prefs) = may_see(conn, id, facts)? else { continue };
        if about_message && !wants_message(&prefs, facts) {
            continue;
        }
        let name = user_name(conn, id)?;
        app.push((id, name.clone()));
        if !about_message || prefs.email_fallback {
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
pub(super) fn notify_people(
    conn: &Tx,
    rule: &Rule,
    facts: &Facts,
    to: Recipients,
    user_ids: &[i64],
    app: bool,
    email: bool,
    text: Option<&str>,
    now: Millis,
) -> Result<Done> {
    let about_message = text.is_none() && facts.message_seq.is_some();
    let text = match text {
        Some(t) if to == Recipients::Customer => fill(conn, t, &for_customer(conn, facts)?)?,
        Some(t) => fill(conn, t, facts)?,
        None => facts.field("message.body").to_owned(),
    };
    if to == Recipients::Customer {
        return notify_customer(conn, facts, email, about_message, &text, now);
    }
    let (in_app, by_email) = reached(conn, to, user_ids, facts, about_message)?;
    let mut done = Vec::new();
    if app && !in_app.is_empty() {
        let title = match facts.field("message.author_name") {
            name if about_message && !name.is_empty() => name.to_owned(),
            _ if about_message => "New message".to_owned(),
            _ => heading(facts, &rule.name),
        };
        conn.raise(Event::Alert {
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
                (true, Some(c), Some(seq)) => notify::owe(conn, c, Party::User(*id), seq, facts.at)?,
                _ => notice(conn, Party::User(*id), facts, &heading(facts, &rule.name), &text, now)?,
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

fn notify_customer(
    conn: &Tx,
    facts: &Facts,
    email: bool,
    about_message: bool,
    text: &str,
    now: Millis,
) -> Result<Done> {
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
        notify::owe(conn, c, Party::Customer(customer), seq, facts.at)?;
        return Ok(did("emailing the customer if unseen for the notification delay".into()));
    }
    if facts.field("customer.email").is_empty() {
        return Ok(idle("the customer's email address is not known"));
    }
    let subject = match facts.field("item.title") {
        "" => heading(facts, "A message from the team"),
        title => title.to_owned(),
    };
    let conversation = customer_conversation(conn, facts)?;
    notice(
        conn,
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
fn notice(conn: &Tx, party: Party, facts: &Facts, subject: &str, body: &str, now: Millis) -> Result<()> {
    let unseen_delay = facts.event == "item_created" && facts.item_id.is_some() && party.kind() == PartyKind::User;
    let about = (facts.conversation_id, facts.item_id);
    notify::queue_notice(conn, party, about, subject, body, now, unseen_delay.then_some(now))?;
    conn.raise(Event::Mail);
    Ok(())
}
