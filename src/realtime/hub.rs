//! The hub: finds or starts the room of a conversation, fans each committed change out to its
//! room and to the agents watching their inbox, and tells them when an agent comes, goes or is
//! away (`presence` keeps who is connected).

use super::inbox::Inboxes;
use super::presence::Presences;
use super::protocol::{PresenceStatus, ServerFrame, Who};
use super::room::{self, Listener, RoomCmd, Rooms};
use super::{Audience, Delivery, Outbound, Queue};
use crate::domain::PartyKind;
use crate::domain::{ConversationKind, Party};
use crate::store::conversations::{Author, Conversation};
use crate::store::{AgentScope, Event, Principal, RightsChange};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// How many committed changes may wait for the hub before writers wait for it.
pub const EVENT_QUEUE: usize = 16 * 1024;

#[derive(Clone)]
pub struct Hub(Arc<Inner>);

struct Inner {
    rooms: Rooms,
    sockets: Mutex<HashMap<u64, Socket>>,
    inboxes: Inboxes,
    presence: Presences,
    next_id: AtomicU64,
    stats: LiveStats,
}

/// What `/metrics` reports of the live side.
#[derive(Default)]
pub struct LiveStats {
    /// Open sockets: agents', customers'.
    pub agent_sockets: AtomicI64,
    pub customer_sockets: AtomicI64,
    /// Messages committed since start, by who wrote them: customers, users, the bot.
    pub messages: [AtomicU64; 3],
}

/// Counts a socket while it is open.
pub struct OpenSocket(Hub, bool);

impl Drop for OpenSocket {
    fn drop(&mut self) {
        self.0.socket_count(self.1).fetch_sub(1, Ordering::Relaxed);
    }
}

/// An open socket, found by whose it is when their rights change.
struct Socket {
    holder: Holder,
    queue: Queue,
}

/// Whose a socket is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Holder {
    User(i64),
    Customer(i64),
}

impl Hub {
    /// Starts the hub's dispatcher on the store's event feed.
    /// `on_mail` is called when a write queued an email to send at once.
    pub fn start(
        events: mpsc::Receiver<Event>,
        store: crate::store::Store,
        on_mail: Box<dyn Fn() + Send + Sync>,
    ) -> Hub {
        let hub = Hub(Arc::new(Inner {
            rooms: Arc::default(),
            sockets: Mutex::default(),
            inboxes: Inboxes::default(),
            presence: Presences::default(),
            next_id: AtomicU64::new(1),
            stats: LiveStats::default(),
        }));
        tokio::spawn(hub.clone().dispatch(events, store, on_mail));
        hub
    }

    pub(super) fn next_id(&self) -> u64 {
        self.0.next_id.fetch_add(1, Ordering::Relaxed)
    }

    pub fn stats(&self) -> &LiveStats {
        &self.0.stats
    }

    fn socket_count(&self, agent: bool) -> &AtomicI64 {
        if agent {
            &self.0.stats.agent_sockets
        } else {
            &self.0.stats.customer_sockets
        }
    }

    /// Counts an open socket until the guard is dropped.
    pub(super) fn socket_opened(&self, agent: bool) -> OpenSocket {
        self.socket_count(agent).fetch_add(1, Ordering::Relaxed);
        OpenSocket(self.clone(), agent)
    }

    /// Number of conversations with a live room.
    pub fn rooms(&self) -> usize {
        lock(&self.0.rooms).len()
    }

    /// Whether any agent is connected and not away (for the widget's away message).
    pub fn team_online(&self) -> bool {
        self.0.presence.anyone_online()
    }

    async fn dispatch(
        self,
        mut events: mpsc::Receiver<Event>,
        store: crate::store::Store,
        on_mail: Box<dyn Fn() + Send + Sync>,
    ) {
        while let Some(event) = events.recv().await {
            let conversation = match &event {
                Event::Mail => {
                    on_mail();
                    continue;
                }
                Event::Alert { users, conversation_id, item_id, title, body } => {
                    let frame =
                        ServerFrame::Alert { conversation_id: *conversation_id, item_id: *item_id, title, body };
                    self.tell_users(users, frame.to_json());
                    continue;
                }
                Event::Item(_) => {
                    self.tell_inboxes(&event, &store).await;
                    continue;
                }
                Event::Rights(change) => {
                    self.rights_changed(change, &store).await;
                    continue;
                }
                Event::Message { conversation, message } => {
                    let by = match message.author.kind {
                        PartyKind::Customer => 0,
                        PartyKind::User => 1,
                        PartyKind::Bot => 2,
                    };
                    self.0.stats.messages[by].fetch_add(1, Ordering::Relaxed);
                    conversation.clone()
                }
                Event::Conversation(conversation) | Event::Seen { conversation, .. } => conversation.clone(),
            };
            let room = lock(&self.0.rooms).get(&conversation.id).cloned();
            if let Some(room) = room {
                for frame in frames(&conversation, &event) {
                    // A room that stopped meanwhile had nobody left to tell.
                    let _ = room.send(RoomCmd::Deliver(frame)).await;
                }
            }
            self.tell_inboxes(&event, &store).await;
        }
    }

    /// Tells the watching agents what the change means for their lists and counts (and of an
    /// item, the item).
    async fn tell_inboxes(&self, event: &Event, store: &crate::store::Store) {
        let inboxes = &self.0.inboxes;
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

    /// Makes the sockets concerned re-check their rights before anything committed later
    /// reaches them. Runs in the dispatcher, so no later event is fanned out before: inbox
    /// scopes are read afresh here, and each socket finds a `Recheck` in its queue ahead of
    /// any later frame (rooms hand theirs out in order, after this).
    async fn rights_changed(&self, change: &RightsChange, store: &crate::store::Store) {
        match change {
            RightsChange::User(user_id) => {
                let user_id = *user_id;
                let inboxes = &self.0.inboxes;
                if inboxes.is_watching(user_id) {
                    let scope = store.live().scope_of_user(user_id).await;
                    inboxes.rescope(user_id, scope.ok().flatten());
                    inboxes.recount(store, true, |scope| scope.user_id == user_id).await;
                }
                self.recheck_sockets(Holder::User(user_id));
            }
            RightsChange::Customer(customer_id) => self.recheck_sockets(Holder::Customer(*customer_id)),
            RightsChange::Conversations(ids) => {
                // Conversations gone (an erasure) or moved: every count may have changed.
                self.0.inboxes.recount(store, true, |_| true).await;
                for id in ids {
                    let room = lock(&self.0.rooms).get(id).cloned();
                    if let Some(room) = room {
                        let _ = room.send(RoomCmd::Recheck).await;
                    }
                }
            }
        }
    }

    fn recheck_sockets(&self, holder: Holder) {
        for socket in lock(&self.0.sockets).values().filter(|s| s.holder == holder) {
            socket.queue.offer(Delivery::Recheck(None));
        }
    }

    /// Registers an open socket until `forget_socket`.
    pub(super) fn register_socket(&self, id: u64, principal: &Principal, queue: Queue) {
        let holder = match principal {
            Principal::Agent { user_id, .. } => Holder::User(*user_id),
            Principal::Customer { customer_id, .. } => Holder::Customer(*customer_id),
        };
        lock(&self.0.sockets).insert(id, Socket { holder, queue });
    }

    pub(super) fn forget_socket(&self, id: u64) {
        lock(&self.0.sockets).remove(&id);
    }

    /// Sends a frame to the inboxes of these users (each may have several tabs open).
    fn tell_users(&self, users: &[i64], json: String) {
        self.0.inboxes.tell_that(json.into(), |scope| users.contains(&scope.user_id));
    }

    /// Adds a listener to a conversation's room, starting the room if needed. Resolves once
    /// the room has it: from then on every committed change reaches the listener.
    pub(super) async fn join(&self, conversation: &Conversation, listener: Listener) {
        let audience = Audience::of(conversation);
        let mut listener = Some(listener);
        loop {
            let room = lock(&self.0.rooms)
                .entry(conversation.id)
                .or_insert_with(|| room::start(conversation.id, audience, self.0.rooms.clone()))
                .clone();
            let (joined, done) = tokio::sync::oneshot::channel();
            let Some(l) = listener.take() else { return };
            match room.send(RoomCmd::Join(l, joined)).await {
                Ok(()) => {
                    let _ = done.await;
                    return;
                }
                // The room stopped between lookup and send: forget it and start another.
                Err(mpsc::error::SendError(RoomCmd::Join(l, _))) => {
                    let mut rooms = lock(&self.0.rooms);
                    if rooms.get(&conversation.id).is_some_and(|r| r.same_channel(&room)) {
                        rooms.remove(&conversation.id);
                    }
                    listener = Some(l);
                }
                Err(_) => return,
            }
        }
    }

    pub(super) fn leave(&self, conversation_id: i64, listener: u64) {
        if let Some(room) = lock(&self.0.rooms).get(&conversation_id) {
            // Full mailbox: the room drops us when our queue overflows anyway.
            let _ = room.try_send(RoomCmd::Leave(listener));
        }
    }

    pub(super) async fn typing(&self, conversation_id: i64, from: u64, party: Party, author: Author) {
        let room = lock(&self.0.rooms).get(&conversation_id).cloned();
        if let Some(room) = room {
            let _ = room.send(RoomCmd::Typing { from, party, author }).await;
        }
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

pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
