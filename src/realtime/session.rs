//! One task per websocket: reads the client's frames, answers them through the store and the
//! hub, and writes what its rooms deliver, after the visibility filter. It keeps its peer alive
//! with pings, and closes with a code that says what to do when anything goes wrong.
//!
//! A socket remembers who opened it (`Principal`), never what they may see: each read and
//! write asks the store's access authority afresh, and a change of rights reaches the socket
//! as a `Recheck` in its queue, ahead of anything committed after the change.

mod answers;

use super::hub::Hub;
use super::protocol::{close, ClientFrame, PresenceStatus, ServerFrame, Who, PROTOCOL_VERSION};
use super::queue::{self, Delivery, Queue};
use super::wire::{self, Incoming};
use super::Outbound;
use crate::clock::Clock;
use crate::domain::Party;
use crate::store::{Principal, Standing, Store};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Frames waiting for one socket; beyond this the socket is cut off and must resume.
const QUEUE: usize = 512;
const HEARTBEAT: Duration = Duration::from_secs(15);
const CLIENT_TIMEOUT: Duration = Duration::from_secs(45);
/// A write that cannot go out in this time means the peer stopped reading.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Frames a client may send per second, on average over a burst of `FRAME_BURST`.
const FRAMES_PER_SEC: f64 = 50.0;
const FRAME_BURST: f64 = 200.0;

/// Who is connected: the principal, the name they had when they connected, and for customers
/// the limit their writes count against (shared with their REST writes).
pub struct Peer {
    pub principal: Principal,
    pub name: Option<String>,
    pub writes: Option<WriteLimit>,
}

/// A customer's write limit: per visitor and per client address (`limit_key`).
pub struct WriteLimit {
    pub limiter: Arc<crate::limits::CustomerWrites>,
    pub address: String,
}

impl Peer {
    fn is_agent(&self) -> bool {
        matches!(self.principal, Principal::Agent { .. })
    }
    fn party(&self) -> Party {
        match &self.principal {
            Principal::Agent { user_id, .. } => Party::User(*user_id),
            Principal::Customer { customer_id, .. } => Party::Customer(*customer_id),
        }
    }
    fn who(&self) -> Who {
        let party = self.party();
        Who { kind: party.kind(), id: party.id(), name: self.name.clone() }
    }
}

struct Session {
    id: u64,
    peer: Peer,
    hub: Hub,
    store: Store,
    clock: Arc<dyn Clock>,
    /// Taken when the session ends, to close the socket after leaving the hub.
    ws: Option<wire::Writer>,
    queue: Queue,
    /// Subscribed conversations and the last message seq written to this socket.
    subscribed: HashMap<i64, i64>,
    watching_inbox: bool,
}

/// Undoes every registration when the session ends, however it ends.
impl Drop for Session {
    fn drop(&mut self) {
        for conversation in self.subscribed.keys() {
            self.hub.leave(*conversation, self.id);
        }
        if self.watching_inbox {
            self.hub.unwatch_inbox(self.id);
        }
        self.hub.forget_socket(self.id);
        if let (Party::User(user_id), Some(name)) = (self.peer.party(), &self.peer.name) {
            self.hub.set_presence(user_id, name, self.id, None);
        }
    }
}

enum Flow {
    Continue,
    Close(u16, &'static str),
}

/// A frame for the socket.
enum Out<'a> {
    Text(&'a str),
    Ping,
    Pong(&'a [u8]),
}

pub async fn run(
    peer: Peer,
    hub: Hub,
    store: Store,
    clock: Arc<dyn Clock>,
    ws: wire::Writer,
    mut stream: wire::Reader,
) {
    let (tx, mut rx) = queue::mailbox(QUEUE);
    let _open = hub.socket_opened(peer.is_agent());
    let queue = Queue { tx, kick: CancellationToken::new() };
    let id = hub.register_socket(&peer.principal, queue.clone());
    let mut s =
        Session { id, peer, hub, store, clock, ws: Some(ws), queue, subscribed: HashMap::new(), watching_inbox: false };
    let outcome = s.serve(&mut rx, &mut stream).await;
    let (code, reason) = match outcome {
        Flow::Close(code, reason) => (code, reason),
        Flow::Continue => (1000, "bye"),
    };
    let ws = s.ws.take();
    drop(s);
    if let Some(ws) = ws {
        // The close frame, then what the client sends until it closes too.
        let closing = async move {
            ws.close(code, reason).await;
            stream.drain().await;
        };
        let _ = tokio::time::timeout(Duration::from_secs(1), closing).await;
    }
}

impl Session {
    async fn serve(&mut self, rx: &mut queue::Receiver, stream: &mut wire::Reader) -> Flow {
        let who = self.peer.who();
        let hello = ServerFrame::Hello { protocol: PROTOCOL_VERSION, you: &who, heartbeat_secs: HEARTBEAT.as_secs() };
        if let Flow::Close(c, r) = self.write(&hello.to_json()).await {
            return Flow::Close(c, r);
        }
        if let (Party::User(user_id), Some(name)) = (self.peer.party(), &self.peer.name) {
            self.hub.set_presence(user_id, name, self.id, Some(PresenceStatus::Online));
        }
        let mut heartbeat = tokio::time::interval(HEARTBEAT);
        let mut last_heard = Instant::now();
        let mut allowance = FRAME_BURST;
        let mut last_frame = Instant::now();
        loop {
            // Biased: what is queued goes out before the next client frame is read, so an
            // answer to a frame (a pong) follows everything committed before it arrived.
            let flow = tokio::select! {
                biased;
                _ = self.queue.kick.cancelled() => Flow::Close(close::RESUME, "too far behind: reconnect and resubscribe"),
                _ = heartbeat.tick() => {
                    if last_heard.elapsed() > CLIENT_TIMEOUT {
                        Flow::Close(close::HEARTBEAT_TIMEOUT, "no pong")
                    } else if self.peer.is_agent() {
                        // Also catches what no event announces (a `rapport admin` command run
                        // in another process, a session that expired).
                        match Box::pin(self.recheck(None)).await {
                            Flow::Continue => self.emit(Out::Ping).await,
                            close => close,
                        }
                    } else {
                        self.emit(Out::Ping).await
                    }
                }
                delivery = rx.recv() => match delivery {
                    Delivery::Frame(frame) => Box::pin(self.forward(&frame)).await,
                    Delivery::Recheck(only) => Box::pin(self.recheck(only)).await,
                },
                incoming = stream.recv() => {
                    last_heard = Instant::now();
                    match incoming {
                        Incoming::Text(text) => {
                            // Token bucket for anonymous customers: a flood is cut off, a
                            // burst is fine. Agents are authenticated staff and integrations.
                            let now = Instant::now();
                            allowance = (allowance + (now - last_frame).as_secs_f64() * FRAMES_PER_SEC).min(FRAME_BURST) - 1.0;
                            last_frame = now;
                            if allowance < 0.0 && !self.peer.is_agent() {
                                Flow::Close(close::RATE_LIMITED, "too many frames")
                            } else {
                                match serde_json::from_str::<ClientFrame>(&text) {
                                    // Boxed, as the re-checks: what answering takes is
                                    // allocated while it runs, not kept in every idle socket's task.
                                    Ok(frame) => Box::pin(self.handle(frame)).await,
                                    Err(_) => Flow::Close(close::INVALID_FRAME, "invalid_frame: not a protocol frame"),
                                }
                            }
                        }
                        Incoming::Ping(bytes) => self.emit(Out::Pong(&bytes)).await,
                        Incoming::Pong => Flow::Continue,
                        Incoming::Closed => return Flow::Continue,
                        Incoming::NotText => Flow::Close(close::INVALID_FRAME, "invalid_frame: text frames only"),
                        Incoming::TooBig => Flow::Close(close::TOO_BIG, "frame_too_large"),
                        Incoming::Invalid => Flow::Close(close::INVALID_FRAME, "invalid_frame: protocol error"),
                    }
                }
            };
            if let Flow::Close(code, reason) = flow {
                return Flow::Close(code, reason);
            }
        }
    }

    /// Writes a frame, giving up when the peer stops reading or the session is cut off.
    async fn emit(&mut self, out: Out<'_>) -> Flow {
        let Some(ws) = self.ws.as_mut() else { return Flow::Close(1000, "closed") };
        let write = async move {
            match out {
                Out::Text(text) => ws.text(text).await,
                Out::Ping => ws.ping().await,
                Out::Pong(bytes) => ws.pong(bytes).await,
            }
        };
        tokio::select! {
            written = tokio::time::timeout(WRITE_TIMEOUT, write) => match written {
                Ok(Ok(())) => Flow::Continue,
                Ok(Err(_)) => Flow::Close(1000, "closed"),
                Err(_) => Flow::Close(close::RESUME, "not reading: reconnect and resubscribe"),
            },
            _ = self.queue.kick.cancelled() => Flow::Close(close::RESUME, "too far behind: reconnect and resubscribe"),
        }
    }

    async fn write(&mut self, json: &str) -> Flow {
        self.emit(Out::Text(json)).await
    }

    /// The visibility filter and the exactly-once rule, then the socket.
    async fn forward(&mut self, frame: &Outbound) -> Flow {
        let customer = match self.peer.party() {
            Party::Customer(id) => Some(id),
            _ => None,
        };
        if !frame.audience.admits(self.peer.is_agent(), customer) {
            return Flow::Continue;
        }
        if frame.conversation_id != 0 {
            // A room's frame: only while subscribed (a re-check may have just ended it).
            let Some(last) = self.subscribed.get_mut(&frame.conversation_id) else { return Flow::Continue };
            if let Some(seq) = frame.seq {
                if seq <= *last {
                    return Flow::Continue; // already sent from the backlog
                }
                *last = seq;
            }
        }
        self.emit(Out::Text(&frame.json)).await
    }

    /// Reads the principal's rights afresh: a socket whose principal may no longer act is
    /// closed; a conversation it may no longer see is left, with an `unsubscribed` frame that
    /// says why. `only`: just that conversation's rights changed.
    async fn recheck(&mut self, only: Option<i64>) -> Flow {
        let principal = self.peer.principal.clone();
        let conversations: Vec<i64> = match only {
            Some(id) if self.subscribed.contains_key(&id) => vec![id],
            Some(_) => Vec::new(),
            None => self.subscribed.keys().copied().collect(),
        };
        let now = self.clock.now_ms();
        let checked = self.store.live().recheck(principal, conversations, now).await;
        match checked {
            Ok((Standing::Admitted(_), lost)) => {
                for conversation_id in lost {
                    self.subscribed.remove(&conversation_id);
                    self.hub.leave(conversation_id, self.id);
                    let frame = ServerFrame::Unsubscribed { conversation_id, reason: Some("access_revoked") };
                    if let Flow::Close(c, r) = self.write(&frame.to_json()).await {
                        return Flow::Close(c, r);
                    }
                }
                Flow::Continue
            }
            Ok((Standing::Revoked, _)) => Flow::Close(close::ACCESS_REVOKED, "access_revoked: sign in again"),
            Ok((Standing::Moved, _)) => Flow::Close(close::RESUME, "identity changed: reconnect"),
            Err(_) => Flow::Close(close::RESUME, "could not check access: reconnect"),
        }
    }
}
