//! The hub: what sockets and the rest of the app hold to reach the live side. It owns its parts
//! (rooms, the socket registry, inboxes, presence, stats), starts the dispatcher that fans
//! committed changes out through them, and answers sessions by handing each call to its part.

use super::dispatch;
use super::inbox::Inboxes;
use super::presence::Presences;
use super::protocol::{PresenceStatus, ServerFrame};
use super::queue::Queue;
use super::room::{Listener, Rooms};
use super::sockets::Sockets;
use super::stats::{LiveStats, OpenSocket};
use crate::domain::Party;
use crate::store::conversations::{Author, Conversation};
use crate::store::{AgentScope, Event, Principal};
use std::sync::Arc;
use tokio::sync::mpsc;

/// How many committed changes may wait for the hub before writers wait for it.
pub const EVENT_QUEUE: usize = 16 * 1024;

#[derive(Clone)]
pub struct Hub(Arc<Parts>);

/// What the hub owns, shared with the dispatcher.
#[derive(Default)]
pub(super) struct Parts {
    pub rooms: Rooms,
    pub sockets: Sockets,
    pub inboxes: Inboxes,
    pub presence: Presences,
    pub stats: Arc<LiveStats>,
}

impl Hub {
    /// Starts the hub's dispatcher on the store's event feed.
    pub fn start(events: mpsc::Receiver<Event>, store: crate::store::Store) -> Hub {
        let parts = Arc::new(Parts::default());
        tokio::spawn(dispatch::run(parts.clone(), events, store));
        Hub(parts)
    }

    pub fn stats(&self) -> &LiveStats {
        &self.0.stats
    }

    /// Number of conversations with a live room.
    pub fn rooms(&self) -> usize {
        self.0.rooms.count()
    }

    /// Whether any agent is connected and not away (for the widget's away message).
    pub fn team_online(&self) -> bool {
        self.0.presence.anyone_online()
    }

    /// Counts an open socket until the guard is dropped.
    pub(super) fn socket_opened(&self, agent: bool) -> OpenSocket {
        self.0.stats.socket_opened(agent)
    }

    /// Registers an open socket until `forget_socket`; the id it goes by.
    pub(super) fn register_socket(&self, principal: &Principal, queue: Queue) -> u64 {
        self.0.sockets.register(principal, queue)
    }

    pub(super) fn forget_socket(&self, id: u64) {
        self.0.sockets.forget(id);
    }

    /// Adds a listener to a conversation's room, starting the room if needed. Resolves once
    /// the room has it: from then on every committed change reaches the listener.
    pub(super) async fn join(&self, conversation: &Conversation, listener: Listener) {
        self.0.rooms.join(conversation, listener).await;
    }

    pub(super) fn leave(&self, conversation_id: i64, listener: u64) {
        self.0.rooms.leave(conversation_id, listener);
    }

    pub(super) async fn typing(&self, conversation_id: i64, from: u64, party: Party, author: Author) {
        self.0.rooms.typing(conversation_id, from, party, author).await;
    }

    pub(super) fn watch_inbox(&self, id: u64, queue: Queue, scope: AgentScope) {
        self.0.inboxes.watch(id, queue, scope);
    }

    pub(super) fn unwatch_inbox(&self, id: u64) {
        self.0.inboxes.unwatch(id);
    }

    /// Records an agent socket's presence and tells the watching agents when the agent's
    /// overall status changes. `None` removes the socket.
    pub(super) fn set_presence(&self, user_id: i64, name: &str, socket: u64, status: Option<PresenceStatus>) {
        let changed = self.0.presence.set(user_id, name, socket, status);
        if let Some(status) = changed {
            self.0.inboxes.tell_that(ServerFrame::Presence { user_id, name, status }.to_json().into(), |_| true);
        }
    }

    /// The presence of every connected agent, for a newly connected agent.
    pub(super) fn presence(&self) -> Vec<(i64, String, PresenceStatus)> {
        self.0.presence.all()
    }
}
