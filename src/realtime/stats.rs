//! What `/metrics` and the health page report of the live side: open sockets and the messages
//! committed since start. Plain counters, read without stopping anyone.

use crate::domain::PartyKind;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

/// What `/metrics` reports of the live side.
#[derive(Default)]
pub struct LiveStats {
    /// Open sockets: agents', customers'.
    pub agent_sockets: AtomicI64,
    pub customer_sockets: AtomicI64,
    /// Messages committed since start, by who wrote them: customers, users, the bot.
    pub messages: [AtomicU64; 3],
}

/// Counts a socket while it is open: dropped however the session ends.
pub struct OpenSocket(Arc<LiveStats>, bool);

impl Drop for OpenSocket {
    fn drop(&mut self) {
        self.0.sockets(self.1).fetch_sub(1, Ordering::Relaxed);
    }
}

impl LiveStats {
    fn sockets(&self, agent: bool) -> &AtomicI64 {
        if agent {
            &self.agent_sockets
        } else {
            &self.customer_sockets
        }
    }

    /// Counts an open socket until the guard is dropped.
    pub(super) fn socket_opened(self: &Arc<Self>, agent: bool) -> OpenSocket {
        self.sockets(agent).fetch_add(1, Ordering::Relaxed);
        OpenSocket(self.clone(), agent)
    }

    /// Counts a committed message by its author's kind.
    pub(super) fn message_committed(&self, author: PartyKind) {
        let by = match author {
            PartyKind::Customer => 0,
            PartyKind::User => 1,
            PartyKind::Bot => 2,
        };
        self.messages[by].fetch_add(1, Ordering::Relaxed);
    }
}
