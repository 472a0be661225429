//! How a session answers each frame its client sends: subscribing (the backlog, then live),
//! sending, seen marks, typing, presence and the inbox. Every read and write goes through the
//! store as the socket's principal, and a refusal is answered with a `SocketError`.

use super::{Flow, Session};
use crate::domain::Party;
use crate::realtime::error::SocketError;
use crate::realtime::protocol::{close, ClientFrame, PresenceStatus, ServerFrame};
use crate::realtime::room::Listener;
use crate::store::conversations::{Author, MessagePage, NewMessage};
use crate::store::Acting;

/// Messages read from the store at a time when replaying a backlog.
const BACKLOG_PAGE: usize = 200;

impl Session {
    /// Answers a frame that could not be carried out: an `error` frame, or a close when the
    /// principal may no longer act.
    async fn refuse(&mut self, e: SocketError, conversation_id: Option<i64>, client_id: Option<&str>) -> Flow {
        match e {
            SocketError::Refused { code, message } => {
                let frame = ServerFrame::Error { code, message: &message, conversation_id, client_id };
                self.write(&frame.to_json()).await
            }
            SocketError::Revoked => Flow::Close(close::ACCESS_REVOKED, "access_revoked: sign in again"),
        }
    }

    /// Carries out one client frame.
    pub(super) async fn handle(&mut self, frame: ClientFrame) -> Flow {
        match frame {
            ClientFrame::Ping {} => self.write(&ServerFrame::Pong {}.to_json()).await,
            ClientFrame::Subscribe { conversation_id, after_seq } => self.subscribe(conversation_id, after_seq).await,
            ClientFrame::Unsubscribe { conversation_id } => {
                if self.subscribed.remove(&conversation_id).is_some() {
                    self.hub.leave(conversation_id, self.id);
                }
                self.write(&ServerFrame::Unsubscribed { conversation_id, reason: None }.to_json()).await
            }
            ClientFrame::Send { conversation_id, client_id, body, attachment_ids } => {
                self.send(conversation_id, client_id, body, attachment_ids).await
            }
            ClientFrame::Typing { conversation_id } => {
                if !self.subscribed.contains_key(&conversation_id) {
                    let refused = SocketError::refused("not_subscribed", "subscribe before typing");
                    return self.refuse(refused, Some(conversation_id), None).await;
                }
                let who = self.peer.who();
                let author = Author { kind: who.kind, id: who.id, name: who.name, photo_url: None };
                self.hub.typing(conversation_id, self.id, self.peer.party(), author).await;
                Flow::Continue
            }
            ClientFrame::Seen { conversation_id, seq } => {
                let now = self.clock.now_ms();
                let acting = Acting::Live(self.peer.principal.clone());
                match self.store.mark_seen(acting, self.peer.party(), conversation_id, seq.max(0), now).await {
                    Ok(_) => Flow::Continue,
                    Err(e) => self.refuse(e.into(), Some(conversation_id), None).await,
                }
            }
            ClientFrame::Presence { status } => match (self.peer.party(), &self.peer.name) {
                (Party::User(user_id), Some(name)) => {
                    let status = if status == PresenceStatus::Offline { PresenceStatus::Away } else { status };
                    self.hub.set_presence(user_id, name, self.id, Some(status));
                    Flow::Continue
                }
                _ => self.refuse(SocketError::refused("forbidden", "customers have no presence"), None, None).await,
            },
            ClientFrame::WatchInbox {} => self.watch_inbox().await,
        }
    }

    async fn subscribe(&mut self, conversation_id: i64, after_seq: i64) -> Flow {
        let (principal, now) = (self.peer.principal.clone(), self.clock.now_ms());
        let conversation = match self.store.live().conversation(principal, conversation_id, now).await {
            Ok(c) => c,
            Err(e) => return self.refuse(e.into(), Some(conversation_id), None).await,
        };
        // Join first, then read the backlog: whatever commits in between arrives live and
        // the seq check in `forward` drops what the backlog already sent. The backlog is read
        // with the rights of its moment: a change since the check above either shows there,
        // or comes as a `Recheck` queued behind the join.
        self.subscribed.insert(conversation_id, i64::MAX);
        let listener = Listener { id: self.id, queue: self.queue.clone() };
        self.hub.join(&conversation, listener).await;
        match self.replay(conversation_id, after_seq.max(0)).await {
            Ok(last) => {
                self.subscribed.insert(conversation_id, last);
                self.write(&ServerFrame::Subscribed { conversation_id, last_seq: last }.to_json()).await
            }
            Err(flow) => {
                self.subscribed.remove(&conversation_id);
                self.hub.leave(conversation_id, self.id);
                flow
            }
        }
    }

    /// Writes the messages after `last`, page by page; the last seq written.
    async fn replay(&mut self, conversation_id: i64, mut last: i64) -> Result<i64, Flow> {
        loop {
            let (principal, now, page) = (self.peer.principal.clone(), self.clock.now_ms(), MessagePage::After(last));
            let batch = match self.store.live().messages(principal, conversation_id, page, BACKLOG_PAGE, now).await {
                Ok(batch) => batch,
                Err(e) => return Err(self.refuse(e.into(), Some(conversation_id), None).await),
            };
            for message in &batch {
                if let Flow::Close(c, r) =
                    self.write(&ServerFrame::Message { conversation_id, message }.to_json()).await
                {
                    return Err(Flow::Close(c, r));
                }
                last = message.seq;
            }
            if batch.len() < BACKLOG_PAGE {
                return Ok(last);
            }
        }
    }

    /// Posts a message; the store checks it as on every other path (body, client id, files).
    async fn send(&mut self, conversation_id: i64, client_id: String, body: String, attachment_ids: Vec<i64>) -> Flow {
        if let (Party::Customer(customer_id), Some(limit)) = (self.peer.party(), &self.peer.writes) {
            if let Err(e) = limit.limiter.admit_customer(customer_id, &limit.address, self.clock.now_ms()) {
                return self.refuse(e.into(), Some(conversation_id), Some(&client_id)).await;
            }
        }
        let new = NewMessage { client_id: Some(client_id.clone()), author: self.peer.party(), body, attachment_ids };
        let now = self.clock.now_ms();
        match self.store.post_message(Acting::Live(self.peer.principal.clone()), conversation_id, new, now).await {
            Ok(posted) => {
                let ack = ServerFrame::Ack {
                    client_id: &client_id,
                    conversation_id,
                    message_id: posted.message.id,
                    seq: posted.message.seq,
                    replayed: posted.replayed,
                };
                self.write(&ack.to_json()).await
            }
            Err(e) => self.refuse(e.into(), Some(conversation_id), Some(&client_id)).await,
        }
    }

    async fn watch_inbox(&mut self) -> Flow {
        if !self.peer.is_agent() {
            return self.refuse(SocketError::refused("forbidden", "only agents have an inbox"), None, None).await;
        }
        let (principal, now) = (self.peer.principal.clone(), self.clock.now_ms());
        let scope = self.store.live().scope(principal, now).await;
        let viewer = match scope {
            Ok(Some(scope)) => {
                let viewer = scope.viewer();
                self.hub.watch_inbox(self.id, self.queue.clone(), scope);
                viewer
            }
            Ok(None) => return Flow::Continue,
            Err(e) => return self.refuse(e.into(), None, None).await,
        };
        self.watching_inbox = true;
        // The counts as of now, read after watching began: any later change is told after them.
        let counts = match self.store.conversations().counts(viewer).await {
            Ok(counts) => counts,
            Err(e) => return self.refuse(e.into(), None, None).await,
        };
        if let Flow::Close(c, r) = self.write(&ServerFrame::Counts { counts: &counts, resync: false }.to_json()).await {
            return Flow::Close(c, r);
        }
        for (user_id, name, status) in self.hub.presence() {
            if let Flow::Close(c, r) =
                self.write(&ServerFrame::Presence { user_id, name: &name, status }.to_json()).await
            {
                return Flow::Close(c, r);
            }
        }
        Flow::Continue
    }
}
