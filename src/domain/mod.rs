//! The words of the product and values that are valid by construction. No actix, no SQL.

pub mod identity;
pub mod names;
mod network;
pub mod photo;
mod values;

pub use names::{display_name, friendly_name, BOT_NAME};
pub use network::{client_network, Network};

pub use values::{
    human_size, thousands, Body, ClientId, ContentType, Email, Filename, Name, Password, Secret, Title,
    MAX_ATTACHMENTS, MAX_BODY_CHARS,
};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Milliseconds since the epoch: every time the program keeps or compares.
pub type Millis = i64;

/// A value that failed validation: a stable code for clients and a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Invalid {
    pub code: &'static str,
    pub message: String,
}

impl Invalid {
    pub fn new(code: &'static str, message: impl Into<String>) -> Invalid {
        Invalid { code, message: message.into() }
    }
}

/// Declares a closed set of words stored as text: serde, OpenAPI and the store (`store::words`)
/// all use `as_str`.
macro_rules! word_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Option<$name> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }
    };
}

word_enum!(
    /// What an internal user may do: admins also manage users and projects.
    Role { Admin = "admin", Agent = "agent" }
);
word_enum!(
    /// `public`: customer replies, which the customer sees. `internal`: team only, never a customer.
    ConversationKind { Public = "public", Internal = "internal" }
);
word_enum!(Status { Open = "open", Closed = "closed" });
word_enum!(ItemKind { Ticket = "ticket", Task = "task" });
word_enum!(Priority { Low = "low", Normal = "normal", High = "high", Urgent = "urgent" });
word_enum!(
    /// Where an item or conversation came from.
    Channel { Chat = "chat", Email = "email", Portal = "portal", Form = "form", App = "app", Api = "api" }
);
word_enum!(
    /// Who a message or a seen mark belongs to.
    PartyKind { User = "user", Customer = "customer", Bot = "bot" }
);
word_enum!(
    /// Which new customer replies notify a user: those written by customers, by other users, both or none.
    NotifyReplies { Both = "both", Customers = "customers", Users = "users", None = "none" }
);

/// Who wrote a message, uploaded a file or has seen a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Party {
    User(i64),
    Customer(i64),
    Bot,
}

impl Party {
    pub fn kind(self) -> PartyKind {
        match self {
            Party::User(_) => PartyKind::User,
            Party::Customer(_) => PartyKind::Customer,
            Party::Bot => PartyKind::Bot,
        }
    }

    pub fn id(self) -> Option<i64> {
        match self {
            Party::User(id) | Party::Customer(id) => Some(id),
            Party::Bot => None,
        }
    }

    pub fn from_parts(kind: PartyKind, id: Option<i64>) -> Option<Party> {
        match (kind, id) {
            (PartyKind::User, Some(id)) => Some(Party::User(id)),
            (PartyKind::Customer, Some(id)) => Some(Party::Customer(id)),
            (PartyKind::Bot, _) => Some(Party::Bot),
            _ => None,
        }
    }
}
