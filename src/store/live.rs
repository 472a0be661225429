//! The writes that live clients hear about: each commits, then announces what it did (in
//! commit order, from the writer thread) so that rooms and inboxes hear it at once.

use super::conversations::{
    get, insert, mark_seen, post, set_status, Conversation, Message, NewConversation, NewMessage, Posted,
};
use super::{Event, Millis, Result, Store, Viewer};
use crate::domain::{ConversationKind, Party, Status};

/// A new conversation, its first message and the bot's auto-reply, if any.
pub struct Started {
    pub conversation: Conversation,
    pub message: Option<Message>,
    pub auto_reply: Option<Message>,
}

/// The writes that live clients hear about: each commits, then announces itself.
impl Store {
    /// Starts a conversation, with its first message if any. When a customer starts it and
    /// the auto-responder is on, the bot's reply is posted in the same transaction.
    pub async fn create_conversation(
        &self,
        viewer: Viewer,
        new: NewConversation,
        first: Option<NewMessage>,
        now: Millis,
    ) -> Result<Started> {
        self.write_announcing(
            move |c| {
                let by_customer = matches!(new.creator, Party::Customer(_)) && new.kind == ConversationKind::Public;
                let mut conversation = insert(c, viewer, new, now)?;
                let mut started = Started { conversation: conversation.clone(), message: None, auto_reply: None };
                if let Some(m) = first {
                    let posted = post(c, viewer, conversation.id, m, now)?;
                    conversation = posted.conversation;
                    started.message = Some(posted.message);
                }
                let auto = super::settings::auto_reply(c)?;
                if by_customer && auto.enabled {
                    let reply =
                        NewMessage { client_id: None, author: Party::Bot, body: auto.text, attachment_ids: Vec::new() };
                    let posted = post(c, viewer, conversation.id, reply, now)?;
                    conversation = posted.conversation;
                    started.auto_reply = Some(posted.message);
                }
                started.conversation = conversation;
                Ok(started)
            },
            |started: &Started| {
                let c = &started.conversation;
                let mut events = vec![Event::Conversation(c.clone())];
                for m in started.message.iter().chain(&started.auto_reply) {
                    events.push(Event::Message { conversation: c.clone(), message: m.clone() });
                }
                events
            },
        )
        .await
    }

    pub async fn post_message(
        &self,
        viewer: Viewer,
        conversation_id: i64,
        new: NewMessage,
        now: Millis,
    ) -> Result<Posted> {
        self.write_announcing(
            move |c| post(c, viewer, conversation_id, new, now),
            |p: &Posted| {
                if p.replayed {
                    Vec::new()
                } else {
                    vec![Event::Message { conversation: p.conversation.clone(), message: p.message.clone() }]
                }
            },
        )
        .await
    }

    pub async fn set_conversation_status(&self, viewer: Viewer, id: i64, status: Status) -> Result<Conversation> {
        self.write_announcing(
            move |c| {
                let before = get(c, viewer, id)?;
                let after = set_status(c, viewer, id, status)?;
                Ok((before.status != after.status, after))
            },
            |(changed, conversation)| {
                if *changed {
                    vec![Event::Conversation(conversation.clone())]
                } else {
                    Vec::new()
                }
            },
        )
        .await
        .map(|(_, conversation)| conversation)
    }

    /// Moves `party`'s seen mark in a conversation `viewer` can see; announces a real move.
    pub async fn mark_seen(&self, viewer: Viewer, party: Party, id: i64, seq: i64, now: Millis) -> Result<i64> {
        self.write_announcing(
            move |c| {
                let before = get(c, viewer, id)?;
                let seen = mark_seen(c, id, party, seq, now)?;
                let previous = before.last_seq - before.unread;
                Ok((before, seen, seen > previous))
            },
            move |(conversation, seen, moved)| {
                if *moved {
                    vec![Event::Seen { conversation: conversation.clone(), party, seq: *seen }]
                } else {
                    Vec::new()
                }
            },
        )
        .await
        .map(|(_, seen, _)| seen)
    }
}
