//! One task per conversation that somebody is listening to, and the registry that finds it. A
//! room owns its listeners, forwards committed changes to them in commit order, relays typing,
//! and leaves the registry itself when the last listener goes; registry and task live together
//! because a joiner and a room that is stopping must agree on who removes it (`stop_if_idle`).

use super::queue::{offer_each, Delivery, Queue};
use super::{lock, Audience, Outbound};
use crate::domain::Party;
use crate::store::conversations::{Author, Conversation};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// Room mailbox size: commands wait (backpressure) rather than pile up.
const ROOM_QUEUE: usize = 1024;
/// One typing frame per person per this interval.
const TYPING_EVERY: Duration = Duration::from_millis(1500);

/// The live rooms, by conversation.
#[derive(Clone, Default)]
pub(super) struct Rooms(Arc<Mutex<HashMap<i64, mpsc::Sender<RoomCmd>>>>);

/// A socket listening to a room.
pub(super) struct Listener {
    pub id: u64,
    pub queue: Queue,
}

enum RoomCmd {
    Join(Listener, oneshot::Sender<()>),
    Leave(u64),
    Deliver(Arc<Outbound>),
    Typing {
        from: u64,
        party: Party,
        author: Author,
    },
    /// Who may see the conversation changed: every listener re-checks before later frames.
    Recheck,
}

impl Rooms {
    /// Number of conversations with a live room.
    pub fn count(&self) -> usize {
        lock(&self.0).len()
    }

    fn get(&self, conversation_id: i64) -> Option<mpsc::Sender<RoomCmd>> {
        lock(&self.0).get(&conversation_id).cloned()
    }

    /// Adds a listener to a conversation's room, starting the room if needed. Resolves once
    /// the room has it: from then on every committed change reaches the listener.
    pub async fn join(&self, conversation: &Conversation, listener: Listener) {
        let audience = Audience::of(conversation);
        let mut listener = Some(listener);
        loop {
            let room = lock(&self.0)
                .entry(conversation.id)
                .or_insert_with(|| start(conversation.id, audience, self.clone()))
                .clone();
            let (joined, done) = oneshot::channel();
            let Some(l) = listener.take() else { return };
            match room.send(RoomCmd::Join(l, joined)).await {
                Ok(()) => {
                    let _ = done.await;
                    return;
                }
                // The room stopped between lookup and send: forget it and start another.
                Err(mpsc::error::SendError(RoomCmd::Join(l, _))) => {
                    let mut rooms = lock(&self.0);
                    if rooms.get(&conversation.id).is_some_and(|r| r.same_channel(&room)) {
                        rooms.remove(&conversation.id);
                    }
                    listener = Some(l);
                }
                Err(_) => return,
            }
        }
    }

    pub fn leave(&self, conversation_id: i64, listener: u64) {
        if let Some(room) = lock(&self.0).get(&conversation_id) {
            // Full mailbox: the room drops us when our queue overflows anyway.
            let _ = room.try_send(RoomCmd::Leave(listener));
        }
    }

    pub async fn typing(&self, conversation_id: i64, from: u64, party: Party, author: Author) {
        if let Some(room) = self.get(conversation_id) {
            let _ = room.send(RoomCmd::Typing { from, party, author }).await;
        }
    }

    /// Hands a committed change's frames to the conversation's room, if it is live (they are
    /// only made then). Waits while the room's mailbox is full: the dispatcher slows down
    /// rather than lose a frame.
    pub async fn deliver(&self, conversation_id: i64, frames: impl FnOnce() -> Vec<Arc<Outbound>>) {
        if let Some(room) = self.get(conversation_id) {
            for frame in frames() {
                // A room that stopped meanwhile had nobody left to tell.
                let _ = room.send(RoomCmd::Deliver(frame)).await;
            }
        }
    }

    /// Makes every listener of the conversation re-check its rights before later frames.
    pub async fn recheck(&self, conversation_id: i64) {
        if let Some(room) = self.get(conversation_id) {
            let _ = room.send(RoomCmd::Recheck).await;
        }
    }
}

fn start(conversation_id: i64, audience: Audience, rooms: Rooms) -> mpsc::Sender<RoomCmd> {
    let (tx, rx) = mpsc::channel(ROOM_QUEUE);
    tokio::spawn(run(conversation_id, audience, rx, rooms));
    tx
}

async fn run(conversation_id: i64, audience: Audience, mut rx: mpsc::Receiver<RoomCmd>, rooms: Rooms) {
    let mut listeners: HashMap<u64, Queue> = HashMap::new();
    let mut typing: HashMap<Party, Instant> = HashMap::new();
    loop {
        let Some(cmd) = rx.recv().await else { return };
        match cmd {
            RoomCmd::Join(listener, joined) => {
                listeners.insert(listener.id, listener.queue);
                let _ = joined.send(());
            }
            RoomCmd::Leave(id) => {
                listeners.remove(&id);
            }
            RoomCmd::Deliver(frame) => offer_each(&mut listeners, |_, _| Some(Delivery::Frame(frame.clone()))),
            RoomCmd::Recheck => offer_each(&mut listeners, |_, _| Some(Delivery::Recheck(Some(conversation_id)))),
            RoomCmd::Typing { from, party, author } => {
                let now = Instant::now();
                if typing.get(&party).is_some_and(|last| now - *last < TYPING_EVERY) {
                    continue;
                }
                typing.insert(party, now);
                let json = super::protocol::ServerFrame::Typing { conversation_id, author: &author }.to_json();
                let frame = Arc::new(Outbound { json: json.into(), audience, conversation_id, seq: None });
                // Not back to the socket that typed.
                offer_each(&mut listeners, |id, _| (id != from).then(|| Delivery::Frame(frame.clone())));
            }
        }
        if listeners.is_empty() && stop_if_idle(conversation_id, &rx, &rooms) {
            return;
        }
    }
}

/// Leaves the registry when nobody listens and nothing is queued. Joiners send under no lock,
/// so one may find this room gone: it then starts a new one (see `Rooms::join`).
fn stop_if_idle(conversation_id: i64, rx: &mpsc::Receiver<RoomCmd>, rooms: &Rooms) -> bool {
    let mut rooms = lock(&rooms.0);
    if !rx.is_empty() {
        return false;
    }
    rooms.remove(&conversation_id);
    true
}
