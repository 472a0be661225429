//! Live conversations: one room task per conversation with listeners, a hub that finds or
//! starts rooms and fans committed changes out to them, and one task per websocket.

mod error;
mod hub;
mod inbox;
mod presence;
pub mod protocol;
mod room;
mod session;

pub use error::SocketError;
pub use hub::{Hub, EVENT_QUEUE};
pub use session::{run as run_session, Peer, WriteLimit};

use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

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

/// What a socket's queue carries, in the order the changes committed.
#[derive(Debug, Clone)]
pub(crate) enum Delivery {
    Frame(Arc<Outbound>),
    /// Rights changed: the socket re-checks them before it passes on anything queued after
    /// this. `Some(id)`: only who may see that conversation changed.
    Recheck(Option<i64>),
}

/// A socket's queue and the token that cuts it off.
#[derive(Clone)]
pub(crate) struct Queue {
    pub tx: mpsc::Sender<Delivery>,
    pub kick: CancellationToken,
}

impl Queue {
    /// Queues without waiting; a socket whose queue is full is cut off (it resumes by seq).
    pub(crate) fn offer(&self, delivery: Delivery) -> bool {
        let kept = self.tx.try_send(delivery).is_ok();
        if !kept {
            self.kick.cancel();
        }
        kept
    }
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
