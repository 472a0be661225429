//! Who is owed which email, decided away from the database. The store reads what fell due with
//! all that deciding it needs (`store.mail().due`) and settles the outcome in one write
//! (`store.mail().settle`); between the two, outside any transaction, `decide` picks the emails
//! and has them written by `Letters`, the port that `mail::render` implements.
//!
//! This layer runs no SQL and waits on nothing: it names the store's public domain types
//! (`crate::store::…`: a conversation, its messages, a recipient) and nothing of SQLite, HTTP,
//! sockets or mail (`tests/api/layers.rs` holds this).

mod decide;

pub use decide::{decide, MESSAGES_PER_EMAIL};

use crate::domain::Millis;
use crate::store::conversations::{Conversation, Message};
use crate::store::inbound::MailThread;
use crate::store::notify::Recipient;
use crate::store::outbox::NewEmail;

/// What a notification email tells: the unseen messages (oldest first), how many earlier ones
/// are left out, and what names the conversation (its ticket's title, its subject or its first
/// message, whose first words are taken).
pub struct Unseen<'a> {
    pub messages: &'a [Message],
    pub earlier: i64,
    pub topic: Option<&'a str>,
}

/// Writes the emails `decide` settles on.
pub trait Letters {
    /// The messages of a conversation the recipient has not seen.
    fn notification(
        &self,
        conversation: &Conversation,
        recipient: &Recipient,
        thread: Option<&MailThread>,
        unseen: Unseen,
        now: Millis,
    ) -> NewEmail;
    /// A rule's own text, about a conversation (threaded with it) or an item, or neither.
    fn notice(
        &self,
        recipient: &Recipient,
        about: (Option<&Conversation>, Option<&MailThread>),
        item_id: Option<i64>,
        subject: &str,
        body: &str,
        now: Millis,
    ) -> NewEmail;
    /// To an address nobody verified: that there is news, with none of the text.
    fn unverified_notice(&self, recipient: &Recipient, conversation: Option<&Conversation>, now: Millis) -> NewEmail;
}
