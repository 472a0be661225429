//! One task per conversation that somebody is listening to. It owns the list of listeners,
//! forwards committed changes to them in commit order, relays typing, and stops when the last
//! listener leaves.

use super::{Audience, Delivery, Outbound, Queue};
use crate::domain::Party;
use crate::store::conversations::Author;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// Room mailbox size: commands wait (backpressure) rather than pile up.
const ROOM_QUEUE: usize = 1024;
/// One typing frame per person per this interval.
const TYPING_EVERY: Duration = Duration::from_millis(1500);

pub(super) type Rooms = Arc<Mutex<HashMap<i64, mpsc::Sender<RoomCmd>>>>;

/// A socket listening to a room.
pub(super) struct Listener {
    pub id: u64,
    pub queue: Queue,
}

pub(super) enum RoomCmd {
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

pub(super) fn start(conversation_id: i64, audience: Audience, rooms: Rooms) -> mpsc::Sender<RoomCmd> {
    let (tx, rx) = mpsc::channel(ROOM_QUEUE);
    tokio::spawn(run(conversation_id, audience, rx, rooms));
    tx
}

async fn run(conversation_id: i64, audience: Audience, mut rx: mpsc::Receiver<RoomCmd>, rooms: Rooms) {
    let mut listeners: Vec<Listener> = Vec::new();
    let mut typing: HashMap<Party, Instant> = HashMap::new();
    loop {
        let Some(cmd) = rx.recv().await else { return };
        match cmd {
            RoomCmd::Join(listener, joined) => {
                listeners.retain(|l| l.id != listener.id);
                listeners.push(listener);
                let _ = joined.send(());
            }
            RoomCmd::Leave(id) => listeners.retain(|l| l.id != id),
            RoomCmd::Deliver(frame) => deliver(&mut listeners, &Delivery::Frame(frame), None),
            RoomCmd::Recheck => deliver(&mut listeners, &Delivery::Recheck(Some(conversation_id)), None),
            RoomCmd::Typing { from, party, author } => {
                let now = Instant::now();
                if typing.get(&party).is_some_and(|last| now - *last < TYPING_EVERY) {
                    continue;
                }
                typing.insert(party, now);
                let json = super::protocol::ServerFrame::Typing { conversation_id, author: &author }.to_json();
                let frame = Arc::new(Outbound { json: json.into(), audience, conversation_id, seq: None });
                deliver(&mut listeners, &Delivery::Frame(frame), Some(from));
            }
        }
        if listeners.is_empty() && stop_if_idle(conversation_id, &rx, &rooms) {
            return;
        }
    }
}

/// Hands a frame to every listener; one whose queue is full is cut off rather than waited for.
fn deliver(listeners: &mut Vec<Listener>, frame: &Delivery, except: Option<u64>) {
    listeners.retain(|l| {
        if Some(l.id) == except {
            return true;
        }
        l.queue.offer(frame.clone())
    });
}

/// Leaves the registry when nobody listens and nothing is queued. Joiners send under no lock,
/// so one may find this room gone: it then starts a new one (see `Hub::join`).
fn stop_if_idle(conversation_id: i64, rx: &mpsc::Receiver<RoomCmd>, rooms: &Rooms) -> bool {
    let mut rooms = rooms.lock().unwrap_or_else(|p| p.into_inner());
    if !rx.is_empty() {
        return false;
    }
    rooms.remove(&conversation_id);
    true
}
