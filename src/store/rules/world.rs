//! The store's side of the automation port: the engine's [`World`] for a transaction (and its
//! [`Reads`] for any connection, which dry runs use), each method a call of the module that
//! owns the rows.

use super::{enabled_rules, record_run, remember, triggers};
use crate::automation::hours::BusinessHours;
use crate::automation::model::Rule;
use crate::automation::{Alert, Choices, Facts, Notice, Outcome, Reads, Subject, World};
use crate::domain::{Channel, ConversationKind, Party, Status};
use crate::store::conversations::{self, NewConversation, NewMessage};
use crate::store::db::Connection;
use crate::store::{
    customer_view, found, items, notify, settings, users, Event, Millis, Result, StoreError, Tx, Viewer,
};
use std::ops::Deref;

/// The world rules see and act on, through a connection (reading) or a transaction (acting).
pub struct StoreWorld<'a, C>(pub &'a C);

impl<C: Deref<Target = Connection>> Reads for StoreWorld<'_, C> {
    type Error = StoreError;

    fn business_hours(&self) -> Result<BusinessHours> {
        settings::business_hours(self.0)
    }

    fn team_name(&self) -> Result<String> {
        Ok(settings::widget(self.0)?.team_name)
    }

    fn description_for_customer(&self, item: i64) -> Result<String> {
        customer_view::description(self.0, item)
    }

    fn requester_thread(&self, item: i64) -> Result<Option<i64>> {
        items::requester_thread(self.0, item)
    }

    fn watchers(&self, conversation: i64) -> Result<Vec<i64>> {
        conversations::watchers(self.0, conversation)
    }

    fn followers(&self, of: Subject) -> Result<Vec<i64>> {
        match of {
            Subject::Item(id) => {
                Ok(found(items::get(self.0, Viewer::SYSTEM, id))?.map(|i| i.followers).unwrap_or_default())
            }
            Subject::Conversation(id) => conversations::members(self.0, id),
        }
    }

    fn assignee(&self, of: Subject) -> Result<Option<i64>> {
        Ok(match of {
            Subject::Item(id) => found(items::get(self.0, Viewer::SYSTEM, id))?.and_then(|i| i.assignee_id),
            Subject::Conversation(id) => {
                found(conversations::get(self.0, Viewer::SYSTEM, id))?.and_then(|c| c.assignee_id)
            }
        })
    }

    fn everyone_who_sees(&self, project: Option<i64>) -> Result<Vec<i64>> {
        users::everyone_who_sees(self.0, project)
    }

    fn user_name(&self, user: i64) -> Result<Option<String>> {
        Ok(found(users::get(self.0, user))?.map(|u| u.name))
    }

    fn may_see(&self, user: i64, about: Option<Subject>) -> Result<Option<Choices>> {
        let Some(user) = found(users::get(self.0, user))?.filter(|u| u.active) else { return Ok(None) };
        let prefs = users::preferences(self.0, user.id)?;
        let viewer = Viewer::agent(user.id, user.role, prefs.see_all_projects);
        let visible = match about {
            Some(Subject::Conversation(c)) => found(conversations::get(self.0, viewer, c))?.is_some(),
            Some(Subject::Item(i)) => found(items::get(self.0, viewer, i))?.is_some(),
            None => true,
        };
        Ok(visible.then_some(Choices {
            notify_customer_replies: prefs.notify_customer_replies,
            notify_internal: prefs.notify_internal,
            email_fallback: prefs.email_fallback,
        }))
    }
}

impl World for StoreWorld<'_, Tx<'_>> {
    fn rules_for(&self, event: &str) -> Result<Vec<std::sync::Arc<Rule>>> {
        enabled_rules(self.0, event)
    }

    fn remember(&self, facts: &Facts) -> Result<i64> {
        remember(self.0, facts)
    }

    fn record_run(
        &self,
        rule: &Rule,
        key: &str,
        facts: &Facts,
        outcome: Outcome,
        detail: &[String],
        now: Millis,
    ) -> Result<()> {
        record_run(self.0, rule, key, facts, outcome, detail, now)
    }

    fn post_as_bot(&self, conversation: i64, body: String, cause: &[i64], now: Millis) -> Result<i64> {
        let new = NewMessage { client_id: None, author: Party::Bot, body, attachment_ids: Vec::new() };
        let posted = conversations::post_caused(self.0, Viewer::SYSTEM, conversation, new, now, cause)?;
        let seq = posted.message.seq;
        self.0.raise(Event::Message { conversation: posted.conversation, message: posted.message });
        Ok(seq)
    }

    fn customer_thread(&self, item: i64, now: Millis) -> Result<Option<i64>> {
        Ok(items::customer_thread(self.0, item, Party::Bot, now)?.map(|c| c.id))
    }

    fn notes_conversation(&self, item: i64, now: Millis) -> Result<i64> {
        if let Some(id) = conversations::notes_of(self.0, item)? {
            return Ok(id);
        }
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
        let c = conversations::insert(self.0, Viewer::SYSTEM, new, now)?;
        let id = c.id;
        self.0.raise(Event::Conversation(c));
        Ok(id)
    }

    fn set_conversation_status(&self, conversation: i64, status: Status, cause: &[i64], now: Millis) -> Result<bool> {
        let (changed, c) = triggers::set_conversation_status(self.0, Viewer::SYSTEM, conversation, status, cause, now)?;
        if changed {
            self.0.raise(Event::Conversation(c));
        }
        Ok(changed)
    }

    fn set_item_status(&self, item: i64, status: Status, cause: &[i64], now: Millis) -> Result<()> {
        triggers::set_item_status(self.0, Viewer::SYSTEM, item, status, cause, now).map(drop)
    }

    fn assign(&self, what: Subject, user: i64, now: Millis) -> Result<()> {
        match what {
            Subject::Item(id) => {
                let change = items::ItemChange { assignee_id: Some(Some(user)), ..Default::default() };
                items::update(self.0, Viewer::SYSTEM, id, change, now).map(drop)
            }
            Subject::Conversation(id) => conversations::assign(self.0, Viewer::SYSTEM, id, user, now).map(drop),
        }
    }

    fn add_follower(&self, to: Subject, user: i64, now: Millis) -> Result<()> {
        match to {
            Subject::Item(id) => items::set_following(self.0, Viewer::SYSTEM, id, user, true).map(drop),
            Subject::Conversation(id) => conversations::join(self.0, id, Party::User(user), now),
        }
    }

    fn owe_email(&self, conversation: i64, party: Party, seq: i64, since: Millis) -> Result<()> {
        notify::owe(self.0, conversation, party, seq, since)
    }

    fn queue_notice(&self, notice: Notice, now: Millis) -> Result<()> {
        let about = (notice.conversation_id, notice.item_id);
        notify::queue_notice(self.0, notice.to, about, notice.subject, notice.body, now, notice.unseen_since)?;
        self.0.raise(Event::Mail);
        Ok(())
    }

    fn alert(&self, alert: Alert) {
        let Alert { users, conversation_id, item_id, title, body } = alert;
        self.0.raise(Event::Alert { users, conversation_id, item_id, title, body });
    }
}
