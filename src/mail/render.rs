//! Notification emails, from the embedded templates in `assets/email/`: a text part and an
//! HTML part with the same content. Every piece of user text is escaped in the HTML part.

use crate::domain::{ConversationKind, Party, PartyKind};
use crate::mail::reply_token::ReplyToken;
use crate::notify::{Letters, Unseen};
use crate::store::conversations::{Conversation, Message};
use crate::store::inbound::MailThread;
use crate::store::notify::Recipient;
use crate::store::outbox::NewEmail;
use crate::store::{Millis, Signing};
use crate::text::escape;
use rand::Rng;

const TEXT: &str = include_str!("../../assets/email/notification.txt");
const HTML: &str = include_str!("../../assets/email/notification.html");

/// What every notification email is made with; it writes the emails the notification flow
/// decides on (`notify::Letters`).
#[derive(Debug, Clone)]
pub struct Letterhead {
    /// Signs the reply tokens.
    pub secret: String,
    /// The support address, split: replies go to `local+token@domain`.
    pub local: String,
    pub domain: String,
    pub base_url: String,
    pub team_name: String,
}

impl Letterhead {
    pub fn new(secret: String, support_address: &str, base_url: &str, team_name: String) -> Letterhead {
        let (local, domain) = support_address.rsplit_once('@').unwrap_or((support_address, "localhost"));
        Letterhead {
            secret,
            local: local.to_owned(),
            domain: domain.to_owned(),
            base_url: base_url.to_owned(),
            team_name,
        }
    }

    /// The letterhead as the store has it now: the reply key (made on first use) and the
    /// team's name.
    pub async fn current(
        store: &crate::store::Store,
        support_address: &str,
        base_url: &str,
    ) -> crate::store::Result<Letterhead> {
        Ok(Letterhead::signed(store.mail().signing().await?, support_address, base_url))
    }

    pub fn signed(signing: Signing, support_address: &str, base_url: &str) -> Letterhead {
        Letterhead::new(signing.reply_secret, support_address, base_url, signing.team_name)
    }

    pub fn support_address(&self) -> String {
        format!("{}@{}", self.local, self.domain)
    }
}

impl Letters for Letterhead {
    fn notification(
        &self,
        conversation: &Conversation,
        recipient: &Recipient,
        thread: Option<&MailThread>,
        unseen: Unseen,
        now: Millis,
    ) -> NewEmail {
        let head = self;
        let Unseen { messages, earlier, topic } = unseen;
        let to_customer = matches!(recipient.party, Party::Customer(_));
        let token = ReplyToken::new(conversation.id, recipient.party, now).sign(&head.secret);
        let thread = thread.filter(|_| to_customer && recipient.verified);
        // Answering the customer's own email keeps their subject, so their mail client threads it.
        let subject = match thread.map(|t| strip_replies(&t.subject)).filter(|s| !s.is_empty()) {
            Some(theirs) => format!("Re: {theirs}"),
            None => subject(head, conversation, topic, to_customer, recipient.verified),
        };
        let preview = messages.last().map(|m| first_words(&m.body, PREVIEW_CHARS)).unwrap_or_default();
        let heading = if to_customer {
            format!("{} replied to your conversation.", head.team_name)
        } else if conversation.kind == ConversationKind::Internal {
            format!("New internal messages in conversation #{}.", conversation.id)
        } else {
            format!("New messages in conversation #{} that you have not seen yet.", conversation.id)
        };
        let heading =
            if earlier > 0 { format!("{heading} ({earlier} earlier messages are not shown.)") } else { heading };
        let portal = format!("{}/portal/", head.base_url);
        // An unverified contact has no portal: their address proves nothing there.
        let in_portal = to_customer && conversation.item_id.is_some() && recipient.verified;
        let action_text = if in_portal {
            format!("Reply to this email to answer, or follow your requests at {portal}")
        } else if to_customer {
            "Reply to this email to answer.".to_owned()
        } else {
            format!(
                "Reply to this email to answer, or open the conversation: {}/app/#conversation/{}",
                head.base_url, conversation.id
            )
        };
        let action_html = if in_portal {
            format!("Reply to this email to answer, or <a href=\"{}\">follow your requests</a>.", escape(&portal))
        } else if to_customer {
            escape(&action_text)
        } else {
            let link = format!("{}/app/#conversation/{}", head.base_url, conversation.id);
            format!("Reply to this email to answer, or <a href=\"{}\">open the conversation</a>.", escape(&link))
        };
        let mut text_messages = String::new();
        let mut html_messages = String::new();
        for m in messages {
            let author = author_name(head, m);
            text_messages.push_str(&format!("{author} wrote:\n{}\n", m.body));
            html_messages.push_str(&format!(
                "<div style=\"margin:0 0 16px\"><div style=\"font-weight:600\">{}</div><div style=\"white-space:pre-wrap\">{}</div>",
                escape(&author),
                escape(&m.body)
            ));
            for a in &m.attachments {
                text_messages.push_str(&format!("[attachment: {} ({} bytes)]\n", a.filename, a.size));
                html_messages.push_str(&format!(
                    "<div style=\"color:#4a5568\">&#128206; {} ({} bytes)</div>",
                    escape(&a.filename),
                    a.size
                ));
            }
            text_messages.push('\n');
            html_messages.push_str("</div>");
        }
        NewEmail {
            message_id: message_id(head, &token),
            to: recipient.address.clone(),
            reply_to: Some(format!("{}+{token}@{}", head.local, head.domain)),
            in_reply_to: Some(
                thread.and_then(answering).unwrap_or_else(|| thread_id(head, conversation.id, recipient.party)),
            ),
            text: fill(TEXT, &heading, text_messages.trim_end(), &action_text, &subject, ""),
            html: fill(HTML, &escape(&heading), &html_messages, &action_html, &escape(&subject), &escape(&preview)),
            subject,
            conversation_id: Some(conversation.id),
        }
    }

    /// An email with a rule's own text (a ticket closed, a task waiting). About a conversation the
    /// recipient may see, it threads with that conversation's emails and a reply lands in it.
    fn notice(
        &self,
        recipient: &Recipient,
        (conversation, thread): (Option<&Conversation>, Option<&MailThread>),
        item_id: Option<i64>,
        subject: &str,
        body: &str,
        now: Millis,
    ) -> NewEmail {
        let head = self;
        let to_customer = matches!(recipient.party, Party::Customer(_));
        // About a ticket with no conversation yet (a new portal ticket), an agent's reply starts
        // the ticket's conversation with its requester.
        let token = match (conversation, item_id) {
            (Some(c), _) => Some(ReplyToken::new(c.id, recipient.party, now)),
            (None, Some(item)) if !to_customer => Some(ReplyToken::for_ticket(item, recipient.party, now)),
            (None, _) => None,
        };
        let token = token.map(|t| t.sign(&head.secret));
        let link = match (conversation, item_id) {
            (Some(c), _) => format!("{}/app/#conversation/{}", head.base_url, c.id),
            (None, Some(item)) => format!("{}/app/#item/{item}", head.base_url),
            (None, None) => format!("{}/app/", head.base_url),
        };
        let (action_text, action_html) = match (to_customer, &token) {
            (true, Some(_)) => {
                ("Reply to this email to answer.".to_owned(), "Reply to this email to answer.".to_owned())
            }
            (true, None) => {
                ("Reply to this email to write to us.".to_owned(), "Reply to this email to write to us.".to_owned())
            }
            (false, Some(_)) => (
                format!("Reply to this email to answer, or open Rapport: {link}"),
                format!("Reply to this email to answer, or <a href=\"{}\">open Rapport</a>.", escape(&link)),
            ),
            (false, None) => {
                (format!("Open Rapport: {link}"), format!("<a href=\"{}\">Open Rapport</a>", escape(&link)))
            }
        };
        let heading = head.team_name.clone();
        let html_body = format!("<div style=\"white-space:pre-wrap\">{}</div>", escape(body));
        let subject = with_team(head, subject);
        let preview = first_words(body, PREVIEW_CHARS);
        NewEmail {
            message_id: message_id(head, token.as_deref().unwrap_or("notice")),
            to: recipient.address.clone(),
            reply_to: match &token {
                Some(token) => Some(format!("{}+{token}@{}", head.local, head.domain)),
                None => to_customer.then(|| head.support_address()),
            },
            in_reply_to: conversation.map(|c| {
                let theirs = thread.filter(|_| to_customer && recipient.verified).and_then(answering);
                theirs.unwrap_or_else(|| thread_id(head, c.id, recipient.party))
            }),
            text: fill(TEXT, &heading, body, &action_text, &subject, ""),
            html: fill(HTML, &escape(&heading), &html_body, &action_html, &escape(&subject), &escape(&preview)),
            subject,
            conversation_id: conversation.map(|c| c.id),
        }
    }

    /// What an address nobody verified is sent instead of anything that could echo what a stranger
    /// typed there (a form's subject, a bot's reply quoting it): no user text at all.
    fn unverified_notice(&self, recipient: &Recipient, conversation: Option<&Conversation>, now: Millis) -> NewEmail {
        let head = self;
        let subject = format!("Your request to {}", head.team_name);
        let body = "We received a request from this email address. If it was you, we will answer you by email, \
                    and you can reply to this email to add to it.\n\n\
                    If it was not you, ignore this email: someone may have typed your address by mistake.";
        let html_body = format!("<p>{}</p>", escape(body).replace("\n\n", "</p><p>"));
        let token = conversation.map(|c| ReplyToken::new(c.id, recipient.party, now).sign(&head.secret));
        let reply_to = match &token {
            Some(token) => format!("{}+{token}@{}", head.local, head.domain),
            None => head.support_address(),
        };
        NewEmail {
            // `<unverified.…>`: the outbox counts these by that prefix (`contacts::NOTICE_ID_PREFIX`),
            // to send an address only a few.
            message_id: message_id(head, "unverified"),
            to: recipient.address.clone(),
            reply_to: Some(reply_to),
            in_reply_to: None,
            text: fill(TEXT, &head.team_name, body, "", &subject, ""),
            html: fill(
                HTML,
                &escape(&head.team_name),
                &html_body,
                "",
                &escape(&subject),
                &escape(&first_words(body, PREVIEW_CHARS)),
            ),
            subject,
            conversation_id: conversation.map(|c| c.id),
        }
    }
}

/// The Message-ID of an email about a conversation to one recipient: it carries the reply
/// token, so a reply that lost its To address still finds its way by In-Reply-To.
fn message_id(head: &Letterhead, token: &str) -> String {
    let nonce: String =
        (0..8).map(|_| char::from(b"abcdefghijklmnopqrstuvwxyz234567"[rand::thread_rng().gen_range(0..32)])).collect();
    format!("<{token}.{nonce}@{}>", head.domain)
}

/// A one-time link that signs a customer in to the portal.
pub fn sign_in(head: &Letterhead, to: &str, link: &str) -> NewEmail {
    let subject = format!("Sign in to {}", head.team_name);
    let body = "Open the link below to sign in and follow your requests. It works once, for 30 minutes.\n\n\
                If you did not ask for it, ignore this email.";
    let html_body = format!("<p>{}</p>", escape(body).replace("\n\n", "</p><p>"));
    let action_html = format!("<a href=\"{}\">Sign in</a>", escape(link));
    NewEmail {
        message_id: message_id(head, "sign-in"),
        to: to.to_owned(),
        reply_to: None,
        in_reply_to: None,
        text: fill(TEXT, &head.team_name, body, link, &subject, ""),
        html: fill(
            HTML,
            &escape(&head.team_name),
            &html_body,
            &action_html,
            &escape(&subject),
            &escape(&first_words(body, PREVIEW_CHARS)),
        ),
        subject,
        conversation_id: None,
    }
}

/// The template with its `{{name}}` slots filled in one pass: what is filled in (user text
/// among it) is never read again for slots.
fn fill(template: &str, heading: &str, messages: &str, action: &str, subject: &str, preview: &str) -> String {
    let values =
        [("heading", heading), ("messages", messages), ("action", action), ("subject", subject), ("preview", preview)];
    let mut out = String::with_capacity(template.len() + messages.len() + 256);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let slot =
            after.find("}}").and_then(|end| values.iter().find(|(k, _)| *k == &after[..end]).map(|v| (end, v.1)));
        match slot {
            Some((end, value)) => {
                out.push_str(value);
                rest = &after[end + 2..];
            }
            None => {
                out.push_str("{{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// How long the hidden preview line (what mail clients show after the subject) may be.
const PREVIEW_CHARS: usize = 120;
/// How much of a topic (a first message, most often) goes into a subject.
const TOPIC_CHARS: usize = 60;

/// The first words of `text` on one line, at most `max` characters, cut between words.
pub fn first_words(text: &str, max: usize) -> String {
    let mut out = String::new();
    let mut len = 0;
    for word in text.split_whitespace() {
        let add = word.chars().count() + usize::from(len > 0);
        if len + add > max {
            if len == 0 {
                out = word.chars().take(max).collect();
            }
            out.push('…');
            return out;
        }
        if len > 0 {
            out.push(' ');
        }
        out.push_str(word);
        len += add;
    }
    out
}

/// "Topic — Team name", once.
fn with_team(head: &Letterhead, topic: &str) -> String {
    let topic = first_words(topic, 200);
    if head.team_name.trim().is_empty() || topic.ends_with(head.team_name.trim()) {
        return topic;
    }
    format!("{topic} — {}", head.team_name.trim())
}

/// One subject per conversation and recipient, so mail clients keep the emails in one thread:
/// its topic (see `Unseen`) and the team's name. To an unverified address, no topic: a stranger
/// may have typed it.
fn subject(head: &Letterhead, c: &Conversation, topic: Option<&str>, to_customer: bool, verified: bool) -> String {
    let topic = match topic {
        Some(topic) if verified => first_words(topic, TOPIC_CHARS),
        _ => String::new(),
    };
    match (to_customer, c.kind, topic.is_empty()) {
        (true, _, true) => format!("Your conversation with {}", head.team_name),
        (true, _, false) => format!("Re: {}", with_team(head, &topic)),
        (false, ConversationKind::Internal, true) => with_team(head, &format!("[Internal] Conversation #{}", c.id)),
        (false, ConversationKind::Internal, false) => with_team(head, &format!("[Internal] {topic} (#{})", c.id)),
        (false, _, true) => with_team(head, &format!("Conversation #{}", c.id)),
        (false, _, false) => with_team(head, &format!("{topic} (#{})", c.id)),
    }
}

/// The id every email of one thread refers to, so mail clients thread them together.
fn thread_id(head: &Letterhead, conversation_id: i64, party: Party) -> String {
    let kind = if party.kind() == PartyKind::User { 'u' } else { 'c' };
    format!("<thread-{conversation_id}-{kind}{}@{}>", party.id().unwrap_or(0), head.domain)
}

/// The thread headers of an answer to the customer's email (see `NewEmail::in_reply_to`): their
/// References chain, then their Message-ID, each in angle brackets. None when their id is not one
/// a header can carry.
fn answering(thread: &MailThread) -> Option<String> {
    if !plain_id(&thread.message_id) {
        return None;
    }
    let chain = thread.references.iter().filter(|id| plain_id(id) && **id != thread.message_id);
    Some(chain.chain([&thread.message_id]).map(|id| format!("<{id}>")).collect::<Vec<_>>().join(" "))
}

fn plain_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 250 && id.chars().all(|c| c.is_ascii_graphic() && c != '<' && c != '>')
}

/// A subject without the "Re:" (or "RE:", "Re[2]:", "AW:", "SV:") prefixes clients add, so the
/// answer says "Re:" once.
pub fn strip_replies(subject: &str) -> &str {
    let mut rest = subject.trim();
    while let Some((prefix, tail)) = rest.split_once(':') {
        let prefix = prefix.trim_end().to_ascii_lowercase();
        let (word, count) = prefix.split_once('[').unwrap_or((&prefix, "]"));
        let counted = count.strip_suffix(']').is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()));
        if !(counted && matches!(word, "re" | "aw" | "sv" | "antw")) {
            break;
        }
        rest = tail.trim_start();
    }
    rest
}

fn author_name(head: &Letterhead, m: &Message) -> String {
    match (m.author.kind, &m.author.name) {
        (PartyKind::Bot, _) => head.team_name.clone(),
        (PartyKind::User, Some(name)) => format!("{name} ({})", head.team_name),
        (_, Some(name)) => name.clone(),
        (PartyKind::Customer, None) => "Customer".into(),
        (PartyKind::User, None) => head.team_name.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::{fill, first_words, strip_replies};

    #[test]
    fn first_words_stop_between_words() {
        assert_eq!(first_words("  Refund for\norder   1042 ", 60), "Refund for order 1042");
        assert_eq!(first_words("Refund for order 1042", 12), "Refund for…");
        assert_eq!(first_words("Supercalifragilistic", 5), "Super…");
    }

    #[test]
    fn user_text_is_never_read_for_slots() {
        let filled = fill("{{subject}}|{{messages}}|{{x}}", "h", "{{action}}", "secret", "{{messages}}", "");
        assert_eq!(filled, "{{messages}}|{{action}}|{{x}}");
    }

    #[test]
    fn an_answer_says_re_once() {
        assert_eq!(strip_replies("Export fails"), "Export fails");
        assert_eq!(strip_replies("Re: Export fails"), "Export fails");
        assert_eq!(strip_replies("RE: Re[2]: AW:  Export: fails"), "Export: fails");
        assert_eq!(strip_replies("Regarding: this"), "Regarding: this");
        assert_eq!(strip_replies("Re:"), "");
    }
}
