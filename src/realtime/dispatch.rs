//! The dispatcher: one task that takes each committed change from the store, in commit order,
//! turns it into frames for their audiences and hands them to the conversation's room and to
//! the agents watching their inbox. Being one task that awaits each step is the guarantee: a
//! socket sees changes in the order they committed, and a change of rights before anything
//! committed after it.

use super::hub::Parts;
use super::protocol::{ServerFrame, Who};
use super::sockets::Holder;
use super::{Audience, Outbound};
use crate::domain::{ConversationKind, Party};
use crate::store::conversations::Conversation;
use crate::store::{Event, RightsChange, Store};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Runs until the store's event feed closes.
pub(super) async fn run(parts: Arc<Parts>, mut events: mpsc::Receiver<Event>, store: Store) {
    while let Some(event) = events.recv().await {
        let conversation = match &event {
            // The store rings the email jobs' bell itself; the feed never carries it.
            Event::Mail => continue,
            Event::Alert { users, conversation_id, item_id, title, body } => {
                let frame = ServerFrame::Alert { conversation_id: *conversation_id, item_id: *item_id, title, body };
                // To each of these users' inboxes (each may have several tabs open).
                parts.inboxes.tell_that(frame.to_json().into(), |scope| users.contains(&scope.user_id));
                continue;
            }
            Event::Item(_) => {
                tell_inboxes(&parts, &event, &store).await;
                continue;
            }
            Event::Rights(change) => {
                rights_changed(&parts, change, &store).await;
                continue;
            }
            Event::Message { conversation, message } => {
                parts.stats.message_committed(message.author.kind);
                conversation
            }
            Event::Conversation(conversation) | Event::Seen { conversation, .. } => conversation,
        };
        parts.rooms.deliver(conversation.id, || frames(conversation, &event)).await;
        tell_inboxes(&parts, &event, &store).await;
    }
}

/// Tells the watching agents what the change means for their lists and counts (and of an
/// item, the item).
async fn tell_inboxes(parts: &Parts, event: &Event, store: &Store) {
    let inboxes = &parts.inboxes;
    match event {
        Event::Message { conversation, message } => {
            inboxes.conversation_changed(store, conversation, Some(message)).await
        }
        Event::Conversation(conversation) => inboxes.conversation_changed(store, conversation, None).await,
        Event::Seen { party: Party::User(user_id), .. } => {
            inboxes.recount(store, false, |scope| scope.user_id == *user_id).await
        }
        Event::Item(item) => {
            inboxes.tell_that(ServerFrame::Item { item }.to_json().into(), |scope| scope.sees_item(item));
            inboxes.recount(store, true, |scope| scope.sees_item(item)).await
        }
        Event::Seen { .. } | Event::Alert { .. } | Event::Mail | Event::Rights(_) => {}
    }
}

/// Makes the sockets concerned re-check their rights before anything committed later reaches
/// them. Runs in the dispatcher, so no later event is fanned out before: inbox scopes are read
/// afresh here, and each socket finds a `Recheck` in its queue ahead of any later frame (rooms
/// hand theirs out in order, after this).
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
