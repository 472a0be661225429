//! The one-minute rule's decisions about what fell due: who gets which email, and who none.

use super::{Letters, Unseen};
use crate::domain::{Millis, PartyKind};
use crate::store::conversations::{Conversation, Message};
use crate::store::notify::{Claim, DueNotice, Owed, Recipient, Settle};
use crate::store::outbox::NewEmail;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Channel, ConversationKind, Party, Status};
    use crate::store::conversations::Author;
    use crate::store::inbound::MailThread;
    use crate::store::notify::{NoticeKey, OwedKey};
    use crate::store::Viewer;

    /// Writes an email that says which letter it is and what it quotes.
    struct Plain;

    fn email(to: &Recipient, subject: String) -> NewEmail {
        NewEmail {
            message_id: String::new(),
            to: to.address.clone(),
            reply_to: None,
            in_reply_to: None,
            subject,
            text: String::new(),
            html: String::new(),
            conversation_id: None,
        }
    }

    impl Letters for Plain {
        fn notification(
            &self,
            _: &Conversation,
            to: &Recipient,
            _: Option<&MailThread>,
            unseen: Unseen,
            _: Millis,
        ) -> NewEmail {
            let seqs: Vec<String> = unseen.messages.iter().map(|m| m.seq.to_string()).collect();
            email(to, format!("notification {} +{} {:?}", seqs.join(","), unseen.earlier, unseen.topic))
        }
        fn notice(
            &self,
            to: &Recipient,
            _: (Option<&Conversation>, Option<&MailThread>),
            _: Option<i64>,
            subject: &str,
            _: &str,
            _: Millis,
        ) -> NewEmail {
            email(to, format!("notice {subject}"))
        }
        fn unverified_notice(&self, to: &Recipient, _: Option<&Conversation>, _: Millis) -> NewEmail {
            email(to, "neutral".into())
        }
    }

    fn customer(address: &str, verified: bool) -> Recipient {
        let party = Party::Customer(7);
        Recipient { party, address: address.into(), name: None, viewer: Viewer::Customer { customer_id: 7 }, verified }
    }

    fn conversation() -> Conversation {
        Conversation {
            id: 1,
            project_id: None,
            item_id: None,
            kind: ConversationKind::Public,
            status: Status::Open,
            subject: String::new(),
            customer_id: Some(7),
            channel: Channel::Chat,
            page_url: None,
            assignee_id: None,
            last_seq: 0,
            last_activity_at: 0,
            created_at: 0,
            unread: 0,
            unverified_email: false,
            preview: None,
            customer: None,
            item: None,
        }
    }

    fn message(seq: i64, kind: PartyKind, id: Option<i64>) -> Message {
        let author = Author { kind, id, name: None, photo_url: None };
        Message {
            id: seq,
            conversation_id: 1,
            seq,
            client_id: None,
            author,
            body: format!("m{seq}"),
            created_at: 0,
            attachments: Vec::new(),
        }
    }

    fn owed(recipient: Recipient, from_seq: i64, last_seq: i64, messages: Vec<Message>) -> Owed {
        let key = OwedKey {
            conversation_id: 1,
            party_kind: PartyKind::Customer,
            party_id: 7,
            first_seq: 1,
            last_seq,
            since: 0,
        };
        Owed {
            key,
            recipient: Some(recipient),
            conversation: Some(conversation()),
            from_seq,
            messages,
            thread: None,
            topic: Some("Refund".into()),
            neutral_sent: 0,
        }
    }

    fn notice(recipient: Recipient, neutral_sent: i64) -> DueNotice {
        DueNotice {
            key: NoticeKey { id: 1, party_kind: PartyKind::Customer, party_id: 7 },
            recipient: Some(recipient),
            item_id: None,
            subject: "Closed".into(),
            body: "Your ticket was closed".into(),
            delayed: false,
            looked: false,
            conversation: None,
            thread: None,
            neutral_sent,
        }
    }

    fn subjects(decided: &[Settle]) -> Vec<Option<&str>> {
        decided.iter().map(|d| d.email.as_ref().map(|e| e.subject.as_str())).collect()
    }

    #[test]
    fn twenty_messages_are_quoted_the_older_counted_and_the_recipients_own_left_out() {
        let team = |seq| message(seq, PartyKind::User, Some(2));
        let mut messages: Vec<Message> = (6..=25).map(team).collect();
        messages[19] = message(25, PartyKind::Customer, Some(7));
        messages.push(team(26));
        let decided = decide(Vec::new(), vec![owed(customer("ann@example.com", true), 1, 25, messages)], &Plain, 0);
        let quoted = (6..=24).map(|s: i64| s.to_string()).collect::<Vec<_>>().join(",");
        assert_eq!(subjects(&decided), [Some(format!("notification {quoted} +5 Some(\"Refund\")").as_str())]);
    }

    #[test]
    fn an_unverified_address_gets_only_the_teams_words_and_else_a_neutral_notice() {
        let bot = vec![message(1, PartyKind::Bot, None)];
        let mixed = vec![message(1, PartyKind::Bot, None), message(2, PartyKind::User, Some(2))];
        let to = || customer("ann@example.com", false);
        let decided = decide(Vec::new(), vec![owed(to(), 1, 1, bot), owed(to(), 1, 2, mixed)], &Plain, 0);
        assert_eq!(subjects(&decided), [Some("neutral"), Some("notification 2 +0 None")]);
    }

    #[test]
    fn neutral_notices_stop_at_three_an_hour_counting_this_rounds_in_any_case() {
        let notices = vec![
            notice(customer("ann@example.com", false), 1),
            notice(customer("ANN@example.com", false), 1),
            notice(customer("ann@example.com", false), 1),
            notice(customer("bob@example.com", false), 0),
        ];
        let decided = decide(notices, Vec::new(), &Plain, 0);
        assert_eq!(subjects(&decided), [Some("neutral"), Some("neutral"), None, Some("neutral")]);
    }

    #[test]
    fn a_delayed_notice_is_dropped_once_its_party_looked_and_every_row_gets_a_decision() {
        let mut looked = notice(customer("ann@example.com", true), 0);
        (looked.delayed, looked.looked) = (true, true);
        let mut gone = owed(customer("ann@example.com", true), 1, 1, vec![message(1, PartyKind::User, Some(2))]);
        gone.conversation = None;
        let decided = decide(vec![looked, notice(customer("ann@example.com", true), 0)], vec![gone], &Plain, 0);
        assert_eq!(subjects(&decided), [None, Some("notice Closed"), None]);
    }
}
