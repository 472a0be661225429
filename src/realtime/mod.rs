//! Live conversations over websockets. Committed changes flow one way: the store's event feed
//! to the dispatcher (`dispatch`), which makes frames for their audiences and hands them to the
//! conversation's room (`room`) and to the agents watching their inbox (`inbox`); each reaches a
//! socket's queue through one send-or-kick (`queue`), and the socket's task (`session`) writes
//! it after the visibility filter. The hub (`hub`) owns these parts with the registry of open
//! sockets (`sockets`), presence and stats; sockets answer refusals with `SocketError`.

mod dispatch;
mod error;
mod hub;
mod inbox;
mod presence;
pub mod protocol;
mod queue;
mod room;
mod session;
mod sockets;
mod stats;
pub mod wire;

pub use error::SocketError;
pub use hub::{Hub, EVENT_QUEUE};
pub use session::{run as run_session, Peer, WriteLimit};
pub use stats::LiveStats;

use std::sync::{Arc, Mutex, MutexGuard};

/// Who may receive a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Internal users only.
    Agents,
    /// Agents and the conversation's customer (public conversations).
    Everyone { customer: Option<i64> },
    /// That customer only (a customer-shaped copy of an agents' frame).
    Customer(i64),
}

/// A frame serialised once and shared by every socket that gets it.
#[derive(Debug)]
pub struct Outbound {
    pub json: Arc<str>,
    pub audience: Audience,
    /// The room it came through: a socket passes it on only while subscribed there. 0 for the
    /// frames of inboxes, presence and alerts.
    pub conversation_id: i64,
    /// For message frames: lets a socket drop what it already sent from the backlog.
    pub seq: Option<i64>,
}

impl Audience {
    /// The visibility filter every frame passes before it reaches a socket.
    pub fn admits(self, agent: bool, customer_id: Option<i64>) -> bool {
        match self {
            Audience::Agents => agent,
            Audience::Everyone { customer } => agent || (customer.is_some() && customer == customer_id),
            Audience::Customer(c) => !agent && customer_id == Some(c),
        }
    }

    /// Who hears about a conversation's goings-on.
    pub fn of(conversation: &crate::store::conversations::Conversation) -> Audience {
        match conversation.kind {
            crate::domain::ConversationKind::Public => Audience::Everyone { customer: conversation.customer_id },
            crate::domain::ConversationKind::Internal => Audience::Agents,
        }
    }
}

/// Locks a registry, even one a panic poisoned: the live side goes on rather than stop every
/// socket over it.
pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
