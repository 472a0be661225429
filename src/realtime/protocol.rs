//! The JSON frames of the live protocol, version 1 (documented in docs/protocol.md).

use crate::domain::PartyKind;
use crate::store::conversations::{Author, Conversation, Message};
use serde::{Deserialize, Serialize};

pub const PROTOCOL_VERSION: u32 = 1;

/// Largest frame a client may send; larger ones close the socket with `TOO_BIG`.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// Close codes, beside the standard ones (1000 normal, 1001 going away, 1009 too big).
pub mod close {
    /// A frame that is not valid JSON or not a frame this protocol knows.
    pub const INVALID_FRAME: u16 = 4400;
    /// No pong or frame within the heartbeat timeout.
    pub const HEARTBEAT_TIMEOUT: u16 = 4408;
    /// The client fell too far behind; reconnect and `subscribe` with the last seq seen.
    pub const RESUME: u16 = 4409;
    /// Too many frames too fast.
    pub const RATE_LIMITED: u16 = 4429;
    /// The credential admits nobody any more (signed out, password reset, token revoked,
    /// deactivated, erased): sign in again before reconnecting.
    pub const ACCESS_REVOKED: u16 = 4401;
    pub const TOO_BIG: u16 = 1009;
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    /// Live messages of a conversation, after replaying those after `after_seq`.
    Subscribe {
        conversation_id: i64,
        #[serde(default)]
        after_seq: i64,
    },
    Unsubscribe {
        conversation_id: i64,
    },
    /// Post a message; answered by `ack` once committed.
    Send {
        conversation_id: i64,
        client_id: String,
        #[serde(default)]
        body: String,
        #[serde(default)]
        attachment_ids: Vec<i64>,
    },
    Typing {
        conversation_id: i64,
    },
    /// The messages up to `seq` were shown to this person.
    Seen {
        conversation_id: i64,
        seq: i64,
    },
    /// Agents only.
    Presence {
        status: PresenceStatus,
    },
    /// Agents only: hear about every conversation they may see (`inbox` frames) and presence.
    WatchInbox {},
    Ping {},
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PresenceStatus {
    Online,
    Away,
    Offline,
}

/// Who is on the other end, as shown to others.
#[derive(Debug, Clone, Serialize)]
pub struct Who {
    pub kind: PartyKind,
    pub id: Option<i64>,
    pub name: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame<'a> {
    Hello {
        protocol: u32,
        you: &'a Who,
        heartbeat_secs: u64,
    },
    Message {
        conversation_id: i64,
        message: &'a Message,
    },
    Ack {
        client_id: &'a str,
        conversation_id: i64,
        message_id: i64,
        seq: i64,
        replayed: bool,
    },
    Subscribed {
        conversation_id: i64,
        last_seq: i64,
    },
    Unsubscribed {
        conversation_id: i64,
        /// Why the server ended the subscription (`access_revoked`); absent when asked for.
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<&'a str>,
    },
    Typing {
        conversation_id: i64,
        author: &'a Author,
    },
    Seen {
        conversation_id: i64,
        reader: &'a Who,
        seq: i64,
    },
    /// A conversation changed: full for agents, `customer_view::ConversationUpdate` for customers.
    Conversation {
        conversation: serde_json::Value,
    },
    Presence {
        user_id: i64,
        name: &'a str,
        status: PresenceStatus,
    },
    /// Agents: a conversation they may see changed (a message, when there is one): its row as
    /// they see it, the views it is now in for them, and their counts afterwards.
    Inbox {
        conversation: &'a Conversation,
        message: Option<&'a Message>,
        views: &'a [crate::store::conversations::ConversationView],
        counts: &'a crate::store::counts::Counts,
    },
    /// Agents: their views' counts changed (they read a conversation, an item changed, their
    /// rights changed). `resync`: which conversations their lists hold may have changed too (an
    /// item's followers or project, their rights): the list shown is to be asked for again.
    Counts {
        counts: &'a crate::store::counts::Counts,
        resync: bool,
    },
    /// Agents: an item they may see was created or changed (lists, Unanswered items).
    Item {
        item: &'a crate::store::items::Item,
    },
    /// Agents: something to tell this agent about (a bubble, a sound, a flashing tab), as the
    /// rules and the agent's preferences decide.
    Alert {
        conversation_id: Option<i64>,
        item_id: Option<i64>,
        title: &'a str,
        body: &'a str,
    },
    Error {
        code: &'a str,
        message: &'a str,
        conversation_id: Option<i64>,
        client_id: Option<&'a str>,
    },
    Pong {},
}

impl ServerFrame<'_> {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| r#"{"type":"error","code":"internal_error"}"#.into())
    }
}

/// Property tests of the client-frame parser.
#[cfg(test)]
mod proptests;
