//! The writes that live clients hear about: each commits, then announces what it did (in
//! commit order, from the writer thread) so that rooms and inboxes hear it at once.

use super::attachments::{self, NewAttachment};
use super::conversations::{get, insert, mark_seen, post, Conversation, Message, NewConversation, NewMessage, Posted};
use super::db::Connection;
use super::inbound::{self, Record};
use super::rules::triggers;
use super::{items, Acting, Event, Millis, Result, Store, Viewer};
use crate::domain::{Channel, ConversationKind, ItemKind, Party, Status};
use crate::store::Tx;
use rusqlite::OptionalExtension;

/// A new conversation, its first message and the bot's auto-reply, if any.
pub struct Started {
    pub conversation: Conversation,
    pub message: Option<Message>,
    pub auto_reply: Option<Message>,
}

/// Inserts a conversation and its first message, and runs the rules of a started conversation
/// (the auto-reply among them).
fn start(c: &Tx, viewer: Viewer, new: NewConversation, first: Option<NewMessage>, now: Millis) -> Result<Started> {
    let creator = new.creator;
    let conversation = insert(c, viewer, new, now)?;
    let message = match first {
        Some(m) => Some(post(c, viewer, conversation.id, m, now)?.message),
        None => None,
    };
    triggers::conversation_started(c, &conversation, message.as_ref(), creator, now)?;
    // The bot's reply (announced by the rule that posted it), for the caller to show at once.
    let auto_reply: Option<i64> = c
        .query_row(
            "SELECT id FROM messages WHERE conversation_id = ?1 AND author_kind = 'bot' ORDER BY seq LIMIT 1",
            [conversation.id],
            |r| r.get(0),
        )
        .optional()?;
    Ok(Started {
        conversation: get(c, viewer, conversation.id)?,
        message,
        auto_reply: auto_reply.map(|id| super::conversations::message(c, id)).transpose()?,
    })
}

fn started_events(started: &Started) -> Vec<Event> {
    let c = &started.conversation;
    let mut events = vec![Event::Conversation(c.clone())];
    if let Some(m) = &started.message {
        events.push(Event::Message { conversation: c.clone(), message: m.clone() });
    }
    events
}

fn message_event(p: &Posted) -> Vec<Event> {
    if p.replayed {
        Vec::new()
    } else {
        vec![Event::Message { conversation: p.conversation.clone(), message: p.message.clone() }]
    }
}

/// A reply that came by email, to be posted as the person its reply token names.
pub struct EmailReply {
    pub viewer: Viewer,
    pub author: Party,
    pub conversation_id: i64,
    /// Set when the token named a ticket (a new-ticket email to an agent): the reply goes to
    /// its conversation with the requester, started now if there is none; `conversation_id`
    /// is then unused.
    pub ticket_id: Option<i64>,
    pub body: String,
    pub attachments: Vec<NewAttachment>,
    pub record: Record,
}

/// A new email to the support address, to become a ticket.
pub struct EmailTicket {
    pub from: String,
    pub name: Option<String>,
    pub subject: String,
    pub body: String,
    pub attachments: Vec<NewAttachment>,
    pub record: Record,
}

/// Stores an email's attachments as uploaded by its author, for the message to take.
fn attach_all(c: &Connection, mut files: Vec<NewAttachment>, author: Party, now: Millis) -> Result<Vec<i64>> {
    files
        .iter_mut()
        .map(|f| {
            f.uploader = author;
            attachments::insert(c, f, now).map(|a| a.id)
        })
        .collect()
}

/// The writes that live clients hear about: each commits, then announces itself.
impl Store {
    /// Starts a conversation, with its first message if any; what the rules do about it (the
    /// bot's auto-reply) commits in the same transaction.
    pub async fn create_conversation(
        &self,
        viewer: Viewer,
        new: NewConversation,
        first: Option<NewMessage>,
        now: Millis,
    ) -> Result<Started> {
        self.write_announcing(move |c| start(c, viewer, new, first, now), started_events).await
    }

    pub async fn post_message(
        &self,
        acting: impl Into<Acting>,
        conversation_id: i64,
        new: NewMessage,
        now: Millis,
    ) -> Result<Posted> {
        let acting = acting.into();
        self.write_announcing(move |c| post(c, acting.viewer(c, now)?, conversation_id, new, now), message_event).await
    }

    /// Posts a customer's reply on their ticket, starting the ticket's conversation with them
    /// when it has none yet, in one transaction.
    pub async fn post_to_ticket(&self, customer_id: i64, item_id: i64, new: NewMessage, now: Millis) -> Result<Posted> {
        self.write_announcing(
            move |c| {
                let conversation_id = super::portal::thread(c, customer_id, item_id, now)?;
                post(c, Viewer::Customer { customer_id }, conversation_id, new, now)
            },
            message_event,
        )
        .await
    }

    /// Posts an emailed reply with its attachments and records the email, in one transaction.
    pub async fn post_email_reply(&self, reply: EmailReply, now: Millis) -> Result<Posted> {
        self.write_announcing(
            move |c| {
                let message = NewMessage {
                    client_id: None,
                    author: reply.author,
                    body: reply.body,
                    attachment_ids: attach_all(c, reply.attachments, reply.author, now)?,
                };
                let conversation_id = match reply.ticket_id {
                    None => reply.conversation_id,
                    Some(item) => {
                        // As the replier: a ticket they may not see is not found.
                        items::get(c, reply.viewer, item)?;
                        let thread = items::customer_thread(c, item, reply.author, now)?;
                        thread.ok_or(super::StoreError::NotFound("ticket_not_found"))?.id
                    }
                };
                let posted = post(c, reply.viewer, conversation_id, message, now)?;
                inbound::record(c, &Record { conversation_id: Some(posted.conversation.id), ..reply.record }, now)?;
                Ok(posted)
            },
            message_event,
        )
        .await
    }

    /// Files a new email as a ticket from its sender (a customer found or made by address) in
    /// the configured project, with its conversation, first message and the auto-reply. With
    /// no project at all, the conversation stands alone in "From customers".
    pub async fn open_email_ticket(&self, ticket: EmailTicket, now: Millis) -> Result<Started> {
        self.write_announcing(
            move |c| {
                let customer = match super::customers::by_email(c, &ticket.from)? {
                    Some(customer) => customer,
                    None => super::customers::insert(c, ticket.name.as_deref(), Some(&ticket.from), now)?,
                };
                let author = Party::Customer(customer.id);
                let flow = super::settings::email_flow(c)?;
                let project = match flow.inbound_project_id {
                    Some(id) => Some(id),
                    None => c.query_row("SELECT min(id) FROM projects", [], |r| r.get::<_, Option<i64>>(0))?,
                };
                let item_id = match project {
                    Some(project_id) => Some(
                        items::insert(
                            c,
                            Viewer::SYSTEM,
                            items::NewItem {
                                project_id,
                                kind: ItemKind::Ticket,
                                title: ticket.subject.clone(),
                                description: String::new(),
                                priority: crate::domain::Priority::Normal,
                                assignee_id: None,
                                requester_id: Some(customer.id),
                                channel: Channel::Email,
                                created_by: None,
                            },
                            now,
                        )?
                        .id,
                    ),
                    None => None,
                };
                let first = NewMessage {
                    client_id: None,
                    author,
                    body: ticket.body,
                    attachment_ids: attach_all(c, ticket.attachments, author, now)?,
                };
                let new = NewConversation {
                    project_id: None,
                    item_id,
                    kind: ConversationKind::Public,
                    subject: ticket.subject,
                    customer_id: Some(customer.id),
                    channel: Channel::Email,
                    page_url: None,
                    creator: author,
                };
                let started = start(c, Viewer::SYSTEM, new, Some(first), now)?;
                inbound::record(c, &Record { conversation_id: Some(started.conversation.id), ..ticket.record }, now)?;
                Ok(started)
            },
            started_events,
        )
        .await
    }

    pub async fn set_conversation_status(
        &self,
        viewer: Viewer,
        id: i64,
        status: Status,
        now: Millis,
    ) -> Result<Conversation> {
        self.write_announcing(
            move |c| triggers::set_conversation_status(c, viewer, id, status, &[], now),
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

    /// Moves `party`'s seen mark in a conversation `acting` can see; announces a real move.
    pub async fn mark_seen(
        &self,
        acting: impl Into<Acting>,
        party: Party,
        id: i64,
        seq: i64,
        now: Millis,
    ) -> Result<i64> {
        let acting = acting.into();
        self.write_announcing(
            move |c| {
                let before = get(c, acting.viewer(c, now)?, id)?;
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
