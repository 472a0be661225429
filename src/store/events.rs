//! What a committed write announces to the live parts of the app.

use super::conversations::{Conversation, Message};
use super::items::Item;
use crate::domain::Party;

#[derive(Debug, Clone)]
pub enum Event {
    /// A new message (never a replayed one).
    Message { conversation: Conversation, message: Message },
    /// A conversation was created or changed status.
    Conversation(Conversation),
    /// An item was created or changed (agents' lists, Unanswered items).
    Item(Item),
    /// Someone has seen a conversation up to `seq`.
    Seen { conversation: Conversation, party: Party, seq: i64 },
    /// These users are to be told in the app (bubble, sound, flashing tab).
    Alert { users: Vec<i64>, conversation_id: Option<i64>, item_id: Option<i64>, title: String, body: String },
    /// An email is waiting to be sent at once.
    Mail,
    /// Who may see what changed: the open sockets concerned re-check their rights before they
    /// are handed anything committed after this change.
    Rights(RightsChange),
}

/// What a change of rights concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RightsChange {
    /// A user's role, activity, preferences, project memberships, sessions or tokens.
    User(i64),
    /// A customer was merged into another or erased: their sockets end.
    Customer(i64),
    /// Who may see these conversations changed (their item moved, its requester changed).
    Conversations(Vec<i64>),
}

impl Event {
    pub fn conversation(&self) -> Option<&Conversation> {
        match self {
            Event::Message { conversation, .. }
            | Event::Conversation(conversation)
            | Event::Seen { conversation, .. } => Some(conversation),
            Event::Item(_) | Event::Alert { .. } | Event::Mail | Event::Rights(_) => None,
        }
    }
}
