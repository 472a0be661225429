//! The one-minute rule's decisions about what fell due: who gets which email, and who none.

use super::{Letters, Unseen};
use crate::domain::{Millis, PartyKind};
use crate::store::conversations::{Conversation, Message};
use crate::store::notify::{Claim, DueNotice, NewEmail, Owed, Recipient, Settle};
use std::collections::HashMap;

/// At most this many messages are quoted in one notification email; older ones are counted.
pub const MESSAGES_PER_EMAIL: usize = 20;

/// At most this many neutral notices go to one unverified address within the window the store
/// counts them over (`store::contacts::NOTICE_WINDOW_MS`, an hour).
const NEUTRAL_PER_WINDOW: i64 = 3;

/// What each row that fell due comes to: its email, or none (the row is dropped). Notices go
/// first, as the rules meant them to go at once; every row gets a decision, so that the write
/// that settles them removes the dropped ones too.
pub fn decide(notices: Vec<DueNotice>, owed: Vec<Owed>, letters: &dyn Letters, now: Millis) -> Vec<Settle> {
    let mut neutral = Neutral::default();
    let mut decided = Vec::with_capacity(notices.len() + owed.len());
    for notice in notices {
        let email = notice_email(&notice, letters, &mut neutral, now);
        decided.push(Settle { claim: Claim::Notice(notice.key), email });
    }
    for owed in owed {
        let claim = Claim::Owed(owed.key);
        decided.push(Settle { claim, email: notification(owed, letters, &mut neutral, now) });
    }
    decided
}

/// A rule's notice, unless its recipient cannot be emailed or already looked.
fn notice_email(notice: &DueNotice, letters: &dyn Letters, neutral: &mut Neutral, now: Millis) -> Option<NewEmail> {
    let recipient = notice.recipient.as_ref()?;
    // An agent who opened a new item's conversation has seen what its notice says.
    if notice.delayed && notice.looked {
        return None;
    }
    let conversation = notice.conversation.as_ref();
    if recipient.verified {
        let about = (conversation, notice.thread.as_ref());
        return Some(letters.notice(recipient, about, notice.item_id, &notice.subject, &notice.body, now));
    }
    // A rule's text may quote what a stranger typed: an unverified address gets a neutral
    // notice instead, a few an hour at most.
    neutral.notice(letters, recipient, notice.neutral_sent, conversation, now)
}

/// The email about what the recipient has not seen of a conversation, minus what they wrote;
/// none when nothing is left, they cannot be emailed or may no longer see it.
fn notification(owed: Owed, letters: &dyn Letters, neutral: &mut Neutral, now: Millis) -> Option<NewEmail> {
    let (recipient, conversation) = (owed.recipient.as_ref()?, owed.conversation.as_ref()?);
    let (party, last) = (recipient.party, owed.key.last_seq);
    let messages: Vec<Message> = owed
        .messages
        .into_iter()
        .filter(|m| m.seq <= last && !(m.author.kind == party.kind() && m.author.id == party.id()))
        .collect();
    if messages.is_empty() {
        return None;
    }
    let earlier = (last - MESSAGES_PER_EMAIL as i64 + 1 - owed.from_seq).max(0);
    if recipient.verified {
        let unseen = Unseen { messages: &messages, earlier, topic: owed.topic.as_deref() };
        return Some(letters.notification(conversation, recipient, owed.thread.as_ref(), unseen, now));
    }
    // To an address nobody verified goes only what the team wrote (the bot's texts may quote
    // the stranger who typed it), with no topic and no thread; with nothing of the team's, a
    // neutral notice.
    let team: Vec<Message> = messages.into_iter().filter(|m| m.author.kind == PartyKind::User).collect();
    if team.is_empty() {
        return neutral.notice(letters, recipient, owed.neutral_sent, Some(conversation), now);
    }
    let unseen = Unseen { messages: &team, earlier, topic: None };
    Some(letters.notification(conversation, recipient, None, unseen, now))
}

/// The neutral notices this round gave each address (lower-cased, as the store counts them), on
/// top of those the store counted before it.
#[derive(Default)]
struct Neutral(HashMap<String, i64>);

impl Neutral {
    /// The neutral notice for an unverified address, unless it had its share.
    fn notice(
        &mut self,
        letters: &dyn Letters,
        recipient: &Recipient,
        sent_before: i64,
        conversation: Option<&Conversation>,
        now: Millis,
    ) -> Option<NewEmail> {
        let this_round = self.0.entry(recipient.address.to_ascii_lowercase()).or_default();
        if sent_before + *this_round >= NEUTRAL_PER_WINDOW {
            tracing::info!(to = %recipient.address, "an unverified address had its notices this hour: one dropped");
            return None;
        }
        *this_round += 1;
        Some(letters.unverified_notice(recipient, conversation, now))
    }
}
