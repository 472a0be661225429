//! The dispatcher: one task that takes each committed change from the store, in commit order,
//! turns it into frames for their audiences and hands them to the conversation's room and to
//! the agents watching their inbox. Being one task that awaits each step is the guarantee: a
//! socket sees changes in the order they committed, and a change of rights before anything
//! committed after it. What waits in the feed is taken as one run: rooms get each change at
//! once, and the inboxes hear about the run's messages together (one read of the store for
//! all), before anything else that concerns them.

use super::hub::Parts;
use super::inbox::Telling;
use super::protocol::{ServerFrame, Who};
use super::sockets::Holder;
use super::{Audience, Outbound};
use crate::domain::{ConversationKind, Party};
use crate::store::conversations::Conversation;
use crate::store::{Event, RightsChange, Store};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Runs until the store's event feed closes.
/// Events taken at once from the feed: what waits is dispatched together, its inboxes told
/// with one read of the store.
const RUN: usize = 256;

pub(super) async fn run(parts: Arc<Parts>, mut events: mpsc::Receiver<Event>, store: Store) {
    let mut run = Vec::with_capacity(RUN);
    while events.recv_many(&mut run, RUN).await > 0 {
        // Rooms get each event at once; the inboxes are told about runs of messages, changes
        // and alerts together, in order, before anything else that concerns them.
        let mut telling = Vec::new();
        for event in run.drain(..) {
            if let Event::Message { message, .. } = &event {
                parts.stats.message_committed(message.author.kind);
            }
            deliver(&parts, &event).await;
            match event {
                Event::Mail => {}
                Event::Alert { users, conversation_id, item_id, title, body } => {
                    let frame = ServerFrame::Alert { conversation_id, item_id, title: &title, body: &body };
                    telling.push(Telling::Alert { json: frame.to_json().into(), users });
                }
                Event::Message { conversation, message } => {
                    telling.push(Telling::Changed(Box::new(conversation), Some(Box::new(message))))
                }
                Event::Conversation(conversation) => telling.push(Telling::Changed(Box::new(conversation), None)),
                other @ (Event::Seen { .. } | Event::Item(_)) => {
                    parts.inboxes.tell(&store, std::mem::take(&mut telling)).await;
                    tell_inboxes(&parts, &other, &store).await;
                }
                Event::Rights(change) => {
                    parts.inboxes.tell(&store, std::mem::take(&mut telling)).await;
                    rights_changed(&parts, &change, &store).await;
                }
            }
        }
        parts.inboxes.tell(&store, telling).await;
    }
}

/// Hands a conversation's event to its room.
async fn deliver(parts: &Parts, event: &Event) {
    if let Event::Message { conversation, .. } | Event::Conversation(conversation) | Event::Seen { conversation, .. } =
        event
    {
        parts.rooms.deliver(conversation.id, || frames(conversation, event)).await;
    }
}

async fn tell_inboxes(parts: &Parts, event: &Event, store: &Store) {
    let inboxes = &parts.inboxes;
    match event {
        Event::Seen { party: Party::User(user_id), .. } => {
            inboxes.recount(store, false, |scope| scope.user_id == *user_id).await
        }
        Event::Item(item) => {
            inboxes.tell_that(ServerFrame::Item { item }.to_json().into(), |scope| scope.sees_item(item));
            inboxes.recount(store, true, |scope| scope.sees_item(item)).await
        }
        _ => {}
    }
}

async fn rights_changed(parts: &Parts, change: &RightsChange, store: &Store) {
    match change {
        RightsChange::User(user_id) => {
            let user_id = *user_id;
            let inboxes = &parts.inboxes;
            if inboxes.is_watching(user_id) {
                let scope = store.live().scope_of_user(user_id).await;
                inboxes.rescope(user_id, scope.ok().flatten());
                inboxes.recount(store, true, |scope| scope.user_id == user_id).await;
            }
            parts.sockets.recheck(Holder::User(user_id));
        }
        RightsChange::Customer(customer_id) => parts.sockets.recheck(Holder::Customer(*customer_id)),
        RightsChange::Conversations(ids) => {
            // Conversations gone (an erasure) or moved: every count may have changed.
            parts.inboxes.recount(store, true, |_| true).await;
            for id in ids {
                parts.rooms.recheck(*id).await;
            }
        }
    }
}

/// The frames a committed change becomes, each for its audience.
fn frames(c: &Conversation, event: &Event) -> Vec<Arc<Outbound>> {
    let audience = Audience::of(c);
    let frame =
        |json: String, audience, seq| Arc::new(Outbound { json: json.into(), audience, conversation_id: c.id, seq });
    match event {
        Event::Message { message, .. } => {
            let json = ServerFrame::Message { conversation_id: c.id, message }.to_json();
            vec![frame(json, audience, Some(message.seq))]
        }
        Event::Seen { party, seq, .. } => {
            let reader = Who { kind: party.kind(), id: party.id(), name: None };
            vec![frame(
                ServerFrame::Seen { conversation_id: c.id, reader: &reader, seq: *seq }.to_json(),
                audience,
                None,
            )]
        }
        Event::Conversation(conversation) => {
            let mut full = serde_json::to_value(conversation).unwrap_or_default();
            // Read as the system: the item, which not everyone in the room may see, stays out
            // (each agent's inbox frame carries it as they see it).
            if let Some(fields) = full.as_object_mut() {
                fields.remove("item");
            }
            let mut out =
                vec![frame(ServerFrame::Conversation { conversation: full }.to_json(), Audience::Agents, None)];
            if let (ConversationKind::Public, Some(customer)) = (c.kind, c.customer_id) {
                let public = crate::store::customer_view::ConversationUpdate::of(c);
                let json = ServerFrame::Conversation { conversation: serde_json::to_value(public).unwrap_or_default() };
                out.push(frame(json.to_json(), Audience::Customer(customer), None));
            }
            out
        }
        Event::Item(_) | Event::Alert { .. } | Event::Mail | Event::Rights(_) => Vec::new(),
    }
}
